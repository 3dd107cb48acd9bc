//! The signals of Jira's own documented examples (`tests/fixtures/jira/`), as snapshots.

use std::collections::BTreeMap;

use serde_json::Value;
use switchboard_core::IngestionKind;

use crate::support::{ctx, fixture_text, webhook_connector};

fn fixture(file: &str) -> Value {
    serde_json::from_str(&fixture_text(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn a_delivered_status_change_maps_to_one_transition() {
    let report = webhook_connector()
        .map(
            &fixture("issue_updated.status_changed.json"),
            &ctx(IngestionKind::Webhook, Some("jira:issue_updated"), None),
        )
        .expect("maps");
    insta::assert_json_snapshot!("issue_updated_status_changed", report);
}

#[test]
fn the_documented_search_page_maps_to_its_changes() {
    let config = BTreeMap::from([("baseUrl".to_owned(), "https://your-domain.atlassian.net".to_owned())]);
    let report = webhook_connector()
        .map(&fixture("search_jql.json"), &ctx(IngestionKind::Polling, None, Some(&config)))
        .expect("maps");
    insta::assert_json_snapshot!("search_jql", report);
}
