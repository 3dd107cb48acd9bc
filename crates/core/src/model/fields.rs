//! The fields of an instance's setup form: the credentials a user provides (kept in the secret
//! store) and the non-secret configuration values.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A credential the user provides; stored in the secret store, never returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialField {
    /// Key in the credential map.
    pub key: String,
    /// Label shown in the setup form.
    pub label: String,
    /// Input type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Whether the instance cannot be created without it.
    pub required: bool,
    /// Placeholder shown in the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Help text shown in the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_text: Option<String>,
}

/// A non-secret configuration value of an instance (extension), e.g. `baseUrl`, `projectKey`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigField {
    /// Key in the instance's config map, referenced as `{{config.<key>}}` (or `{{baseUrl}}`).
    pub key: String,
    /// Label shown in the setup form.
    pub label: String,
    /// Input type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Whether the instance cannot be created without it (when there is no default).
    pub required: bool,
    /// Value used when the instance does not set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Placeholder shown in the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Help text shown in the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_text: Option<String>,
}

/// Input type of a credential or config field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Plain text.
    Text,
    /// Masked input.
    Password,
    /// A URL.
    Url,
}
