//! Compiling an authored descriptor: checks what belongs to no single section (identity, field
//! keys) and has each section compile itself — the auth and polling plans, the webhook section,
//! the field mappings, the health check — reporting every problem at once.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use crate::hosts::{HostAllowlist, literal_host};
use crate::ids::ConnectorId;
use crate::mapping::{FieldMapper, MappingScope};
use crate::model::{
    AuthDescriptor, ConnectorDescriptor, ConnectorKind, FieldMappingDescriptor, IngestionDescriptor, Issue,
};
use crate::polling::{AuthPlan, HealthCheckPlan, PartitionPlan, PollingPlan, RequestPlan, scope::RequestScope};
use crate::webhook::{CompiledWebhook, SubscriptionPlan, SubscriptionPlans};

/// Every compiled section of a valid descriptor.
#[derive(Debug, Clone)]
pub(super) struct Sections {
    pub(super) config_defaults: BTreeMap<String, String>,
    pub(super) allowed_hosts: HostAllowlist,
    pub(super) auth: AuthPlan,
    pub(super) polling: Option<PollingPlan>,
    pub(super) webhook: Option<CompiledWebhook>,
    pub(super) subscription: Option<SubscriptionPlans>,
    pub(super) health_check: Option<HealthCheckPlan>,
    pub(super) polling_mapper: Option<FieldMapper>,
    pub(super) webhook_mapper: Option<FieldMapper>,
}

struct Checker {
    issues: Vec<Issue>,
}

/// Compiles every section of `raw`, or lists every problem.
pub(super) fn compile(raw: &ConnectorDescriptor) -> Result<Sections, Vec<Issue>> {
    let scope = RequestScope::of(raw);
    let mut c = Checker { issues: Vec::new() };
    c.identity(raw);
    c.fields(raw);
    let allowed_hosts = c.allowed_hosts(raw);
    let auth = AuthPlan::compile(&raw.auth, &scope, &mut c.issues);
    let section = |name: &str| match raw.ingestion {
        IngestionDescriptor::PollingAndWebhook(_) => format!("/ingestion/{name}"),
        _ => "/ingestion".to_owned(),
    };
    let requests =
        raw.ingestion.polling().and_then(|p| RequestPlan::compile(p, &section("polling"), &scope, &mut c.issues));
    let config_keys: Vec<&str> = raw.config_fields.iter().map(|f| f.key.as_str()).collect();
    let webhook = raw.ingestion.webhook().and_then(|w| {
        let (at, credential_keys) = (section("webhook"), scope.credential_keys());
        CompiledWebhook::compile_with_config(w, &raw.auth, &at, &credential_keys, &config_keys, &mut c.issues)
    });
    let subscription = raw.ingestion.webhook().and_then(|w| w.subscription.as_ref()).and_then(|spec| {
        let secret_field = webhook.as_ref().and_then(CompiledWebhook::secret_field);
        let at = format!("{}/subscription", section("webhook"));
        if spec.variants().is_empty() {
            c.issues.push(Issue::new(&at, "give one subscription, or a non-empty list of alternatives"));
            return None;
        }
        let variants: Vec<Option<SubscriptionPlan>> = spec
            .variants()
            .into_iter()
            .enumerate()
            .map(|(i, s)| SubscriptionPlan::compile(s, &spec.pointer(&at, i), &scope, secret_field, &mut c.issues))
            .collect();
        variants.into_iter().collect::<Option<Vec<_>>>().map(|variants| SubscriptionPlans { variants })
    });
    let partitions =
        raw.ingestion.polling().and_then(|p| p.partitions.as_ref()).and_then(|q| {
            PartitionPlan::compile(q, &format!("{}/partitions", section("polling")), &scope, &mut c.issues)
        });
    let (polling_mapper, webhook_mapper) = c.mappers(raw);
    let health_check = HealthCheckPlan::compile_section(raw, requests.as_ref(), &scope, &mut c.issues);
    c.issues.extend(crate::model::example_issues(&raw.examples, raw.ingestion.supported_modes()));
    if !c.issues.is_empty() {
        return Err(c.issues);
    }
    let missing = || vec![Issue::new("", "the descriptor could not be compiled")];
    let polling = match (requests, &polling_mapper) {
        (Some(requests), Some(mapper)) => Some(PollingPlan::new(requests, mapper, partitions)),
        (None, None) => None,
        _ => return Err(missing()),
    };
    let config_defaults =
        raw.config_fields.iter().filter_map(|f| f.default.as_ref().map(|d| (f.key.clone(), d.clone()))).collect();
    Ok(Sections {
        config_defaults,
        allowed_hosts,
        auth: auth.ok_or_else(missing)?,
        polling,
        webhook,
        subscription,
        health_check: health_check.ok_or_else(missing)?,
        polling_mapper,
        webhook_mapper,
    })
}

impl Checker {
    fn identity(&mut self, raw: &ConnectorDescriptor) {
        static VERSION: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
        // The same rule as every connector id that enters elsewhere (URL paths, queue messages).
        if ConnectorId::parse(&raw.id).is_err() {
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

    /// Compiles `allowedHosts` and checks that every URL naming its host literally (a
    /// health check on `https://slack.com/...`, an OAuth token URL) stays inside it.
    fn allowed_hosts(&mut self, raw: &ConnectorDescriptor) -> HostAllowlist {
        let allowlist = HostAllowlist::compile(&raw.allowed_hosts, "/allowedHosts", &mut self.issues);
        if allowlist.is_unrestricted() {
            return allowlist;
        }
        let polling = match raw.ingestion {
            IngestionDescriptor::PollingAndWebhook(_) => "/ingestion/polling/endpoint",
            _ => "/ingestion/endpoint",
        };
        let mut urls: Vec<(&str, &str)> =
            raw.health_check.iter().map(|h| (h.endpoint.as_str(), "/healthCheck/endpoint")).collect();
        if let Some(p) = raw.ingestion.polling() {
            urls.push((p.endpoint.as_str(), polling));
        }
        if let AuthDescriptor::Oauth2(o) = &raw.auth {
            urls.push((o.authorise_url.as_str(), "/auth/config/authoriseUrl"));
            urls.push((o.token_url.as_str(), "/auth/config/tokenUrl"));
        }
        urls.extend(crate::polling::token_auth::token_urls(&raw.auth));
        let subscription_urls = subscription_urls(raw);
        urls.extend(subscription_urls.iter().map(|(url, pointer)| (*url, pointer.as_str())));
        for (template, pointer) in urls {
            if let Some(host) = literal_host(template).filter(|h| !allowlist.permits(h)) {
                self.issues.push(Issue::new(
                    pointer,
                    format!("host `{host}` is not in allowedHosts ({allowlist}): add it there or change the URL"),
                ));
            }
        }
        allowlist
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
        let config_keys: Vec<&str> = raw.config_fields.iter().map(|f| f.key.as_str()).collect();
        let scope = MappingScope { event_types, config_keys: &config_keys };
        let base_mapper =
            FieldMapper::compile(base, "/fieldMapping", scope).map_err(|mut e| self.issues.append(&mut e)).ok();
        let mut for_mode = |present: bool, own: Option<&FieldMappingDescriptor>, name: &str| -> Option<FieldMapper> {
            match (present, own) {
                (false, _) => None,
                (true, None) => base_mapper.clone(),
                (true, Some(spec)) => FieldMapper::compile(spec, &format!("/fieldMapping/{name}"), scope)
                    .map_err(|mut e| self.issues.append(&mut e))
                    .ok(),
            }
        };
        let polling = for_mode(raw.ingestion.polling().is_some(), base.polling.as_deref(), "polling");
        let webhook = for_mode(raw.ingestion.webhook().is_some(), base.webhook.as_deref(), "webhook");
        // A polled item seen again would get a new time, so a new signal id, on every poll.
        if raw.ingestion.polling().is_some() {
            let (spec, at) = match &base.polling {
                Some(own) => (own.as_ref(), "/fieldMapping/polling/timestampFallback"),
                None => (base, "/fieldMapping/timestampFallback"),
            };
            if spec.timestamp_fallback.is_some() {
                self.issues.push(Issue::new(
                    at,
                    "polled items must carry their own time (a received time would make every poll of the same \
                     item a new signal); give the webhook mapping its own `fieldMapping.webhook` with the fallback",
                ));
            }
        }
        (polling, webhook)
    }
}

/// The URL templates of a managed webhook subscription, with their pointers.
fn subscription_urls(raw: &ConnectorDescriptor) -> Vec<(&str, String)> {
    let Some(spec) = raw.ingestion.webhook().and_then(|w| w.subscription.as_ref()) else { return Vec::new() };
    let base = match raw.ingestion {
        IngestionDescriptor::PollingAndWebhook(_) => "/ingestion/webhook/subscription",
        _ => "/ingestion/subscription",
    };
    let mut urls = Vec::new();
    for (i, s) in spec.variants().into_iter().enumerate() {
        let at = spec.pointer(base, i);
        urls.push((s.create.url.as_str(), format!("{at}/create/url")));
        urls.extend(s.renew.iter().map(|r| (r.url.as_str(), format!("{at}/renew/url"))));
        urls.extend(s.delete.iter().map(|d| (d.url.as_str(), format!("{at}/delete/url"))));
    }
    urls
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
            crate::model::DeltaStrategy::TimestampFilter { stop_at_checkpoint, .. } => *stop_at_checkpoint,
            _ => unreachable!("a timestamp filter"),
        };
        assert!(read(&with_delta(stop).expect("valid")));
        assert!(!read(&with_delta(minutes_in("UTC")).expect("valid")));
    }
}
