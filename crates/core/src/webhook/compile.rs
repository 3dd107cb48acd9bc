//! Turning a scheme described as data into a [`Verifier`], reporting every problem at once.

use crate::model::{
    HmacAlgorithm, Issue, SchemeKind, SecretEncoding, SignatureEncoding, SignatureFormat, VerificationKeyword,
    VerificationSpec, WebhookSecretConfig,
};

use super::jwt::JwtScheme;
use super::rsa::RsaScheme;
use super::signature_header::{Layout, Prefix};
use super::signed_content::{Piece, SignedContent};
use super::verifier::{HmacScheme, Primitive, Scheme, TimestampRule, Verifier};

/// Accepted clock skew when a scheme signs a timestamp and sets no `toleranceSeconds`.
pub const DEFAULT_TOLERANCE_SECONDS: u32 = 300;

impl Verifier {
    /// Compiles a scheme object; `pointer` locates it in the descriptor and `credential_keys` are
    /// the descriptor's credential fields (`secretField` must name one of them).
    pub fn from_spec(spec: &VerificationSpec, pointer: &str, credential_keys: &[&str]) -> Result<Self, Vec<Issue>> {
        Self::from_spec_with_config(spec, pointer, credential_keys, &[])
    }

    /// As [`from_spec`](Self::from_spec), with the descriptor's config fields too (an Ed25519
    /// `publicKeyField` may name one, a JWT audience may read one).
    pub fn from_spec_with_config(
        spec: &VerificationSpec,
        pointer: &str,
        credential_keys: &[&str],
        config_keys: &[&str],
    ) -> Result<Self, Vec<Issue>> {
        let mut issues = Issues { pointer, list: Vec::new() };
        let kind = spec.scheme.unwrap_or(SchemeKind::Hmac);
        let (mut secret_field, mut config_key_field) = (None, None);
        let scheme = match kind {
            SchemeKind::Token | SchemeKind::Hmac => {
                secret_field = required_secret_field(spec, credential_keys, &mut issues);
                not_for(kind, spec, &["publicKeyField", "rsa", "jwt"], &mut issues);
                let header = required_header(spec, &mut issues);
                match kind {
                    SchemeKind::Token => token_scheme(spec, header, &mut issues),
                    _ => hmac_scheme(spec, header, &mut issues),
                }
            }
            SchemeKind::Ed25519 => {
                not_for(kind, spec, &["secretField", "secretEncoding", "algorithm", "rsa", "jwt"], &mut issues);
                match spec.public_key_field.as_deref() {
                    None => {
                        issues.push("", "missing required field \"publicKeyField\" (the ed25519 scheme's public key)")
                    }
                    Some(field) if credential_keys.contains(&field) => secret_field = Some(field.to_owned()),
                    Some(field) if config_keys.contains(&field) => config_key_field = Some(field.to_owned()),
                    Some(field) => issues.push(
                        "publicKeyField",
                        format!(
                            "{field:?} is neither a config field ({}) nor a credential field ({})",
                            quoted(config_keys),
                            quoted(credential_keys)
                        ),
                    ),
                }
                let header = required_header(spec, &mut issues);
                ed25519_scheme(spec, header, &mut issues)
            }
            SchemeKind::Rsa => {
                not_for(kind, spec, HEADER_FIELDS, &mut issues);
                not_for(kind, spec, &["secretField", "publicKeyField", "jwt"], &mut issues);
                match &spec.rsa {
                    None => {
                        issues.push("", "missing required field \"rsa\" (where the signature and certificate are)");
                        None
                    }
                    Some(rsa) => RsaScheme::compile(rsa, &format!("{pointer}/rsa"), &mut issues.list)
                        .map(|r| Scheme::Rsa(Box::new(r))),
                }
            }
            SchemeKind::Jwt => {
                not_for(kind, spec, HEADER_FIELDS, &mut issues);
                not_for(kind, spec, &["secretField", "publicKeyField", "rsa"], &mut issues);
                match &spec.jwt {
                    None => {
                        issues.push("", "missing required field \"jwt\" (where the token is and what it must say)");
                        None
                    }
                    Some(jwt) => JwtScheme::compile(jwt, &format!("{pointer}/jwt"), config_keys, &mut issues.list)
                        .map(|j| Scheme::Jwt(Box::new(j))),
                }
            }
        };
        match scheme {
            Some(scheme) if issues.list.is_empty() => Ok(Self { secret_field, config_key_field, scheme }),
            _ => Err(issues.list),
        }
    }

    /// Builds the verifier for the specification's `signature` / `token` keywords from
    /// `auth.webhook_secret`: `signature` is a hex HMAC of the body in `signatureHeader` (a
    /// `sha256=` / `sha1=` prefix matching the algorithm is tolerated; `algorithm` is required),
    /// `token` compares the header with the secret in constant time (no `algorithm` needed). The
    /// secret is the first credential field.
    pub fn from_webhook_secret(
        keyword: VerificationKeyword,
        config: &WebhookSecretConfig,
        pointer: &str,
    ) -> Result<Self, Vec<Issue>> {
        let mut issues = Issues { pointer, list: Vec::new() };
        let secret_field = config.credential_fields.first().map(|field| field.key.clone());
        if secret_field.is_none() {
            issues.push("", "auth.config.credentialFields declares no field to hold the webhook secret");
        }
        if !is_header_name(&config.signature_header) {
            issues.push("", format!("auth.config.signatureHeader {:?} is not a header name", config.signature_header));
        }
        let header = config.signature_header.clone();
        let scheme = match keyword {
            VerificationKeyword::None => {
                issues.push("", "verification \"none\" has no verifier");
                None
            }
            VerificationKeyword::Token => Some(Scheme::Token { header, prefix: Prefix::None }),
            VerificationKeyword::Signature => {
                let algorithm = match config.algorithm.as_deref() {
                    Some("hmac-sha256") => Some(HmacAlgorithm::HmacSha256),
                    Some("hmac-sha1") => Some(HmacAlgorithm::HmacSha1),
                    None => {
                        issues.push(
                            "",
                            "verification \"signature\" needs auth.config.algorithm (hmac-sha256 or hmac-sha1); \
                             a shared token in a header is verification \"token\", which needs none",
                        );
                        None
                    }
                    Some(other) => {
                        issues.push("", format!("auth.config.algorithm {other:?} is not hmac-sha256 or hmac-sha1"));
                        None
                    }
                };
                algorithm.map(|algorithm| {
                    let prefix = match algorithm {
                        HmacAlgorithm::HmacSha256 => "sha256=",
                        HmacAlgorithm::HmacSha1 => "sha1=",
                    };
                    Scheme::Hmac(HmacScheme {
                        header,
                        primitive: Primitive::Hmac(algorithm),
                        encoding: SignatureEncoding::Hex,
                        layout: Layout::Plain(Prefix::Tolerated(prefix.to_owned())),
                        content: SignedContent::body_only(),
                        timestamp: None,
                        id_header: None,
                        secret_encoding: SecretEncoding::Raw,
                    })
                })
            }
        };
        match (scheme, secret_field) {
            (Some(scheme), Some(secret_field)) if issues.list.is_empty() => {
                Ok(Self { secret_field: Some(secret_field), config_key_field: None, scheme })
            }
            _ => Err(issues.list),
        }
    }
}

/// The fields of a header-signature scheme, which `rsa` and `jwt` do not use.
const HEADER_FIELDS: &[&str] = &[
    "signatureHeader",
    "algorithm",
    "encoding",
    "prefix",
    "signedContent",
    "signatureFormat",
    "timestampHeader",
    "idHeader",
    "toleranceSeconds",
    "secretEncoding",
];

/// Reports each of `fields` that is set as not applying to scheme `kind`.
fn not_for(kind: SchemeKind, spec: &VerificationSpec, fields: &[&str], issues: &mut Issues<'_>) {
    let name = match kind {
        SchemeKind::Hmac => "hmac",
        SchemeKind::Token => "token",
        SchemeKind::Ed25519 => "ed25519",
        SchemeKind::Rsa => "rsa",
        SchemeKind::Jwt => "jwt",
    };
    for field in fields {
        let set = match *field {
            "signatureHeader" => spec.signature_header.is_some(),
            "secretField" => spec.secret_field.is_some(),
            "algorithm" => spec.algorithm.is_some(),
            "encoding" => spec.encoding.is_some(),
            "prefix" => spec.prefix.is_some(),
            "signedContent" => spec.signed_content.is_some(),
            "signatureFormat" => spec.signature_format.is_some(),
            "timestampHeader" => spec.timestamp_header.is_some(),
            "idHeader" => spec.id_header.is_some(),
            "toleranceSeconds" => spec.tolerance_seconds.is_some(),
            "secretEncoding" => spec.secret_encoding.is_some(),
            "publicKeyField" => spec.public_key_field.is_some(),
            "rsa" => spec.rsa.is_some(),
            "jwt" => spec.jwt.is_some(),
            _ => false,
        };
        if set {
            issues.push(field, format!("does not apply to the {name} scheme"));
        }
    }
}

/// `secretField`, which must name a credential field.
fn required_secret_field(spec: &VerificationSpec, credential_keys: &[&str], issues: &mut Issues<'_>) -> Option<String> {
    match spec.secret_field.as_deref() {
        None => {
            issues.push("", "missing required field \"secretField\" (the credential field holding the secret)");
            None
        }
        Some(field) if !credential_keys.contains(&field) => {
            issues.push(
                "secretField",
                format!("unknown credential field {field:?} (declared: {})", quoted(credential_keys)),
            );
            None
        }
        Some(field) => Some(field.to_owned()),
    }
}

/// `signatureHeader`, which must be a header name.
fn required_header(spec: &VerificationSpec, issues: &mut Issues<'_>) -> String {
    match spec.signature_header.as_deref() {
        None => {
            issues.push("", "missing required field \"signatureHeader\" (the header carrying the signature)");
            String::new()
        }
        Some(header) => {
            issues.header_name(header, "signatureHeader");
            header.to_owned()
        }
    }
}

/// The `ed25519` scheme: the HMAC scheme's header, content and timestamp rules, with a public
/// key instead of a secret (Discord: hex `X-Signature-Ed25519` over `{timestamp}{body}`).
fn ed25519_scheme(spec: &VerificationSpec, header: String, issues: &mut Issues<'_>) -> Option<Scheme> {
    match hmac_scheme(spec, header, issues)? {
        Scheme::Hmac(scheme) => Some(Scheme::Hmac(HmacScheme { primitive: Primitive::Ed25519, ..scheme })),
        other => Some(other),
    }
}

/// The `token` scheme: only the header, its optional prefix and the secret field apply.
fn token_scheme(spec: &VerificationSpec, header: String, issues: &mut Issues<'_>) -> Option<Scheme> {
    let not_for_token = [
        ("algorithm", spec.algorithm.is_some()),
        ("encoding", spec.encoding.is_some()),
        ("signedContent", spec.signed_content.is_some()),
        ("signatureFormat", spec.signature_format.is_some()),
        ("timestampHeader", spec.timestamp_header.is_some()),
        ("idHeader", spec.id_header.is_some()),
        ("toleranceSeconds", spec.tolerance_seconds.is_some()),
        ("secretEncoding", spec.secret_encoding.is_some()),
    ];
    for (field, set) in not_for_token {
        if set {
            issues.push(field, "does not apply to the token scheme (the header holds the secret itself)");
        }
    }
    Some(Scheme::Token { header, prefix: plain_prefix(spec.prefix.as_deref()) })
}

/// The `hmac` scheme, with defaults resolved and every cross-field rule checked.
fn hmac_scheme(spec: &VerificationSpec, header: String, issues: &mut Issues<'_>) -> Option<Scheme> {
    let content = match SignedContent::parse(spec.signed_content.as_deref().unwrap_or("{body}")) {
        Ok(content) => {
            if !content.uses(Piece::Body) && !content.uses(Piece::Form) {
                issues.push("signedContent", "must include {body} or {form}, otherwise the body is not authenticated");
            }
            Some(content)
        }
        Err(reason) => {
            issues.push("signedContent", reason);
            None
        }
    };
    let layout = layout(spec, issues);
    let timestamp = timestamp_rule(spec, content.as_ref(), issues);

    match (&spec.id_header, &content) {
        (Some(id_header), Some(content)) => {
            issues.header_name(id_header, "idHeader");
            if !content.uses(Piece::Id) {
                issues.push("idHeader", "is set but signedContent does not include {id}");
            }
        }
        (None, Some(content)) if content.uses(Piece::Id) => {
            issues.push("signedContent", "uses {id}, which needs idHeader");
        }
        _ => {}
    }

    Some(Scheme::Hmac(HmacScheme {
        header,
        primitive: Primitive::Hmac(spec.algorithm.unwrap_or(HmacAlgorithm::HmacSha256)),
        encoding: spec.encoding.unwrap_or(SignatureEncoding::Hex),
        layout: layout?,
        content: content?,
        timestamp,
        id_header: spec.id_header.clone(),
        secret_encoding: spec.secret_encoding.unwrap_or(SecretEncoding::Raw),
    }))
}

/// Compiles `signatureFormat` (and `prefix`, which only a plain header may have).
fn layout(spec: &VerificationSpec, issues: &mut Issues<'_>) -> Option<Layout> {
    let format = spec.signature_format.clone().unwrap_or(SignatureFormat::Plain);
    if spec.prefix.is_some() && format != SignatureFormat::Plain {
        issues.push("prefix", "applies to plain signatures only; key_value and list entries carry their own key");
    }
    let before = issues.list.len();
    let layout = match format {
        SignatureFormat::Plain => Layout::Plain(plain_prefix(spec.prefix.as_deref())),
        SignatureFormat::KeyValue { pair_separator, signature_key, timestamp_key } => {
            let separator = pair_separator.unwrap_or_else(|| ",".to_owned());
            issues.non_empty(&separator, "signatureFormat/pairSeparator");
            for (key, field) in [(Some(&signature_key), "signatureKey"), (timestamp_key.as_ref(), "timestampKey")] {
                let Some(key) = key else { continue };
                if key.trim().is_empty() || key.contains('=') || (!separator.is_empty() && key.contains(&separator)) {
                    issues.push(
                        &format!("signatureFormat/{field}"),
                        "must be a non-empty key without '=' or the pair separator",
                    );
                }
            }
            if timestamp_key.as_ref() == Some(&signature_key) {
                issues.push("signatureFormat/timestampKey", "must differ from signatureKey");
            }
            Layout::KeyValue { separator, signature_key, timestamp_key }
        }
        SignatureFormat::List { separator, version_prefix } => {
            let separator = separator.unwrap_or_else(|| " ".to_owned());
            issues.non_empty(&separator, "signatureFormat/separator");
            issues.non_empty(&version_prefix, "signatureFormat/versionPrefix");
            Layout::List { separator, version_prefix }
        }
    };
    (issues.list.len() == before).then_some(layout)
}

/// Where the timestamp comes from, and the rules tying it to `{timestamp}` and the tolerance.
fn timestamp_rule(
    spec: &VerificationSpec,
    content: Option<&SignedContent>,
    issues: &mut Issues<'_>,
) -> Option<TimestampRule> {
    let in_signature_header =
        matches!(&spec.signature_format, Some(SignatureFormat::KeyValue { timestamp_key: Some(_), .. }));
    let (source_field, header) = match (&spec.timestamp_header, in_signature_header) {
        (Some(_), true) => {
            issues.push("timestampHeader", "conflicts with signatureFormat.timestampKey; keep one timestamp source");
            return None;
        }
        (Some(header), false) => {
            issues.header_name(header, "timestampHeader");
            ("timestampHeader", Some(header.clone()))
        }
        (None, true) => ("signatureFormat/timestampKey", None),
        (None, false) => {
            if content.is_some_and(|c| c.uses(Piece::Timestamp)) {
                issues.push(
                    "signedContent",
                    "uses {timestamp}, which needs timestampHeader or a key_value signatureFormat with timestampKey",
                );
            }
            if spec.tolerance_seconds.is_some() {
                issues.push("toleranceSeconds", "has no effect without a signed timestamp");
            }
            return None;
        }
    };
    if content.is_some_and(|c| !c.uses(Piece::Timestamp)) {
        issues.push(
            source_field,
            "the timestamp is not in signedContent, so it is not authenticated; add {timestamp} to signedContent",
        );
    }
    let tolerance_seconds = spec.tolerance_seconds.unwrap_or(DEFAULT_TOLERANCE_SECONDS);
    if tolerance_seconds == 0 {
        issues.push("toleranceSeconds", "must be at least 1");
    }
    Some(TimestampRule { header, tolerance_seconds })
}

/// A `prefix` for a plain header: required when set.
fn plain_prefix(prefix: Option<&str>) -> Prefix {
    match prefix {
        Some(prefix) if !prefix.is_empty() => Prefix::Required(prefix.to_owned()),
        _ => Prefix::None,
    }
}

/// Issues under one JSON pointer.
struct Issues<'p> {
    pointer: &'p str,
    list: Vec<Issue>,
}

impl Issues<'_> {
    fn push(&mut self, field: &str, message: impl Into<String>) {
        let pointer = if field.is_empty() { self.pointer.to_owned() } else { format!("{}/{field}", self.pointer) };
        self.list.push(Issue::new(pointer, message));
    }

    fn non_empty(&mut self, value: &str, field: &str) {
        if value.is_empty() {
            self.push(field, "must not be empty");
        }
    }

    fn header_name(&mut self, name: &str, field: &str) {
        if !is_header_name(name) {
            self.push(field, format!("{name:?} is not a header name"));
        }
    }
}

/// An RFC 9110 field name: one or more `tchar`s.
pub(super) fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn quoted(keys: &[&str]) -> String {
    if keys.is_empty() {
        return "none".to_owned();
    }
    keys.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
}
