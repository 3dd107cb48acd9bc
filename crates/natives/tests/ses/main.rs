//! The native `ses` connector: SNS signatures over AWS's published SES examples (a local
//! certificate served from the payloads' `sns.us-east-1.amazonaws.com` URL), the subscription
//! handshake, unsubscribe confirmations ignored, the instance's topic, and the signals of the
//! documented notifications as snapshots.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;
use switchboard_core::webhook::{
    FetchError, HandshakeReply, HandshakeRequest, Headers, KeySource, VerifyContext, VerifyError, WebhookEvent,
    WebhookRequest,
};
use switchboard_core::{Connector, Descriptor, IngestionKind, MapContext};
use switchboard_natives::ses;

const CERT_URL: &str =
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem";
const TOPIC: &str = "arn:aws:sns:us-east-1:012345678912:example-topic";

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ses").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).expect("json")
}

fn connector() -> Arc<dyn Connector> {
    let descriptor = Descriptor::from_json_str(ses::DESCRIPTOR_JSON, "ses.json").unwrap_or_else(|e| panic!("{e}"));
    ses::factory(Arc::new(descriptor), None)
}

/// The fake host: serves `certificate` at the SigningCertURL and records every fetch.
struct FakeSns {
    certificate: &'static str,
    fetched: Mutex<Vec<String>>,
}

impl FakeSns {
    fn serving(certificate: &'static str) -> Self {
        Self { certificate, fetched: Mutex::new(Vec::new()) }
    }
}

#[async_trait::async_trait]
impl KeySource for FakeSns {
    async fn key_document(&self, url: &str) -> Result<Arc<Vec<u8>>, FetchError> {
        self.fetched.lock().expect("lock").push(url.to_owned());
        if url == CERT_URL {
            Ok(Arc::new(fixture(self.certificate)))
        } else {
            Err(FetchError(format!("nothing at {url}")))
        }
    }
}

async fn verify(body: &[u8], config: &BTreeMap<String, String>, keys: &FakeSns) -> Result<(), VerifyError> {
    let headers = Headers::new([("x-amz-sns-message-type", "Notification")]);
    let request = WebhookRequest { headers: &headers, body, url: None };
    let ctx = VerifyContext { secrets: &[], config, keys: Some(keys), now: Utc::now() };
    connector().verify_webhook_with(&request, &ctx).await
}

fn ctx(event_type: Option<&str>) -> MapContext<'_> {
    let received_at = DateTime::parse_from_rfc3339("2015-09-11T20:32:35Z").expect("time").with_timezone(&Utc);
    MapContext {
        connector_id: ses::ID,
        project_id: "p1",
        ingestion: IngestionKind::Webhook,
        event_type,
        received_at,
        config: None,
    }
}

#[tokio::test]
async fn documented_notifications_verify_with_the_sns_certificate_and_one_flipped_bit_does_not() {
    let none = BTreeMap::new();
    let keys = FakeSns::serving("sns-signing-cert.pem");
    for name in ["notification-sns-action.json", "notification-s3-action-alert.json", "unsubscribe-confirmation.json"] {
        let body = fixture(name);
        verify(&body, &none, &keys).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        // A bit flipped in the SES notification inside `Message` (its subject).
        let text = String::from_utf8(body.clone()).expect("utf-8");
        if let Some(at) = text.find("Example subject") {
            let mut flipped = body.clone();
            flipped[at] ^= 0x01;
            assert!(verify(&flipped, &none, &keys).await.is_err(), "{name}: a flipped bit verifies");
        }
    }
    assert!(keys.fetched.lock().expect("lock").iter().all(|url| url == CERT_URL));
}

#[tokio::test]
async fn another_key_or_a_certificate_url_off_the_allowlist_is_refused_before_any_fetch() {
    let none = BTreeMap::new();
    let body = fixture("notification-sns-action.json");
    let wrong = FakeSns::serving("sns-other-cert.pem");
    assert!(matches!(verify(&body, &none, &wrong).await, Err(VerifyError::NoSignatureMatched)));

    let mut forged = json("notification-sns-action.json");
    forged["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem".into();
    let keys = FakeSns::serving("sns-signing-cert.pem");
    let error = verify(&serde_json::to_vec(&forged).expect("json"), &none, &keys).await.expect_err("refused");
    assert!(matches!(error, VerifyError::UntrustedKeyUrl(_)), "{error}");
    assert!(keys.fetched.lock().expect("lock").is_empty(), "nothing is fetched from a foreign host");
}

#[tokio::test]
async fn an_instance_topic_admits_its_own_messages_only() {
    let keys = FakeSns::serving("sns-signing-cert.pem");
    let body = fixture("notification-sns-action.json");
    let own = BTreeMap::from([(ses::TOPIC_KEY.to_owned(), TOPIC.to_owned())]);
    verify(&body, &own, &keys).await.expect("its own topic");
    let other = BTreeMap::from([(ses::TOPIC_KEY.to_owned(), "arn:aws:sns:us-east-1:999999999999:other".to_owned())]);
    let error = verify(&body, &other, &keys).await.expect_err("another topic");
    assert!(error.to_string().contains("not the instance's topicArn"), "{error}");
}

#[test]
fn the_subscription_is_confirmed_only_after_verification_and_unsubscribing_is_ignored() {
    let connector = connector();
    let headers = Headers::new([("x-amz-sns-message-type", "SubscriptionConfirmation")]);
    let confirmation = json("subscription-confirmation.json");
    let request = HandshakeRequest { headers: &headers, query: &[], payload: Some(&confirmation) };
    assert_eq!(connector.handshake_reply(&request, false), None, "not before the signature verifies");
    let url = confirmation["SubscribeURL"].as_str().expect("url").to_owned();
    assert_eq!(connector.handshake_reply(&request, true), Some(HandshakeReply::Confirm { url }));

    let unsubscribe = json("unsubscribe-confirmation.json");
    let request = HandshakeRequest { headers: &headers, query: &[], payload: Some(&unsubscribe) };
    assert_eq!(connector.handshake_reply(&request, true), None, "unsubscribing is not confirmed");
    let event = connector.webhook_event(&headers, &unsubscribe);
    assert!(matches!(event, WebhookEvent::Ignored { .. }), "{event:?}");
    let report = connector.map(&unsubscribe, &ctx(Some("UnsubscribeConfirmation"))).expect("maps");
    assert!(report.signals.is_empty() && report.ignored.len() == 1, "{report:?}");
}

#[test]
fn the_documented_sns_action_notification_is_one_email_received_signal() {
    let report = connector().map(&json("notification-sns-action.json"), &ctx(Some("Notification"))).expect("maps");
    assert_eq!(report.signals.len(), 1, "{report:?}");
    let signal = &report.signals[0];
    assert_eq!(signal.signal_type, "email_received");
    assert_eq!(signal.external_id, "d6iitobk75ur44p8kdnnp7g2n800");
    assert_eq!(signal.summary, "Example subject (from sender@example.com)");
    assert_eq!(signal.participants, ["sender@example.com", "recipient@example.com"]);
    assert_eq!(signal.tags, ["spam:pass", "virus:pass", "spf:pass", "dkim:pass"]);
    assert_eq!(signal.related_items, ["<61967230-7A45-4A9D-BEC9-87CBCF2211C9@example.com>"]);
    assert_eq!(signal.timestamp, "2015-09-11T20:32:33.936Z");
    insta::assert_json_snapshot!("sns_action", report);
}

#[test]
fn the_documented_alert_notification_is_the_same_mail() {
    let report = connector().map(&json("notification-s3-action-alert.json"), &ctx(Some("Notification"))).expect("maps");
    insta::assert_json_snapshot!("s3_action_alert", report);
    let action = connector().map(&json("notification-sns-action.json"), &ctx(Some("Notification"))).expect("maps");
    assert_eq!(report.signals[0].id, action.signals[0].id, "one mail, one signal id");
}

#[test]
fn a_message_that_is_no_received_mail_is_ignored_with_the_reason() {
    let connector = connector();
    let mut plain = json("notification-sns-action.json");
    plain["Message"] = "Hello world!".into();
    let report = connector.map(&plain, &ctx(Some("Notification"))).expect("maps");
    assert!(report.signals.is_empty(), "{report:?}");
    assert!(report.ignored[0].reason.contains("not an SES notification"), "{report:?}");

    let mut bounce = json("notification-sns-action.json");
    bounce["Message"] = r#"{"notificationType":"Bounce","mail":{"messageId":"x"}}"#.into();
    let report = connector.map(&bounce, &ctx(Some("Notification"))).expect("maps");
    assert!(report.ignored[0].reason.contains("\"Bounce\" is not a received mail"), "{report:?}");
}
