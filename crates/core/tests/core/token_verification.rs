//! The specification's `token` verification keyword with `auth.method = webhook_secret`: a static
//! token compared in constant time, which needs no HMAC `algorithm` (GitLab's `X-Gitlab-Token`).

use chrono::Utc;
use serde_json::{Value, json};
use switchboard_core::Descriptor;
use switchboard_core::webhook::{Headers, VerifyError, WebhookRequest};

/// A webhook-only descriptor authenticated by `auth.webhook_secret` and the keyword `keyword`.
fn descriptor(keyword: &str, algorithm: Option<&str>) -> Value {
    let mut config = json!({
        "signatureHeader": "X-Gitlab-Token",
        "credentialFields": [{ "key": "secret", "label": "Secret token", "type": "password", "required": true }]
    });
    if let Some(algorithm) = algorithm {
        config["algorithm"] = json!(algorithm);
    }
    json!({
        "id": "token-hook", "name": "Token hook", "description": "d", "category": "custom", "icon": "box",
        "kind": "generic",
        "auth": { "method": "webhook_secret", "config": config },
        "ingestion": {
            "mode": "webhook", "eventTypes": [], "eventTypePath": "$.object_kind", "verification": keyword
        },
        "fieldMapping": {
            "itemsPath": "$", "idPath": "$.id", "timestampPath": "$.t", "summaryTemplate": "x",
            "signalTypeRules": [{ "then": "changed" }]
        },
        "healthCheck": { "endpoint": "https://x.example/", "method": "GET", "expectStatus": 200, "timeoutMs": 1000 },
        "version": "1.0.0"
    })
}

fn verify(d: &Descriptor, header: Option<&str>) -> Result<(), VerifyError> {
    let headers = Headers::new(header.map(|v| ("X-Gitlab-Token", v)));
    let request = WebhookRequest { headers: &headers, body: b"{}", url: None };
    let verifier = d.webhook().and_then(|w| w.verifier.as_ref()).expect("a verifier");
    verifier.verify(&request, &["s3cret-token"], Utc::now())
}

#[test]
fn the_token_keyword_needs_no_algorithm_and_compares_the_header_with_the_secret() {
    let d = Descriptor::from_value(&descriptor("token", None), "token.json").expect("token without algorithm is valid");
    assert_eq!(verify(&d, Some("s3cret-token")), Ok(()));
    assert_eq!(verify(&d, Some("s3cret-tokem")), Err(VerifyError::NoSignatureMatched));
    assert!(matches!(verify(&d, None), Err(VerifyError::MissingHeader(h)) if h == "X-Gitlab-Token"));
}

#[test]
fn the_token_keyword_still_accepts_an_algorithm_written_before_it_was_optional() {
    let d = Descriptor::from_value(&descriptor("token", Some("hmac-sha256")), "token.json").expect("valid");
    assert_eq!(verify(&d, Some("s3cret-token")), Ok(()));
}

#[test]
fn the_signature_keyword_without_an_algorithm_is_reported_at_the_verification() {
    let error = Descriptor::from_value(&descriptor("signature", None), "sig.json").expect_err("needs an algorithm");
    let found: Vec<(String, String)> = error.issues.into_iter().map(|i| (i.pointer, i.message)).collect();
    assert!(
        found.iter().any(|(p, m)| p == "/ingestion/verification"
            && m.contains("needs auth.config.algorithm (hmac-sha256 or hmac-sha1)")),
        "{found:?}"
    );
    let error = Descriptor::from_value(&descriptor("signature", Some("hmac-md5")), "sig.json").expect_err("unknown");
    assert!(error.issues.iter().any(|i| i.pointer == "/auth/config/algorithm" && i.message.contains("hmac-md5")));
}
