//! RSA signatures over a canonical string of named payload fields, checked with an X.509
//! certificate fetched from a URL in the payload (Amazon SNS, `SignatureVersion` 1 = SHA1withRSA
//! and 2 = SHA256withRSA).

use std::collections::BTreeMap;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::Value;

use super::error::VerifyError;
use super::key_hosts::KeyHosts;
use crate::jsonpath::{CompiledPath, scalar_text};
use crate::mapping::IssueSink;
use crate::model::{Issue, RsaAlgorithm, RsaSpec};

/// A compiled `rsa` object.
#[derive(Debug, Clone)]
pub(super) struct RsaScheme {
    signature_path: CompiledPath,
    certificate_url_path: CompiledPath,
    hosts: KeyHosts,
    version_path: CompiledPath,
    versions: BTreeMap<String, RsaAlgorithm>,
    type_path: CompiledPath,
    signed_fields: BTreeMap<String, Vec<String>>,
}

impl RsaScheme {
    /// Compiles the `rsa` object found at `at`.
    pub fn compile(spec: &RsaSpec, at: &str, issues: &mut Vec<Issue>) -> Option<Self> {
        let before = issues.len();
        let mut sink = IssueSink(issues);
        let signature_path = sink.path(&spec.signature_path, format!("{at}/signaturePath"));
        let certificate_url_path = sink.path(&spec.certificate_url_path, format!("{at}/certificateUrlPath"));
        let version_path = sink.path(&spec.version_path, format!("{at}/versionPath"));
        let type_path = sink.path(&spec.type_path, format!("{at}/typePath"));
        let hosts = KeyHosts::compile(&spec.certificate_hosts, &format!("{at}/certificateHosts"), issues);
        if spec.versions.is_empty() {
            issues.push(Issue::new(
                format!("{at}/versions"),
                "must name at least one signature version, e.g. {\"1\": \"rsa-sha1\", \"2\": \"rsa-sha256\"}",
            ));
        }
        if spec.signed_fields.is_empty() {
            issues.push(Issue::new(
                format!("{at}/signedFields"),
                "must list the signed members of at least one message type",
            ));
        }
        for (kind, fields) in &spec.signed_fields {
            let pointer = format!("{at}/signedFields/{}", crate::model::escape_pointer(kind));
            if fields.is_empty() {
                issues.push(Issue::new(&pointer, "must list at least one member"));
            }
            for (i, field) in fields.iter().enumerate() {
                if field.is_empty() || field.contains(['\n', '$', '.']) {
                    issues.push(Issue::new(
                        format!("{pointer}/{i}"),
                        format!("{field:?} is not a member name (a plain name such as \"Message\", not a path)"),
                    ));
                }
            }
        }
        if issues.len() > before {
            return None;
        }
        Some(Self {
            signature_path: signature_path?,
            certificate_url_path: certificate_url_path?,
            hosts: hosts?,
            version_path: version_path?,
            versions: spec.versions.clone(),
            type_path: type_path?,
            signed_fields: spec.signed_fields.clone(),
        })
    }

    /// The certificate URL of a delivery, once it passed the host patterns.
    pub fn certificate_url(&self, payload: &Value) -> Result<String, VerifyError> {
        let url = text(&self.certificate_url_path, payload)?;
        self.hosts.check(&url).map_err(|refused| VerifyError::UntrustedKeyUrl(refused.to_string()))?;
        Ok(url)
    }

    /// Checks the delivery's signature with the certificate (PEM or DER).
    pub fn verify(&self, payload: &Value, certificate: &[u8]) -> Result<(), VerifyError> {
        let version = text(&self.version_path, payload)?;
        let algorithm = self.versions.get(&version).ok_or_else(|| {
            let known = self.versions.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
            malformed_payload(format!("signature version {version:?} is not one of {known}"))
        })?;
        let signature = BASE64
            .decode(text(&self.signature_path, payload)?)
            .map_err(|_| malformed_payload(format!("{} is not base64", self.signature_path.as_str())))?;
        let canonical = self.canonical(payload)?;
        let der = match CertificateDer::from_pem_slice(certificate) {
            Ok(der) => der,
            Err(_) => CertificateDer::from(certificate.to_vec()),
        };
        let certificate = webpki::EndEntityCert::try_from(&der)
            .map_err(|_| VerifyError::InvalidKey("the signing certificate is not an X.509 certificate".to_owned()))?;
        let spki = certificate.subject_public_key_info();
        let parameters = match algorithm {
            RsaAlgorithm::RsaSha1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            RsaAlgorithm::RsaSha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(parameters, spki.as_ref())
            .verify(&canonical, &signature)
            .map_err(|_| VerifyError::NoSignatureMatched)
    }

    /// `Name\nvalue\n` for each signed member present, in the listed order.
    fn canonical(&self, payload: &Value) -> Result<Vec<u8>, VerifyError> {
        let kind = text(&self.type_path, payload)?;
        let fields = self.signed_fields.get(&kind).ok_or_else(|| {
            malformed_payload(format!("message type {kind:?} is not one the scheme knows how to verify"))
        })?;
        let mut canonical = Vec::new();
        for field in fields {
            if let Some(value) = payload.get(field).and_then(scalar_text) {
                for piece in [field.as_str(), "\n", value.as_str(), "\n"] {
                    canonical.extend_from_slice(piece.as_bytes());
                }
            }
        }
        Ok(canonical)
    }
}

fn text(path: &CompiledPath, payload: &Value) -> Result<String, VerifyError> {
    path.first(payload)
        .and_then(scalar_text)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| malformed_payload(format!("it has no value at {}", path.as_str())))
}

fn malformed_payload(reason: String) -> VerifyError {
    VerifyError::MalformedPayload(reason)
}
