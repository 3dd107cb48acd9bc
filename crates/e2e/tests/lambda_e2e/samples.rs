//! Every sample event of `events/` (the files `sam local invoke -e` and `infra/local/invoke.sh`
//! take) through its function under the RIE, answered as the function crates' in-process tests
//! of the same files expect (`crates/*/tests/*/lambda_events.rs`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::events::{HttpReply, claims};
use crate::function::Reply;
use crate::world::World;

/// Each webhook-gateway sample and its status: all deliver a signed GitHub `pull_request` to
/// `/webhooks/github-prs/demo-project` (HTTP API v2 on the default and a named stage, REST API
/// v1), one with a bad signature.
const GATEWAY_SAMPLES: &[(&str, u16)] = &[
    ("http-api-v2-pull-request.json", 202),
    ("http-api-v2-stage-pull-request.json", 202),
    ("rest-v1-pull-request.json", 202),
    ("http-api-v2-bad-signature.json", 401),
];
/// The webhook secret the samples are signed with (`events/webhook-gateway/generate.py`).
const SAMPLE_WEBHOOK_SECRET: &str = "It's a Secret to Everybody";

/// Each registry-api sample in the order a dashboard session would send them, with its status.
const REGISTRY_SAMPLES: &[(&str, u16)] = &[
    ("health.json", 200),
    ("list-connectors.json", 200),
    ("register-connector.json", 201),
    ("create-instance.json", 201),
    ("list-instances.json", 200),
    ("update-instance.json", 200),
    ("disable-instance.json", 200),
    ("instance-health.json", 200),
    ("list-signals.json", 200),
    ("delete-instance.json", 204),
];

const NORMALISER_SAMPLE: &str = "sqs-batch.json";
const POLLER_SAMPLE: &str = "scheduled.json";
const POLL_NOW_SAMPLE: &str = "poll-now.json";

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// The sample `events/<function>/<name>`.
fn sample(function: &str, name: &str) -> Value {
    let path = events_dir().join(function).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_sample_event_file_is_invoked_here() {
    let mut files = BTreeSet::new();
    for function in std::fs::read_dir(events_dir()).unwrap() {
        let function = function.unwrap();
        for file in std::fs::read_dir(function.path()).unwrap() {
            let name = file.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".json") {
                files.insert(format!("{}/{name}", function.file_name().to_string_lossy()));
            }
        }
    }
    let mut invoked = BTreeSet::new();
    invoked.extend(GATEWAY_SAMPLES.iter().map(|(name, _)| format!("webhook-gateway/{name}")));
    invoked.extend(REGISTRY_SAMPLES.iter().map(|(name, _)| format!("registry-api/{name}")));
    invoked.insert(format!("normaliser/{NORMALISER_SAMPLE}"));
    invoked.insert(format!("poller/{POLLER_SAMPLE}"));
    invoked.insert(format!("poller/{POLL_NOW_SAMPLE}"));
    assert_eq!(files, invoked);
}

#[tokio::test]
async fn every_webhook_gateway_sample_gets_its_status_and_only_accepted_ones_are_enqueued() {
    let world = World::start().await;
    let body = json!({"credentials": {"token": "github_pat_sample_token", "webhookSecret": SAMPLE_WEBHOOK_SECRET}});
    let created = world
        .registry(
            "POST",
            "/projects/demo-project/connectors/github-prs",
            &body.to_string(),
            claims("alice", "demo-project", true),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);

    for (name, expected) in GATEWAY_SAMPLES {
        let reply = HttpReply::from_response(&world.gateway.invoke(sample("webhook-gateway", name)).await);
        assert_eq!(reply.status, *expected, "{name}: {}", reply.body);
        let ingested = world.drain_ingest().await;
        if *expected == 202 {
            assert_eq!(ingested.len(), 1, "{name}");
            let envelope: Value = serde_json::from_str(ingested[0].body().unwrap()).unwrap();
            assert_eq!(envelope["eventType"], "pull_request", "{name}: {envelope}");
            assert_eq!(envelope["projectId"], "demo-project", "{name}: {envelope}");
            let delivery = envelope["deliveryId"].as_str().unwrap_or_default();
            assert!(delivery.starts_with("8b7c2f80-"), "{name}: {envelope}");
        } else {
            assert!(ingested.is_empty(), "{name}");
        }
    }
}

#[tokio::test]
async fn every_registry_api_sample_gets_its_status_in_a_dashboard_session() {
    let world = World::start().await;
    for (name, expected) in REGISTRY_SAMPLES {
        let reply = HttpReply::from_response(&world.registry.invoke(sample("registry-api", name)).await);
        assert_eq!(reply.status, *expected, "{name}: {}", reply.body);
        assert!(!reply.body.contains("github_pat_EXAMPLE_not_a_real_token"), "{name} returned the credential");
    }
}

#[tokio::test]
async fn the_normaliser_sample_reports_only_its_malformed_message() {
    let world = World::start().await;

    let response = world.normaliser.invoke(sample("normaliser", NORMALISER_SAMPLE)).await;

    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "c5f3b2a1-0004-4e5f-9a6b-000000000004"}]}),
        "{response:#}"
    );
    let signals = world.take_signals().await;
    let types: Vec<&str> = signals.iter().map(|s| s["signalType"].as_str().unwrap()).collect();
    assert_eq!(types.len(), 3, "{types:?}");
    assert!(types.contains(&"pr_opened"), "{types:?}");
}

#[tokio::test]
async fn an_event_the_handler_cannot_read_comes_back_as_its_error_document() {
    let world = World::start().await;

    let reply = world.normaliser.try_invoke(sample("poller", POLLER_SAMPLE)).await;

    let Ok(Reply::Error(error)) = reply else { panic!("not an error report: {reply:?}") };
    assert!(error["errorType"].as_str().unwrap().contains("DeserializeError"), "{error}");
    assert!(error["errorMessage"].as_str().unwrap().contains("Records"), "{error}");
    let response = world.normaliser.invoke(sample("normaliser", NORMALISER_SAMPLE)).await;
    assert!(response["batchItemFailures"].is_array(), "the function still serves: {response}");
}

#[tokio::test]
async fn the_poller_sample_polls_what_is_due() {
    const TOKEN: &str = "github_pat_e2e_sample_token_7";
    let world = World::start().await;
    let github = world.github_issues_instance("p1", TOKEN).await;
    let poller = world.start_poller(&[]).await;

    let summary = poller.invoke(sample("poller", POLLER_SAMPLE)).await;

    // The page's five items less the pull request GitHub lists among issues.
    assert_eq!((summary["succeeded"].as_u64(), summary["items"].as_u64()), (Some(1), Some(4)), "{summary:#}");
    assert_eq!(summary["instances"][0]["outcome"], "polled", "{summary:#}");
    assert_eq!(summary["instances"][0]["connectorId"], "github-issues", "{summary:#}");
    assert_eq!(summary["instances"][0]["run"]["status"], "succeeded", "{summary:#}");
    assert_eq!(world.drain_ingest().await.len(), 4, "the page is on the ingest queue");

    // The poll-now sample names the same instance: polled again at once, nothing new since.
    let response = poller.invoke(sample("poller", POLL_NOW_SAMPLE)).await;
    assert_eq!(response, json!({"batchItemFailures": []}));
    let listings = github.received_requests().await.unwrap_or_default();
    assert_eq!(listings.iter().filter(|r| r.url.path().ends_with("/issues")).count(), 2, "polled twice");
}
