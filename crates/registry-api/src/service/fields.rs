//! Checks an instance's `config` and `credentials` against its descriptor's `configFields` and
//! credential fields: required ones present, no undeclared keys, string values only. Problems
//! point into the request body (`/credentials/token`) and never quote a value.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use switchboard_core::Issue;
use switchboard_core::model::{ConnectorDescriptor, FieldType};
use switchboard_core::ports::Credentials;
use url::Url;

use crate::service::error::ServiceError;

/// Collects the problems of one request body.
#[derive(Debug, Default)]
pub struct FieldCheck {
    issues: Vec<Issue>,
}

impl FieldCheck {
    /// Starts a check.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks a complete config map: declared keys only, string values, URLs where the field is
    /// a URL, every required field without a default present.
    pub fn config(
        &mut self,
        descriptor: &ConnectorDescriptor,
        config: &Map<String, Value>,
    ) -> BTreeMap<String, String> {
        let mut checked = BTreeMap::new();
        for (key, value) in config {
            let pointer = pointer("config", key);
            let Some(field) = descriptor.config_fields.iter().find(|f| &f.key == key) else {
                let declared: Vec<&str> = descriptor.config_fields.iter().map(|f| f.key.as_str()).collect();
                self.issues.push(Issue::new(pointer, format!("unknown config key (declared: {})", list(&declared))));
                continue;
            };
            let Some(text) = self.string(value, &pointer) else { continue };
            if field.field_type == FieldType::Url && !is_http_url(&text) {
                self.issues.push(Issue::new(pointer, "must be an http(s) URL"));
                continue;
            }
            checked.insert(key.clone(), text);
        }
        for field in &descriptor.config_fields {
            if field.required && field.default.is_none() && !config.contains_key(&field.key) {
                self.issues.push(Issue::new(
                    pointer("config", &field.key),
                    format!("required config field `{}` ({}) is missing", field.key, field.label),
                ));
            }
        }
        checked
    }

    /// Checks credential values sent in a request: declared keys only, non-empty strings.
    pub fn credentials(&mut self, descriptor: &ConnectorDescriptor, credentials: &Map<String, Value>) -> Credentials {
        let fields = descriptor.auth.credential_fields();
        let mut checked = Credentials::new();
        for (key, value) in credentials {
            let pointer = pointer("credentials", key);
            if !fields.iter().any(|f| &f.key == key) {
                let declared: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
                self.issues.push(Issue::new(
                    pointer,
                    format!("unknown credential (this connector takes: {})", list(&declared)),
                ));
                continue;
            }
            if let Some(text) = self.string(value, &pointer) {
                checked.insert(key.clone(), text);
            }
        }
        checked
    }

    /// Checks that every required credential is among `present` (the keys the instance will hold).
    pub fn required_credentials<'k>(
        &mut self,
        descriptor: &ConnectorDescriptor,
        present: impl Iterator<Item = &'k str>,
    ) {
        let present: Vec<&str> = present.collect();
        for field in descriptor.auth.credential_fields() {
            let at = pointer("credentials", &field.key);
            // A value that was sent but rejected is reported once, as rejected.
            let reported = self.issues.iter().any(|i| i.pointer == at);
            if field.required && !present.contains(&field.key.as_str()) && !reported {
                self.issues
                    .push(Issue::new(at, format!("required credential `{}` ({}) is missing", field.key, field.label)));
            }
        }
    }

    /// Checks credentials that must be sent again because the request changes where the
    /// instance's requests go (`changed`: the config keys that changed). `sent` is what the
    /// request carries; `stored` whether credentials are stored now. Without credentials in the
    /// request, one problem at `/credentials` names the fields to send; with them, every
    /// required field must be among them (the stored values are not reused).
    pub fn credentials_resent(
        &mut self,
        descriptor: &ConnectorDescriptor,
        changed: &[&str],
        sent: Option<&Credentials>,
        stored: bool,
    ) {
        let fields = descriptor.auth.credential_fields();
        let required: Vec<&str> = fields.iter().filter(|f| f.required).map(|f| f.key.as_str()).collect();
        let reason = format!(
            "{} moves where this instance's requests go, so the credentials must be sent again in the same \
             request (stored credentials are never sent to a new destination)",
            changed.iter().map(|k| format!("changing `{k}`")).collect::<Vec<_>>().join(" and ")
        );
        match sent {
            None if !required.is_empty() || stored => {
                let fields: Vec<&str> = if required.is_empty() {
                    fields.iter().map(|f| f.key.as_str()).collect()
                } else {
                    required.clone()
                };
                self.issues.push(Issue::new("/credentials", format!("{reason}: send {}", list(&fields))));
            }
            None => {}
            Some(sent) => {
                for field in fields.iter().filter(|f| f.required && sent.get(&f.key).is_none()) {
                    let at = pointer("credentials", &field.key);
                    if !self.issues.iter().any(|i| i.pointer == at) {
                        self.issues.push(Issue::new(
                            at,
                            format!("required credential `{}` ({}) is missing: {reason}", field.key, field.label),
                        ));
                    }
                }
            }
        }
    }

    /// Adds problems found by another check.
    pub fn extend(&mut self, issues: impl IntoIterator<Item = Issue>) {
        self.issues.extend(issues);
    }

    /// `Ok` when nothing was wrong; otherwise a 422 naming every problem.
    pub fn finish(self, connector_id: &str) -> Result<(), ServiceError> {
        if self.issues.is_empty() {
            return Ok(());
        }
        let summary: Vec<String> = self.issues.iter().map(Issue::to_string).collect();
        Err(ServiceError::InvalidFields {
            message: format!("the request does not fit connector `{connector_id}`: {}", summary.join("; ")),
            details: self.issues,
        })
    }

    fn string(&mut self, value: &Value, pointer: &str) -> Option<String> {
        match value {
            Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
            Value::String(_) => {
                self.issues.push(Issue::new(pointer, "must not be empty"));
                None
            }
            _ => {
                self.issues.push(Issue::new(pointer, "must be a string"));
                None
            }
        }
    }
}

/// An RFC 6901 pointer to `/{section}/{key}`.
fn pointer(section: &str, key: &str) -> String {
    format!("/{section}/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn list(keys: &[&str]) -> String {
    if keys.is_empty() { "none".to_owned() } else { keys.join(", ") }
}

fn is_http_url(text: &str) -> bool {
    Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn github_issues() -> ConnectorDescriptor {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../descriptors/github-issues.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn missing_required_fields_and_unknown_keys_are_each_named() {
        let d = github_issues();
        let mut check = FieldCheck::new();
        check.config(&d, &object(json!({"repo": "hello", "colour": "red"})));
        let creds = check.credentials(&d, &object(json!({"password": "hunter2"})));
        check.required_credentials(&d, creds.keys());
        let Err(ServiceError::InvalidFields { details, message }) = check.finish("github-issues") else { panic!() };
        let pointers: Vec<&str> = details.iter().map(|i| i.pointer.as_str()).collect();
        assert_eq!(pointers, ["/config/colour", "/config/owner", "/credentials/password", "/credentials/token"]);
        assert!(!message.contains("hunter2"));
    }

    #[test]
    fn values_must_be_non_empty_strings_and_urls_must_be_http() {
        let d = github_issues();
        let mut check = FieldCheck::new();
        check.config(&d, &object(json!({"owner": 7, "repo": " ", "baseUrl": "ftp://x"})));
        let Err(ServiceError::InvalidFields { details, .. }) = check.finish("github-issues") else { panic!() };
        let messages: Vec<String> = details.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "/config/baseUrl: must be an http(s) URL",
                "/config/owner: must be a string",
                "/config/repo: must not be empty"
            ]
        );
    }

    #[test]
    fn a_complete_body_passes() {
        let d = github_issues();
        let mut check = FieldCheck::new();
        let config = check.config(&d, &object(json!({"owner": "octo", "repo": "hello"})));
        let creds = check.credentials(&d, &object(json!({"token": "ghp_x"})));
        check.required_credentials(&d, creds.keys());
        check.finish("github-issues").unwrap();
        assert_eq!(config.len(), 2);
    }
}
