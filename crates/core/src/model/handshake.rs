//! The JSON shape of the handshakes a webhook endpoint answers instead of ingesting
//! (`ingestion.handshakes[].answer`): echo a header, echo a query parameter, answer an HMAC
//! challenge, or confirm a subscription by GET. Echoing a body field (`respondWithPath`) is the
//! older form and stays as it was.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::verification::{HmacAlgorithm, SignatureEncoding};

/// How a handshake is answered, when it is not the echo of a body field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HandshakeAnswer {
    /// Answer 200 with the request's header `header` copied into the response (Asana's
    /// `X-Hook-Secret`). The handshake is the request carrying that header.
    EchoHeader {
        /// The header to echo, any letter case.
        header: String,
    },
    /// Answer 200 `text/plain` with the (decoded) query parameter `param` (Microsoft Graph's
    /// `validationToken`). The handshake is the request carrying that parameter.
    EchoQuery {
        /// The query parameter to echo.
        param: String,
    },
    /// Answer 200 JSON `{<tokenField>: token, <answerField>: HMAC(secret, token)}` (Zoom's
    /// `endpoint.url_validation`: `{plainToken, encryptedToken}`).
    #[serde(rename_all = "camelCase")]
    HmacChallenge {
        /// JSONPath to the token in the payload, e.g. `$.payload.plainToken`.
        token_path: String,
        /// Credential field holding the HMAC key.
        secret_field: String,
        /// HMAC algorithm (default `hmac-sha256`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        algorithm: Option<HmacAlgorithm>,
        /// How the HMAC is written (default `hex`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encoding: Option<SignatureEncoding>,
        /// Member of the answer holding the token (default `plainToken`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_field: Option<String>,
        /// Member of the answer holding the HMAC (default `encryptedToken`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer_field: Option<String>,
    },
    /// Answer 200 with this fixed JSON body (Discord's PING, answered `{"type": 1}`).
    Respond {
        /// The body, sent as JSON.
        body: serde_json::Value,
    },
    /// Confirm a subscription by a GET to a URL taken from the payload (Amazon SNS
    /// `SubscribeURL`), then answer 200. Only `https` URLs whose host matches `allowedHosts`
    /// are fetched, through the egress guard.
    #[serde(rename_all = "camelCase")]
    ConfirmUrl {
        /// JSONPath to the URL in the payload, e.g. `$.SubscribeURL`.
        url_path: String,
        /// Host patterns the URL must match; `*` stands for exactly one DNS label
        /// (`sns.*.amazonaws.com`).
        allowed_hosts: Vec<String>,
    },
}
