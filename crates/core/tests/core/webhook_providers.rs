//! Every provider preset verifies its own test vector, and every tampering with a delivery —
//! a flipped bit, a truncated header, a stale timestamp, a wrong secret — is rejected.

use std::collections::BTreeMap;

use crate::webhook_presets::{PAGERDUTY_BODY, STRIPE_BODY, Vector, WRONG_SECRET, at, vector, vectors};
use serde_json::{Value, json};
use switchboard_core::model::{SchemeKind, SignatureEncoding};
use switchboard_core::model::{VerificationKeyword, WebhookSecretConfig};
use switchboard_core::webhook::{Headers, Verifier, VerifyError, WebhookRequest};

#[test]
fn every_provider_vector_verifies_with_its_secret() {
    for v in vectors() {
        v.verify(&[v.secret]).unwrap_or_else(|e| panic!("{} ({}): {e}", v.provider, v.origin));
    }
}

#[test]
fn a_wrong_secret_is_rejected_for_every_provider() {
    for v in vectors() {
        assert_eq!(v.verify(&[WRONG_SECRET]), Err(VerifyError::NoSignatureMatched), "{}", v.provider);
    }
}

#[test]
fn the_previous_secret_still_verifies_during_a_rotation() {
    for v in vectors() {
        assert_eq!(v.verify(&[WRONG_SECRET, v.secret]), Ok(()), "{}: signed with the previous secret", v.provider);
        assert_eq!(v.verify(&[v.secret, WRONG_SECRET]), Ok(()), "{}: signed with the current secret", v.provider);
    }
}

#[test]
fn no_secret_or_only_empty_secrets_is_reported_as_not_configured() {
    for v in vectors() {
        assert_eq!(v.verify(&[]), Err(VerifyError::NoSecretConfigured), "{}", v.provider);
        assert_eq!(v.verify(&["", ""]), Err(VerifyError::NoSecretConfigured), "{}", v.provider);
    }
}

#[test]
fn flipping_any_bit_of_the_body_is_rejected() {
    for v in vectors().into_iter().filter(|v| v.body_signed) {
        let headers = v.headers();
        for index in 0..v.body.len() {
            for bit in 0..8 {
                let mut body = v.body.to_vec();
                body[index] ^= 1 << bit;
                let result = v.verify_with(&headers, &body, &[v.secret], v.now);
                assert_eq!(result, Err(VerifyError::NoSignatureMatched), "{}: body byte {index} bit {bit}", v.provider);
            }
        }
    }
}

#[test]
fn flipping_any_bit_of_a_signature_timestamp_or_id_header_is_rejected() {
    for v in vectors() {
        let spec = v.spec();
        let hex =
            matches!(spec.encoding, None | Some(SignatureEncoding::Hex)) && spec.scheme != Some(SchemeKind::Token);
        for (name, value) in v.headers {
            for index in 0..value.len() {
                for bit in 0..8 {
                    let mut bytes = value.as_bytes().to_vec();
                    bytes[index] ^= 1 << bit;
                    let Ok(mutated) = String::from_utf8(bytes) else { continue };
                    // Hex is case-insensitive: `a` and `A` are the same signature byte.
                    let original = value.as_bytes()[index];
                    if hex && bit == 5 && original.is_ascii_hexdigit() && original.is_ascii_alphabetic() {
                        continue;
                    }
                    let headers = with_header(&v, name, &mutated);
                    let result = v.verify_with(&headers, v.body, &[v.secret], v.now);
                    assert!(
                        result.is_err(),
                        "{}: {name} byte {index} bit {bit} ({mutated:?}) still verifies",
                        v.provider
                    );
                }
            }
        }
    }
}

#[test]
fn truncated_empty_or_missing_headers_are_rejected() {
    for v in vectors() {
        for (name, value) in v.headers {
            for len in 1..value.len() {
                let headers = with_header(&v, name, &value[..len]);
                let result = v.verify_with(&headers, v.body, &[v.secret], v.now);
                assert!(result.is_err(), "{}: {name} truncated to {len} bytes still verifies", v.provider);
            }
            let missing = VerifyError::MissingHeader((*name).to_owned());
            for empty in ["", "   "] {
                let headers = with_header(&v, name, empty);
                assert_eq!(v.verify_with(&headers, v.body, &[v.secret], v.now), Err(missing.clone()), "{}", v.provider);
            }
            let without: Headers = v.headers.iter().filter(|(n, _)| n != name).copied().collect();
            assert_eq!(v.verify_with(&without, v.body, &[v.secret], v.now), Err(missing), "{}", v.provider);
        }
    }
}

#[test]
fn timestamps_older_or_newer_than_the_tolerance_are_rejected() {
    for v in vectors() {
        let Some(tolerance) = v.tolerance else { continue };
        let headers = v.headers();
        let verify_at = |now| v.verify_with(&headers, v.body, &[v.secret], now);
        let limit = i64::from(tolerance);
        assert_eq!(verify_at(v.now + limit), Ok(()), "{}: exactly at the tolerance", v.provider);
        assert_eq!(verify_at(v.now - limit), Ok(()), "{}: exactly at the tolerance", v.provider);
        let expired = VerifyError::TimestampOutsideTolerance { skew_seconds: limit + 1, tolerance_seconds: tolerance };
        assert_eq!(verify_at(v.now + limit + 1), Err(expired), "{}: expired", v.provider);
        let future = VerifyError::TimestampOutsideTolerance { skew_seconds: -limit - 1, tolerance_seconds: tolerance };
        assert_eq!(verify_at(v.now - limit - 1), Err(future), "{}: from the future", v.provider);
    }
}

#[test]
fn header_names_match_in_any_case() {
    for v in vectors() {
        let lower: Headers = v.headers.iter().map(|(n, value)| (n.to_ascii_lowercase(), *value)).collect();
        assert_eq!(v.verify_with(&lower, v.body, &[v.secret], v.now), Ok(()), "{}", v.provider);
    }
}

#[test]
fn github_vector_from_octokit_webhooks_methods_verifies() {
    // octokit/webhooks-methods.js test/verify.test.ts: `{ foo: "bar" }` as GitHub sends it
    // (2-space indent, trailing newline), secret "mysecret".
    let github = vector("GitHub");
    let headers = Headers::new([(
        "X-Hub-Signature-256",
        "sha256=e3eccac34c43c7dc1cbb905488b1b81347fcc700a7b025697a9d07862256023f",
    )]);
    assert_eq!(github.verify_with(&headers, b"{\n  \"foo\": \"bar\"\n}\n", &["mysecret"], 0), Ok(()));
    assert_eq!(
        github.verify_with(&headers, b"{\n  \"foo\": \"bar\"\n}\n", &["foo"], 0),
        Err(VerifyError::NoSignatureMatched)
    );
}

#[test]
fn github_header_without_its_sha256_prefix_is_malformed() {
    let github = vector("GitHub");
    let headers =
        Headers::new([("X-Hub-Signature-256", "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]);
    let error = github.verify_with(&headers, github.body, &[github.secret], 0).unwrap_err();
    assert_eq!(error.to_string(), "header X-Hub-Signature-256 is malformed: it does not start with \"sha256=\"");
}

#[test]
fn stripe_header_signed_with_old_and_new_secrets_verifies_with_either() {
    // During a Stripe secret roll both secrets sign; generate_vectors.py computed the rolled one.
    let stripe = vector("Stripe");
    let headers = Headers::new([(
        "Stripe-Signature",
        "t=1700000000,v1=3bfab77baf5f7b6991a46c9b53b6547d7afc56148b10468fcad9f35c1992ffbd,v1=f8da3c57978b5355b9b0b40492161305c3c9c8469a9d2784a0163739b30929f3",
    )]);
    for secret in ["whsec_test_secret", "whsec_test_secret_rolled_key"] {
        assert_eq!(stripe.verify_with(&headers, STRIPE_BODY, &[secret], stripe.now), Ok(()), "{secret}");
    }
    assert_eq!(
        stripe.verify_with(&headers, STRIPE_BODY, &[WRONG_SECRET], stripe.now),
        Err(VerifyError::NoSignatureMatched)
    );
}

#[test]
fn stripe_ignores_v0_and_unreadable_entries() {
    let stripe = vector("Stripe");
    // A v0 entry is not a v1 signature, even when its value is the right HMAC.
    let v0_only = Headers::new([(
        "Stripe-Signature",
        "t=1700000000,v0=3bfab77baf5f7b6991a46c9b53b6547d7afc56148b10468fcad9f35c1992ffbd",
    )]);
    let error = stripe.verify_with(&v0_only, STRIPE_BODY, &[stripe.secret], stripe.now).unwrap_err();
    assert_eq!(error.to_string(), "header Stripe-Signature is malformed: it has no v1= entry");
    // stripe-go: "an unreadable signature in the header should be ignored".
    let with_bad = Headers::new([(
        "Stripe-Signature",
        "t=1700000000,v1=3bfab77baf5f7b6991a46c9b53b6547d7afc56148b10468fcad9f35c1992ffbd,v1=bad_signature",
    )]);
    assert_eq!(stripe.verify_with(&with_bad, STRIPE_BODY, &[stripe.secret], stripe.now), Ok(()));
    let only_bad = Headers::new([("Stripe-Signature", "t=1700000000,v1=bad_signature")]);
    let error = stripe.verify_with(&only_bad, STRIPE_BODY, &[stripe.secret], stripe.now).unwrap_err();
    assert_eq!(error.to_string(), "header Stripe-Signature is malformed: it has no hex signature of 32 bytes");
}

#[test]
fn standard_webhooks_header_with_several_signatures_verifies() {
    // standard-webhooks libraries/go/webhook_test.go "valid multi sig is valid".
    let standard = vector("Standard Webhooks");
    let headers = Headers::new([
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", "1614265330"),
        (
            "webhook-signature",
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        ),
    ]);
    assert_eq!(standard.verify_with(&headers, standard.body, &[standard.secret], standard.now), Ok(()));
}

#[test]
fn standard_webhooks_secret_is_accepted_with_or_without_its_whsec_prefix() {
    // standard-webhooks libraries/go/webhook_test.go TestWebhookPrefix.
    let standard = vector("Standard Webhooks");
    assert_eq!(standard.verify(&["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]), Ok(()));
    assert_eq!(
        standard.verify(&["whsec_not base64!"]),
        Err(VerifyError::UnusableSecret("it is not a whsec_ secret (whsec_ followed by base64)"))
    );
}

#[test]
fn pagerduty_header_with_several_signatures_verifies_when_any_matches() {
    // go-pagerduty webhookv3_test.go: the "valid" and "mismatch" signatures for the same body.
    let pagerduty = vector("PagerDuty");
    let both = Headers::new([(
        "X-PagerDuty-Signature",
        "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5,v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd",
    )]);
    assert_eq!(pagerduty.verify_with(&both, PAGERDUTY_BODY, &[pagerduty.secret], 0), Ok(()));
    let mismatch = Headers::new([(
        "X-PagerDuty-Signature",
        "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5",
    )]);
    assert_eq!(
        pagerduty.verify_with(&mismatch, PAGERDUTY_BODY, &[pagerduty.secret], 0),
        Err(VerifyError::NoSignatureMatched)
    );
}

#[test]
fn trello_signature_covers_the_callback_url() {
    let trello = vector("Trello");
    let headers = trello.headers();
    let other_url = Vector { url: Some("https://hooks.example.com/webhooks/trello/proj-2"), ..trello.clone() };
    assert_eq!(other_url.verify(&[trello.secret]), Err(VerifyError::NoSignatureMatched));
    let no_url = Vector { url: None, ..trello.clone() };
    assert_eq!(no_url.verify_with(&headers, trello.body, &[trello.secret], 0), Err(VerifyError::UrlUnknown));
}

#[test]
fn messages_say_what_is_wrong_without_revealing_values() {
    let slack = vector("Slack");
    let missing = Headers::new([("X-Slack-Signature", slack.headers[1].1)]);
    let error = slack.verify_with(&missing, slack.body, &[slack.secret], slack.now).unwrap_err();
    assert_eq!(error.to_string(), "header X-Slack-Request-Timestamp is missing or empty");
    let odd = with_header(&slack, "X-Slack-Request-Timestamp", "1531420618.5");
    let error = slack.verify_with(&odd, slack.body, &[slack.secret], slack.now).unwrap_err();
    assert_eq!(
        error.to_string(),
        "header X-Slack-Request-Timestamp is malformed: its timestamp is not a whole number of unix seconds"
    );
    let error = slack.verify_with(&slack.headers(), slack.body, &[slack.secret], slack.now + 3600).unwrap_err();
    assert_eq!(error.to_string(), "timestamp is 3600 s before the current time; at most 300 s is accepted");
}

#[test]
fn webhook_secret_signature_keyword_verifies_github_with_or_without_the_prefix() {
    let verifier = from_webhook_secret(VerificationKeyword::Signature, "X-Hub-Signature-256", "hmac-sha256");
    assert_eq!(verifier.secret_field(), Some("webhookSecret"));
    let signature = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    for value in [format!("sha256={signature}"), signature.to_owned()] {
        let headers = Headers::new([("X-Hub-Signature-256", value)]);
        let request = WebhookRequest { headers: &headers, body: b"Hello, World!", url: None };
        assert_eq!(verifier.verify(&request, &["It's a Secret to Everybody"], at(0)), Ok(()));
        assert_eq!(verifier.verify(&request, &[WRONG_SECRET], at(0)), Err(VerifyError::NoSignatureMatched));
    }
}

#[test]
fn webhook_secret_sha1_keyword_verifies_the_legacy_github_header() {
    // HMAC-SHA1 of the GitHub docs' body and secret, computed by generate_vectors.py and openssl.
    let verifier = from_webhook_secret(VerificationKeyword::Signature, "X-Hub-Signature", "hmac-sha1");
    let headers = Headers::new([("X-Hub-Signature", "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59")]);
    let request = WebhookRequest { headers: &headers, body: b"Hello, World!", url: None };
    assert_eq!(verifier.verify(&request, &["It's a Secret to Everybody"], at(0)), Ok(()));
    let sha256_header = Headers::new([("X-Hub-Signature", "sha256=01dc10d0c83e72ed246219cdd91669667fe2ca59")]);
    let request = WebhookRequest { headers: &sha256_header, body: b"Hello, World!", url: None };
    assert!(verifier.verify(&request, &["It's a Secret to Everybody"], at(0)).is_err());
}

#[test]
fn webhook_secret_token_keyword_compares_the_header_with_the_secret() {
    let verifier = from_webhook_secret(VerificationKeyword::Token, "X-Gitlab-Token", "hmac-sha256");
    let headers = Headers::new([("X-Gitlab-Token", "s3cret-token")]);
    let request = WebhookRequest { headers: &headers, body: b"{}", url: None };
    assert_eq!(verifier.verify(&request, &["previous-token", "s3cret-token"], at(0)), Ok(()));
    assert_eq!(verifier.verify(&request, &["s3cret-tokenX"], at(0)), Err(VerifyError::NoSignatureMatched));
    assert_eq!(verifier.verify(&request, &["s3cret-toke"], at(0)), Err(VerifyError::NoSignatureMatched));
}

#[test]
fn docs_show_exactly_the_tested_presets() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/webhook-verification.md");
    let text = std::fs::read_to_string(path).expect("docs/webhook-verification.md exists");
    let documented = documented_schemes(&text);
    let tested: BTreeMap<String, Value> =
        vectors().into_iter().map(|v| (v.provider.to_owned(), serde_json::from_str(v.spec).unwrap())).collect();
    assert_eq!(documented, tested, "docs/webhook-verification.md and the test presets differ");
}

/// The JSON block under each `### Provider` heading of the docs.
fn documented_schemes(markdown: &str) -> BTreeMap<String, Value> {
    let mut schemes = BTreeMap::new();
    let mut provider = None;
    let mut block: Option<String> = None;
    for line in markdown.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            provider = Some(heading.trim().to_owned());
        } else if line.trim() == "```json" && provider.is_some() {
            block = Some(String::new());
        } else if line.trim() == "```" && block.is_some() {
            let json = block.take().expect("inside a block");
            let name = provider.take().expect("under a heading");
            let value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("docs: {name}: invalid JSON: {e}"));
            schemes.insert(name, value);
        } else if let Some(block) = block.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    schemes
}

fn with_header(v: &Vector, name: &str, value: &str) -> Headers {
    v.headers.iter().map(|(n, original)| (*n, if *n == name { value } else { *original })).collect()
}

fn from_webhook_secret(keyword: VerificationKeyword, header: &str, algorithm: &str) -> Verifier {
    let config: WebhookSecretConfig = serde_json::from_value(json!({
        "signatureHeader": header,
        "algorithm": algorithm,
        "credentialFields": [{ "key": "webhookSecret", "label": "Webhook secret", "type": "password", "required": true }]
    }))
    .expect("a webhook_secret config");
    Verifier::from_webhook_secret(keyword, &config, "/ingestion/webhook/verification").expect("a verifier")
}
