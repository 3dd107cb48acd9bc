//! The connector descriptor as authored: serde types mirroring the specification's
//! `ConnectorDescriptor` (camelCase JSON) plus Switchboard's documented extensions.
//!
//! These types only describe shape. A descriptor is usable once it has been compiled into a
//! [`crate::descriptor::Descriptor`], which checks every JSONPath, regex, template and reference.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::{ClientCredentialsConfig, JwtAssertionConfig, OAuth2ClientAuth, SessionTokenConfig};
pub use super::condition::{Condition, Operator};
use super::example::{Example, SupportedModes};
use super::fields::{ConfigField, CredentialField};
use super::handshake::HandshakeAnswer;
use super::hydration::Hydration;
use super::partitions::PartitionsDescriptor;
use super::polling::{BackfillDescriptor, PaginationDescriptor, RateBudgetDescriptor, RecordFilter, ResponseRule};
use super::subscription::SubscriptionSpec;
use super::verification::VerificationSpec;

/// A connector descriptor: how to authenticate to a tool, ingest its data and map it to signals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "Switchboard connector descriptor")]
pub struct ConnectorDescriptor {
    /// Optional link to the JSON Schema, for editors. Ignored by Switchboard.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Unique connector identifier, lower-case kebab case (e.g. `github-issues`).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Short description for the catalogue.
    pub description: String,
    /// Category used to group connectors in the catalogue.
    pub category: ConnectorCategory,
    /// Icon identifier (lucide icon name or URL).
    pub icon: String,
    /// `generic` connectors run from this descriptor; `native` ones name Rust code registered
    /// under the same id.
    pub kind: ConnectorKind,
    /// How to authenticate outgoing requests (and, for `webhook_secret`, incoming webhooks).
    pub auth: AuthDescriptor,
    /// Per-instance configuration values the user provides (extension), e.g. `baseUrl`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_fields: Vec<ConfigField>,
    /// The hosts outgoing requests may reach (extension): exact names (`api.github.com`) or
    /// `*.` wildcards (`*.atlassian.net`). An instance whose URLs name another host is refused,
    /// and redirects elsewhere are not followed. Empty: no restriction beyond the egress guard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// How data arrives: polling, webhooks, or both.
    pub ingestion: IngestionDescriptor,
    /// How raw items become `NormalisedSignal`s.
    pub field_mapping: FieldMappingDescriptor,
    /// How to test that an instance's credentials and configuration work. Required for a
    /// connector that polls; optional for a webhook-only one (its deliveries show it works).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckDescriptor>,
    /// Payloads with their expected outcome, run by `switchboard test` (extension). They test and
    /// document the descriptor and never change how it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<Example>,
    /// Descriptor version, `MAJOR.MINOR.PATCH`.
    pub version: String,
}

/// Catalogue category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorCategory {
    /// Issue trackers, boards, planning tools.
    ProjectManagement,
    /// Chat, e-mail, paging.
    Communication,
    /// Source control, CI, error tracking, monitoring.
    CodeAndDevops,
    /// Wikis and documents.
    Documents,
    /// Anything else.
    Custom,
}

impl ConnectorCategory {
    /// The snake_case name used in JSON and in the catalogue filter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProjectManagement => "project_management",
            Self::Communication => "communication",
            Self::CodeAndDevops => "code_and_devops",
            Self::Documents => "documents",
            Self::Custom => "custom",
        }
    }
}

/// Whether a connector is driven by its descriptor or by registered Rust code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    /// Implemented in Rust and registered under the descriptor's id.
    Native,
    /// Executed by the generic runtime from this descriptor.
    Generic,
}

/// Authentication method and its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", content = "config", rename_all = "snake_case")]
pub enum AuthDescriptor {
    /// OAuth 2.0 authorisation-code flow with refresh tokens.
    Oauth2(OAuth2Config),
    /// A static API key.
    ApiKey(ApiKeyConfig),
    /// A personal access token.
    Pat(PatConfig),
    /// HTTP Basic authentication.
    Basic(BasicAuthConfig),
    /// No outgoing auth; a shared secret verifies incoming webhooks.
    WebhookSecret(WebhookSecretConfig),
    /// No authentication.
    None,
    /// OAuth 2.0 client credentials grant (extension): machine-to-machine tokens.
    Oauth2ClientCredentials(ClientCredentialsConfig),
    /// A signed JWT exchanged for an access token (extension): Google service accounts,
    /// GitHub App installation tokens.
    JwtAssertion(JwtAssertionConfig),
    /// A login request that returns a session token (extension).
    SessionToken(SessionTokenConfig),
}

impl AuthDescriptor {
    /// The auth method's name as written in JSON.
    pub fn method_name(&self) -> &'static str {
        match self {
            Self::Oauth2(_) => "oauth2",
            Self::ApiKey(_) => "api_key",
            Self::Pat(_) => "pat",
            Self::Basic(_) => "basic",
            Self::WebhookSecret(_) => "webhook_secret",
            Self::None => "none",
            Self::Oauth2ClientCredentials(_) => "oauth2_client_credentials",
            Self::JwtAssertion(_) => "jwt_assertion",
            Self::SessionToken(_) => "session_token",
        }
    }

    /// The credential fields the user must provide for this method.
    pub fn credential_fields(&self) -> &[CredentialField] {
        match self {
            Self::Oauth2(c) => &c.credential_fields,
            Self::ApiKey(c) => &c.credential_fields,
            Self::Pat(c) => &c.credential_fields,
            Self::Basic(c) => &c.credential_fields,
            Self::WebhookSecret(c) => &c.credential_fields,
            Self::None => &[],
            Self::Oauth2ClientCredentials(c) => &c.credential_fields,
            Self::JwtAssertion(c) => &c.credential_fields,
            Self::SessionToken(c) => &c.credential_fields,
        }
    }
}

/// The auth method names accepted in `auth.method`.
pub const AUTH_METHODS: &[&str] = &[
    "oauth2",
    "api_key",
    "pat",
    "basic",
    "webhook_secret",
    "none",
    "oauth2_client_credentials",
    "jwt_assertion",
    "session_token",
];

/// OAuth 2.0 configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuth2Config {
    /// Authorisation endpoint the user is sent to.
    pub authorise_url: String,
    /// Token endpoint for code exchange and refresh.
    pub token_url: String,
    /// Scopes requested.
    pub scopes: Vec<String>,
    /// Credential fields the user must provide (client id and secret).
    pub credential_fields: Vec<CredentialField>,
    /// How the client authenticates to the token endpoint (extension; default `body`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<OAuth2ClientAuth>,
    /// Extra query parameters added to the authorisation URL (extension), e.g. `access_type`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorise_params: BTreeMap<String, String>,
    /// PKCE (RFC 7636, method `S256`) on the authorisation-code flow (extension; default `true`).
    /// Set `false` only for a provider that rejects `code_challenge` / `code_verifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce: Option<bool>,
}

/// API key configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Where the key goes: a header, a query parameter, or `Authorization: Bearer`.
    pub delivery: ApiKeyDelivery,
    /// Header name or query parameter name.
    pub param_name: String,
    /// Credential fields the user must provide.
    pub credential_fields: Vec<CredentialField>,
    /// Which credential field holds the key (extension; default: the first field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_key: Option<String>,
}

/// Where an API key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyDelivery {
    /// In the header named by `paramName`.
    Header,
    /// In the query parameter named by `paramName`.
    Query,
    /// As `Authorization: Bearer <key>`.
    Bearer,
}

/// Personal access token configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatConfig {
    /// Where the token goes: a header or `Authorization: Bearer`.
    pub delivery: PatDelivery,
    /// Header name (for `header` delivery).
    pub param_name: String,
    /// Credential fields the user must provide.
    pub credential_fields: Vec<CredentialField>,
    /// Which credential field holds the token (extension; default: the first field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_key: Option<String>,
}

/// Where a personal access token is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PatDelivery {
    /// In the header named by `paramName`.
    Header,
    /// As `Authorization: Bearer <token>`.
    Bearer,
}

/// HTTP Basic configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BasicAuthConfig {
    /// Credential fields the user must provide.
    pub credential_fields: Vec<CredentialField>,
    /// Field holding the user name (extension; default `username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_key: Option<String>,
    /// Field holding the password or API token (extension; default `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_key: Option<String>,
}

/// Webhook shared-secret configuration (the specification's form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSecretConfig {
    /// Header containing the signature (or, for `token` verification, the token itself).
    pub signature_header: String,
    /// `hmac-sha256` or `hmac-sha1`: required with verification `signature`, not used by `token`
    /// (the header carries the secret itself, e.g. GitLab's `X-Gitlab-Token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// Credential fields the user must provide (the secret).
    pub credential_fields: Vec<CredentialField>,
}

/// How data reaches Switchboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum IngestionDescriptor {
    /// Switchboard polls the API on a schedule.
    Polling(PollingDescriptor),
    /// The tool pushes webhooks.
    Webhook(WebhookDescriptor),
    /// Both: polled for completeness, webhooks for latency.
    PollingAndWebhook(PollingAndWebhookDescriptor),
}

/// The ingestion mode names accepted in `ingestion.mode`.
pub const INGESTION_MODES: &[&str] = &["polling", "webhook", "polling_and_webhook"];

impl IngestionDescriptor {
    /// Which modes this ingestion supports (what examples may run in).
    pub fn supported_modes(&self) -> SupportedModes {
        SupportedModes { webhook: self.webhook().is_some(), polling: self.polling().is_some() }
    }

    /// The polling part, if this connector polls.
    pub fn polling(&self) -> Option<&PollingDescriptor> {
        match self {
            Self::Polling(p) => Some(p),
            Self::PollingAndWebhook(b) => Some(&b.polling),
            Self::Webhook(_) => None,
        }
    }

    /// The webhook part, if this connector receives webhooks.
    pub fn webhook(&self) -> Option<&WebhookDescriptor> {
        match self {
            Self::Webhook(w) => Some(w),
            Self::PollingAndWebhook(b) => Some(&b.webhook),
            Self::Polling(_) => None,
        }
    }
}

/// Polling configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollingDescriptor {
    /// URL template. Variables: `{{baseUrl}}`, `{{checkpoint}}`, `{{pageToken}}`,
    /// `{{pageSize}}`, `{{offset}}` (offset pagination), `{{pageNumber}}` (page_number
    /// pagination), `{{config.<key>}}`, `{{credentials.<key>}}`; the same in headers and body.
    pub endpoint: String,
    /// HTTP method.
    pub method: PollMethod,
    /// Request header templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Request body template (for POST); values are JSON-escaped when substituted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// How checkpoints work for this API.
    pub delta: DeltaStrategy,
    /// Requests per minute this connector may send per instance.
    pub rate_limit_rpm: u32,
    /// Pagination, if the API pages its results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<PaginationDescriptor>,
    /// Default polling interval in seconds (extension; default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<u32>,
    /// The shortest interval an instance may set for itself (extension; default
    /// `intervalSeconds`: an instance may poll less often, never more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_interval_seconds: Option<u32>,
    /// The longest interval an instance may set for itself (extension; default one day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_interval_seconds: Option<u32>,
    /// Rules for particular responses, tried in order before the engine's own handling
    /// (extension): ignore a 404, fail as auth / config / transient, retry, refresh the OAuth2
    /// token and retry, or reset an expired checkpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_rules: Vec<ResponseRule>,
    /// A request budget announced in response headers, shared per credential (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_budget: Option<RateBudgetDescriptor>,
    /// Items dropped before they are handed on (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_filter: Option<RecordFilter>,
    /// Run the stream once per partition, each with its own checkpoint (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<PartitionsDescriptor>,
    /// How far back the first sync goes (extension; `timestamp_filter` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillDescriptor>,
    /// A detail request per listed item, whose answer becomes the item (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hydrate: Option<Hydration>,
}

/// HTTP method used for polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum PollMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

/// How an API exposes "what changed since last time".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeltaStrategy {
    /// Filter by a timestamp query parameter; the checkpoint is the newest item timestamp.
    #[serde(rename_all = "camelCase")]
    TimestampFilter {
        /// Query parameter carrying the checkpoint (e.g. `since`). Not added when the endpoint
        /// or body uses `{{checkpoint}}`, nor when empty (the API cannot filter by time).
        query_param: String,
        /// How the checkpoint is written in the query.
        format: TimestampParamFormat,
        /// Seconds subtracted from the checkpoint when querying, to catch late writes
        /// (extension; items are deduplicated downstream).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lookback_seconds: Option<u32>,
        /// IANA time zone (`Europe/Berlin`) the API reads zone-less timestamps in, or
        /// `{{config.<key>}}` naming the instance config value that holds it (extension;
        /// default UTC). Only formats without an offset (`yyyy-MM-dd HH:mm`) use it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_zone: Option<String>,
        /// The API lists items newest first and cannot filter by time (extension): items older
        /// than the checkpoint (minus `lookbackSeconds`) are dropped, and paging stops at the
        /// first of them.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        stop_at_checkpoint: bool,
    },
    /// The API hands out an opaque delta link/token (e.g. Microsoft Graph `@odata.deltaLink`).
    #[serde(rename_all = "camelCase")]
    DeltaToken {
        /// JSONPath to the delta token or link in the final page.
        token_path: String,
        /// Query parameter the token is sent in (ignored when the token is a full URL).
        token_param: String,
    },
    /// The API returns a cursor to resume from.
    #[serde(rename_all = "camelCase")]
    Cursor {
        /// JSONPath to the cursor in the response.
        cursor_path: String,
        /// Query parameter the cursor is sent in.
        cursor_param: String,
    },
    /// Items have increasing ids; ask for ids greater than the last seen.
    #[serde(rename_all = "camelCase")]
    SinceId {
        /// JSONPath (relative to an item) to its id.
        id_path: String,
        /// Query parameter the last id is sent in.
        id_param: String,
    },
}

/// Format of a timestamp checkpoint in a query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimestampParamFormat {
    /// RFC 3339 / ISO 8601.
    Iso8601,
    /// Unix seconds.
    Unix,
    /// Unix milliseconds.
    UnixMs,
    /// `yyyy-MM-dd HH:mm`, in the filter's `timeZone`, rounded down to the minute: the date
    /// form Atlassian CQL and JQL accept (extension).
    #[serde(rename = "yyyy-MM-dd HH:mm")]
    DateTimeMinutes,
}

/// Webhook configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookDescriptor {
    /// Event types this connector handles; others are acknowledged and ignored.
    pub event_types: Vec<String>,
    /// JSONPath to the event type in the payload.
    pub event_type_path: String,
    /// Header carrying the event type, tried before `eventTypePath` (extension),
    /// e.g. `X-GitHub-Event`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type_header: Option<String>,
    /// Header carrying the provider's delivery id (extension), e.g. `X-GitHub-Delivery`. The
    /// gateway accepts each delivery id once per instance within `replayWindowSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id_header: Option<String>,
    /// JSONPath to the provider's delivery id in the body (extension), for providers that put
    /// it there, e.g. Slack's `$.event_id`. At most one of `deliveryIdHeader` and this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id_path: Option<String>,
    /// How long a delivery id is remembered to refuse replays, in seconds (extension; default
    /// 259200 = 72 hours, at most 2592000 = 30 days). At least the provider's retry window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_window_seconds: Option<u64>,
    /// How deliveries are authenticated: `signature` (uses `auth.webhook_secret`), `token`,
    /// `none`, or a full signature scheme object (extension).
    pub verification: Verification,
    /// Handshakes the provider sends that must be answered rather than ingested (extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handshakes: Vec<Handshake>,
    /// The webhook registered, renewed and deleted at the provider by Switchboard through the
    /// provider's API with the instance's credentials (extension): one, or alternatives of
    /// which an instance uses the first whose config values are all set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionSpec>,
}

/// Webhook authentication: the specification's keyword or a full scheme object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Verification {
    /// `signature`, `token` or `none` (the specification's form).
    Keyword(VerificationKeyword),
    /// A signature scheme described as data (extension).
    Scheme(Box<VerificationSpec>),
}

/// The specification's verification keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationKeyword {
    /// HMAC signature per `auth.webhook_secret`.
    Signature,
    /// A shared token in a header, compared in constant time (header from
    /// `auth.webhook_secret.signatureHeader`; no `algorithm` needed), e.g. GitLab's
    /// `X-Gitlab-Token`.
    Token,
    /// Unauthenticated (only for trusted networks).
    None,
}

/// A handshake request the webhook endpoint answers directly (extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Handshake {
    /// Condition on the payload identifying the handshake (e.g. `$.type == url_verification`).
    /// Required unless `answer` echoes a header or a query parameter (then the handshake is the
    /// request that carries it, and `when` narrows it further).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// JSONPath to the value echoed back (e.g. `$.challenge`). One of this and `answer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond_with_path: Option<String>,
    /// How the handshake is answered, when it is not the echo of a body field (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<HandshakeAnswer>,
    /// Whether the request must pass signature verification first (default true).
    #[serde(default = "default_true")]
    pub verify: bool,
}

fn default_true() -> bool {
    true
}

/// Both polling and webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollingAndWebhookDescriptor {
    /// Polling part.
    pub polling: PollingDescriptor,
    /// Webhook part.
    pub webhook: WebhookDescriptor,
}

/// How raw items become signals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldMappingDescriptor {
    /// JSONPath to the items in an API response or webhook payload (`$` for the payload itself).
    pub items_path: String,
    /// Whether a payload where `itemsPath` matches nothing has no items (extension; default
    /// `false`: it is an error, which catches a wrong path). For APIs that leave an empty list
    /// out, as Gmail's history list leaves out `history` when nothing changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_optional: Option<bool>,
    /// JSONPath (relative to an item) to its unique id.
    pub id_path: String,
    /// JSONPath (relative to an item) to its timestamp, or a list of candidate paths tried in
    /// order: the first that has a readable value wins (a missing or unreadable value falls
    /// through to the next).
    pub timestamp_path: OneOrMany,
    /// How the timestamp is written (extension; default `auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_format: Option<TimestampFormat>,
    /// A strftime-style pattern for timestamps no standard format covers, e.g.
    /// `%Y-%m-%d %H:%M:%S UTC` (GitLab); without `%z` / `%:z` the time is taken as UTC, and a
    /// pattern without a time reads a date at midnight UTC. Tried after `timestampFormat` fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_pattern: Option<String>,
    /// When no timestamp path has a readable value: `received`, the time the delivery was
    /// received (extension; webhook mappings only, for providers whose events carry no time,
    /// e.g. Discord interactions and Twilio callbacks). Without it such an item is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_fallback: Option<TimestampFallback>,
    /// Summary template: `{{field.path}}` is a dotted path relative to the item, `{{$...}}` a full
    /// JSONPath (where `$` is the item, as in every path of a field mapping); `{{a ?? b}}` takes
    /// the first path with a value. Filters follow a `|`: `lower`, `upper`, `trim`, `truncate:N`,
    /// `default:TEXT`, `capture:REGEX`, `date:FORMAT`, and last `join:SEP` (several values are
    /// joined with `, ` unless it says otherwise). See docs/descriptor-language.md.
    pub summary_template: String,
    /// Ordered rules; the first that matches gives the signal type.
    pub signal_type_rules: Vec<SignalTypeRule>,
    /// Ordered priority rules; the first that matches gives the priority.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority_mapping: Vec<PriorityRule>,
    /// JSONPath(s) to participants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants_path: Option<OneOrMany>,
    /// JSONPath(s) to tags or labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_path: Option<OneOrMany>,
    /// JSONPath(s) to related item references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_items_path: Option<OneOrMany>,
    /// Every match of a regular expression over the text at some paths becomes a related item
    /// (its first capture group when it has one, else the whole match), e.g. Jira-style keys
    /// `[A-Z][A-Z0-9]+-\\d+` in a merge request's title and description.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_items_patterns: Vec<RelatedItemsPattern>,
    /// Template of the signal's external id, when the id alone is ambiguous (e.g.
    /// `"mr-{{object_attributes.iid}}"` next to `"issue-{{object_attributes.iid}}"`). Same
    /// placeholders and filters as `summaryTemplate`; every placeholder must have a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_template: Option<String>,
    /// JSONPath to a link back to the item in the source tool (extension), or a list of
    /// candidate paths: the first with a text value wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_path: Option<OneOrMany>,
    /// Template building the link when no `urlPath` value exists (extension), e.g.
    /// `https://trello.com/c/{{data.card.shortLink}}` or `{{baseUrl}}/issues/{{id}}`:
    /// placeholders are item paths (with filters) or the instance's `{{baseUrl}}` /
    /// `{{config.<key>}}` (declared in configFields); no link when a placeholder has no value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_template: Option<String>,
    /// Fields preserved in the signal's `raw` object: JSONPaths or plain field names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_fields: Vec<String>,
    /// Per webhook event type, the mapping fields that differ from this mapping's (a
    /// multi-event source such as GitLab: merge requests, issues, pipelines and comments each
    /// with their own summary, id and time). Keys are event types from `eventTypes`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_event_type: BTreeMap<String, FieldMappingOverride>,
    /// Mapping used for webhook payloads instead of this one (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Box<FieldMappingDescriptor>>,
    /// Mapping used for polled items instead of this one (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polling: Option<Box<FieldMappingDescriptor>>,
}

/// The fields of a field mapping that one webhook event type overrides; every field left out
/// keeps the base mapping's value (`itemsPath` cannot differ).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldMappingOverride {
    /// As `idPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_path: Option<String>,
    /// As `idTemplate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_template: Option<String>,
    /// As `timestampPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_path: Option<OneOrMany>,
    /// As `timestampFormat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_format: Option<TimestampFormat>,
    /// As `timestampPattern`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_pattern: Option<String>,
    /// As `summaryTemplate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_template: Option<String>,
    /// As `signalTypeRules` (replacing the base rules for this event type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_type_rules: Option<Vec<SignalTypeRule>>,
    /// As `priorityMapping`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_mapping: Option<Vec<PriorityRule>>,
    /// As `participantsPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants_path: Option<OneOrMany>,
    /// As `tagsPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_path: Option<OneOrMany>,
    /// As `relatedItemsPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_items_path: Option<OneOrMany>,
    /// As `relatedItemsPatterns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_items_patterns: Option<Vec<RelatedItemsPattern>>,
    /// As `urlPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_path: Option<OneOrMany>,
    /// As `urlTemplate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_template: Option<String>,
    /// As `rawFields`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_fields: Option<Vec<String>>,
}

impl FieldMappingDescriptor {
    /// This mapping with `overrides` applied (and no per-event-type overrides of its own).
    pub fn with_overrides(&self, overrides: &FieldMappingOverride) -> Self {
        let o = overrides.clone();
        let mut merged = Self { by_event_type: BTreeMap::new(), webhook: None, polling: None, ..self.clone() };
        if let Some(v) = o.id_path {
            merged.id_path = v;
        }
        merged.id_template = o.id_template.or(merged.id_template);
        if let Some(v) = o.timestamp_path {
            merged.timestamp_path = v;
        }
        merged.timestamp_format = o.timestamp_format.or(merged.timestamp_format);
        merged.timestamp_pattern = o.timestamp_pattern.or(merged.timestamp_pattern);
        if let Some(v) = o.summary_template {
            merged.summary_template = v;
        }
        if let Some(v) = o.signal_type_rules {
            merged.signal_type_rules = v;
        }
        if let Some(v) = o.priority_mapping {
            merged.priority_mapping = v;
        }
        merged.participants_path = o.participants_path.or(merged.participants_path);
        merged.tags_path = o.tags_path.or(merged.tags_path);
        merged.related_items_path = o.related_items_path.or(merged.related_items_path);
        if let Some(v) = o.related_items_patterns {
            merged.related_items_patterns = v;
        }
        merged.url_path = o.url_path.or(merged.url_path);
        merged.url_template = o.url_template.or(merged.url_template);
        if let Some(v) = o.raw_fields {
            merged.raw_fields = v;
        }
        merged
    }
}

/// A regular expression whose matches in the text at `paths` are related items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelatedItemsPattern {
    /// JSONPath(s) (relative to the item) of the text to search.
    pub paths: OneOrMany,
    /// The regular expression (Rust `regex` syntax; no look-around). Without `key`, its first
    /// capture group, when it has one, is the related item; otherwise the whole match.
    pub pattern: String,
    /// How a match becomes the related item (extension): `$0` (the whole match), `$1`, `${1}`,
    /// `${name}` are the match's groups, `$$` a dollar sign, and `{{...}}` placeholders read the
    /// item as in `summaryTemplate` (paths and filters), e.g. `{{repository.full_name}}#$1` scopes
    /// `#(\d+)` to its repository. A match whose placeholders have no value adds nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// One JSONPath or several, whose matches are concatenated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single JSONPath.
    One(String),
    /// Several JSONPaths.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The paths, in order.
    pub fn paths(&self) -> Vec<&str> {
        match self {
            Self::One(p) => vec![p.as_str()],
            Self::Many(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

/// What stands in for an item's timestamp when it has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimestampFallback {
    /// The time the delivery was received.
    Received,
}

/// How an item timestamp is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimestampFormat {
    /// Detect: ISO 8601 strings, unix seconds or milliseconds, Slack `"seconds.micros"`.
    Auto,
    /// ISO 8601 / RFC 3339 (a missing offset means UTC).
    Iso8601,
    /// Unix seconds (number or numeric string, fractions allowed).
    Unix,
    /// Unix milliseconds.
    UnixMs,
    /// Unix nanoseconds (Opsgenie's `updatedAt`), an integer read without float rounding.
    UnixNs,
    /// Slack message timestamps, `"1531420618.000200"`.
    Slack,
}

/// A rule that assigns a signal type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalTypeRule {
    /// JSONPath (relative to the item) tested by `operator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// How the value at `when` is tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// Value compared against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// All of these conditions must hold (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<Condition>>,
    /// At least one of these conditions must hold (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<Condition>>,
    /// Restricts the rule to these webhook event types (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<OneOrMany>,
    /// Resulting signal type.
    pub then: String,
}

/// A rule that assigns a priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriorityRule {
    /// JSONPath (relative to the item) tested by `operator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// How the value at `when` is tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// Value (or, for `in`, values) compared against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// All of these conditions must hold (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<Condition>>,
    /// At least one of these conditions must hold (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<Condition>>,
    /// Resulting priority.
    pub then: Priority,
}

/// Signal priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Needs attention now.
    Critical,
    /// Important.
    High,
    /// Normal.
    Medium,
    /// Can wait.
    Low,
}

impl Priority {
    /// The snake_case name, as signals carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }
}

/// How to check that an instance works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckDescriptor {
    /// URL template (same variables as polling endpoints, without checkpoint/page token).
    pub endpoint: String,
    /// HTTP method.
    pub method: HealthCheckMethod,
    /// Expected HTTP status code.
    pub expect_status: u16,
    /// Timeout in milliseconds, 100 to 30000.
    #[schemars(range(min = 100, max = 30000))]
    pub timeout_ms: u32,
}

/// HTTP method of a health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HealthCheckMethod {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
}
