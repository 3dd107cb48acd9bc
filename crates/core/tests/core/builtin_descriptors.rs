//! The built-in connector descriptors in `descriptors/`: every one validates, and every fixture
//! under `tests/fixtures/<connector>/` (a provider's own example payload or API page) maps to
//! the signals recorded in `crates/core/tests/core/snapshots/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use switchboard_core::descriptor::load_paths;
use switchboard_core::hosts::literal_host;
use switchboard_core::model::ExampleMode;
use switchboard_core::webhook::{HandshakeRequest, Headers};
use switchboard_core::{Descriptor, IngestionKind, MapContext, MapReport};

/// The ids of the built-in descriptors: every `descriptors/<id>.json` but the schema.
fn built_in() -> Vec<String> {
    let dir = workspace_root().join("descriptors");
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && name != "descriptor.schema.json")
        .map(|name| name.trim_end_matches(".json").to_owned())
        .collect();
    ids.sort();
    ids
}

/// One fixture as an example of its own descriptor reads it.
struct Case {
    connector: String,
    file: String,
    /// The event type a real delivery names (header or payload), for webhook connectors.
    event_type: Option<String>,
    /// Whether the webhook endpoint answers the payload as a handshake instead of mapping it.
    handshake: bool,
    /// Which mapping the example runs (a connector with both modes has polled pages too).
    ingestion: IngestionKind,
}

/// For every built-in descriptor, the first example reading each of that connector's own
/// fixtures (examples may also show another connector's payload being refused).
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for connector in built_in() {
        let descriptor = descriptor(&connector);
        let prefix = format!("../tests/fixtures/{connector}/");
        for example in &descriptor.model().examples {
            let Some(file) = example.payload_file.as_deref().and_then(|f| f.strip_prefix(&prefix)) else { continue };
            // A fixture is read as its first example reads it; later ones may show it refused
            // by the other mode.
            if cases.iter().any(|c: &Case| c.connector == connector && c.file == file) {
                continue;
            }
            let (mut event_type, mut handshake) = (example.event_type.clone(), false);
            let ingestion = match example.mode_for(descriptor.model().ingestion.supported_modes()) {
                ExampleMode::Webhook => IngestionKind::Webhook,
                ExampleMode::Polling => IngestionKind::Polling,
            };
            if let (Some(webhook), IngestionKind::Webhook) = (descriptor.webhook(), ingestion) {
                let payload = fixture(&connector, file);
                let headers = Headers::new(example.headers.iter());
                let request = HandshakeRequest { headers: &headers, query: &[], payload: Some(&payload) };
                handshake = webhook.handshake_reply(&request, true).is_some();
                if event_type.is_none() {
                    event_type = webhook.event(&headers, &payload).event_type().map(str::to_owned);
                }
            }
            cases.push(Case { connector: connector.clone(), file: file.to_owned(), event_type, handshake, ingestion });
        }
    }
    cases
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn descriptor(id: &str) -> Descriptor {
    let path = workspace_root().join("descriptors").join(format!("{id}.json"));
    Descriptor::from_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn fixture(connector: &str, file: &str) -> Value {
    let path = workspace_root().join("tests/fixtures").join(connector).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn received_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().expect("a valid date")
}

/// Maps a fixture the way the webhook gateway or the poller would: webhook connectors get the
/// webhook mapping, polling connectors the polling one.
fn map(connector: &str, file: &str, event_type: Option<&str>) -> MapReport {
    let webhook = descriptor(connector).webhook().is_some();
    map_as(connector, file, event_type, if webhook { IngestionKind::Webhook } else { IngestionKind::Polling })
}

/// Maps a fixture with the given mapping.
fn map_as(connector: &str, file: &str, event_type: Option<&str>, ingestion: IngestionKind) -> MapReport {
    let descriptor = descriptor(connector);
    let ctx = MapContext {
        connector_id: connector,
        project_id: "p1",
        ingestion,
        event_type,
        received_at: received_at(),
        config: None,
    };
    descriptor.map_delivery(&fixture(connector, file), &ctx).unwrap_or_else(|e| panic!("{connector}/{file}: {e}"))
}

fn signal_types(report: &MapReport) -> Vec<&str> {
    report.signals.iter().map(|s| s.signal_type.as_str()).collect()
}

fn only_signal(connector: &str, file: &str, event_type: Option<&str>) -> switchboard_core::NormalisedSignal {
    let report = map(connector, file, event_type);
    assert!(report.errors.is_empty(), "{connector}/{file}: {:?}", report.errors);
    assert_eq!(report.signals.len(), 1, "{connector}/{file}: {report:?}");
    report.signals.into_iter().next().expect("one signal")
}

fn assert_ignored(connector: &str, file: &str, event_type: Option<&str>, reason_contains: &str) {
    let report = map(connector, file, event_type);
    assert!(report.signals.is_empty(), "{connector}/{file} should give no signal: {:?}", report.signals);
    assert!(report.errors.is_empty(), "{connector}/{file}: {:?}", report.errors);
    assert_eq!(report.ignored.len(), 1, "{connector}/{file}: {report:?}");
    assert!(
        report.ignored[0].reason.contains(reason_contains),
        "{connector}/{file}: reason {:?} should mention {reason_contains:?}",
        report.ignored[0].reason
    );
}

#[test]
fn every_built_in_descriptor_loads_and_validates() {
    let results = load_paths(&[workspace_root().join("descriptors")]);
    let mut ids = BTreeSet::new();
    for result in results {
        let descriptor = result.unwrap_or_else(|e| panic!("{e}"));
        // Version 1; a changed descriptor gets a new minor or patch version, so deployed
        // registries replace their copy of it.
        assert!(descriptor.version().starts_with("1."), "{}: {}", descriptor.id(), descriptor.version());
        ids.insert(descriptor.id().to_owned());
    }
    let expected: BTreeSet<String> = built_in().into_iter().collect();
    assert_eq!(ids, expected, "one descriptor per file, named after its id");
}

#[test]
fn every_built_in_descriptor_declares_the_hosts_it_reaches() {
    for id in built_in() {
        let descriptor = descriptor(&id);
        let allowed = descriptor.allowed_hosts();
        assert!(!allowed.is_unrestricted(), "{id}: declare allowedHosts");
        if let Some(base_url) = descriptor.config_defaults().get("baseUrl") {
            let host = literal_host(base_url).expect("an absolute baseUrl");
            assert!(allowed.permits(host), "{id}: the default baseUrl host {host} is outside {allowed}");
        }
    }
}

#[test]
fn every_descriptor_file_is_named_after_its_id() {
    for id in built_in() {
        assert_eq!(descriptor(&id).id(), id);
    }
}

#[test]
fn every_fixture_file_is_an_example_of_its_descriptor() {
    let mut on_disk = BTreeSet::new();
    for connector in built_in() {
        let dir = workspace_root().join("tests/fixtures").join(&connector);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            // `signatures.json` holds signed deliveries (`catalogue_signatures.rs`), not a payload.
            if name.ends_with(".json") && name != "signatures.json" {
                on_disk.insert(format!("{connector}/{name}"));
            }
        }
        assert!(dir.join("SOURCES.md").is_file(), "{connector} fixtures need a SOURCES.md");
    }
    let listed: BTreeSet<String> = cases().iter().map(|c| format!("{}/{}", c.connector, c.file)).collect();
    let unlisted: Vec<&String> = on_disk.difference(&listed).collect();
    assert!(unlisted.is_empty(), "fixtures no example of their descriptor reads: {unlisted:?}");
}

#[test]
fn every_fixture_maps_to_its_snapshot() {
    for case in cases().iter().filter(|c| !c.handshake) {
        let (connector, file) = (case.connector.as_str(), case.file.as_str());
        let report = map_as(connector, file, case.event_type.as_deref(), case.ingestion);
        assert!(report.errors.is_empty(), "{connector}/{file}: {:?}", report.errors);
        let name = format!("{connector}__{}", file.trim_end_matches(".json"));
        insta::assert_json_snapshot!(name, report);
    }
}

#[test]
fn every_fixture_snapshot_belongs_to_a_fixture() {
    let expected: BTreeSet<String> = cases()
        .iter()
        .filter(|c| !c.handshake)
        .map(|c| format!("core__builtin_descriptors__{}__{}.snap", c.connector, c.file.trim_end_matches(".json")))
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/core/snapshots");
    let orphans: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("core__builtin_descriptors__") && !expected.contains(name))
        .collect();
    assert!(orphans.is_empty(), "snapshots of no fixture (delete them): {orphans:?}");
}

#[test]
fn every_webhook_fixture_maps_to_a_signal_or_a_deliberate_ignore() {
    for case in cases().iter().filter(|c| !c.handshake && c.ingestion == IngestionKind::Webhook) {
        let report = map_as(&case.connector, &case.file, case.event_type.as_deref(), case.ingestion);
        assert!(report.errors.is_empty(), "{}/{}: {:?}", case.connector, case.file, report.errors);
        assert!(
            !report.signals.is_empty() || !report.ignored.is_empty(),
            "{}/{}: neither a signal nor an ignored item",
            case.connector,
            case.file
        );
    }
}

#[test]
fn github_pull_request_opened_is_pr_opened() {
    let signal = only_signal("github-prs", "pull_request.opened.json", Some("pull_request"));
    assert_eq!(signal.signal_type, "pr_opened");
    assert_eq!(signal.external_id, "279147437");
    assert_eq!(signal.url.as_deref(), Some("https://github.com/Codertocat/Hello-World/pull/2"));
    assert_eq!(signal.event_type.as_deref(), Some("pull_request"));
}

#[test]
fn github_pull_request_closed_with_merged_true_is_pr_merged() {
    let signal = only_signal("github-prs", "pull_request.closed.merged.json", Some("pull_request"));
    assert_eq!(signal.signal_type, "pr_merged");
    assert_eq!(signal.timestamp, "2019-05-15T15:21:18Z");
}

#[test]
fn github_pull_request_closed_without_merge_is_pr_closed_and_a_label_is_no_signal() {
    let signal = only_signal("github-prs", "pull_request.closed.json", Some("pull_request"));
    assert_eq!(signal.signal_type, "pr_closed");
    assert_ignored("github-prs", "pull_request.labeled.json", Some("pull_request"), "no signal type rule matched");
}

#[test]
fn github_pull_request_lifecycle_actions_have_their_own_signal_types() {
    for (fixture, event, expected) in [
        ("pull_request.reopened.json", "pull_request", "pr_reopened"),
        ("pull_request.ready_for_review.json", "pull_request", "pr_ready_for_review"),
        ("pull_request.review_requested.json", "pull_request", "pr_review_requested"),
        ("pull_request.synchronize.json", "pull_request", "pr_synchronized"),
        ("pull_request_review_comment.created.json", "pull_request_review_comment", "pr_review_comment"),
    ] {
        let signal = only_signal("github-prs", fixture, Some(event));
        assert_eq!(signal.signal_type, expected, "{fixture}");
        assert_eq!(signal.external_id, "279147437", "{fixture}: one pull request, one external id");
    }
    let comment =
        only_signal("github-prs", "pull_request_review_comment.created.json", Some("pull_request_review_comment"));
    assert_eq!(comment.timestamp, "2019-05-15T15:20:37Z", "the comment's own time");
    assert!(comment.url.as_deref().is_some_and(|u| u.ends_with("#discussion_r284312630")));
    let requested = only_signal("github-prs", "pull_request.review_requested.json", Some("pull_request"));
    assert!(requested.participants.iter().any(|p| p == "octocat"), "{:?}", requested.participants);
}

#[test]
fn github_submitted_review_is_pr_reviewed_at_the_review_time() {
    let signal = only_signal("github-prs", "pull_request_review.submitted.json", Some("pull_request_review"));
    assert_eq!(signal.signal_type, "pr_reviewed");
    assert_eq!(signal.timestamp, "2019-05-15T15:20:38Z");
    assert!(signal.url.as_deref().is_some_and(|u| u.contains("#pullrequestreview-237895671")));
}

/// The related items of a published fixture edited by `edit` (the published examples seldom
/// name a ticket), mapped as the connector's gateway or poller would.
fn related_after_edit(
    connector: &str,
    file: &str,
    event_type: Option<&str>,
    edit: impl FnOnce(&mut Value),
) -> Vec<String> {
    let descriptor = descriptor(connector);
    let ingestion = if descriptor.webhook().is_some() { IngestionKind::Webhook } else { IngestionKind::Polling };
    let ctx = MapContext {
        connector_id: connector,
        project_id: "p1",
        ingestion,
        event_type,
        received_at: received_at(),
        config: None,
    };
    let mut payload = fixture(connector, file);
    edit(&mut payload);
    let report = descriptor.map_delivery(&payload, &ctx).expect("maps");
    report.signals.into_iter().next().expect("a signal").related_items
}

#[test]
fn github_pull_request_ticket_keys_in_title_branch_and_body_are_related_items() {
    let related = related_after_edit("github-prs", "pull_request.opened.json", Some("pull_request"), |payload| {
        payload["pull_request"]["title"] = "PROJ-123: fix the README".into();
        payload["pull_request"]["head"]["ref"] = "feature/OPS-7-readme".into();
        payload["pull_request"]["body"] = "Fixes #1; not a mention: a/b#3, &#35;4".into();
    });
    // Its own key first, scoped to its repository; `#1` in the body scoped the same way.
    assert_eq!(related, ["Codertocat/Hello-World#2", "PROJ-123", "OPS-7", "Codertocat/Hello-World#1"]);
}

#[test]
fn a_slack_message_relates_to_the_tickets_and_pull_requests_it_names() {
    let related = related_after_edit("slack", "message.json", None, |payload| {
        payload["event"]["text"] =
            "Is PROJ-123 blocked? See <https://github.com/octo/app/pull/7> and octo/lib#12 (PROJ-123 again)".into();
    });
    assert_eq!(related, ["PROJ-123", "octo/app#7", "octo/lib#12"]);
}

#[test]
fn a_linear_issue_relates_to_its_own_identifier_first_then_the_keys_it_names() {
    let related = related_after_edit("linear", "issues.page1.json", None, |payload| {
        payload["data"]["issues"]["nodes"][0]["title"] = "Card payments time out (see PROJ-9)".into();
        payload["data"]["issues"]["nodes"][0]["description"] = "Blocked by ENG-87".into();
    });
    assert_eq!(related, ["ENG-101", "Checkout revamp", "PROJ-9", "ENG-87"]);
}

#[test]
fn a_github_issue_relates_to_its_own_key_first_then_the_keys_and_numbers_it_names() {
    let related = related_after_edit("github-issues", "issues.page1.json", None, |payload| {
        payload[1]["title"] = "Crash when the config file is empty (PROJ-5)".into();
        payload[1]["body"] = "Same as #1347, unlike other/repo#2.".into();
    });
    assert_eq!(related, ["octocat/Hello-World#1348", "PROJ-5", "octocat/Hello-World#1347", "v1.0"]);
}

#[test]
fn a_github_actions_run_scopes_the_numbers_it_names_to_its_repository() {
    let related =
        related_after_edit("github-actions", "workflow_run.completed.json", Some("workflow_run"), |payload| {
            payload["workflow_run"]["display_title"] = "PROJ-123: fix the build (#42)".into();
        });
    assert_eq!(related, ["PROJ-123", "octo-org/octo-repo#42"]);
}

#[test]
fn github_event_types_the_connector_does_not_handle_are_ignored() {
    assert_ignored("github-prs", "push.json", Some("push"), "\"push\" is not handled");
    assert_ignored("github-prs", "issues.opened.json", Some("issues"), "\"issues\" is not handled");
}

#[test]
fn github_pull_request_without_its_event_header_is_ignored() {
    assert_ignored("github-prs", "pull_request.opened.json", None, "no event type");
}

#[test]
fn slack_message_mention_and_reaction_become_their_signals() {
    assert_eq!(only_signal("slack", "message.json", None).signal_type, "message_received");
    assert_eq!(only_signal("slack", "app_mention.json", None).signal_type, "mention");
    let reaction = only_signal("slack", "reaction_added.json", None);
    assert_eq!(reaction.signal_type, "reaction");
    assert_eq!(reaction.participants, ["U123ABC456", "U222222222"]);
}

#[test]
fn slack_message_timestamps_keep_their_microseconds() {
    assert_eq!(only_signal("slack", "message.json", None).timestamp, "2012-12-14T20:38:43.000005Z");
    // The documented app_mention example writes event_ts without its dot; ts is used instead.
    assert_eq!(only_signal("slack", "app_mention.json", None).timestamp, "2018-01-08T22:12:02.000016Z");
}

#[test]
fn slack_edits_and_unsubscribed_events_are_ignored() {
    assert_ignored("slack", "message.message_changed.json", None, "no signal type rule matched");
    assert_ignored("slack", "channel_created.json", None, "\"channel_created\" is not handled");
}

#[test]
fn slack_url_verification_is_answered_with_its_challenge() {
    let descriptor = descriptor("slack");
    let webhook = descriptor.webhook().expect("slack receives webhooks");
    let payload = fixture("slack", "url_verification.json");
    let (handshake, answer) = webhook.handshake(&payload).expect("url_verification is a handshake");
    assert_eq!(answer, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    assert!(handshake.verify, "Slack signs url_verification requests too");
    assert!(webhook.handshake(&fixture("slack", "message.json")).is_none());
}

#[test]
fn pagerduty_triggered_and_resolved_incidents_become_their_signals() {
    let triggered = only_signal("pagerduty", "incident.triggered.json", None);
    assert_eq!(triggered.signal_type, "incident_triggered");
    assert_eq!(triggered.external_id, "PGR0VU2");
    assert_eq!(triggered.event_type.as_deref(), Some("incident.triggered"));
    let resolved = only_signal("pagerduty", "incident.resolved.json", None);
    assert_eq!(resolved.signal_type, "incident_resolved");
    assert_eq!(resolved.external_id, triggered.external_id);
    assert_ne!(resolved.id, triggered.id);
}

#[test]
fn pagerduty_priority_comes_from_the_incident_priority_then_its_urgency() {
    use switchboard_core::model::Priority;
    assert_eq!(only_signal("pagerduty", "incident.triggered.json", None).priority, Some(Priority::Critical));
    assert_eq!(only_signal("pagerduty", "incident.triggered.low_urgency.json", None).priority, Some(Priority::Low));
}

#[test]
fn pagerduty_events_other_than_triggered_and_resolved_are_ignored() {
    assert_ignored("pagerduty", "incident.priority_updated.json", None, "\"incident.priority_updated\" is not handled");
}

#[test]
fn sentry_new_and_resolved_issues_become_error_signals() {
    assert_eq!(only_signal("sentry", "issue.created.json", Some("issue")).signal_type, "error_created");
    assert_eq!(only_signal("sentry", "issue.resolved.json", Some("issue")).signal_type, "error_resolved");
    assert_ignored("sentry", "issue.assigned.json", Some("issue"), "no signal type rule matched");
    assert_ignored("sentry", "installation.deleted.json", Some("installation"), "\"installation\" is not handled");
}

#[test]
fn a_polled_github_issues_page_gives_one_signal_per_issue_and_skips_pull_requests() {
    let report = map("github-issues", "issues.page1.json", None);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(signal_types(&report), ["issue_created", "issue_updated", "issue_commented", "issue_updated"]);
    assert_eq!(report.ignored.len(), 1);
    assert_eq!(report.ignored[0].external_id.as_deref(), Some("1"), "the pull request is left to github-prs");
}

#[test]
fn a_polled_linear_page_tells_new_issues_and_cycle_changes_apart() {
    let report = map("linear", "issues.page1.json", None);
    assert_eq!(signal_types(&report), ["issue_created", "cycle_changed", "issue_updated", "cycle_changed"]);
}

#[test]
fn a_polled_trello_page_gives_created_moved_and_commented_cards() {
    let report = map("trello", "board_actions.page1.json", None);
    assert_eq!(signal_types(&report), ["card_commented", "card_moved", "card_created"]);
    assert_eq!(report.ignored.len(), 1, "a description edit is not a signal");
}

#[test]
fn a_polled_datadog_page_gives_triggered_and_resolved_monitors_only() {
    let report = map("datadog", "events.page1.json", None);
    assert_eq!(signal_types(&report), ["monitor_triggered", "monitor_triggered", "monitor_resolved"]);
    assert_eq!(report.ignored.len(), 1, "a deploy event is not a monitor alert");
}

#[test]
fn polled_notion_and_confluence_pages_give_their_document_signals() {
    assert_eq!(
        signal_types(&map("notion", "search.page1.json", None)),
        ["page_updated", "database_updated", "page_updated"]
    );
    assert_eq!(
        signal_types(&map("confluence", "content_search.page1.json", None)),
        ["page_updated", "page_commented", "page_updated"]
    );
}

#[test]
fn gitlab_merge_requests_issues_pipelines_and_comments_have_their_own_summaries_ids_and_times() {
    let mr = only_signal("gitlab", "merge-request-event.json", Some("Merge Request Hook"));
    assert_eq!((mr.signal_type.as_str(), mr.external_id.as_str()), ("mr_opened", "mr-1-1"));
    assert_eq!(mr.summary, "gitlabhq/gitlab-test!1 MS-Viewport (open by root)");
    assert_eq!(mr.tags, ["API"]);

    let issue = only_signal("gitlab", "issue-event.json", Some("Issue Hook"));
    assert_eq!((issue.signal_type.as_str(), issue.external_id.as_str()), ("issue_created", "issue-14-23"));
    assert_eq!(issue.summary, "gitlabhq/gitlab-test#23 New API: create/update/delete file (open by root)");

    let pipeline = only_signal("gitlab", "pipeline-event.json", Some("Pipeline Hook"));
    assert_eq!(pipeline.signal_type, "build_succeeded");
    assert_eq!(pipeline.timestamp, "2016-08-12T15:26:29Z", "the pipeline's finish, written `... UTC`");
    assert!(pipeline.summary.starts_with("gitlab-org/gitlab-test pipeline #31 on master: success (63 s"));

    let note = only_signal("gitlab", "comment-merge-request-event.json", Some("Note Hook"));
    assert_eq!((note.signal_type.as_str(), note.external_id.as_str()), ("commented", "note-5-1244"));
    assert_eq!(note.timestamp, "2015-05-17T18:21:36Z", "the comment's own time");
    assert_eq!(note.summary, "gitlab-org/gitlab-test: root commented on MergeRequest 1: This MR needs work.");

    let ids = [&mr.external_id, &issue.external_id, &pipeline.external_id, &note.external_id];
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 4, "no two kinds share an external id: {ids:?}");
}

#[test]
fn a_jira_key_in_a_gitlab_title_or_branch_becomes_a_related_item() {
    // The published merge request example carries no ticket key; this variation of it (title and
    // branch edited here, not a fixture) shows the pattern at work, after the request's own key.
    let related = related_after_edit("gitlab", "merge-request-event.json", Some("Merge Request Hook"), |payload| {
        payload["object_attributes"]["title"] = "PROJ-123: fix the viewport on mobile".into();
        payload["object_attributes"]["source_branch"] = "feature/OPS-7-viewport".into();
    });
    assert_eq!(related, ["gitlabhq/gitlab-test!1", "PROJ-123", "OPS-7"]);
    let published = only_signal("gitlab", "merge-request-event.json", Some("Merge Request Hook"));
    assert_eq!(published.related_items, ["gitlabhq/gitlab-test!1"], "`MS-Viewport` is not a ticket key");
}
