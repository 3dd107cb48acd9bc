//! Health checks give a verdict, a status, a latency and a reason a dashboard can show.

use std::time::Duration;

use crate::support::check;
use serde_json::json;
use switchboard_core::polling::FailureClass;
use switchboard_poll::Credentials;
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn health_descriptor(timeout_ms: u32) -> switchboard_core::Descriptor {
    let mut doc = descriptor_doc(
        pat_auth(),
        json!({"endpoint": "{{baseUrl}}/items", "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since"}}),
        "$",
    );
    doc["healthCheck"]["timeoutMs"] = json!(timeout_ms);
    compile(&doc)
}

async fn check_against(answer: ResponseTemplate, timeout_ms: u32) -> switchboard_core::polling::HealthReport {
    let server = MockServer::start().await;
    Mock::given(path("/health"))
        .and(header("authorization", "Bearer ghp_ok"))
        .respond_with(answer)
        .mount(&server)
        .await;
    Mock::given(path("/health")).respond_with(ResponseTemplate::new(401)).with_priority(10).mount(&server).await;
    let credentials = [("token", "ghp_ok")].into_iter().collect::<Credentials>();
    check(&health_descriptor(timeout_ms), &config(&server), &credentials).await
}

#[tokio::test]
async fn the_expected_status_is_healthy() {
    let report = check_against(ResponseTemplate::new(200), 1000).await;
    assert!(report.healthy, "{report:?}");
    assert_eq!(report.status, Some(200));
    assert_eq!(report.reason, None);
}

#[tokio::test]
async fn rejected_credentials_are_unhealthy_with_an_auth_reason() {
    let server = MockServer::start().await;
    Mock::given(path("/health")).respond_with(ResponseTemplate::new(401)).mount(&server).await;
    let credentials = [("token", "ghp_wrong")].into_iter().collect::<Credentials>();
    let report = check(&health_descriptor(1000), &config(&server), &credentials).await;
    assert!(!report.healthy);
    assert_eq!(report.status, Some(401));
    assert_eq!(report.class, Some(FailureClass::Auth));
    assert!(report.reason.as_deref().unwrap().contains("credentials were rejected"), "{report:?}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["healthy"], false);
    assert!(json.get("latencyMs").is_some());
}

#[tokio::test]
async fn a_slow_endpoint_is_unhealthy_after_the_timeout() {
    let report = check_against(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)), 100).await;
    assert!(!report.healthy);
    assert_eq!(report.status, None);
    assert_eq!(report.reason.as_deref(), Some("no answer within 100 ms"));
    assert_eq!(report.class, Some(FailureClass::Transient));
}

#[tokio::test]
async fn a_server_error_is_unhealthy_and_transient() {
    let report = check_against(ResponseTemplate::new(503), 1000).await;
    assert!(!report.healthy);
    assert_eq!(report.class, Some(FailureClass::Transient));
}

#[tokio::test]
async fn an_unreachable_host_is_unhealthy_with_a_reason() {
    let credentials = [("token", "ghp_ok")].into_iter().collect::<Credentials>();
    let config = std::collections::BTreeMap::from([("baseUrl".to_owned(), "http://127.0.0.1:9".to_owned())]);
    let report = check(&health_descriptor(1000), &config, &credentials).await;
    assert!(!report.healthy);
    assert!(report.reason.is_some());
}
