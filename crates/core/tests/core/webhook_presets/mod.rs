//! Provider presets and their test vectors, shared by the `webhook_*` tests.
//!
//! Each scheme object is exactly the JSON a descriptor author copies from
//! `docs/webhook-verification.md` (a test checks the two agree). Each vector says where it comes
//! from: copied byte for byte from the provider's own tests or docs, or — where the provider
//! publishes none — computed by `generate_vectors.py` in this directory, which uses only Python's
//! standard `hmac`, `hashlib` and `base64` modules (independent of the Rust code under test).

use chrono::{DateTime, Utc};
use switchboard_core::model::VerificationSpec;
use switchboard_core::webhook::{Headers, Verifier, VerifyError, WebhookRequest};

/// A secret that matches nothing but is valid in every secret encoding (raw, base64, whsec_).
pub const WRONG_SECRET: &str = "whsec_c3dpdGNoYm9hcmQtd3Jvbmc=";

/// One provider's scheme and a delivery signed with it.
#[derive(Debug, Clone)]
pub struct Vector {
    /// Heading of the provider's section in `docs/webhook-verification.md`.
    pub provider: &'static str,
    /// The scheme object, as in the docs.
    pub spec: &'static str,
    /// Where the signature comes from.
    pub origin: &'static str,
    /// The secret the delivery is signed with.
    pub secret: &'static str,
    /// Raw body.
    pub body: &'static [u8],
    /// Request headers (one signature only, so that every bit of each header matters).
    pub headers: &'static [(&'static str, &'static str)],
    /// Request URL, for schemes that sign it.
    pub url: Option<&'static str>,
    /// Unix time at which the delivery is fresh.
    pub now: i64,
    /// Accepted skew, for schemes that sign a timestamp.
    pub tolerance: Option<u32>,
    /// Whether the scheme authenticates the body (the token scheme does not).
    pub body_signed: bool,
}

impl Vector {
    /// The scheme object, parsed.
    pub fn spec(&self) -> VerificationSpec {
        serde_json::from_str(self.spec).unwrap_or_else(|e| panic!("{}: scheme does not parse: {e}", self.provider))
    }

    /// The compiled verifier.
    pub fn verifier(&self) -> Verifier {
        let spec = self.spec();
        Verifier::from_spec(
            &spec,
            "/ingestion/webhook/verification",
            &[spec.secret_field.as_deref().unwrap_or_default()],
        )
        .unwrap_or_else(|issues| panic!("{}: scheme does not compile: {issues:?}", self.provider))
    }

    /// The vector's headers.
    pub fn headers(&self) -> Headers {
        Headers::new(self.headers.iter().copied())
    }

    /// Verifies the vector's body with `headers` at `now`.
    pub fn verify_with(&self, headers: &Headers, body: &[u8], secrets: &[&str], now: i64) -> Result<(), VerifyError> {
        let request = WebhookRequest { headers, body, url: self.url };
        let result = self.verifier().verify(&request, secrets, at(now));
        if let Err(error) = &result {
            self.assert_no_leak(error);
        }
        result
    }

    /// Verifies the vector unchanged.
    pub fn verify(&self, secrets: &[&str]) -> Result<(), VerifyError> {
        self.verify_with(&self.headers(), self.body, secrets, self.now)
    }

    /// Error messages must not reveal the secret, or any header value (which includes the
    /// signature an attacker would like to learn).
    pub fn assert_no_leak(&self, error: &VerifyError) {
        let message = error.to_string();
        assert!(!message.contains(self.secret), "{}: error {message:?} reveals the secret", self.provider);
        for (name, value) in self.headers {
            if value.len() >= 8 {
                assert!(!message.contains(value), "{}: error {message:?} reveals header {name}", self.provider);
            }
        }
    }
}

/// A UTC time from unix seconds.
pub fn at(unix_seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix_seconds, 0).expect("test times are in chrono's range")
}

/// The Slack slash-command body from slack_sdk's tests.
pub const SLACK_BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

/// The incident body from go-pagerduty's `webhookv3` tests.
pub const PAGERDUTY_BODY: &[u8] = br#"{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK","event_type":"incident.priority_updated","resource_type":"incident","occurred_at":"2021-04-26T17:36:27.458Z","agent":{"html_url":"https://acme.pagerduty.com/users/PLH1HKV","id":"PLH1HKV","self":"https://api.pagerduty.com/users/PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},"client":null,"data":{"id":"PGR0VU2","type":"incident","self":"https://api.pagerduty.com/incidents/PGR0VU2","html_url":"https://acme.pagerduty.com/incidents/PGR0VU2","number":2,"status":"triggered","title":"A little bump in the road","service":{"html_url":"https://acme.pagerduty.com/services/PF9KMXH","id":"PF9KMXH","self":"https://api.pagerduty.com/services/PF9KMXH","summary":"API Service","type":"service_reference"},"assignees":[{"html_url":"https://acme.pagerduty.com/users/PTUXL6G","id":"PTUXL6G","self":"https://api.pagerduty.com/users/PTUXL6G","summary":"User 123","type":"user_reference"}],"escalation_policy":{"html_url":"https://acme.pagerduty.com/escalation_policies/PUS0KTE","id":"PUS0KTE","self":"https://api.pagerduty.com/escalation_policies/PUS0KTE","summary":"Default","type":"escalation_policy_reference"},"teams":[{"html_url":"https://acme.pagerduty.com/teams/PFCVPS0","id":"PFCVPS0","self":"https://api.pagerduty.com/teams/PFCVPS0","summary":"Engineering","type":"team_reference"}],"priority":{"html_url":"https://acme.pagerduty.com/account/incident_priorities","id":"PSO75BM","self":"https://api.pagerduty.com/priorities/PSO75BM","summary":"P1","type":"priority_reference"},"urgency":"high","conference_bridge":{"conference_number":1000,"conference_url":"https://example.com"},"resolve_reason":null}}}"#;

/// The Stripe event body from stripe-python's tests.
pub const STRIPE_BODY: &[u8] =
    b"{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\",\n  \"data\": { \"object\": { \"id\": \"rdr_123\", \"object\": \"terminal.reader\" } }\n}";

/// Every provider preset with one vector each.
pub fn vectors() -> Vec<Vector> {
    vec![
        Vector {
            provider: "GitHub",
            spec: r#"{"signatureHeader": "X-Hub-Signature-256", "secretField": "webhookSecret", "prefix": "sha256="}"#,
            origin: "GitHub docs, 'Validating webhook deliveries' (secret and payload given there)",
            secret: "It's a Secret to Everybody",
            body: b"Hello, World!",
            headers: &[("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")],
            url: None,
            now: 1_700_000_000,
            tolerance: None,
            body_signed: true,
        },
        Vector {
            provider: "Slack",
            spec: r#"{"signatureHeader": "X-Slack-Signature", "secretField": "signingSecret", "prefix": "v0=", "signedContent": "v0:{timestamp}:{body}", "timestampHeader": "X-Slack-Request-Timestamp", "toleranceSeconds": 300}"#,
            origin: "slack_sdk tests/signature/test_signature_verifier.py (from Slack's 'Verifying requests' docs)",
            secret: "8f742231b10e8888abcd99yyyzzz85a5",
            body: SLACK_BODY,
            headers: &[
                ("X-Slack-Request-Timestamp", "1531420618"),
                ("X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
            ],
            url: None,
            now: 1_531_420_618,
            tolerance: Some(300),
            body_signed: true,
        },
        Vector {
            provider: "Standard Webhooks",
            spec: r#"{"signatureHeader": "webhook-signature", "secretField": "webhookSecret", "encoding": "base64", "signatureFormat": {"type": "list", "versionPrefix": "v1,"}, "signedContent": "{id}.{timestamp}.{body}", "idHeader": "webhook-id", "timestampHeader": "webhook-timestamp", "secretEncoding": "whsec"}"#,
            origin: "standard-webhooks libraries/go/webhook_test.go TestWebhookSign",
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            body: br#"{"test": 2432232314}"#,
            headers: &[
                ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
                ("webhook-timestamp", "1614265330"),
                ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
            ],
            url: None,
            now: 1_614_265_330,
            tolerance: Some(300),
            body_signed: true,
        },
        Vector {
            provider: "Stripe",
            spec: r#"{"signatureHeader": "Stripe-Signature", "secretField": "webhookSecret", "signatureFormat": {"type": "key_value", "signatureKey": "v1", "timestampKey": "t"}, "signedContent": "{timestamp}.{body}", "toleranceSeconds": 300}"#,
            origin: "computed by generate_vectors.py (Stripe publishes no fixed vector; body and secret are stripe-python's test dummies)",
            secret: "whsec_test_secret",
            body: STRIPE_BODY,
            headers: &[(
                "Stripe-Signature",
                "t=1700000000,v1=3bfab77baf5f7b6991a46c9b53b6547d7afc56148b10468fcad9f35c1992ffbd",
            )],
            url: None,
            now: 1_700_000_000,
            tolerance: Some(300),
            body_signed: true,
        },
        Vector {
            provider: "Shopify",
            spec: r#"{"signatureHeader": "X-Shopify-Hmac-Sha256", "secretField": "clientSecret", "encoding": "base64"}"#,
            origin: "Shopify/shopify-app-js shopify-api webhooks/__tests__/validate.test.ts (apiSecretKey test_secret_key)",
            secret: "test_secret_key",
            body: br#"{"foo": "bar"}"#,
            headers: &[("X-Shopify-Hmac-Sha256", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")],
            url: None,
            now: 1_700_000_000,
            tolerance: None,
            body_signed: true,
        },
        Vector {
            provider: "Linear",
            spec: r#"{"signatureHeader": "Linear-Signature", "secretField": "webhookSecret"}"#,
            origin: "computed by generate_vectors.py (Linear publishes no fixed vector)",
            secret: "lin_wh_switchboard_test_secret",
            body: br#"{"action":"create","type":"Issue","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9","title":"Checkout fails"},"webhookTimestamp":1700000000000}"#,
            headers: &[("Linear-Signature", "0483122b10c7866dae17dcc18077510322f9f0a6f7b1d05171dc76c24657833a")],
            url: None,
            now: 1_700_000_000,
            tolerance: None,
            body_signed: true,
        },
        Vector {
            provider: "Sentry",
            spec: r#"{"signatureHeader": "Sentry-Hook-Signature", "secretField": "clientSecret"}"#,
            origin: "computed by generate_vectors.py (Sentry publishes no fixed vector)",
            secret: "3f1c9a0b7e2d4c5f8a6b9e0d1c2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f",
            body: br#"{"action":"created","data":{"issue":{"id":"1170820242","title":"TypeError: x is undefined"}},"installation":{"uuid":"7a485448-a9e2-4c85-8a3c-4f44175783c9"}}"#,
            headers: &[("Sentry-Hook-Signature", "0f6ebdece3fc893a52567b08ce7f1d012428a0cf7af811ddeca9002e9702a32f")],
            url: None,
            now: 1_700_000_000,
            tolerance: None,
            body_signed: true,
        },
        Vector {
            provider: "PagerDuty",
            spec: r#"{"signatureHeader": "X-PagerDuty-Signature", "secretField": "webhookSecret", "signatureFormat": {"type": "key_value", "signatureKey": "v1"}}"#,
            origin: "PagerDuty/go-pagerduty webhookv3/webhookv3_test.go TestVerifySignature 'valid'",
            secret: "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK",
            body: PAGERDUTY_BODY,
            headers: &[("X-PagerDuty-Signature", "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd")],
            url: None,
            now: 1_700_000_000,
            tolerance: None,
            body_signed: true,
        },
        Vector {
            provider: "Jira",
            spec: r#"{"signatureHeader": "X-Hub-Signature", "secretField": "webhookSecret", "prefix": "sha256="}"#,
            origin: "computed by generate_vectors.py (Atlassian publishes no fixed vector)",
            secret: "jira-admin-webhook-secret",
            body: br#"{"timestamp":1700000000000,"webhookEvent":"jira:issue_created","issue":{"id":"10001","key":"OPS-7"}}"#,
            headers: &[("X-Hub-Signature", "sha256=2e3eeeace553e4f56b75d67df1f13cbf5f7d00a7823f10e881af8af5611f8503")],
            url: None,
            now: 1_700_000_000,
            tolerance: None,
            body_signed: true,
        },
        Vector {
            provider: "Trello",
            spec: r#"{"signatureHeader": "X-Trello-Webhook", "secretField": "appSecret", "algorithm": "hmac-sha1", "encoding": "base64", "signedContent": "{body}{url}"}"#,
            origin: "computed by generate_vectors.py, cross-checked with `openssl dgst -sha1 -hmac` (Trello publishes no fixed vector)",
            secret: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            body: br#"{"action":{"id":"65f1c0de","type":"updateCard","data":{"card":{"id":"65f1c0df","name":"Ship it"}}},"model":{"id":"65f1c0e0","name":"Launch"}}"#,
            headers: &[("X-Trello-Webhook", "k4FlPNt3tfPFMevkG1p9TROWu/o=")],
            url: Some("https://hooks.example.com/webhooks/trello/proj-1"),
            now: 1_700_000_000,
            tolerance: None,
            body_signed: true,
        },
        Vector {
            provider: "GitLab",
            spec: r#"{"scheme": "token", "signatureHeader": "X-Gitlab-Token", "secretField": "webhookToken"}"#,
            origin: "a token compare has no vector: the header is the secret",
            secret: "glwt-switchboard-7f3a9c",
            body: br#"{"object_kind":"push"}"#,
            headers: &[("X-Gitlab-Token", "glwt-switchboard-7f3a9c")],
            url: None,
            now: 1_700_000_000,
            tolerance: None,
            body_signed: false,
        },
    ]
}

/// The vector of one provider.
pub fn vector(provider: &str) -> Vector {
    vectors().into_iter().find(|v| v.provider == provider).unwrap_or_else(|| panic!("no vector for {provider}"))
}
