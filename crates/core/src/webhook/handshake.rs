//! Compiled handshakes: the requests a webhook endpoint answers instead of ingesting (Slack's
//! `url_verification`, Asana's `X-Hook-Secret`, Microsoft Graph's `validationToken`, Zoom's
//! `endpoint.url_validation`, Amazon SNS's `SubscriptionConfirmation`), and the reply each one
//! gets. Nothing a handshake receives is ever enqueued.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};

use super::headers::Headers;
use super::key_hosts::KeyHosts;
use crate::jsonpath::{CompiledPath, scalar_text};
use crate::mapping::IssueSink;
use crate::mapping::condition::CompiledCondition;
use crate::mapping::projection::Projection;
use crate::model::{Handshake, HandshakeAnswer, HmacAlgorithm, Issue, SignatureEncoding};

/// A compiled handshake.
#[derive(Debug, Clone)]
pub struct CompiledHandshake {
    /// Condition on the payload identifying the handshake (`None`: the header or query
    /// parameter it echoes identifies it).
    pub condition: Option<CompiledCondition>,
    /// How it is answered.
    action: Action,
    /// Whether the signature must verify first.
    pub verify: bool,
}

#[derive(Debug, Clone)]
enum Action {
    EchoPath(CompiledPath),
    EchoHeader(String),
    EchoQuery(String),
    Challenge { token_path: CompiledPath, challenge: ChallengeShape },
    Confirm { url_path: CompiledPath, hosts: KeyHosts },
    Respond(Value),
}

/// What a handshake sees of a request.
#[derive(Debug, Clone, Copy)]
pub struct HandshakeRequest<'a> {
    /// Request headers.
    pub headers: &'a Headers,
    /// The decoded query parameters.
    pub query: &'a [(String, String)],
    /// The payload (JSON, or a form body as an object), when the body could be read as one.
    pub payload: Option<&'a Value>,
}

/// How to answer a handshake.
#[derive(Debug, Clone, PartialEq)]
pub enum HandshakeReply {
    /// 200 with this value: a string as `text/plain`, anything else as JSON.
    Echo(Value),
    /// 200 (empty body) with this header set to this value.
    Header {
        /// Header name.
        name: String,
        /// Header value.
        value: String,
    },
    /// 200 JSON computed from the instance's secret: see [`ChallengeReply::answer`].
    Challenge(ChallengeReply),
    /// GET this URL (already admitted by the handshake's host patterns), then answer 200.
    Confirm {
        /// The confirmation URL.
        url: String,
    },
}

/// The shape of an HMAC challenge's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ChallengeShape {
    secret_field: String,
    algorithm: HmacAlgorithm,
    encoding: SignatureEncoding,
    token_field: String,
    answer_field: String,
}

/// An HMAC challenge waiting for the instance's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeReply {
    shape: ChallengeShape,
    token: String,
}

impl ChallengeReply {
    /// The credential field holding the HMAC key.
    pub fn secret_field(&self) -> &str {
        &self.shape.secret_field
    }

    /// `{<tokenField>: token, <answerField>: HMAC(secret, token)}`.
    pub fn answer(&self, secret: &str) -> Value {
        let mac = match self.shape.algorithm {
            HmacAlgorithm::HmacSha256 => mac_sha256(secret, &self.token),
            HmacAlgorithm::HmacSha1 => mac_sha1(secret, &self.token),
        };
        let encoded = match self.shape.encoding {
            SignatureEncoding::Hex => hex::encode(mac),
            SignatureEncoding::Base64 => BASE64.encode(mac),
        };
        let mut object = Map::new();
        object.insert(self.shape.token_field.clone(), Value::String(self.token.clone()));
        object.insert(self.shape.answer_field.clone(), Value::String(encoded));
        Value::Object(object)
    }
}

fn mac_sha256(secret: &str, token: &str) -> Vec<u8> {
    // HMAC takes keys of any length, so building it cannot fail.
    Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .map(|mut mac| {
            mac.update(token.as_bytes());
            mac.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default()
}

fn mac_sha1(secret: &str, token: &str) -> Vec<u8> {
    Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes())
        .map(|mut mac| {
            mac.update(token.as_bytes());
            mac.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default()
}

impl CompiledHandshake {
    /// Compiles handshake `h` found at `at`; `credential_keys` are the descriptor's credential
    /// fields (an HMAC challenge's `secretField` must name one).
    pub fn compile(h: &Handshake, at: &str, credential_keys: &[&str], issues: &mut Vec<Issue>) -> Option<Self> {
        let before = issues.len();
        let condition = h.when.as_ref().and_then(|when| {
            CompiledCondition::compile(when.into(), &format!("{at}/when")).map_err(|mut e| issues.append(&mut e)).ok()
        });
        let needs_when = |issues: &mut Vec<Issue>| {
            if h.when.is_none() {
                issues.push(Issue::new(
                    at,
                    "missing required field \"when\" (only handshakes that echo a header or a query parameter may leave it out)",
                ));
            }
        };
        let action = match (&h.respond_with_path, &h.answer) {
            (Some(_), Some(_)) => {
                issues.push(Issue::new(format!("{at}/answer"), "set one of respondWithPath and answer, not both"));
                None
            }
            (None, None) => {
                issues.push(Issue::new(
                    at,
                    "missing required field \"respondWithPath\" or \"answer\" (how the handshake is answered)",
                ));
                None
            }
            (Some(path), None) => {
                needs_when(issues);
                IssueSink(issues).path(path, format!("{at}/respondWithPath")).map(Action::EchoPath)
            }
            (None, Some(answer)) => {
                compile_answer(answer, &format!("{at}/answer"), credential_keys, issues, needs_when)
            }
        };
        if issues.len() > before {
            return None;
        }
        Some(Self { condition, action: action?, verify: h.verify })
    }

    /// What of a payload this handshake reads: its condition's paths and the path its answer
    /// comes from (the webhook gateway parses only that much of a body).
    pub fn projection(&self) -> Projection {
        let condition = self.condition.as_ref().map_or(Projection::Skip, CompiledCondition::projection);
        let answer = match &self.action {
            Action::EchoPath(path)
            | Action::Challenge { token_path: path, .. }
            | Action::Confirm { url_path: path, .. } => Projection::of_whole(path),
            Action::EchoHeader(_) | Action::EchoQuery(_) | Action::Respond(_) => Projection::Skip,
        };
        condition.union(answer)
    }

    /// The reply to `request` when it is this handshake.
    pub fn reply(&self, request: &HandshakeRequest<'_>) -> Option<HandshakeReply> {
        if let Some(condition) = &self.condition
            && !request.payload.is_some_and(|p| condition.matches(p))
        {
            return None;
        }
        match &self.action {
            Action::EchoPath(path) => request.payload.and_then(|p| path.first(p)).cloned().map(HandshakeReply::Echo),
            Action::EchoHeader(name) => {
                let value = request.headers.get(name).map(str::trim).filter(|v| !v.is_empty())?;
                Some(HandshakeReply::Header { name: name.clone(), value: value.to_owned() })
            }
            Action::EchoQuery(param) => {
                let value = request.query.iter().find(|(name, _)| name == param).map(|(_, v)| v)?;
                Some(HandshakeReply::Echo(Value::String(value.clone())))
            }
            Action::Challenge { token_path, challenge } => {
                let token = request.payload.and_then(|p| token_path.first(p)).and_then(scalar_text)?;
                Some(HandshakeReply::Challenge(ChallengeReply { shape: challenge.clone(), token }))
            }
            Action::Confirm { url_path, hosts } => {
                let url = request.payload.and_then(|p| url_path.first(p)).and_then(scalar_text)?;
                // A URL outside the patterns is not a handshake this descriptor answers.
                hosts.check(&url).ok()?;
                Some(HandshakeReply::Confirm { url })
            }
            Action::Respond(body) => Some(HandshakeReply::Echo(body.clone())),
        }
    }
}

fn compile_answer(
    answer: &HandshakeAnswer,
    at: &str,
    credential_keys: &[&str],
    issues: &mut Vec<Issue>,
    needs_when: impl FnOnce(&mut Vec<Issue>),
) -> Option<Action> {
    match answer {
        HandshakeAnswer::EchoHeader { header } => {
            if !super::compile::is_header_name(header) {
                issues.push(Issue::new(format!("{at}/header"), format!("{header:?} is not a header name")));
            }
            Some(Action::EchoHeader(header.clone()))
        }
        HandshakeAnswer::EchoQuery { param } => {
            if param.is_empty() {
                issues.push(Issue::new(format!("{at}/param"), "must not be empty"));
            }
            Some(Action::EchoQuery(param.clone()))
        }
        HandshakeAnswer::HmacChallenge { token_path, secret_field, algorithm, encoding, token_field, answer_field } => {
            needs_when(issues);
            if !credential_keys.contains(&secret_field.as_str()) {
                issues.push(Issue::new(
                    format!("{at}/secretField"),
                    format!("unknown credential field {secret_field:?} (declared: {})", credential_keys.join(", ")),
                ));
            }
            let token_field = token_field.clone().unwrap_or_else(|| "plainToken".to_owned());
            let answer_field = answer_field.clone().unwrap_or_else(|| "encryptedToken".to_owned());
            if token_field.is_empty() || answer_field.is_empty() || token_field == answer_field {
                issues.push(Issue::new(at, "tokenField and answerField must be two different, non-empty names"));
            }
            let token_path = IssueSink(issues).path(token_path, format!("{at}/tokenPath"))?;
            Some(Action::Challenge {
                token_path,
                challenge: ChallengeShape {
                    secret_field: secret_field.clone(),
                    algorithm: algorithm.unwrap_or(HmacAlgorithm::HmacSha256),
                    encoding: encoding.unwrap_or(SignatureEncoding::Hex),
                    token_field,
                    answer_field,
                },
            })
        }
        HandshakeAnswer::Respond { body } => {
            needs_when(issues);
            Some(Action::Respond(body.clone()))
        }
        HandshakeAnswer::ConfirmUrl { url_path, allowed_hosts } => {
            needs_when(issues);
            let url_path = IssueSink(issues).path(url_path, format!("{at}/urlPath"));
            let hosts = KeyHosts::compile(allowed_hosts, &format!("{at}/allowedHosts"), issues);
            Some(Action::Confirm { url_path: url_path?, hosts: hosts? })
        }
    }
}
