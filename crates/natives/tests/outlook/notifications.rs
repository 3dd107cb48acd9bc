//! Graph change notifications: the validation token echoed before anything is read, the
//! `clientState` of every notification checked, a `created` notification as the message's
//! `email_received` (the poll's signal id), other changes and lifecycle notifications ignored.

use serde_json::{Value, json};
use switchboard_core::webhook::{HandshakeReply, HandshakeRequest, Headers, VerifyError, WebhookRequest};
use switchboard_core::{Connector, IngestionKind};

use crate::support::{ctx, fixture_text, webhook_connector};

const STATE: &str = "secretClientValue";

fn verify(connector: &dyn Connector, body: &str, secrets: &[&str]) -> Result<(), VerifyError> {
    let headers = Headers::new([("content-type", "application/json")]);
    connector.verify_webhook(&WebhookRequest { headers: &headers, body: body.as_bytes(), url: None }, secrets)
}

#[test]
fn the_validation_token_is_echoed_before_verification() {
    let connector = webhook_connector();
    let headers = Headers::new([("content-type", "text/plain")]);
    let query = vec![("validationToken".to_owned(), "Validation: Testing client application reachability".to_owned())];
    let request = HandshakeRequest { headers: &headers, query: &query, payload: None };
    assert_eq!(
        connector.handshake_reply(&request, false),
        Some(HandshakeReply::Echo(Value::String("Validation: Testing client application reachability".to_owned())))
    );
}

#[test]
fn every_notification_must_carry_the_instance_client_state() {
    let connector = webhook_connector();
    assert_eq!(connector.webhook_secret_field(), Some("clientState"));
    let body = fixture_text("notification-created.json");
    verify(connector.as_ref(), &body, &[STATE]).expect("the documented notification");
    verify(connector.as_ref(), &body, &["rotated", STATE]).expect("the previous client state");
    assert!(matches!(verify(connector.as_ref(), &body, &["another"]), Err(VerifyError::NoSignatureMatched)));
    assert!(matches!(verify(connector.as_ref(), &body, &[]), Err(VerifyError::NoSecretConfigured)));

    let mut two: Value = serde_json::from_str(&body).expect("json");
    let mut forged = two["value"][0].clone();
    forged["clientState"] = json!("secretClientValuf");
    two["value"].as_array_mut().expect("value").push(forged);
    assert!(verify(connector.as_ref(), &two.to_string(), &[STATE]).is_err(), "one forged notification of two");
    let mut missing = two.clone();
    missing["value"][1].as_object_mut().expect("object").remove("clientState");
    assert!(verify(connector.as_ref(), &missing.to_string(), &[STATE]).is_err(), "no clientState");
    assert!(verify(connector.as_ref(), r#"{"value": []}"#, &[STATE]).is_err(), "nothing to check");
}

#[test]
fn a_created_notification_is_the_polled_message_signal_and_other_notifications_are_ignored() {
    let connector = webhook_connector();
    let mut payload: Value = serde_json::from_str(&fixture_text("notification-created.json")).expect("json");
    let mut updated = payload["value"][0].clone();
    updated["changeType"] = json!("updated");
    let lifecycle = json!({"subscriptionId": "{subscription_guid}", "clientState": STATE,
                           "lifecycleEvent": "reauthorizationRequired", "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"});
    payload["value"].as_array_mut().expect("value").extend([updated, lifecycle]);
    let report = connector.map(&payload, &ctx(IngestionKind::Webhook)).expect("maps");
    insta::assert_json_snapshot!("notifications", report);
    assert_eq!(report.signals.len(), 1);
    assert_eq!(report.ignored.len(), 2);

    let polled = json!({"value": [{"id": "{long_id_string}", "subject": "Hello"}]});
    let by_poll = connector.map(&polled, &ctx(IngestionKind::Polling)).expect("maps");
    assert_eq!(by_poll.signals[0].id, report.signals[0].id, "one message, one email_received by both paths");
}

#[test]
fn the_documented_delta_pages_map_to_their_signals() {
    let connector = webhook_connector();
    let mut all = Vec::new();
    for page in ["delta-page-1.json", "delta-page-2.json", "delta-page-3.json", "delta-next-round.json"] {
        let payload: Value = serde_json::from_str(&fixture_text(page)).expect("json");
        all.push(connector.map(&payload, &ctx(IngestionKind::Polling)).expect("maps"));
    }
    insta::assert_json_snapshot!("documented_delta", all);
}

#[test]
fn the_graph_subscription_is_managed_with_the_instance_client_state() {
    let descriptor =
        switchboard_natives::descriptors().expect("valid").into_iter().find(|d| d.id() == "outlook").expect("outlook");
    let plans = descriptor.subscription().expect("outlook declares its Graph subscription");
    assert_eq!(plans.variants.len(), 1);
    let plan = &plans.variants[0];
    assert_eq!(plan.create.url.as_str(), "{{baseUrl}}/v1.0/subscriptions");
    let renew = plan.renew.as_ref().expect("Graph subscriptions expire: renewed");
    assert_eq!(renew.request.url.as_str(), "{{baseUrl}}/v1.0/subscriptions/{{subscriptionId}}");
    assert_eq!(renew.renew_before, std::time::Duration::from_secs(86_400));
    assert!(plan.delete.is_some());
}
