//! Semantic validation: compiles a structurally valid descriptor, checking every JSONPath, regex,
//! template and cross-reference, and reporting all problems at once.

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::Value;

use super::model::{
    AuthDescriptor, ConnectorDescriptor, ConnectorKind, DeltaStrategy, FieldMappingDescriptor, PaginationKind,
    PollingDescriptor, Verification, VerificationKeyword, WebhookDescriptor,
};
use super::{Descriptor, Issue};
use crate::jsonpath::{CompiledPath, scalar_text};
use crate::mapping::condition::CompiledCondition;
use crate::mapping::{FieldMapper, IssueSink};
use crate::template::Template;
use crate::webhook::Verifier;

/// Compiled request templates and response paths of a polling connector.
#[derive(Debug, Clone)]
pub struct CompiledPolling {
    /// Endpoint URL template.
    pub endpoint: Template,
    /// Header name and value templates.
    pub headers: Vec<(String, Template)>,
    /// Body template (POST).
    pub body: Option<Template>,
    /// Path to the delta token, cursor or item id, per the delta strategy.
    pub delta_path: Option<CompiledPath>,
    /// Path to the next page token / offset.
    pub next_path: Option<CompiledPath>,
    /// Path to the total item count.
    pub total_path: Option<CompiledPath>,
}

/// A compiled handshake: requests the webhook endpoint answers instead of ingesting.
#[derive(Debug, Clone)]
pub struct CompiledHandshake {
    /// Identifies the handshake payload.
    pub condition: CompiledCondition,
    /// The value echoed back.
    pub respond_with: CompiledPath,
    /// Whether the signature must verify first.
    pub verify: bool,
}

/// Compiled webhook settings.
#[derive(Debug, Clone)]
pub struct CompiledWebhook {
    /// Event types handled (empty = all).
    pub event_types: Vec<String>,
    /// Path to the event type in the payload.
    pub event_type_path: CompiledPath,
    /// Header carrying the event type.
    pub event_type_header: Option<String>,
    /// Header carrying the delivery id.
    pub delivery_id_header: Option<String>,
    /// Signature verifier (`None` when verification is `none`).
    pub verifier: Option<Verifier>,
    /// Handshakes answered directly.
    pub handshakes: Vec<CompiledHandshake>,
}

impl CompiledWebhook {
    /// The event type read from the payload via `eventTypePath`.
    pub fn event_type_from_payload(&self, payload: &Value) -> Option<String> {
        self.event_type_path.first(payload).and_then(scalar_text)
    }

    /// Why a payload with this event type is not handled, or `None` when it is.
    pub fn unhandled_reason(&self, event_type: Option<&str>) -> Option<String> {
        if self.event_types.is_empty() {
            return None;
        }
        match event_type {
            Some(e) if self.event_types.iter().any(|t| t == e) => None,
            Some(e) => Some(format!("event type {e:?} is not handled by this connector")),
            None => Some("the payload has no event type".to_owned()),
        }
    }

    /// The handshake this payload is, if any, with the value to answer.
    pub fn handshake<'v>(&self, payload: &'v Value) -> Option<(&CompiledHandshake, &'v Value)> {
        self.handshakes
            .iter()
            .find(|h| h.condition.matches(payload))
            .and_then(|h| h.respond_with.first(payload).map(|v| (h, v)))
    }
}

/// Compiled health check.
#[derive(Debug, Clone)]
pub struct CompiledHealthCheck {
    /// Endpoint URL template.
    pub endpoint: Template,
}

/// Variables every request template may use besides `config.*` and `credentials.*`.
const POLL_VARIABLES: &[&str] = &["baseUrl", "checkpoint", "pageToken"];

struct Checker<'d> {
    issues: Vec<Issue>,
    config_keys: BTreeSet<&'d str>,
    credential_keys: BTreeSet<&'d str>,
}

pub(super) fn compile(raw: ConnectorDescriptor) -> Result<Descriptor, Vec<Issue>> {
    let config_keys = raw.config_fields.iter().map(|f| f.key.as_str()).collect();
    let credential_keys = raw.auth.credential_fields().iter().map(|f| f.key.as_str()).collect();
    let mut c = Checker { issues: Vec::new(), config_keys, credential_keys };
    c.identity(&raw);
    c.fields(&raw);
    c.auth(&raw.auth);
    let polling = raw.ingestion.polling().and_then(|p| {
        let at = match raw.ingestion {
            super::model::IngestionDescriptor::PollingAndWebhook(_) => "/ingestion/polling",
            _ => "/ingestion",
        };
        c.polling(p, at)
    });
    let webhook = raw.ingestion.webhook().and_then(|w| {
        let at = match raw.ingestion {
            super::model::IngestionDescriptor::PollingAndWebhook(_) => "/ingestion/webhook",
            _ => "/ingestion",
        };
        c.webhook(w, &raw.auth, at)
    });
    let (polling_mapper, webhook_mapper) = c.mappers(&raw);
    let health_endpoint = c.template(&raw.health_check.endpoint, "/healthCheck/endpoint", &["baseUrl"]);
    if raw.health_check.timeout_ms == 0 {
        c.issues.push(Issue::new("/healthCheck/timeoutMs", "must be greater than 0"));
    }
    if !(100..=599).contains(&raw.health_check.expect_status) {
        c.issues.push(Issue::new("/healthCheck/expectStatus", "must be an HTTP status code (100-599)"));
    }
    if !c.issues.is_empty() {
        return Err(c.issues);
    }
    let health_check = CompiledHealthCheck { endpoint: health_endpoint.ok_or_else(Vec::new)? };
    Ok(Descriptor { raw, polling_mapper, webhook_mapper, polling, webhook, health_check })
}

impl<'d> Checker<'d> {
    fn identity(&mut self, raw: &ConnectorDescriptor) {
        static ID: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
        static VERSION: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
        let id_ok = ID
            .get_or_init(|| Regex::new("^[a-z0-9]+(-[a-z0-9]+)*$").ok())
            .as_ref()
            .is_some_and(|re| re.is_match(&raw.id));
        if !id_ok || raw.id.len() > 64 {
            self.issues.push(Issue::new(
                "/id",
                format!("{:?} must be lower-case kebab case (a-z, 0-9, '-'), at most 64 characters", raw.id),
            ));
        }
        let version_ok = VERSION
            .get_or_init(|| Regex::new(r"^\d+\.\d+\.\d+$").ok())
            .as_ref()
            .is_some_and(|re| re.is_match(&raw.version));
        if !version_ok {
            self.issues.push(Issue::new("/version", format!("{:?} must be MAJOR.MINOR.PATCH", raw.version)));
        }
        if raw.name.trim().is_empty() {
            self.issues.push(Issue::new("/name", "must not be empty"));
        }
        if raw.kind == ConnectorKind::Native
            && raw.ingestion.polling().is_some()
            && raw.field_mapping.items_path.is_empty()
        {
            self.issues.push(Issue::new("/fieldMapping/itemsPath", "must not be empty"));
        }
    }

    fn fields(&mut self, raw: &ConnectorDescriptor) {
        let mut seen = BTreeSet::new();
        for (i, f) in raw.config_fields.iter().enumerate() {
            if !seen.insert(f.key.as_str()) {
                self.issues
                    .push(Issue::new(format!("/configFields/{i}/key"), format!("duplicate config key {:?}", f.key)));
            }
        }
        let mut seen = BTreeSet::new();
        for (i, f) in raw.auth.credential_fields().iter().enumerate() {
            if !seen.insert(f.key.as_str()) {
                self.issues.push(Issue::new(
                    format!("/auth/config/credentialFields/{i}/key"),
                    format!("duplicate credential key {:?}", f.key),
                ));
            }
        }
    }

    fn credential_ref(&mut self, key: Option<&str>, pointer: &str, fallback_first: bool) {
        match key {
            Some(k) if !self.credential_keys.contains(k) => {
                self.issues
                    .push(Issue::new(pointer, format!("credential field {k:?} is not declared in credentialFields")));
            }
            None if fallback_first && self.credential_keys.is_empty() => {
                self.issues
                    .push(Issue::new("/auth/config/credentialFields", "at least one credential field is required"));
            }
            _ => {}
        }
    }

    fn auth(&mut self, auth: &AuthDescriptor) {
        match auth {
            AuthDescriptor::ApiKey(c) => {
                self.credential_ref(c.credential_key.as_deref(), "/auth/config/credentialKey", true);
                self.non_empty(&c.param_name, "/auth/config/paramName");
            }
            AuthDescriptor::Pat(c) => {
                self.credential_ref(c.credential_key.as_deref(), "/auth/config/credentialKey", true);
                self.non_empty(&c.param_name, "/auth/config/paramName");
            }
            AuthDescriptor::Basic(c) => {
                self.credential_ref(
                    Some(c.username_key.as_deref().unwrap_or("username")),
                    "/auth/config/usernameKey",
                    false,
                );
                self.credential_ref(
                    Some(c.password_key.as_deref().unwrap_or("password")),
                    "/auth/config/passwordKey",
                    false,
                );
            }
            AuthDescriptor::Oauth2(c) => {
                for (url, at) in
                    [(&c.authorise_url, "/auth/config/authoriseUrl"), (&c.token_url, "/auth/config/tokenUrl")]
                {
                    if !(url.starts_with("https://") || url.starts_with("http://") || url.contains("{{")) {
                        self.issues.push(Issue::new(at, format!("{url:?} is not an http(s) URL")));
                    }
                    self.template(url, at, &["baseUrl"]);
                }
                for key in ["clientId", "clientSecret"] {
                    if !self.credential_keys.contains(key) {
                        self.issues.push(Issue::new(
                            "/auth/config/credentialFields",
                            format!("OAuth2 needs a credential field {key:?}"),
                        ));
                    }
                }
            }
            AuthDescriptor::WebhookSecret(c) => {
                self.credential_ref(None, "/auth/config/credentialFields", true);
                if !matches!(c.algorithm.as_str(), "hmac-sha256" | "hmac-sha1") {
                    self.issues.push(Issue::new(
                        "/auth/config/algorithm",
                        format!("unknown algorithm {:?} (expected hmac-sha256 or hmac-sha1)", c.algorithm),
                    ));
                }
            }
            AuthDescriptor::None => {}
        }
    }

    fn non_empty(&mut self, value: &str, pointer: &str) {
        if value.trim().is_empty() {
            self.issues.push(Issue::new(pointer, "must not be empty"));
        }
    }

    /// Checks a `timeZone`: an IANA zone name, or a template of config values.
    fn time_zone(&mut self, zone: &str, pointer: &str) {
        let Some(template) = self.template(zone, pointer, &[]) else { return };
        if template.placeholders().next().is_none() && zone.trim().parse::<chrono_tz::Tz>().is_err() {
            self.issues.push(Issue::new(
                pointer,
                format!("{zone:?} is not an IANA time zone name (e.g. \"Europe/Berlin\") or {{{{config.<key>}}}}"),
            ));
        }
    }

    /// Parses a request template and checks that every variable it uses is defined.
    fn template(&mut self, text: &str, pointer: &str, variables: &[&str]) -> Option<Template> {
        let template = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => {
                self.issues.push(Issue::new(pointer, e));
                return None;
            }
        };
        for name in template.placeholders() {
            let problem = if let Some(key) = name.strip_prefix("config.") {
                (!self.config_keys.contains(key)).then(|| {
                    format!("{{{{{name}}}}} refers to config key {key:?}, which is not declared in configFields")
                })
            } else if let Some(key) = name.strip_prefix("credentials.") {
                (!self.credential_keys.contains(key)).then(|| {
                    format!("{{{{{name}}}}} refers to credential {key:?}, which is not declared in credentialFields")
                })
            } else if name == "baseUrl" && variables.contains(&"baseUrl") {
                (!self.config_keys.contains("baseUrl")).then(|| {
                    "{{baseUrl}} needs a config field \"baseUrl\" (declare it in configFields, with a default)"
                        .to_owned()
                })
            } else if variables.contains(&name) {
                None
            } else {
                Some(format!(
                    "unknown variable {{{{{name}}}}} (allowed: {}, config.<key>, credentials.<key>)",
                    variables.join(", ")
                ))
            };
            if let Some(message) = problem {
                self.issues.push(Issue::new(pointer, message));
            }
        }
        Some(template)
    }

    fn polling(&mut self, p: &PollingDescriptor, at: &str) -> Option<CompiledPolling> {
        let before = self.issues.len();
        let endpoint = self.template(&p.endpoint, &format!("{at}/endpoint"), POLL_VARIABLES);
        let mut headers = Vec::new();
        for (name, value) in &p.headers {
            let pointer = format!("{at}/headers/{}", escape_pointer(name));
            if let Some(t) = self.template(value, &pointer, POLL_VARIABLES) {
                headers.push((name.clone(), t));
            }
        }
        let body = p.body.as_ref().and_then(|b| self.template(b, &format!("{at}/body"), POLL_VARIABLES));
        if p.rate_limit_rpm == 0 {
            self.issues.push(Issue::new(format!("{at}/rateLimitRpm"), "must be greater than 0"));
        }
        if p.interval_seconds == Some(0) {
            self.issues.push(Issue::new(format!("{at}/intervalSeconds"), "must be greater than 0"));
        }
        if let DeltaStrategy::TimestampFilter { time_zone: Some(zone), .. } = &p.delta {
            self.time_zone(zone, &format!("{at}/delta/timeZone"));
        }
        let mut sink = IssueSink(&mut self.issues);
        let delta_path = match &p.delta {
            DeltaStrategy::TimestampFilter { .. } => None,
            DeltaStrategy::DeltaToken { token_path: path, .. } => sink.path(path, format!("{at}/delta/tokenPath")),
            DeltaStrategy::Cursor { cursor_path: path, .. } => sink.path(path, format!("{at}/delta/cursorPath")),
            DeltaStrategy::SinceId { id_path: path, .. } => sink.path(path, format!("{at}/delta/idPath")),
        };
        let (mut next_path, mut total_path) = (None, None);
        if let Some(pg) = &p.pagination {
            let pat = format!("{at}/pagination");
            next_path = pg.next_path.as_ref().and_then(|np| sink.path(np, format!("{pat}/nextPath")));
            total_path = pg.total_path.as_ref().and_then(|tp| sink.path(tp, format!("{pat}/totalPath")));
            if pg.page_size == 0 {
                sink.0.push(Issue::new(format!("{pat}/pageSize"), "must be greater than 0"));
            }
            if pg.max_pages == Some(0) {
                sink.0.push(Issue::new(format!("{pat}/maxPages"), "must be greater than 0"));
            }
            match pg.kind {
                PaginationKind::Cursor => {
                    if pg.next_path.is_none() {
                        sink.0.push(Issue::new(format!("{pat}/nextPath"), "cursor pagination needs nextPath"));
                    }
                    if pg.next_param.is_none()
                        && !p.body.as_deref().unwrap_or("").contains("pageToken")
                        && !p.endpoint.contains("pageToken")
                    {
                        sink.0.push(Issue::new(
                            format!("{pat}/nextParam"),
                            "cursor pagination needs nextParam (or {{pageToken}} in the endpoint or body)",
                        ));
                    }
                }
                PaginationKind::Offset => {
                    if pg.next_param.is_none()
                        && !p.body.as_deref().unwrap_or("").contains("pageToken")
                        && !p.endpoint.contains("pageToken")
                    {
                        sink.0.push(Issue::new(format!("{pat}/nextParam"), "offset pagination needs nextParam (the offset query parameter) or {{pageToken}} in the endpoint or body"));
                    }
                }
                PaginationKind::LinkHeader => {}
            }
        }
        if self.issues.len() > before {
            return None;
        }
        Some(CompiledPolling { endpoint: endpoint?, headers, body, delta_path, next_path, total_path })
    }

    fn webhook(&mut self, w: &WebhookDescriptor, auth: &AuthDescriptor, at: &str) -> Option<CompiledWebhook> {
        let before = self.issues.len();
        let event_type_path = IssueSink(&mut self.issues).path(&w.event_type_path, format!("{at}/eventTypePath"));
        let vat = format!("{at}/verification");
        let verifier = match (&w.verification, auth) {
            (Verification::Keyword(VerificationKeyword::None), _) => None,
            (Verification::Keyword(keyword), AuthDescriptor::WebhookSecret(secret)) => {
                Verifier::from_webhook_secret(*keyword, secret, &vat).map_err(|mut e| self.issues.append(&mut e)).ok()
            }
            (Verification::Keyword(_), other) => {
                self.issues.push(Issue::new(
                    &vat,
                    format!("\"signature\"/\"token\" verification uses auth.method webhook_secret, but auth.method is {:?}; describe the scheme as a verification object instead", other.method_name()),
                ));
                None
            }
            (Verification::Scheme(spec), _) => {
                let keys: Vec<&str> = self.credential_keys.iter().copied().collect();
                Verifier::from_spec(spec, &vat, &keys).map_err(|mut e| self.issues.append(&mut e)).ok()
            }
        };
        let mut handshakes = Vec::new();
        for (i, h) in w.handshakes.iter().enumerate() {
            let hat = format!("{at}/handshakes/{i}");
            let condition = CompiledCondition::compile((&h.when).into(), &format!("{hat}/when"))
                .map_err(|mut e| self.issues.append(&mut e))
                .ok();
            let respond_with = IssueSink(&mut self.issues).path(&h.respond_with_path, format!("{hat}/respondWithPath"));
            if let (Some(condition), Some(respond_with)) = (condition, respond_with) {
                handshakes.push(CompiledHandshake { condition, respond_with, verify: h.verify });
            }
        }
        if self.issues.len() > before {
            return None;
        }
        Some(CompiledWebhook {
            event_types: w.event_types.clone(),
            event_type_path: event_type_path?,
            event_type_header: w.event_type_header.clone(),
            delivery_id_header: w.delivery_id_header.clone(),
            verifier,
            handshakes,
        })
    }

    fn mappers(&mut self, raw: &ConnectorDescriptor) -> (Option<FieldMapper>, Option<FieldMapper>) {
        let base = &raw.field_mapping;
        for (nested, name) in [(&base.webhook, "webhook"), (&base.polling, "polling")] {
            if let Some(inner) = nested
                && (inner.webhook.is_some() || inner.polling.is_some())
            {
                self.issues.push(Issue::new(
                    format!("/fieldMapping/{name}"),
                    "a per-mode mapping cannot itself contain per-mode mappings",
                ));
            }
        }
        let event_types = raw.ingestion.webhook().map(|w| w.event_types.as_slice());
        if base.webhook.is_some() && raw.ingestion.webhook().is_none() {
            self.issues.push(Issue::new("/fieldMapping/webhook", "the connector does not receive webhooks"));
        }
        if base.polling.is_some() && raw.ingestion.polling().is_none() {
            self.issues.push(Issue::new("/fieldMapping/polling", "the connector does not poll"));
        }
        // The base mapping is always compiled so its errors are reported even when both modes
        // override it.
        let base_mapper =
            FieldMapper::compile(base, "/fieldMapping", event_types).map_err(|mut e| self.issues.append(&mut e)).ok();
        let mut for_mode = |present: bool, own: Option<&FieldMappingDescriptor>, name: &str| -> Option<FieldMapper> {
            match (present, own) {
                (false, _) => None,
                (true, None) => base_mapper.clone(),
                (true, Some(spec)) => FieldMapper::compile(spec, &format!("/fieldMapping/{name}"), event_types)
                    .map_err(|mut e| self.issues.append(&mut e))
                    .ok(),
            }
        };
        let polling = for_mode(raw.ingestion.polling().is_some(), base.polling.as_deref(), "polling");
        let webhook = for_mode(raw.ingestion.webhook().is_some(), base.webhook.as_deref(), "webhook");
        (polling, webhook)
    }
}

/// Escapes a key for use in a JSON pointer (RFC 6901).
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::Descriptor;

    /// A minimal polling descriptor whose delta is `delta`.
    fn with_delta(delta: serde_json::Value) -> Result<Descriptor, crate::DescriptorError> {
        let doc = json!({
            "id": "zoned", "name": "Zoned", "description": "d", "category": "custom", "icon": "box",
            "kind": "generic", "auth": {"method": "none"},
            "configFields": [{"key": "timeZone", "label": "Zone", "type": "text", "required": false, "default": "UTC"}],
            "ingestion": {"mode": "polling", "endpoint": "https://x.example/search?q={{checkpoint}}", "method": "GET",
                "delta": delta, "rateLimitRpm": 60},
            "fieldMapping": {"itemsPath": "$", "idPath": "$.id", "timestampPath": "$.t", "summaryTemplate": "x",
                "signalTypeRules": [{"then": "changed"}]},
            "healthCheck": {"endpoint": "https://x.example/", "method": "GET", "expectStatus": 200, "timeoutMs": 1000},
            "version": "1.0.0"
        });
        Descriptor::from_value(&doc, "test")
    }

    fn minutes_in(zone: &str) -> serde_json::Value {
        json!({"type": "timestamp_filter", "queryParam": "", "format": "yyyy-MM-dd HH:mm", "timeZone": zone})
    }

    #[test]
    fn time_zones_are_iana_names_or_config_values() {
        assert!(with_delta(minutes_in("Europe/Berlin")).is_ok());
        assert!(with_delta(minutes_in("{{config.timeZone}}")).is_ok());
        let unknown = with_delta(minutes_in("Mars/Olympus_Mons")).expect_err("not a zone");
        assert_eq!(unknown.issues[0].pointer, "/ingestion/delta/timeZone");
        assert!(unknown.issues[0].message.contains("IANA"), "{unknown}");
        let undeclared = with_delta(minutes_in("{{config.zone}}")).expect_err("undeclared key");
        assert!(undeclared.issues[0].message.contains("not declared"), "{undeclared}");
    }

    #[test]
    fn stop_at_checkpoint_is_read_and_defaults_to_off() {
        let stop = json!({"type": "timestamp_filter", "queryParam": "", "format": "iso8601", "stopAtCheckpoint": true});
        let read = |d: &Descriptor| match &d.model().ingestion.polling().expect("polls").delta {
            crate::descriptor::model::DeltaStrategy::TimestampFilter { stop_at_checkpoint, .. } => *stop_at_checkpoint,
            _ => unreachable!("a timestamp filter"),
        };
        assert!(read(&with_delta(stop).expect("valid")));
        assert!(!read(&with_delta(minutes_in("UTC")).expect("valid")));
    }
}
