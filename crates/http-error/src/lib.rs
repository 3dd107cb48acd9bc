//! The JSON error body every HTTP route of Switchboard answers with, in Lambda and in
//! `switchboard serve` alike (DESIGN.md §6):
//!
//! ```json
//! {"error": {"code": "not_found", "message": "...", "details": [{"pointer": "/id", "message": "..."}]}}
//! ```
//!
//! The webhook gateway and the registry API each keep their own error enum (which status, which
//! code); both render it through [`ErrorBody`], so a client parses one shape. The `openapi`
//! feature derives the schema the registry's OpenAPI document lists.

use serde::{Deserialize, Serialize};

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorContent,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorContent {
    /// Stable machine-readable code, e.g. `not_found`, `invalid_descriptor`.
    #[cfg_attr(feature = "openapi", schema(example = "not_found"))]
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Individual problems (empty when there is only the message).
    pub details: Vec<ErrorDetail>,
}

/// One problem, located by a JSON pointer into the request (its body, or a descriptor in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// RFC 6901 JSON pointer (`""` is the whole document).
    #[cfg_attr(feature = "openapi", schema(example = "/credentials/token"))]
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

impl ErrorBody {
    /// A body with `code`, `message` and `details`.
    pub fn new(code: impl Into<String>, message: impl Into<String>, details: Vec<ErrorDetail>) -> Self {
        Self { error: ErrorContent { code: code.into(), message: message.into(), details } }
    }
}

impl ErrorDetail {
    /// A problem at `pointer`.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), message: message.into() }
    }

    /// A problem with the request as a whole (pointer `""`).
    pub fn whole(message: impl Into<String>) -> Self {
        Self::new("", message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_the_shape_of_design_section_6() {
        let body = ErrorBody::new("invalid_request", "bad", vec![ErrorDetail::new("/id", "must be kebab case")]);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "invalid_request", "message": "bad",
                "details": [{"pointer": "/id", "message": "must be kebab case"}]}})
        );
        let back: ErrorBody = serde_json::from_value(json).unwrap();
        assert_eq!(back, body);
    }
}
