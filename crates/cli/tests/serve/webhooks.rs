//! Signed webhooks through serve: accepted ones become signals once, bad signatures leave no
//! trace.

use std::time::Duration;

use serde_json::json;

use crate::support::{Delivery, Launch, WEBHOOK_SECRET, dead_letters, eventually, queued_messages_containing};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn a_signed_webhook_becomes_a_signal_readable_through_the_api_and_on_stdout() {
    let data = tempfile::tempdir().unwrap();
    let serve = Launch::new(data.path()).args(&["--signals-out", "-"]).start().await;
    let api = serve.admin();
    api.connect_github_prs("acme").await;

    let delivery = Delivery::pull_request_opened("delivery-1", 101, WEBHOOK_SECRET);
    let status = delivery.send(&reqwest::Client::new(), &serve.base, "acme").await.unwrap();
    assert_eq!(status, 202);

    let signals = eventually("the signal", WAIT, || async {
        let signals = api.signals("acme").await;
        (!signals.is_empty()).then_some(signals)
    })
    .await;
    assert_eq!(signals.len(), 1);
    let signal = &signals[0];
    assert_eq!(signal["externalId"], "101");
    assert_eq!(signal["signalType"], "pr_opened");
    assert_eq!(signal["source"], "github-prs");
    assert_eq!(signal["projectId"], "acme");
    assert_eq!(signal["ingestion"], "webhook");
    assert_eq!(signal["eventType"], "pull_request");

    // `--signals-out -` writes the same signal as one JSON line on stdout.
    let line =
        eventually("the signal on stdout", WAIT, || async { serve.stdout().lines().next().map(str::to_owned) }).await;
    let written: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(written["id"], signal["id"]);
}

#[tokio::test]
async fn the_same_delivery_sent_twice_gives_one_signal() {
    let data = tempfile::tempdir().unwrap();
    let serve = Launch::new(data.path()).start().await;
    let api = serve.admin();
    api.connect_github_prs("acme").await;
    let http = reqwest::Client::new();

    let delivery = Delivery::pull_request_opened("delivery-dup", 7, WEBHOOK_SECRET);
    assert_eq!(delivery.send(&http, &serve.base, "acme").await.unwrap(), 202);
    assert_eq!(delivery.send(&http, &serve.base, "acme").await.unwrap(), 202, "a redelivery is acknowledged");
    let other = Delivery::pull_request_opened("delivery-other", 8, WEBHOOK_SECRET);
    assert_eq!(other.send(&http, &serve.base, "acme").await.unwrap(), 202);

    // The gateway recognised the redelivery by its delivery id: only two envelopes were queued.
    let counts = eventually("both deliveries to be normalised", WAIT, || async {
        let counts = api.counts("acme", "github-prs").await;
        (counts["signals"].as_u64().unwrap() == 2).then_some(counts)
    })
    .await;
    assert_eq!(counts, json!({"signals": 2, "ignored": 0, "duplicates": 0, "failed": 0}));
    let ids = api.external_ids("acme").await;
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec![("7".to_owned(), 1), ("8".to_owned(), 1)]);
}

#[tokio::test]
async fn a_bad_signature_is_refused_with_401_and_nothing_is_stored() {
    let data = tempfile::tempdir().unwrap();
    let serve = Launch::new(data.path()).start().await;
    let api = serve.admin();
    api.connect_github_prs("acme").await;
    let http = reqwest::Client::new();

    let forged = Delivery::pull_request_opened("delivery-forged", 666, "not-the-secret");
    assert_eq!(forged.send(&http, &serve.base, "acme").await.unwrap(), 401);
    let unsigned = Delivery { signature: String::new(), ..Delivery::pull_request_opened("delivery-unsigned", 667, "") };
    assert_eq!(unsigned.send(&http, &serve.base, "acme").await.unwrap(), 401);
    let mut tampered = Delivery::pull_request_opened("delivery-tampered", 668, WEBHOOK_SECRET);
    tampered.body.extend_from_slice(b" ");
    assert_eq!(tampered.send(&http, &serve.base, "acme").await.unwrap(), 401);
    for id in ["delivery-forged", "delivery-unsigned", "delivery-tampered"] {
        assert_eq!(queued_messages_containing(data.path(), id), 0, "{id} reached a queue");
    }

    // A good delivery sent afterwards is normalised; by then anything queued before it would be too.
    let good = Delivery::pull_request_opened("delivery-good", 1, WEBHOOK_SECRET);
    assert_eq!(good.send(&http, &serve.base, "acme").await.unwrap(), 202);
    let expected = json!({"signals": 1, "ignored": 0, "duplicates": 0, "failed": 0});
    eventually("the good delivery to be counted", WAIT, || async {
        (api.counts("acme", "github-prs").await == expected).then_some(())
    })
    .await;
    let ids = api.external_ids("acme").await;
    assert_eq!(ids.into_keys().collect::<Vec<_>>(), vec!["1"]);
    for id in ["delivery-forged", "delivery-unsigned", "delivery-tampered"] {
        assert_eq!(queued_messages_containing(data.path(), id), 0, "{id} reached a queue");
    }
    assert_eq!(dead_letters(data.path()), 0);
}
