//! Every built-in webhook connector that verifies deliveries proves its verification on signed
//! deliveries kept in `tests/fixtures/<id>/signatures.json`: the provider's published vectors
//! where there are any, else signatures computed here from the documented algorithm (the file
//! says which, per vector). Each vector verifies with its secret, and is rejected with a wrong
//! secret and with one bit of the body flipped.
//!
//! The file's shape:
//!
//! ```json
//! {"vectors": [{
//!   "name": "GitHub docs example",
//!   "source": "published: https://docs.github.com/... (secret and body given there)",
//!   "secret": "It's a Secret to Everybody",
//!   "headers": {"X-Hub-Signature-256": "sha256=7571..."},
//!   "body": "Hello, World!",
//!   "at": 1700000000
//! }]}
//! ```
//!
//! `body` is the raw body as text, or `bodyFile` names a file beside it whose bytes are the body;
//! `url` is the URL the provider called (schemes that sign it), `config` the instance's config
//! (a public key kept there), `keyFile` a certificate or key set standing in for the fetch,
//! `at` the unix time the delivery is fresh at, and `bodySigned: false` marks a scheme that does
//! not authenticate the body (a token compare), so the flipped bit is not checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use switchboard_core::Descriptor;
use switchboard_core::webhook::{FixedKey, Headers, KeySource, VerifyContext, VerifyError, WebhookRequest, form};

/// A signature that no vector's secret is.
const WRONG_SECRET: &str = "not-the-secret-of-this-delivery";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VectorFile {
    vectors: Vec<SignedDelivery>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SignedDelivery {
    name: String,
    /// Where the vector comes from: `published: <where>` or `computed: <how>`.
    source: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_file: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    key_file: Option<String>,
    at: i64,
    #[serde(default = "signed")]
    body_signed: bool,
}

fn signed() -> bool {
    true
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The built-in descriptors that verify webhook deliveries.
fn verifying_connectors() -> Vec<Descriptor> {
    switchboard_core::builtin::built_in_descriptors()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|d| d.webhook().is_some_and(|w| w.verifier.is_some()))
        .collect()
}

fn vectors_of(id: &str) -> (PathBuf, VectorFile) {
    let dir = workspace_root().join("tests/fixtures").join(id);
    let path = dir.join("signatures.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{id} verifies deliveries, so it needs {}: {e}", path.display()));
    let file = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (dir, file)
}

impl SignedDelivery {
    fn body(&self, dir: &Path) -> Vec<u8> {
        match (&self.body, &self.body_file) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(file)) => {
                std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {}: {e}", self.name, file))
            }
            _ => panic!("{}: give exactly one of body and bodyFile", self.name),
        }
    }

    /// Verifies the delivery as the gateway would, with `secret` in the scheme's credential field.
    fn verify(
        &self,
        descriptor: &Descriptor,
        dir: &Path,
        body: &[u8],
        secret: Option<&str>,
    ) -> Result<(), VerifyError> {
        let webhook = descriptor.webhook().expect("a webhook connector");
        let verifier = webhook.verifier.as_ref().expect("a verifying connector");
        let headers: Headers = self.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let key = self.key_file.as_ref().map(|file| {
            FixedKey(Arc::new(std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {file}: {e}", self.name))))
        });
        let secrets: Vec<&str> = secret.into_iter().collect();
        let ctx = VerifyContext {
            secrets: &secrets,
            config: &self.config,
            keys: key.as_ref().map(|k| k as &dyn KeySource),
            now: DateTime::<Utc>::from_timestamp(self.at, 0).expect("a valid time"),
        };
        let request = WebhookRequest { headers: &headers, body, url: self.url.as_deref() };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(verifier.verify_with(&request, &ctx))
    }
}

#[test]
fn every_verifying_connector_verifies_its_signed_deliveries() {
    let connectors = verifying_connectors();
    assert!(!connectors.is_empty());
    for descriptor in connectors {
        let id = descriptor.id();
        let (dir, file) = vectors_of(id);
        assert!(!file.vectors.is_empty(), "{id}: signatures.json has no vector");
        for vector in &file.vectors {
            let name = format!("{id}: {}", vector.name);
            assert!(
                vector.source.starts_with("published: ") || vector.source.starts_with("computed: "),
                "{name}: source must say `published: <where>` or `computed: <how>`"
            );
            let body = vector.body(&dir);
            vector.verify(&descriptor, &dir, &body, vector.secret.as_deref()).unwrap_or_else(|e| panic!("{name}: {e}"));
            if vector.secret.is_some() {
                assert!(
                    vector.verify(&descriptor, &dir, &body, Some(WRONG_SECRET)).is_err(),
                    "{name}: a wrong secret is accepted"
                );
            }
            if vector.body_signed {
                let mut flipped = body.clone();
                let last = flipped.len().checked_sub(1).unwrap_or_else(|| panic!("{name}: an empty body"));
                flipped[last / 2] ^= 0x01;
                assert!(
                    vector.verify(&descriptor, &dir, &flipped, vector.secret.as_deref()).is_err(),
                    "{name}: a body with one bit flipped is accepted"
                );
            }
        }
    }
}

#[test]
fn form_bodies_in_vectors_parse_as_forms() {
    // A vector of a form-encoded delivery carries its Content-Type; the body must parse as the
    // gateway would parse it, so the vector is a delivery the gateway could receive.
    for descriptor in verifying_connectors() {
        let (dir, file) = vectors_of(descriptor.id());
        for vector in &file.vectors {
            let content_type = vector.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type"));
            if let Some((_, content_type)) = content_type {
                let body = vector.body(&dir);
                form::payload_of(Some(content_type.as_str()), &body)
                    .unwrap_or_else(|e| panic!("{}: {}: the body does not parse: {e}", descriptor.id(), vector.name));
            }
        }
    }
}
