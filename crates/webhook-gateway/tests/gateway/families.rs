//! Handshakes as data and the signature families at the gateway: each handshake is answered
//! and nothing is enqueued; SNS certificates are fetched through the fetcher port and cached;
//! form bodies are verified over their parameters and enqueued as objects.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use switchboard_core::Descriptor;
use switchboard_core::webhook::{FetchError, WebhookFetcher};

use crate::support::World;

const SNS_CERT_URL: &str =
    "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem";

/// A fake fetcher: serves the SNS test certificate and records every GET.
#[derive(Debug, Default)]
struct FakeFetcher {
    documents: BTreeMap<String, Vec<u8>>,
    gets: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl WebhookFetcher for FakeFetcher {
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.gets.lock().unwrap().push(url.to_owned());
        match self.documents.get(url) {
            Some(document) => Ok(document.clone()),
            None if url.contains("Action=ConfirmSubscription") => Ok(b"<ConfirmSubscriptionResponse/>".to_vec()),
            None => Err(FetchError(format!("nothing served at {url}"))),
        }
    }
}

impl FakeFetcher {
    fn serving_sns_certificate() -> Arc<Self> {
        Arc::new(Self {
            documents: BTreeMap::from([(SNS_CERT_URL.to_owned(), families_fixture("sns-signing-cert.pem"))]),
            ..Self::default()
        })
    }

    fn gets(&self) -> Vec<String> {
        self.gets.lock().unwrap().clone()
    }
}

fn families_fixture(name: &str) -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/tests/core/webhook_families/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A webhook-only descriptor `id` with this verification and these handshakes.
async fn register(world: &World, id: &str, verification: Value, handshakes: Value) {
    let document = json!({
        "id": id, "name": id, "description": "A test connector.", "category": "custom", "icon": "webhook",
        "kind": "generic",
        "auth": {"method": "api_key", "config": {"delivery": "header", "paramName": "X-Key", "credentialFields": [
            {"key": "webhookSecret", "label": "Webhook secret", "type": "password", "required": false}
        ]}},
        "ingestion": {"mode": "webhook", "eventTypes": [], "eventTypePath": "$.Type",
                      "verification": verification, "handshakes": handshakes},
        "fieldMapping": {"itemsPath": "$", "idPath": "$.MessageId", "timestampPath": "$.Timestamp",
                         "summaryTemplate": "{{Message}}", "signalTypeRules": [{"then": "message"}]},
        "version": "1.0.0"
    });
    let descriptor = Descriptor::from_value(&document, "test").unwrap();
    world.stores.descriptors.register_descriptor(descriptor.model(), false).await.unwrap();
}

async fn sns_world(fetcher: Arc<FakeFetcher>) -> World {
    let mut world = World::new().await;
    world.state = world.state.clone().with_fetcher(fetcher);
    let verification = json!({"scheme": "rsa", "rsa": {
    "signaturePath": "$.Signature", "certificateUrlPath": "$.SigningCertURL",
    "certificateHosts": ["sns.*.amazonaws.com"], "versionPath": "$.SignatureVersion",
    "versions": {"1": "rsa-sha1", "2": "rsa-sha256"}, "typePath": "$.Type",
    "signedFields": {
        "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
        "SubscriptionConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    }}});
    let handshakes = json!([{
        "when": {"when": "$.Type", "operator": "equals", "value": "SubscriptionConfirmation"},
        "answer": {"type": "confirm_url", "urlPath": "$.SubscribeURL", "allowedHosts": ["sns.*.amazonaws.com"]}
    }]);
    register(&world, "sns-test", verification, handshakes).await;
    world.add_instance("sns-test", "p1", &[], true).await;
    world
}

fn sns_post(body: Vec<u8>) -> Request<Body> {
    Request::post("/webhooks/sns-test/p1")
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", "Notification")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn an_sns_subscription_confirmation_is_confirmed_by_get_and_nothing_is_enqueued() {
    let fetcher = FakeFetcher::serving_sns_certificate();
    let world = sns_world(fetcher.clone()).await;

    let answer = world.send(sns_post(families_fixture("sns-subscription-confirmation-v1.json"))).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json(), json!({"status": "confirmed"}));
    let confirmation: Value =
        serde_json::from_slice(&families_fixture("sns-subscription-confirmation-v1.json")).unwrap();
    assert_eq!(fetcher.gets(), [SNS_CERT_URL, confirmation["SubscribeURL"].as_str().unwrap()]);
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn a_forged_subscription_confirmation_is_refused_and_not_confirmed() {
    let fetcher = FakeFetcher::serving_sns_certificate();
    let world = sns_world(fetcher.clone()).await;
    let mut forged: Value = serde_json::from_slice(&families_fixture("sns-subscription-confirmation-v1.json")).unwrap();
    forged["SubscribeURL"] = json!("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=other");

    let answer = world.send(sns_post(serde_json::to_vec(&forged).unwrap())).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
    assert_eq!(fetcher.gets(), [SNS_CERT_URL], "only the certificate was fetched");
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn signed_sns_notifications_are_accepted_and_the_certificate_is_fetched_once() {
    let fetcher = FakeFetcher::serving_sns_certificate();
    let world = sns_world(fetcher.clone()).await;

    let v1 = world.send(sns_post(families_fixture("sns-notification-v1.json"))).await;
    let v2 = world.send(sns_post(families_fixture("sns-notification-v2.json"))).await;

    assert_eq!((v1.status, v2.status), (StatusCode::ACCEPTED, StatusCode::ACCEPTED), "{} {}", v1.text, v2.text);
    assert_eq!(fetcher.gets(), [SNS_CERT_URL]);
    let ingested = world.ingested().await;
    assert_eq!(ingested.len(), 2);
    assert_eq!(ingested[0].0.payload["Message"], "Hello world!");
}

#[tokio::test]
async fn a_certificate_that_cannot_be_fetched_is_a_retryable_503() {
    let world = sns_world(Arc::new(FakeFetcher::default())).await;

    let answer = world.send(sns_post(families_fixture("sns-notification-v1.json"))).await;

    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{}", answer.text);
    assert_eq!(answer.error_code(), "key_unavailable");
    assert!(answer.header("retry-after").is_some());
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn graph_validation_token_and_asana_hook_secret_are_echoed_without_reading_secrets() {
    let world = World::new().await;
    let handshakes = json!([
        {"answer": {"type": "echo_query", "param": "validationToken"}, "verify": false},
        {"answer": {"type": "echo_header", "header": "X-Hook-Secret"}, "verify": false}
    ]);
    let verification = json!({"signatureHeader": "X-Hook-Signature", "secretField": "webhookSecret"});
    register(&world, "echo-test", verification, handshakes).await;
    world.add_instance("echo-test", "p1", &[("webhookSecret", "s")], true).await;

    // Microsoft Graph: POST with an empty text/plain body and the token in the query.
    let graph = Request::post(
        "/webhooks/echo-test/p1?validationToken=Validation%3A%20Testing%20client%20application%20reachability",
    )
    .header("content-type", "text/plain; charset=utf-8")
    .body(Body::empty())
    .unwrap();
    let answer = world.send(graph).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.text, "Validation: Testing client application reachability");
    assert!(answer.header("content-type").unwrap().starts_with("text/plain"));

    // Asana: the secret comes in a header and goes back in the same header.
    let asana = Request::post("/webhooks/echo-test/p1")
        .header("x-hook-secret", "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81")
        .body(Body::from("{}"))
        .unwrap();
    let answer = world.send(asana).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        answer.header("x-hook-secret"),
        Some("b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81")
    );

    assert_eq!(world.secrets_read(), 0);
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn a_zoom_challenge_is_answered_with_the_instance_secret_after_verification() {
    let world = World::new().await;
    let verification = json!({"signatureHeader": "x-zm-signature", "secretField": "webhookSecret", "prefix": "v0=",
        "signedContent": "v0:{timestamp}:{body}", "timestampHeader": "x-zm-request-timestamp"});
    let handshakes = json!([{
        "when": {"when": "$.event", "operator": "equals", "value": "endpoint.url_validation"},
        "answer": {"type": "hmac_challenge", "tokenPath": "$.payload.plainToken", "secretField": "webhookSecret"}
    }]);
    register(&world, "zoom-test", verification, handshakes).await;
    world.add_instance("zoom-test", "p1", &[("webhookSecret", "secretValueTest")], true).await;
    let body = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature = crate::support::hmac_hex("secretValueTest", format!("v0:{timestamp}:{body}").as_bytes());
    let request = Request::post("/webhooks/zoom-test/p1")
        .header("content-type", "application/json")
        .header("x-zm-request-timestamp", &timestamp)
        .header("x-zm-signature", format!("v0={signature}"))
        .body(Body::from(body))
        .unwrap();

    let answer = world.send(request).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!({"plainToken": "qgg8vlvZRS6UYooatFL8Aw",
               "encryptedToken": "70c1f2e2e6ca2d39297490d1f9142c7d701415ea8e6151f6562a08fa657a40ff"})
    );
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn a_twilio_form_post_is_verified_over_its_parameters_and_enqueued_as_an_object() {
    let world = World::new().await;
    let verification = json!({"signatureHeader": "X-Twilio-Signature", "secretField": "webhookSecret",
        "algorithm": "hmac-sha1", "encoding": "base64", "signedContent": "{url}{form}"});
    register(&world, "twilio-test", verification, json!([])).await;
    world.add_instance("twilio-test", "p1", &[("webhookSecret", "12345")], true).await;
    let body = "CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&To=%2B18005551212&Caller=%2B14158675309";
    // The URL Twilio called: the gateway rebuilds it from Host and the path (here the test's).
    let url = "https://hooks.example.com/webhooks/twilio-test/p1";
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"12345").unwrap();
    mac.update(
        format!("{url}CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212").as_bytes(),
    );
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let post = |signature: &str| {
        Request::post("/webhooks/twilio-test/p1")
            .header("host", "hooks.example.com")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(Body::from(body))
            .unwrap()
    };

    let forged = world.send(post("RSOYDt4T1cUTdK1PDd93/VVr8B8=")).await;
    let answer = world.send(post(&signature)).await;

    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let ingested = world.ingested().await;
    assert_eq!(ingested.len(), 1);
    assert_eq!(ingested[0].0.payload["From"], "+14158675309");
    assert_eq!(ingested[0].0.payload["CallSid"], "CA1234567890ABCDE");
}
