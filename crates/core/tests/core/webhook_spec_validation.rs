//! A scheme object is validated when its descriptor loads: every mistake is reported at once,
//! under the JSON pointer of the field to fix.

use crate::webhook_presets::{at, vector};
use serde_json::{Value, json};
use switchboard_core::model::VerificationSpec;
use switchboard_core::model::{VerificationKeyword, WebhookSecretConfig};
use switchboard_core::webhook::{Headers, Verifier, VerifyError, WebhookRequest};
use switchboard_core::{Connector, Descriptor, GenericConnector};

const AT: &str = "/ingestion/webhook/verification";

/// Compiles a scheme object with the credential fields `signingSecret` and `token`; returns the
/// issues as `pointer: message` lines.
fn issues(spec: Value) -> Vec<String> {
    let spec: VerificationSpec = serde_json::from_value(spec).expect("the scheme parses");
    match Verifier::from_spec(&spec, AT, &["token", "signingSecret"]) {
        Ok(_) => Vec::new(),
        Err(issues) => issues.iter().map(ToString::to_string).collect(),
    }
}

fn slack(overrides: Value) -> Value {
    let mut spec = json!({
        "signatureHeader": "X-Slack-Signature",
        "secretField": "signingSecret",
        "prefix": "v0=",
        "signedContent": "v0:{timestamp}:{body}",
        "timestampHeader": "X-Slack-Request-Timestamp"
    });
    for (key, value) in overrides.as_object().expect("overrides are an object") {
        if value.is_null() {
            spec.as_object_mut().expect("the scheme is an object").remove(key);
        } else {
            spec[key] = value.clone();
        }
    }
    spec
}

#[test]
fn a_valid_scheme_compiles_and_names_its_secret_field() {
    assert_eq!(issues(slack(json!({}))), Vec::<String>::new());
    let spec: VerificationSpec = serde_json::from_value(slack(json!({}))).unwrap();
    assert_eq!(Verifier::from_spec(&spec, AT, &["signingSecret"]).unwrap().secret_field(), Some("signingSecret"));
}

#[test]
fn an_unknown_secret_field_is_reported_with_the_declared_ones() {
    assert_eq!(
        issues(slack(json!({ "secretField": "secret" }))),
        [format!("{AT}/secretField: unknown credential field \"secret\" (declared: \"token\", \"signingSecret\")")]
    );
}

#[test]
fn unknown_or_unclosed_placeholders_are_reported() {
    let unknown = issues(slack(json!({ "signedContent": "v0:{ts}:{body}" })));
    assert_eq!(
        unknown,
        [format!(
            "{AT}/signedContent: unknown placeholder {{ts}} (placeholders: {{body}}, {{timestamp}}, {{id}}, {{url}}, {{form}})"
        )]
    );
    let unclosed = issues(slack(json!({ "signedContent": "v0:{timestamp:{body}" })));
    assert_eq!(unclosed.len(), 1);
    assert!(unclosed[0].starts_with(&format!("{AT}/signedContent: unknown placeholder")), "{unclosed:?}");
    let open = issues(slack(json!({ "signedContent": "{body}{" })));
    assert!(open[0].contains("unclosed '{'"), "{open:?}");
}

#[test]
fn signed_content_must_include_the_body() {
    assert_eq!(
        issues(slack(json!({ "signedContent": "v0:{timestamp}" }))),
        [format!("{AT}/signedContent: must include {{body}} or {{form}}, otherwise the body is not authenticated")]
    );
}

#[test]
fn a_signed_timestamp_needs_a_source_and_a_source_must_be_signed() {
    assert_eq!(
        issues(slack(json!({ "timestampHeader": null }))),
        [format!(
            "{AT}/signedContent: uses {{timestamp}}, which needs timestampHeader or a key_value signatureFormat with timestampKey"
        )]
    );
    assert_eq!(
        issues(slack(json!({ "signedContent": "{body}" }))),
        [format!(
            "{AT}/timestampHeader: the timestamp is not in signedContent, so it is not authenticated; add {{timestamp}} to signedContent"
        )]
    );
    let both = issues(slack(json!({
        "prefix": null,
        "signatureFormat": { "type": "key_value", "signatureKey": "v1", "timestampKey": "t" }
    })));
    assert_eq!(
        both,
        [format!("{AT}/timestampHeader: conflicts with signatureFormat.timestampKey; keep one timestamp source")]
    );
}

#[test]
fn tolerance_needs_a_signed_timestamp_and_must_be_positive() {
    assert_eq!(
        issues(json!({ "signatureHeader": "Linear-Signature", "secretField": "token", "toleranceSeconds": 60 })),
        [format!("{AT}/toleranceSeconds: has no effect without a signed timestamp")]
    );
    assert_eq!(issues(slack(json!({ "toleranceSeconds": 0 }))), [format!("{AT}/toleranceSeconds: must be at least 1")]);
}

#[test]
fn a_message_id_needs_id_header_and_id_header_must_be_signed() {
    assert_eq!(
        issues(slack(json!({ "signedContent": "{id}.{timestamp}.{body}" }))),
        [format!("{AT}/signedContent: uses {{id}}, which needs idHeader")]
    );
    assert_eq!(
        issues(slack(json!({ "idHeader": "webhook-id" }))),
        [format!("{AT}/idHeader: is set but signedContent does not include {{id}}")]
    );
}

#[test]
fn token_schemes_reject_hmac_fields() {
    let found = issues(json!({
        "scheme": "token",
        "signatureHeader": "X-Gitlab-Token",
        "secretField": "token",
        "algorithm": "hmac-sha1",
        "encoding": "base64",
        "signedContent": "{body}",
        "toleranceSeconds": 10,
        "secretEncoding": "raw"
    }));
    let pointers: Vec<&str> = found.iter().map(|issue| issue.split(':').next().unwrap()).collect();
    let expected: Vec<String> = ["algorithm", "encoding", "signedContent", "toleranceSeconds", "secretEncoding"]
        .iter()
        .map(|field| format!("{AT}/{field}"))
        .collect();
    assert_eq!(pointers, expected);
    assert!(found[0].ends_with("does not apply to the token scheme (the header holds the secret itself)"));
}

#[test]
fn a_token_scheme_may_require_a_prefix() {
    let spec: VerificationSpec = serde_json::from_value(json!({
        "scheme": "token", "signatureHeader": "Authorization", "secretField": "token", "prefix": "Bearer "
    }))
    .unwrap();
    let verifier = Verifier::from_spec(&spec, AT, &["token"]).unwrap();
    let verify = |value: &str| {
        let headers = Headers::new([("Authorization", value)]);
        verifier.verify(&WebhookRequest { headers: &headers, body: b"", url: None }, &["t0ken"], at(0))
    };
    assert_eq!(verify("Bearer t0ken"), Ok(()));
    assert!(matches!(verify("t0ken"), Err(VerifyError::MalformedHeader { .. })));
    assert_eq!(verify("Bearer t0ke"), Err(VerifyError::NoSignatureMatched));
}

#[test]
fn a_prefix_only_applies_to_plain_headers() {
    let found = issues(json!({
        "signatureHeader": "X-PagerDuty-Signature",
        "secretField": "token",
        "prefix": "v1=",
        "signatureFormat": { "type": "key_value", "signatureKey": "v1" }
    }));
    assert_eq!(
        found,
        [format!("{AT}/prefix: applies to plain signatures only; key_value and list entries carry their own key")]
    );
}

#[test]
fn header_layout_keys_and_separators_must_be_usable() {
    let found = issues(json!({
        "signatureHeader": "Stripe-Signature",
        "secretField": "token",
        "signedContent": "{timestamp}.{body}",
        "signatureFormat": { "type": "key_value", "pairSeparator": "", "signatureKey": "v=1", "timestampKey": "v=1" }
    }));
    let pointers: Vec<&str> = found.iter().map(|issue| issue.split(':').next().unwrap()).collect();
    assert_eq!(
        pointers,
        [
            format!("{AT}/signatureFormat/pairSeparator"),
            format!("{AT}/signatureFormat/signatureKey"),
            format!("{AT}/signatureFormat/timestampKey"),
            format!("{AT}/signatureFormat/timestampKey"),
        ]
    );
    let list = issues(json!({
        "signatureHeader": "webhook-signature",
        "secretField": "token",
        "signatureFormat": { "type": "list", "separator": "", "versionPrefix": "" }
    }));
    assert_eq!(
        list,
        [
            format!("{AT}/signatureFormat/separator: must not be empty"),
            format!("{AT}/signatureFormat/versionPrefix: must not be empty")
        ]
    );
}

#[test]
fn header_names_must_be_valid() {
    let found = issues(slack(json!({ "signatureHeader": "X Slack Signature", "timestampHeader": "" })));
    assert_eq!(
        found,
        [
            format!("{AT}/signatureHeader: \"X Slack Signature\" is not a header name"),
            format!("{AT}/timestampHeader: \"\" is not a header name"),
        ]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let found = issues(json!({
        "signatureHeader": "Stripe-Signature",
        "secretField": "nope",
        "prefix": "v1=",
        "signatureFormat": { "type": "key_value", "signatureKey": "v1" },
        "signedContent": "{timestamp}.{payload}",
        "idHeader": "Stripe-Id"
    }));
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with(&format!("{AT}/secretField")));
    assert!(found[1].starts_with(&format!("{AT}/signedContent")));
    assert!(found[2].starts_with(&format!("{AT}/prefix")));
}

#[test]
fn webhook_secret_form_reports_unusable_configuration() {
    let config = |algorithm: &str, fields: Value| -> WebhookSecretConfig {
        serde_json::from_value(
            json!({ "signatureHeader": "X-Hub-Signature", "algorithm": algorithm, "credentialFields": fields }),
        )
        .unwrap()
    };
    let field = json!([{ "key": "secret", "label": "Secret", "type": "password", "required": true }]);
    let message = |keyword, config: &WebhookSecretConfig| -> Vec<String> {
        Verifier::from_webhook_secret(keyword, config, AT).unwrap_err().iter().map(ToString::to_string).collect()
    };
    assert_eq!(
        message(VerificationKeyword::Signature, &config("hmac-md5", field.clone())),
        [format!("{AT}: auth.config.algorithm \"hmac-md5\" is not hmac-sha256 or hmac-sha1")]
    );
    assert_eq!(
        message(VerificationKeyword::Token, &config("hmac-sha256", json!([]))),
        [format!("{AT}: auth.config.credentialFields declares no field to hold the webhook secret")]
    );
    assert_eq!(
        message(VerificationKeyword::None, &config("hmac-sha256", field)),
        [format!("{AT}: verification \"none\" has no verifier")]
    );
}

/// A webhook-only descriptor that authenticates API calls with a PAT and webhooks with Slack's
/// scheme under a second credential field.
fn descriptor(verification: Value) -> Value {
    json!({
        "id": "slack-events",
        "name": "Slack events",
        "description": "Slack Events API deliveries.",
        "category": "communication",
        "icon": "slack",
        "kind": "generic",
        "auth": {
            "method": "pat",
            "config": {
                "delivery": "bearer",
                "paramName": "Authorization",
                "credentialFields": [
                    { "key": "token", "label": "Bot token", "type": "password", "required": true },
                    { "key": "signingSecret", "label": "Signing secret", "type": "password", "required": true }
                ]
            }
        },
        "ingestion": {
            "mode": "webhook",
            "eventTypes": ["message"],
            "eventTypePath": "$.event.type",
            "verification": verification
        },
        "fieldMapping": {
            "itemsPath": "$",
            "idPath": "$.event_id",
            "timestampPath": "$.event_time",
            "summaryTemplate": "{{event.text}}",
            "signalTypeRules": [{ "then": "message_received" }]
        },
        "healthCheck": { "endpoint": "https://slack.com/api/auth.test", "method": "GET", "expectStatus": 200, "timeoutMs": 5000 },
        "version": "1.0.0"
    })
}

#[test]
fn a_descriptor_with_a_scheme_object_verifies_deliveries() {
    let loaded =
        Descriptor::from_value(&descriptor(slack(json!({}))), "slack.json").unwrap_or_else(|e| panic!("{e:?}"));
    let verifier = loaded.webhook().and_then(|w| w.verifier.as_ref()).expect("a verifier");
    assert_eq!(verifier.secret_field(), Some("signingSecret"));
    let slack = vector("Slack");
    let headers = slack.headers();
    let request = WebhookRequest { headers: &headers, body: slack.body, url: None };
    assert_eq!(verifier.verify(&request, &[slack.secret], at(slack.now)), Ok(()));
}

#[test]
fn a_descriptor_with_a_broken_scheme_fails_to_load_with_pointers() {
    let broken = slack(json!({ "secretField": "signing_secret", "timestampHeader": null }));
    let error = Descriptor::from_value(&descriptor(broken), "slack.json").unwrap_err();
    let pointers: Vec<&str> = error.issues.iter().map(|issue| issue.pointer.as_str()).collect();
    assert_eq!(pointers, ["/ingestion/verification/secretField", "/ingestion/verification/signedContent"]);
}

#[test]
fn a_descriptor_with_an_unknown_scheme_field_fails_to_load() {
    let typo = slack(json!({ "timestampHeadr": "X-Slack-Request-Timestamp" }));
    assert!(Descriptor::from_value(&descriptor(typo), "slack.json").is_err());
}

#[test]
fn the_generic_connector_verifies_with_the_descriptor_scheme() {
    let github = vector("GitHub");
    let loaded = Descriptor::from_value(&descriptor(serde_json::from_str(github.spec).unwrap()), "github.json");
    // GitHub's preset names `webhookSecret`, which this descriptor does not declare.
    assert!(loaded.is_err());
    let spec = json!({ "signatureHeader": "X-Hub-Signature-256", "secretField": "signingSecret", "prefix": "sha256=" });
    let connector =
        GenericConnector::new(Descriptor::from_value(&descriptor(spec), "github.json").unwrap().into(), None);
    let headers = github.headers();
    let request = WebhookRequest { headers: &headers, body: github.body, url: None };
    assert_eq!(connector.verify_webhook(&request, &["old", github.secret]), Ok(()));
    assert_eq!(connector.verify_webhook(&request, &["old"]), Err(VerifyError::NoSignatureMatched));
}

#[test]
fn the_token_keyword_needs_no_algorithm_and_signature_says_it_needs_one() {
    let field = json!([{ "key": "secret", "label": "Secret", "type": "password", "required": true }]);
    let config: WebhookSecretConfig =
        serde_json::from_value(json!({ "signatureHeader": "X-Gitlab-Token", "credentialFields": field })).unwrap();
    let verifier =
        Verifier::from_webhook_secret(VerificationKeyword::Token, &config, AT).expect("a token needs no algorithm");
    assert_eq!(verifier.secret_field(), Some("secret"));
    let found: Vec<String> = Verifier::from_webhook_secret(VerificationKeyword::Signature, &config, AT)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("needs auth.config.algorithm") && found[0].contains("\"token\""), "{found:?}");
}
