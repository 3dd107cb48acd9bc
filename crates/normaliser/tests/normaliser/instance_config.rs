//! Instance values a mapping reads travel in the envelope: the normaliser builds a
//! `urlTemplate` with `{{config.<key>}}` without loading the instance.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use switchboard_core::envelope::Envelope;
use switchboard_core::{ConnectorId, Descriptor, IngestionKind, ProjectId};
use switchboard_normaliser::InboundMessage;

use crate::support::{PROJECT, World, issue, repo_path};

/// `github-issues` linking each issue through the instance's own repository.
async fn register_linked(world: &World) -> Descriptor {
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("descriptors/github-issues.json")).unwrap()).unwrap();
    doc["id"] = json!("github-issues-linked");
    doc["fieldMapping"].as_object_mut().unwrap().remove("urlPath");
    doc["fieldMapping"]["urlTemplate"] = json!("https://github.com/{{config.owner}}/{{config.repo}}/issues/{{number}}");
    let descriptor = Descriptor::from_value(&doc, "linked.json").unwrap();
    world.stores.descriptors.register_descriptor(descriptor.model(), true).await.unwrap();
    descriptor
}

fn body(descriptor: &Descriptor, config: &BTreeMap<String, String>, number: u64) -> String {
    let received_at: DateTime<Utc> = "2024-05-01T12:00:00Z".parse().unwrap();
    let (connector_id, project_id) = (ConnectorId::parse(descriptor.id()).unwrap(), ProjectId::parse(PROJECT).unwrap());
    Envelope::polled(connector_id, project_id, received_at, issue(number, "2024-04-01T00:00:00Z"))
        .with_config(descriptor.mapping_config(IngestionKind::Polling, config))
        .to_json()
}

#[tokio::test]
async fn a_url_template_is_built_from_the_config_the_envelope_carries() {
    let world = World::new().await;
    let descriptor = register_linked(&world).await;
    let instance: BTreeMap<String, String> =
        [("owner", "acme"), ("repo", "rockets"), ("baseUrl", "https://api.github.com")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    let with_config = body(&descriptor, &instance, 1);
    assert!(!with_config.contains("api.github.com"), "only the keys the mapping reads travel: {with_config}");
    let without = body(&descriptor, &BTreeMap::new(), 2);
    let outcome = world
        .normaliser
        .process_batch(&[InboundMessage::new("a", with_config), InboundMessage::new("b", without)])
        .await;
    assert!(outcome.failed_ids.is_empty(), "{outcome:?}");
    let mut signals = world.drain_signals().await;
    signals.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    assert_eq!(signals[0].url.as_deref(), Some("https://github.com/acme/rockets/issues/1"));
    // An envelope without the values (queued by an older build) gets no guessed link.
    assert_eq!(signals[1].url, None);
}
