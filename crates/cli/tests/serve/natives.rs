//! A native (Rust) connector inside serve: registered through the registry API like any
//! descriptor, polled by the real poller through the connector trait, and its signals reach the
//! signals queue (the `--signals-out` stream) and the registry's recent signals.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_natives::test_connector;

use crate::support::{Launch, eventually};

const WAIT: Duration = Duration::from_secs(20);

/// Lines of the `--signals-out` file.
fn written(file: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[tokio::test]
async fn a_native_connector_is_polled_by_the_real_poller_and_its_signals_arrive_once() {
    let data = tempfile::tempdir().unwrap();
    let out = data.path().join("signals.jsonl");
    let launch = Launch::new(data.path()).args(&["--signals-out", out.to_str().unwrap()]);
    let mut serve = launch.start().await;
    let api = serve.admin();

    let descriptor: Value = serde_json::from_str(test_connector::DESCRIPTOR_JSON).unwrap();
    let (status, body) = api.post("/connectors", &descriptor).await;
    assert_eq!(status, 201, "the native descriptor registers: {body}");
    let instance = json!({"config": {"items": "alpha,beta,gamma"}});
    let (status, body) = api.post(&format!("/projects/acme/connectors/{}", test_connector::ID), &instance).await;
    assert_eq!(status, 201, "{body}");

    let signals = eventually("the native connector's three signals", WAIT, || async {
        let signals = api.signals("acme").await;
        (signals.len() == 3).then_some(signals)
    })
    .await;
    let mut summaries: Vec<&str> = signals.iter().map(|s| s["summary"].as_str().unwrap()).collect();
    summaries.sort_unstable();
    assert_eq!(summaries, ["alpha", "beta", "gamma"]);
    assert!(signals.iter().all(|s| s["signalType"] == "native_item" && s["source"] == test_connector::ID));
    assert!(signals.iter().all(|s| s["ingestion"] == "polling"));
    eventually("the signals on the signals queue", WAIT, || async { (written(&out).len() == 3).then_some(()) }).await;

    // Later polls resume from the connector's checkpoint: nothing is emitted again.
    let path = format!("/projects/acme/connectors/{}/health", test_connector::ID);
    eventually("two more sync runs", WAIT, || async {
        let (status, health) = api.get(&path).await;
        assert_eq!(status, 200, "{health}");
        (health["recentSyncs"].as_array().unwrap().len() >= 3).then_some(())
    })
    .await;
    assert_eq!(api.signals("acme").await.len(), 3);
    assert!(serve.stop().await.success(), "serve exits 0 on SIGTERM:\n{}", serve.stderr());
    let mut ids: Vec<String> = written(&out).iter().map(|s| s["externalId"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    assert_eq!(ids, ["1", "2", "3"], "each item reached the signals queue once");
}
