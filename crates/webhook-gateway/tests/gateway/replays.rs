//! Replay protection: a provider delivery id is accepted once per instance within its window.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;

use crate::support::*;

#[tokio::test]
async fn the_same_github_delivery_sent_again_is_a_2xx_duplicate_without_a_second_envelope() {
    let world = World::new().await.with_github().await;

    let first = world.send(signed_pr_opened("72d3162e-cc78-11e3-81ab-4c9367dc0958")).await;
    let again = world.send(signed_pr_opened("72d3162e-cc78-11e3-81ab-4c9367dc0958")).await;

    assert_eq!((first.status, first.json()["status"].as_str()), (StatusCode::ACCEPTED, Some("accepted")));
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text);
    assert_eq!(again.json()["status"], "duplicate");
    assert_eq!(again.json()["deliveryId"], "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    assert_eq!(world.ingested().await.len(), 1);
}

#[tokio::test]
async fn a_replay_with_an_edited_event_header_is_still_the_same_delivery() {
    let world = World::new().await.with_github().await;
    let body = fixture("github-prs/pull_request.opened.json");

    let original = world.send(github_delivery("p1", "pull_request", &body, GITHUB_SECRET, "d-1")).await;
    let edited = world.send(github_delivery("p1", "pull_request_review", &body, GITHUB_SECRET, "d-1")).await;

    assert_eq!(original.status, StatusCode::ACCEPTED);
    assert_eq!((edited.status, edited.json()["status"].as_str()), (StatusCode::ACCEPTED, Some("duplicate")));
    let ingested = world.ingested().await;
    assert_eq!(ingested.len(), 1, "the replay made a second envelope");
    assert_eq!(ingested[0].0.event_type.as_deref(), Some("pull_request"));
}

#[tokio::test]
async fn delivery_ids_are_remembered_per_instance() {
    let world = World::new().await.with_github().await;
    world.add_instance("github-prs", "p2", &[("webhookSecret", GITHUB_SECRET)], true).await;
    let body = fixture("github-prs/pull_request.opened.json");

    let to_p1 = world.send(github_delivery("p1", "pull_request", &body, GITHUB_SECRET, "d-1")).await;
    let to_p2 = world.send(github_delivery("p2", "pull_request", &body, GITHUB_SECRET, "d-1")).await;

    assert_eq!(
        (to_p1.json()["status"].as_str(), to_p2.json()["status"].as_str()),
        (Some("accepted"), Some("accepted"))
    );
    assert_eq!(world.ingested().await.len(), 2);
}

#[tokio::test]
async fn a_failed_enqueue_records_nothing_so_the_providers_retry_is_accepted() {
    let mut world = World::new().await.with_github().await;
    let working = world.state.ingest.clone();
    world.state.ingest = Arc::new(BrokenQueue);
    let failed = world.send(signed_pr_opened("d-retry")).await;
    world.state.ingest = working;

    let retried = world.send(signed_pr_opened("d-retry")).await;

    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!((retried.status, retried.json()["status"].as_str()), (StatusCode::ACCEPTED, Some("accepted")));
    assert_eq!(world.ingested().await.len(), 1);
}

#[tokio::test]
async fn a_copy_arriving_while_the_first_is_being_enqueued_is_told_to_retry_and_one_envelope_is_made() {
    let mut world = World::new().await.with_github().await;
    let entered = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    world.state.ingest =
        Arc::new(GatedQueue { inner: world.state.ingest.clone(), entered: entered.clone(), release: release.clone() });
    let world = Arc::new(world);

    let first = tokio::spawn({
        let world = world.clone();
        async move { world.send(signed_pr_opened("d-race")).await }
    });
    entered.notified().await;
    let concurrent = tokio::time::timeout(Duration::from_secs(10), world.send(signed_pr_opened("d-race")))
        .await
        .expect("the second copy went on to enqueue while the first held the delivery id");
    release.notify_one();
    let first = first.await.unwrap();
    let later = world.send(signed_pr_opened("d-race")).await;

    assert_eq!(concurrent.status, StatusCode::SERVICE_UNAVAILABLE, "{}", concurrent.text);
    assert_eq!(concurrent.error_code(), "delivery_in_progress");
    assert!(concurrent.header("retry-after").is_some());
    assert_eq!((first.status, first.json()["status"].as_str()), (StatusCode::ACCEPTED, Some("accepted")));
    assert_eq!((later.status, later.json()["status"].as_str()), (StatusCode::ACCEPTED, Some("duplicate")));
    assert_eq!(world.ingested().await.len(), 1);
}

#[tokio::test]
async fn a_delivery_without_the_delivery_id_its_descriptor_names_is_refused_with_400() {
    let world = World::new().await.with_github().await;
    let mut request = signed_pr_opened("d-1");
    request.headers_mut().remove("x-github-delivery");

    let answer = world.send(request).await;

    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::BAD_REQUEST, "missing_delivery_id"));
    assert!(answer.json()["error"]["message"].as_str().unwrap().contains("X-GitHub-Delivery"), "{}", answer.text);
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn an_ignored_event_type_needs_no_delivery_id_and_records_none() {
    let world = World::new().await.with_github().await;
    let body = fixture("github-prs/push.json");
    let mut push = github_delivery("p1", "push", &body, GITHUB_SECRET, "d-1");
    push.headers_mut().remove("x-github-delivery");

    let ignored = world.send(push).await;
    let pull_request = world.send(signed_pr_opened("d-1")).await;

    assert_eq!((ignored.status, ignored.json()["status"].as_str()), (StatusCode::ACCEPTED, Some("ignored")));
    assert_eq!(pull_request.json()["status"], "accepted");
}

#[tokio::test]
async fn a_slack_retry_carrying_the_same_event_id_is_a_duplicate() {
    let world = World::new().await;
    world.add_instance("slack", "p1", &[("signingSecret", SLACK_SECRET)], true).await;
    let body = fixture("slack/app_mention.json");

    let first = world.send(slack_delivery("p1", &body, SLACK_SECRET)).await;
    // Slack signs each retry anew (a fresh timestamp) and adds X-Slack-Retry-Num.
    let mut retry = slack_delivery("p1", &body, SLACK_SECRET);
    retry.headers_mut().insert("x-slack-retry-num", "1".parse().unwrap());
    let retried = world.send(retry).await;

    assert_eq!(first.json()["status"], "accepted", "{}", first.text);
    assert_eq!((retried.status, retried.json()["status"].as_str()), (StatusCode::ACCEPTED, Some("duplicate")));
    assert_eq!(retried.json()["deliveryId"], "Ev0LAN670R");
    assert_eq!(world.ingested().await.len(), 1);
}

#[tokio::test]
async fn a_slack_event_without_its_event_id_is_refused_with_400() {
    let world = World::new().await;
    world.add_instance("slack", "p1", &[("signingSecret", SLACK_SECRET)], true).await;
    let mut event: serde_json::Value = serde_json::from_slice(&fixture("slack/app_mention.json")).unwrap();
    event.as_object_mut().unwrap().remove("event_id");

    let answer = world.send(slack_delivery("p1", &serde_json::to_vec(&event).unwrap(), SLACK_SECRET)).await;

    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::BAD_REQUEST, "missing_delivery_id"));
    assert!(answer.text.contains("$.event_id"), "{}", answer.text);
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn a_pagerduty_event_delivered_twice_is_enqueued_once_by_its_event_id() {
    let world = World::new().await;
    world.add_instance("pagerduty", "p1", &[("webhookSecret", "pd-secret")], true).await;
    let triggered = fixture("pagerduty/incident.triggered.json");
    let resolved = fixture("pagerduty/incident.resolved.json");

    let first = world.send(pagerduty_delivery("p1", &triggered, "pd-secret")).await;
    let again = world.send(pagerduty_delivery("p1", &triggered, "pd-secret")).await;
    let other = world.send(pagerduty_delivery("p1", &resolved, "pd-secret")).await;

    assert_eq!((first.status, first.json()["status"].as_str()), (StatusCode::ACCEPTED, Some("accepted")));
    assert_eq!(first.json()["deliveryId"], "01BZ6H5TNR3MSQ3W1V0KZ2V6R4");
    assert_eq!(again.json()["status"], "duplicate");
    assert_eq!(other.json()["status"], "accepted");
    assert_eq!(world.ingested().await.len(), 2);
}

#[tokio::test]
async fn a_sentry_request_id_sent_twice_is_enqueued_once() {
    let world = World::new().await;
    world.add_instance("sentry", "p1", &[("clientSecret", "sentry-secret")], true).await;
    let body = fixture("sentry/issue.created.json");
    let request_id = "9fa0e4b5-ae3e-4c6d-9a27-5a76a1d4b3a0";

    let first = world.send(sentry_delivery("p1", "issue", &body, "sentry-secret", request_id)).await;
    let again = world.send(sentry_delivery("p1", "issue", &body, "sentry-secret", request_id)).await;

    assert_eq!(first.json()["status"], "accepted", "{}", first.text);
    assert_eq!((again.status, again.json()["status"].as_str()), (StatusCode::ACCEPTED, Some("duplicate")));
    assert_eq!(world.ingested().await.len(), 1);
}

#[tokio::test]
async fn a_delivery_id_is_accepted_again_once_its_replay_window_has_passed() {
    let world = World::new().await;
    let mut github: serde_json::Value =
        serde_json::from_slice(&std::fs::read(descriptor_path("github-prs")).unwrap()).unwrap();
    github["id"] = "github-prs-short-window".into();
    github["ingestion"]["replayWindowSeconds"] = 1.into();
    let descriptor = switchboard_core::Descriptor::from_value(&github, "test").unwrap();
    world.stores.descriptors.register_descriptor(descriptor.model(), false).await.unwrap();
    world.add_instance("github-prs-short-window", "p1", &[("webhookSecret", GITHUB_SECRET)], true).await;
    let body = fixture("github-prs/pull_request.opened.json");
    let deliver = || {
        let mut request = github_delivery("p1", "pull_request", &body, GITHUB_SECRET, "d-1");
        *request.uri_mut() = "/webhooks/github-prs-short-window/p1".parse().unwrap();
        request
    };

    let first = world.send(deliver()).await;
    let within = world.send(deliver()).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let after = world.send(deliver()).await;

    assert_eq!(first.json()["status"], "accepted", "{}", first.text);
    assert_eq!(within.json()["status"], "duplicate");
    assert_eq!(after.json()["status"], "accepted");
    assert_eq!(world.ingested().await.len(), 2);
}

#[tokio::test]
async fn with_the_atomic_send_a_resent_delivery_is_a_duplicate_per_instance() {
    let world = World::new().await.with_github().await.sending_once();
    world.add_instance("github-prs", "p2", &[("webhookSecret", GITHUB_SECRET)], true).await;
    let body = fixture("github-prs/pull_request.opened.json");

    let first = world.send(github_delivery("p1", "pull_request", &body, GITHUB_SECRET, "d-1")).await;
    let again = world.send(github_delivery("p1", "pull_request_review", &body, GITHUB_SECRET, "d-1")).await;
    let to_p2 = world.send(github_delivery("p2", "pull_request", &body, GITHUB_SECRET, "d-1")).await;

    let statuses = [&first, &again, &to_p2].map(|answer| (answer.status, answer.json()["status"].clone()));
    assert_eq!(
        statuses,
        [
            (StatusCode::ACCEPTED, "accepted".into()),
            (StatusCode::ACCEPTED, "duplicate".into()),
            (StatusCode::ACCEPTED, "accepted".into())
        ]
    );
    assert_eq!(again.json()["deliveryId"], "d-1");
    let ingested = world.ingested().await;
    assert_eq!(ingested.len(), 2);
    assert_eq!(ingested[0].0.delivery_id.as_deref(), Some("d-1"));
}

#[tokio::test]
async fn with_the_atomic_send_concurrent_copies_make_one_envelope_and_every_copy_gets_a_2xx() {
    let world = Arc::new(World::new().await.with_github().await.sending_once());

    let copies: Vec<_> = (0..16)
        .map(|_| {
            let world = world.clone();
            tokio::spawn(async move { world.send(signed_pr_opened("d-race")).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for copy in copies {
        let answer = copy.await.unwrap();
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
        statuses.push(answer.json()["status"].as_str().unwrap().to_owned());
    }

    assert_eq!(statuses.iter().filter(|s| *s == "accepted").count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| *s == "duplicate").count(), 15, "{statuses:?}");
    assert_eq!(world.ingested().await.len(), 1);
}

#[tokio::test]
async fn with_the_atomic_send_a_failed_send_records_nothing_so_the_providers_retry_is_accepted() {
    let mut world = World::new().await.with_github().await.sending_once();
    let working = world.state.ingest_once.clone();
    world.state.ingest_once = Some(Arc::new(BrokenQueue));
    let failed = world.send(signed_pr_opened("d-retry")).await;
    world.state.ingest_once = working;

    let retried = world.send(signed_pr_opened("d-retry")).await;

    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE, "{}", failed.text);
    assert!(failed.header("retry-after").is_some());
    assert_eq!((retried.status, retried.json()["status"].as_str()), (StatusCode::ACCEPTED, Some("accepted")));
    assert_eq!(world.ingested().await.len(), 1);
}

#[tokio::test]
async fn with_the_atomic_send_a_delivery_costs_two_writes_its_rate_count_and_its_envelope_with_its_record() {
    let world = World::new().await.with_github().await.sending_once();
    world.send(signed_pr_opened("d-warm-up")).await;
    let before = world.embedded.writer_stats().jobs;

    let accepted = world.send(signed_pr_opened("d-1")).await;
    let duplicate = world.send(signed_pr_opened("d-1")).await;

    assert_eq!(
        (accepted.json()["status"].as_str(), duplicate.json()["status"].as_str()),
        (Some("accepted"), Some("duplicate"))
    );
    // The claim protocol would take five writes for the first and four for the second.
    assert_eq!(world.embedded.writer_stats().jobs - before, 4);
}
