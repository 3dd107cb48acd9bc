//! Signature families (Ed25519, Twilio's URL + sorted form, RSA with a fetched certificate, JWT
//! with a fetched key set) and handshakes as data, on the providers' published vectors
//! (sources in `fixtures/SOURCES.md`), with one-bit mutations and wrong keys failing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use switchboard_core::Descriptor;
use switchboard_core::webhook::{
    FetchError, HandshakeReply, HandshakeRequest, Headers, KeySource, VerifyContext, VerifyError, WebhookRequest, form,
};

use crate::common::{sample_descriptor, set};

const DISCORD_PUBLIC_KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const DISCORD_BODY: &str =
    r#"{"id":"787053080478613555","token":"ThisIsATokenFromDiscordThatIsVeryLong","type":1,"version":1}"#;
const DISCORD_SIGNATURE: &str = "f0bd878adcef1f6d475c9644421905bd02b5de38e0d3ecfc6f58a711962c69ccc8dd7c9db312f9bdf08b1e1b8182e27a844da728c5e0dbb5507bf9931c1ed80b";
const TWILIO_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const TWILIO_BODY: &str =
    "CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&To=%2B18005551212&Caller=%2B14158675309";
const SNS_CERT_URL: &str =
    "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/core/webhook_families/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

/// The sample webhook descriptor with this verification, these handshakes and a config field
/// `publicKey` / `audience`.
fn descriptor(verification: Value, handshakes: Value) -> Result<Descriptor, Vec<(String, String)>> {
    let mut doc = sample_descriptor();
    set(&mut doc, "/ingestion/webhook/verification", verification);
    set(&mut doc, "/ingestion/webhook/handshakes", handshakes);
    let fields = doc["configFields"].as_array_mut().unwrap();
    fields.push(json!({"key": "publicKey", "label": "Public key", "type": "text", "required": false}));
    fields.push(json!({"key": "audience", "label": "Audience", "type": "text", "required": false}));
    Descriptor::from_value(&doc, "<test>").map_err(|e| e.issues.into_iter().map(|i| (i.pointer, i.message)).collect())
}

fn issues(verification: Value, handshakes: Value) -> Vec<(String, String)> {
    match descriptor(verification, handshakes) {
        Ok(_) => panic!("the descriptor should not compile"),
        Err(issues) => issues,
    }
}

/// Serves fixtures by URL and counts fetches.
#[derive(Default)]
struct Keys {
    documents: BTreeMap<String, Vec<u8>>,
    fetches: AtomicUsize,
}

#[async_trait::async_trait]
impl KeySource for Keys {
    async fn key_document(&self, url: &str) -> Result<Arc<Vec<u8>>, FetchError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.documents.get(url).cloned().map(Arc::new).ok_or_else(|| FetchError(format!("nothing at {url}")))
    }
}

// One argument per part of a delivery and of its `VerifyContext`, so each test reads as a call.
#[allow(clippy::too_many_arguments)]
async fn verify(
    d: &Descriptor,
    headers: &Headers,
    body: &[u8],
    url: Option<&str>,
    secrets: &[&str],
    config: &BTreeMap<String, String>,
    keys: &Keys,
    now: DateTime<Utc>,
) -> Result<(), VerifyError> {
    let request = WebhookRequest { headers, body, url };
    let ctx = VerifyContext { secrets, config, keys: Some(keys), now };
    d.webhook().unwrap().verifier.as_ref().unwrap().verify_with(&request, &ctx).await
}

/// Every copy of `bytes` with one bit flipped.
fn one_bit_mutations(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..bytes.len() * 8).map(move |bit| {
        let mut copy = bytes.to_vec();
        copy[bit / 8] ^= 1 << (bit % 8);
        copy
    })
}

fn discord_scheme(key_field: &str) -> Value {
    json!({"scheme": "ed25519", "signatureHeader": "X-Signature-Ed25519", "publicKeyField": key_field,
           "signedContent": "{timestamp}{body}", "timestampHeader": "X-Signature-Timestamp"})
}

fn discord_headers(signature: &str) -> Headers {
    Headers::new([("X-Signature-Ed25519", signature), ("X-Signature-Timestamp", "1700000000")])
}

#[tokio::test]
async fn discord_ed25519_vector_verifies_with_the_key_in_credentials_or_config() {
    let keys = Keys::default();
    let none = BTreeMap::new();
    let headers = discord_headers(DISCORD_SIGNATURE);
    let body = DISCORD_BODY.as_bytes();
    let in_credentials = descriptor(discord_scheme("webhookSecret"), json!([])).unwrap();
    assert_eq!(in_credentials.webhook().unwrap().secret_field(), Some("webhookSecret"));
    verify(&in_credentials, &headers, body, None, &[DISCORD_PUBLIC_KEY], &none, &keys, at(1_700_000_010))
        .await
        .unwrap();
    let in_config = descriptor(discord_scheme("publicKey"), json!([])).unwrap();
    let config = BTreeMap::from([("publicKey".to_owned(), DISCORD_PUBLIC_KEY.to_owned())]);
    verify(&in_config, &headers, body, None, &[], &config, &keys, at(1_700_000_010)).await.unwrap();
    // Stale: the timestamp is signed and checked.
    let stale = verify(&in_config, &headers, body, None, &[], &config, &keys, at(1_700_009_999)).await;
    assert!(matches!(stale, Err(VerifyError::TimestampOutsideTolerance { .. })), "{stale:?}");
}

#[tokio::test]
async fn discord_one_bit_changes_and_a_wrong_key_fail() {
    let keys = Keys::default();
    let config = BTreeMap::from([("publicKey".to_owned(), DISCORD_PUBLIC_KEY.to_owned())]);
    let d = descriptor(discord_scheme("publicKey"), json!([])).unwrap();
    let now = at(1_700_000_010);
    for body in one_bit_mutations(DISCORD_BODY.as_bytes()) {
        let result = verify(&d, &discord_headers(DISCORD_SIGNATURE), &body, None, &[], &config, &keys, now).await;
        assert_eq!(result, Err(VerifyError::NoSignatureMatched));
    }
    let signature = hex::decode(DISCORD_SIGNATURE).unwrap();
    for mutated in one_bit_mutations(&signature).step_by(7) {
        let headers = discord_headers(&hex::encode(mutated));
        let result = verify(&d, &headers, DISCORD_BODY.as_bytes(), None, &[], &config, &keys, now).await;
        assert_eq!(result, Err(VerifyError::NoSignatureMatched));
    }
    // RFC 8032 TEST 2's public key is a valid key, but not this signer's.
    let wrong = BTreeMap::from([(
        "publicKey".to_owned(),
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c".to_owned(),
    )]);
    let result =
        verify(&d, &discord_headers(DISCORD_SIGNATURE), DISCORD_BODY.as_bytes(), None, &[], &wrong, &keys, now).await;
    assert_eq!(result, Err(VerifyError::NoSignatureMatched));
    let unusable = BTreeMap::from([("publicKey".to_owned(), "not hex".to_owned())]);
    let result =
        verify(&d, &discord_headers(DISCORD_SIGNATURE), DISCORD_BODY.as_bytes(), None, &[], &unusable, &keys, now)
            .await;
    assert!(matches!(result, Err(VerifyError::InvalidKey(_))), "{result:?}");
}

fn twilio() -> Descriptor {
    descriptor(
        json!({"signatureHeader": "X-Twilio-Signature", "secretField": "webhookSecret", "algorithm": "hmac-sha1",
               "encoding": "base64", "signedContent": "{url}{form}"}),
        json!([]),
    )
    .unwrap()
}

#[tokio::test]
async fn twilio_documented_vector_verifies_over_the_url_and_the_sorted_form() {
    let (keys, none) = (Keys::default(), BTreeMap::new());
    let headers = Headers::new([("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")]);
    let d = twilio();
    verify(&d, &headers, TWILIO_BODY.as_bytes(), Some(TWILIO_URL), &["12345"], &none, &keys, Utc::now()).await.unwrap();
    // twilio-python's repeated-parameter case (values sorted too).
    let duplicate = Headers::new([("X-Twilio-Signature", "IK+Dwps556ElfBT0I3Rgjkr1wJU=")]);
    let body = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234";
    verify(&d, &duplicate, body, Some(TWILIO_URL), &["12345"], &none, &keys, Utc::now()).await.unwrap();
}

#[tokio::test]
async fn twilio_one_bit_changes_a_wrong_url_or_token_fail() {
    let (keys, none) = (Keys::default(), BTreeMap::new());
    let headers = Headers::new([("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")]);
    let d = twilio();
    let now = Utc::now();
    let original = form::form_pairs(TWILIO_BODY.as_bytes());
    // `%2B` and `%2b` are the same parameter: only mutations that change what was sent count.
    for body in one_bit_mutations(TWILIO_BODY.as_bytes()).filter(|b| form::form_pairs(b) != original) {
        let result = verify(&d, &headers, &body, Some(TWILIO_URL), &["12345"], &none, &keys, now).await;
        assert!(result.is_err(), "accepted {:?}", String::from_utf8_lossy(&body));
    }
    let other_url = "https://mycompany.com/myapp.php?foo=1&bar=3";
    assert!(
        verify(&d, &headers, TWILIO_BODY.as_bytes(), Some(other_url), &["12345"], &none, &keys, now).await.is_err()
    );
    assert!(
        verify(&d, &headers, TWILIO_BODY.as_bytes(), Some(TWILIO_URL), &["12346"], &none, &keys, now).await.is_err()
    );
    let unknown = verify(&d, &headers, TWILIO_BODY.as_bytes(), None, &["12345"], &none, &keys, now).await;
    assert_eq!(unknown, Err(VerifyError::UrlUnknown));
}

fn sns() -> Descriptor {
    descriptor(sns_scheme(), json!([])).unwrap()
}

fn sns_scheme() -> Value {
    json!({"scheme": "rsa", "rsa": {
    "signaturePath": "$.Signature", "certificateUrlPath": "$.SigningCertURL",
    "certificateHosts": ["sns.*.amazonaws.com"], "versionPath": "$.SignatureVersion",
    "versions": {"1": "rsa-sha1", "2": "rsa-sha256"}, "typePath": "$.Type",
    "signedFields": {
        "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
        "SubscriptionConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
        "UnsubscribeConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    }}})
}

fn sns_keys(certificate: &str) -> Keys {
    Keys { documents: BTreeMap::from([(SNS_CERT_URL.to_owned(), fixture(certificate))]), ..Keys::default() }
}

#[tokio::test]
async fn sns_messages_of_both_signature_versions_verify_with_the_fetched_certificate() {
    let keys = sns_keys("sns-signing-cert.pem");
    let (d, none, headers) = (sns(), BTreeMap::new(), Headers::default());
    for name in [
        "sns-notification-v1.json",
        "sns-notification-v2.json",
        "sns-subscription-confirmation-v1.json",
        "sns-subscription-confirmation-v2.json",
    ] {
        let body = fixture(name);
        let result = verify(&d, &headers, &body, None, &[], &none, &keys, Utc::now()).await;
        assert_eq!(result, Ok(()), "{name}");
    }
}

#[tokio::test]
async fn sns_changed_fields_a_wrong_certificate_and_an_untrusted_certificate_url_fail() {
    let (d, none, headers) = (sns(), BTreeMap::new(), Headers::default());
    let keys = sns_keys("sns-signing-cert.pem");
    let body: Value = serde_json::from_slice(&fixture("sns-notification-v2.json")).unwrap();
    for (field, value) in
        [("Message", "Hello world?"), ("Subject", "My First Messagf"), ("MessageId", "x"), ("Type", "Notification ")]
    {
        let mut changed = body.clone();
        changed[field] = json!(value);
        let bytes = serde_json::to_vec(&changed).unwrap();
        let result = verify(&d, &headers, &bytes, None, &[], &none, &keys, Utc::now()).await;
        assert!(result.is_err(), "a changed {field} verified");
    }
    let signature = body["Signature"].as_str().unwrap().to_owned();
    let mut flipped = body.clone();
    let mut raw = base64_decode(&signature);
    raw[10] ^= 1;
    flipped["Signature"] = json!(base64_encode(&raw));
    let result =
        verify(&d, &headers, &serde_json::to_vec(&flipped).unwrap(), None, &[], &none, &keys, Utc::now()).await;
    assert_eq!(result, Err(VerifyError::NoSignatureMatched));

    let wrong = sns_keys("sns-other-cert.pem");
    let bytes = fixture("sns-notification-v2.json");
    assert_eq!(
        verify(&d, &headers, &bytes, None, &[], &none, &wrong, Utc::now()).await,
        Err(VerifyError::NoSignatureMatched)
    );

    for url in ["https://sns.us-west-2.amazonaws.com.evil.example/x.pem", "http://sns.us-west-2.amazonaws.com/x.pem"] {
        let mut elsewhere = body.clone();
        elsewhere["SigningCertURL"] = json!(url);
        let bytes = serde_json::to_vec(&elsewhere).unwrap();
        let result = verify(&d, &headers, &bytes, None, &[], &none, &keys, Utc::now()).await;
        assert!(matches!(result, Err(VerifyError::UntrustedKeyUrl(_))), "{result:?}");
    }
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 5, "an untrusted URL must never be fetched");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn pubsub() -> Descriptor {
    descriptor(
        json!({"scheme": "jwt", "jwt": {
            "tokenHeader": "Authorization", "tokenPrefix": "Bearer ",
            "jwksUrl": "https://www.googleapis.com/oauth2/v3/certs", "jwksHosts": ["www.googleapis.com"],
            "issuers": ["https://accounts.google.com", "accounts.google.com"], "audience": "{{config.audience}}"}}),
        json!([]),
    )
    .unwrap()
}

fn google_keys() -> Keys {
    Keys {
        documents: BTreeMap::from([(
            "https://www.googleapis.com/oauth2/v3/certs".to_owned(),
            fixture("google-jwks.json"),
        )]),
        ..Keys::default()
    }
}

#[tokio::test]
async fn a_pubsub_push_token_verifies_against_the_jwks_with_issuer_audience_and_expiry() {
    let token = String::from_utf8(fixture("google-pubsub-token.txt")).unwrap().trim().to_owned();
    let headers = Headers::new([("Authorization", format!("Bearer {token}"))]);
    let config = BTreeMap::from([("audience".to_owned(), "https://hooks.example.com/webhooks/pubsub/p1".to_owned())]);
    let (d, keys) = (pubsub(), google_keys());
    verify(&d, &headers, b"{}", None, &[], &config, &keys, at(1_700_000_100)).await.unwrap();

    let expired = verify(&d, &headers, b"{}", None, &[], &config, &keys, at(1_700_009_999)).await;
    assert_eq!(expired, Err(VerifyError::InvalidToken("it has expired".into())));
    let other = BTreeMap::from([("audience".to_owned(), "https://other.example.com/".to_owned())]);
    let audience = verify(&d, &headers, b"{}", None, &[], &other, &keys, at(1_700_000_100)).await;
    assert_eq!(audience, Err(VerifyError::InvalidToken("its audience is not the expected one".into())));
    let missing = verify(&d, &headers, b"{}", None, &[], &BTreeMap::new(), &keys, at(1_700_000_100)).await;
    assert_eq!(missing, Err(VerifyError::MissingConfig("audience".into())));

    // A flipped bit in the signature part, and a key set without the signer's key.
    let (head, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = signature.as_bytes().to_vec();
    bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
    let forged = format!("Bearer {head}.{}", String::from_utf8(bytes).unwrap());
    let result =
        verify(&d, &Headers::new([("Authorization", forged)]), b"{}", None, &[], &config, &keys, at(1_700_000_100))
            .await;
    assert_eq!(result, Err(VerifyError::NoSignatureMatched));
    let mut jwks: Value = serde_json::from_slice(&fixture("google-jwks.json")).unwrap();
    jwks["keys"][0]["kid"] = json!("another-key");
    let rotated = Keys {
        documents: BTreeMap::from([(
            "https://www.googleapis.com/oauth2/v3/certs".to_owned(),
            serde_json::to_vec(&jwks).unwrap(),
        )]),
        ..Keys::default()
    };
    let result = verify(&d, &headers, b"{}", None, &[], &config, &rotated, at(1_700_000_100)).await;
    assert_eq!(result, Err(VerifyError::InvalidToken("its key id is not in the key set".into())));
}

fn reply(
    d: &Descriptor,
    headers: &Headers,
    query: &[(String, String)],
    payload: Option<&Value>,
    verified: bool,
) -> Option<HandshakeReply> {
    d.webhook().unwrap().handshake_reply(&HandshakeRequest { headers, query, payload }, verified)
}

#[test]
fn asana_and_graph_handshakes_echo_a_header_or_a_query_parameter_before_verification() {
    let handshakes = json!([
        {"answer": {"type": "echo_header", "header": "X-Hook-Secret"}, "verify": false},
        {"answer": {"type": "echo_query", "param": "validationToken"}, "verify": false}
    ]);
    let d =
        descriptor(json!({"signatureHeader": "X-Hook-Signature", "secretField": "webhookSecret"}), handshakes).unwrap();
    let asana = Headers::new([("x-hook-secret", "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81")]);
    assert_eq!(
        reply(&d, &asana, &[], None, false),
        Some(HandshakeReply::Header {
            name: "X-Hook-Secret".into(),
            value: "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81".into()
        })
    );
    let query = [("validationToken".to_owned(), "Validation: Testing client application reachability".to_owned())];
    assert_eq!(
        reply(&d, &Headers::default(), &query, None, false),
        Some(HandshakeReply::Echo(json!("Validation: Testing client application reachability")))
    );
    // An ordinary delivery is no handshake.
    assert_eq!(reply(&d, &Headers::default(), &[], Some(&json!({"event": "x"})), true), None);
}

#[test]
fn a_fixed_answer_is_sent_to_the_handshake_it_names_after_verification() {
    // Discord's PING (`type` 1) is answered `{"type": 1}`, and only once its signature holds.
    let handshakes = json!([{
        "when": {"when": "$.type", "operator": "equals", "value": 1},
        "answer": {"type": "respond", "body": {"type": 1}}
    }]);
    let d =
        descriptor(json!({"signatureHeader": "X-Hook-Signature", "secretField": "webhookSecret"}), handshakes).unwrap();
    let ping = json!({"type": 1, "id": "1143954436563234879", "application_id": "1143954436563234816"});
    let none = Headers::default();
    assert_eq!(reply(&d, &none, &[], Some(&ping), true), Some(HandshakeReply::Echo(json!({"type": 1}))));
    assert_eq!(reply(&d, &none, &[], Some(&ping), false), None, "not before the signature is checked");
    assert_eq!(reply(&d, &none, &[], Some(&json!({"type": 2})), true), None, "a command is no handshake");
    let without_when = json!([{"answer": {"type": "respond", "body": {"type": 1}}}]);
    let error =
        descriptor(json!({"signatureHeader": "X-Hook-Signature", "secretField": "webhookSecret"}), without_when)
            .expect_err("a fixed answer needs to know which request it answers");
    assert!(error.iter().any(|(_, message)| message.contains("missing required field \"when\"")), "{error:?}");
}

#[test]
fn zoom_url_validation_is_answered_with_the_documented_hmac() {
    let handshakes = json!([{
        "when": {"when": "$.event", "operator": "equals", "value": "endpoint.url_validation"},
        "answer": {"type": "hmac_challenge", "tokenPath": "$.payload.plainToken", "secretField": "webhookSecret"}
    }]);
    let d = descriptor(json!({"signatureHeader": "X-Signature", "secretField": "webhookSecret"}), handshakes).unwrap();
    let payload = json!({"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event_ts": 1654503849680_u64, "event": "endpoint.url_validation"});
    // Declared with the default `verify: true`: nothing is answered before the signature verifies.
    assert_eq!(reply(&d, &Headers::default(), &[], Some(&payload), false), None);
    let Some(HandshakeReply::Challenge(challenge)) = reply(&d, &Headers::default(), &[], Some(&payload), true) else {
        panic!("no challenge")
    };
    assert_eq!(challenge.secret_field(), "webhookSecret");
    assert_eq!(
        challenge.answer("secretValueTest"),
        json!({"plainToken": "qgg8vlvZRS6UYooatFL8Aw",
               "encryptedToken": "70c1f2e2e6ca2d39297490d1f9142c7d701415ea8e6151f6562a08fa657a40ff"})
    );
    assert_ne!(
        challenge.answer("secretValueTesu")["encryptedToken"],
        json!("70c1f2e2e6ca2d39297490d1f9142c7d701415ea8e6151f6562a08fa657a40ff")
    );
}

#[test]
fn an_sns_subscription_is_confirmed_only_on_an_allowlisted_host() {
    let handshakes = json!([{
        "when": {"when": "$.Type", "operator": "equals", "value": "SubscriptionConfirmation"},
        "answer": {"type": "confirm_url", "urlPath": "$.SubscribeURL", "allowedHosts": ["sns.*.amazonaws.com"]}
    }]);
    let d = descriptor(sns_scheme(), handshakes).unwrap();
    let mut payload: Value = serde_json::from_slice(&fixture("sns-subscription-confirmation-v1.json")).unwrap();
    let url = payload["SubscribeURL"].as_str().unwrap().to_owned();
    assert_eq!(reply(&d, &Headers::default(), &[], Some(&payload), true), Some(HandshakeReply::Confirm { url }));
    payload["SubscribeURL"] = json!("https://169.254.169.254/latest/meta-data/");
    assert_eq!(reply(&d, &Headers::default(), &[], Some(&payload), true), None);
    let notification: Value = serde_json::from_slice(&fixture("sns-notification-v1.json")).unwrap();
    assert_eq!(reply(&d, &Headers::default(), &[], Some(&notification), true), None);
}

#[test]
fn mistakes_in_new_schemes_and_handshakes_are_reported_at_their_pointers() {
    let at = "/ingestion/webhook/verification";
    let found = issues(json!({"scheme": "ed25519", "signatureHeader": "X-Signature-Ed25519"}), json!([]));
    assert_eq!(found[0].0, at);
    assert!(found[0].1.contains("publicKeyField"), "{found:?}");
    let found = issues(json!({"scheme": "ed25519", "signatureHeader": "X", "publicKeyField": "nope"}), json!([]));
    assert_eq!(found[0].0, format!("{at}/publicKeyField"));
    assert!(found[0].1.contains("neither a config field"), "{found:?}");
    let found = issues(json!({"scheme": "rsa", "signatureHeader": "X"}), json!([]));
    let pointers: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(pointers, [format!("{at}/signatureHeader"), at.to_owned()]);
    let mut bad_hosts = sns_scheme();
    bad_hosts["rsa"]["certificateHosts"] = json!(["*.com"]);
    assert_eq!(issues(bad_hosts, json!([]))[0].0, format!("{at}/rsa/certificateHosts/0"));
    let found = issues(
        json!({"scheme": "jwt", "jwt": {"tokenHeader": "Authorization", "jwksUrl": "https://evil.example/keys",
               "jwksHosts": ["www.googleapis.com"], "issuers": ["https://accounts.google.com"], "audience": "{{config.nope}}"}}),
        json!([]),
    );
    let pointers: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(pointers, [format!("{at}/jwt/jwksUrl"), format!("{at}/jwt/audience")]);
    assert!(found[1].1.contains("names no declared config field"), "{found:?}");
    let found = issues(
        json!({"signatureHeader": "X", "secretField": "webhookSecret", "signedContent": "{url}{params}"}),
        json!([]),
    );
    assert!(found[0].1.contains("unknown placeholder {params}"), "{found:?}");

    let hat = "/ingestion/webhook/handshakes/0";
    let hmac = json!({"signatureHeader": "X", "secretField": "webhookSecret"});
    let both = json!([{"when": {"when": "$.a", "operator": "exists"}, "respondWithPath": "$.a", "answer": {"type": "echo_header", "header": "X-Hook-Secret"}}]);
    assert_eq!(issues(hmac.clone(), both)[0].0, format!("{hat}/answer"));
    let challenge = json!([{"when": {"when": "$.a", "operator": "exists"}, "answer": {"type": "hmac_challenge", "tokenPath": "$.t", "secretField": "nope"}}]);
    assert_eq!(issues(hmac.clone(), challenge)[0].0, format!("{hat}/answer/secretField"));
    let no_when =
        json!([{"answer": {"type": "confirm_url", "urlPath": "$.u", "allowedHosts": ["sns.*.amazonaws.com"]}}]);
    let found = issues(hmac.clone(), no_when);
    assert_eq!(found[0].0, hat);
    assert!(found[0].1.contains("\"when\""), "{found:?}");
    let unknown = json!([{"answer": {"type": "echo_cookie", "name": "x"}}]);
    let found = issues(hmac, unknown);
    assert!(found.iter().any(|(p, m)| p.starts_with(hat) && m.contains("echo_cookie")), "{found:?}");
}
