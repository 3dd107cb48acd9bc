//! A native (Rust) connector through the real functions: its descriptor registered through the
//! registry function like any other, an instance polled by the poller function through the
//! connector trait, and its items normalised into signals on the signals queue, once.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_natives::test_connector;

use crate::events::{claims, scheduled_event};
use crate::world::World;

#[tokio::test]
async fn a_native_connector_is_polled_by_the_poller_function_and_its_signals_arrive_once() {
    let world = World::start().await;
    let descriptor: Value = serde_json::from_str(test_connector::DESCRIPTOR_JSON).unwrap();
    let admin = || claims("admin", "*", true);
    let registered = world.registry("POST", "/connectors", &descriptor.to_string(), admin()).await;
    assert_eq!(registered.status, 201, "the native descriptor registers: {}", registered.body);
    let instance = json!({"config": {"items": "alpha,beta,gamma"}});
    let path = format!("/projects/acme/connectors/{}", test_connector::ID);
    let created = world.registry("POST", &path, &instance.to_string(), admin()).await;
    assert_eq!(created.status, 201, "{}", created.body);

    let poller = world.start_poller(&[]).await;
    let summary = poller.invoke(scheduled_event()).await;
    assert_eq!((summary["succeeded"].as_u64(), summary["items"].as_u64()), (Some(1), Some(3)), "{summary:#}");
    let polled = world.take_ingest().await;
    assert_eq!(polled.len(), 3, "one ingest message per item");
    assert_eq!(world.normalise(&polled).await, Vec::<String>::new(), "no batch item failures");

    let signals = world.take_signals().await;
    let mut summaries: Vec<&str> = signals.iter().map(|s| s["summary"].as_str().unwrap()).collect();
    summaries.sort_unstable();
    assert_eq!(summaries, ["alpha", "beta", "gamma"], "{signals:#?}");
    assert!(
        signals.iter().all(|s| s["signalType"] == "native_item"
            && s["source"] == test_connector::ID
            && s["projectId"] == "acme"
            && s["ingestion"] == "polling"),
        "{signals:#?}"
    );
    let mut ids: Vec<&str> = signals.iter().map(|s| s["externalId"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["1", "2", "3"]);

    // Once its interval (one second) has passed the instance is due again, and the poll resumes
    // from the connector's checkpoint: nothing new.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = poller.invoke(scheduled_event()).await;
    assert_eq!((again["due"].as_u64(), again["succeeded"].as_u64()), (Some(1), Some(1)), "{again:#}");
    assert_eq!(again["items"], 0, "{again:#}");
    assert!(world.take_ingest().await.is_empty(), "the second poll enqueued nothing");
    assert!(world.take_signals().await.is_empty());
}
