//! GitHub issues polled from a local fake API through the real poller binary, normalised into
//! one signal each, even when the poller dies between enqueueing and checkpointing.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

use crate::checkpoint_trap::CheckpointTrap;
use crate::events::{claims, scheduled_event};
use crate::world::World;

const TOKEN: &str = "github_pat_e2e_issues_token_42";

#[tokio::test]
async fn polled_issues_become_one_signal_each_even_when_the_poller_crashes_before_its_checkpoint() {
    let world = World::start().await;
    let _github = world.github_issues_instance("p1", TOKEN).await;

    // The first run enqueues the page, then dies as it writes the checkpoint.
    let moto = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let trap = CheckpointTrap::start(&moto).await;
    let mut crashing = world.start_poller(&[("AWS_ENDPOINT_URL", trap.endpoint())]).await;
    tokio::select! {
        reply = crashing.try_invoke(scheduled_event()) => panic!("the run ended before its checkpoint: {reply:?}"),
        () = trap.tripped() => {}
    }
    crashing.crash().await;
    let before_crash = world.take_ingest().await;
    // Five items on the page; the pull request GitHub lists among them is filtered out.
    assert_eq!(before_crash.len(), 4, "the page was enqueued before the checkpoint write");
    expire_lease(&world, "p1", "github-issues").await;

    // The next run starts again from the old checkpoint (none) and sends the page again.
    let poller = world.start_poller(&[]).await;
    let summary = poller.invoke(scheduled_event()).await;
    assert_eq!((summary["succeeded"].as_u64(), summary["items"].as_u64()), (Some(1), Some(4)), "{summary:#}");
    let after_crash = world.take_ingest().await;
    assert_eq!(after_crash.len(), 4);

    let everything: Vec<_> = before_crash.into_iter().chain(after_crash).collect();
    assert_eq!(world.normalise(&everything).await, Vec::<String>::new(), "no batch item failures");
    let signals = world.take_signals().await;
    let by_issue: BTreeMap<u64, String> = signals
        .iter()
        .map(|s| (s["raw"]["number"].as_u64().unwrap(), s["signalType"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(signals.len(), by_issue.len(), "one signal per issue: {signals:#?}");
    let expected =
        [(1348, "issue_created"), (1349, "issue_updated"), (1350, "issue_commented"), (1351, "issue_updated")];
    assert_eq!(
        by_issue,
        expected.into_iter().map(|(n, t)| (n, t.to_owned())).collect(),
        "the pull request #1347 is not an issue"
    );
    assert!(signals.iter().all(|s| s["projectId"] == "p1" && s["ingestion"] == "polling"), "{signals:#?}");

    let again = poller.invoke(scheduled_event()).await;
    assert_eq!(again["due"], 0, "polled within its interval: {again:#}");
    assert!(poller.logs().iter().chain(&world.logs()).all(|line| !line.contains(TOKEN)), "a function logged the token");
}

#[tokio::test]
async fn a_new_instance_is_polled_at_once_through_the_poll_now_queue() {
    let world = World::start().await;
    let _github = world.github_issues_instance("p1", TOKEN).await;

    // The registry asked for it: one request on the poll-now queue, naming the instance.
    let requests = world.take_poll_now().await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request: serde_json::Value = serde_json::from_str(requests[0].body().unwrap()).unwrap();
    assert_eq!(request, json!({"projectId": "p1", "connectorId": "github-issues"}));

    // The poll-now event polls it, and its first signals are on their way.
    let poller = world.start_poller(&[]).await;
    let response = poller.invoke(world.poll_now_event(&requests).await).await;
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert_eq!(world.take_ingest().await.len(), 4, "the first page, without waiting for the schedule");
    let instance =
        world.registry("GET", "/projects/p1/connectors/github-issues", "", claims("alice", "p1", false)).await;
    assert!(instance.json()["sync"]["lastPolledAt"].is_string(), "{}", instance.body);
}

/// Removes the dead poller's lease, as its expiry (two minutes) would.
async fn expire_lease(world: &World, project: &str, connector: &str) {
    world
        .clients
        .dynamodb
        .delete_item()
        .table_name(&world.stack.table)
        .key("PK", AttributeValue::S(format!("PROJECT#{project}")))
        .key("SK", AttributeValue::S(format!("LEASE#{connector}")))
        .send()
        .await
        .unwrap();
}
