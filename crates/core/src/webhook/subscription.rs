//! The compiled webhook subscription ([`SubscriptionPlan`]): the create, renew and delete
//! requests with every template and JSONPath checked when the descriptor is loaded, how their
//! answers are read, and the types of one call ([`SubscriptionCall`], [`SubscriptionAnswer`]).
//!
//! Nothing here sends a request: the polling engine (`switchboard-poll`) sends them, through
//! the [`crate::PollDriver`] port, with the instance's auth and behind the egress guard.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::Value;

use crate::jsonpath::{CompiledPath, scalar_text};
use crate::mapping::IssueSink;
use crate::mapping::timestamp::parse_timestamp;
use crate::model::{
    Issue, SubscriptionDescriptor, SubscriptionMethod, SubscriptionRenew, TimestampFormat, escape_pointer,
};
use crate::polling::scope::RequestScope;
use crate::ports::Credentials;
use crate::template::Template;

/// The id of the created subscription (`renew` and `delete` only).
pub const SUBSCRIPTION_ID: &str = "subscriptionId";
/// The gateway URL of the instance.
pub const WEBHOOK_URL: &str = "webhookUrl";
/// The instance's webhook secret.
pub const WEBHOOK_SECRET: &str = "webhookSecret";
/// Now plus `lifetimeSeconds`, RFC 3339 UTC (only with `lifetimeSeconds`).
pub const EXPIRES_AT: &str = "expiresAt";

/// A JSON body whose strings are templates.
#[derive(Debug, Clone)]
pub enum BodyTemplate {
    /// A string template; values are inserted as text.
    Text(Template),
    /// An array of bodies.
    Array(Vec<BodyTemplate>),
    /// An object of bodies, in the order written.
    Object(Vec<(String, BodyTemplate)>),
    /// A number, boolean or null, sent as written.
    Literal(Value),
}

impl BodyTemplate {
    /// Renders the body, asking `resolve` for each placeholder's text.
    pub fn render<E>(&self, resolve: &mut impl FnMut(&str) -> Result<String, E>) -> Result<Value, E> {
        Ok(match self {
            Self::Text(template) => Value::String(template.render(&mut *resolve)?),
            Self::Array(items) => Value::Array(items.iter().map(|i| i.render(resolve)).collect::<Result<_, _>>()?),
            Self::Object(members) => Value::Object(
                members.iter().map(|(k, v)| Ok((k.clone(), v.render(resolve)?))).collect::<Result<_, E>>()?,
            ),
            Self::Literal(value) => value.clone(),
        })
    }

    fn templates<'a>(&'a self, out: &mut Vec<&'a Template>) {
        match self {
            Self::Text(t) => out.push(t),
            Self::Array(items) => items.iter().for_each(|i| i.templates(out)),
            Self::Object(members) => members.iter().for_each(|(_, v)| v.templates(out)),
            Self::Literal(_) => {}
        }
    }
}

/// One compiled request of a subscription.
#[derive(Debug, Clone)]
pub struct SubscriptionRequestPlan {
    /// HTTP method.
    pub method: SubscriptionMethod,
    /// URL template.
    pub url: Template,
    /// Header name and value templates.
    pub headers: Vec<(String, Template)>,
    /// JSON body, sent as `application/json`.
    pub body: Option<BodyTemplate>,
}

impl SubscriptionRequestPlan {
    /// Every template of the request (URL, headers, body strings).
    pub fn templates(&self) -> Vec<&Template> {
        let mut out = vec![&self.url];
        out.extend(self.headers.iter().map(|(_, t)| t));
        if let Some(body) = &self.body {
            body.templates(&mut out);
        }
        out
    }
}

/// The compiled `renew` request.
#[derive(Debug, Clone)]
pub struct RenewPlan {
    /// The request.
    pub request: SubscriptionRequestPlan,
    /// Where the answer carries the new expiry.
    pub expires_at: Option<CompiledPath>,
    /// A subscription expiring within this is renewed.
    pub renew_before: Duration,
}

/// A compiled webhook subscription.
#[derive(Debug, Clone)]
pub struct SubscriptionPlan {
    /// The request that registers the webhook.
    pub create: SubscriptionRequestPlan,
    /// Where the create answer carries the subscription's id.
    pub id: CompiledPath,
    /// Where the create answer carries the expiry.
    pub expires_at: Option<CompiledPath>,
    /// The renewal, for subscriptions that expire.
    pub renew: Option<RenewPlan>,
    /// The request that removes the webhook.
    pub delete: Option<SubscriptionRequestPlan>,
    /// The lifetime asked for (`{{expiresAt}}`).
    pub lifetime: Option<Duration>,
    /// The credential field holding the webhook secret, when a request sends it.
    pub secret_field: Option<String>,
    /// The config keys the requests read (`{{config.<key>}}`), sorted.
    pub config_keys: Vec<String>,
}

/// A connector's compiled subscriptions: one, or alternatives chosen per instance by its config.
#[derive(Debug, Clone)]
pub struct SubscriptionPlans {
    /// The subscriptions, in the order written.
    pub variants: Vec<SubscriptionPlan>,
}

impl SubscriptionPlans {
    /// The variant an instance with `config` (defaults filled in) uses: the first whose config
    /// values are all set. Otherwise the config keys missing for the variant that lacks the
    /// fewest (the first such), so the user is told what to set.
    pub fn choose<'a>(&'a self, config: &BTreeMap<String, String>) -> Result<usize, Vec<&'a str>> {
        let mut fewest: Option<Vec<&str>> = None;
        for (index, plan) in self.variants.iter().enumerate() {
            let missing = plan.missing_config(config);
            if missing.is_empty() {
                return Ok(index);
            }
            if fewest.as_ref().is_none_or(|f| missing.len() < f.len()) {
                fewest = Some(missing);
            }
        }
        Err(fewest.unwrap_or_default())
    }

    /// Variant `index` (as stored with the subscription; 0 for a single subscription).
    pub fn variant(&self, index: usize) -> Option<&SubscriptionPlan> {
        self.variants.get(index)
    }
}

/// What a subscription call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionAction {
    /// Register the webhook.
    Create,
    /// Extend it.
    Renew,
    /// Remove it.
    Delete,
}

impl SubscriptionAction {
    /// The action's name, as in the descriptor.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Renew => "renew",
            Self::Delete => "delete",
        }
    }
}

/// One subscription request for an instance.
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionCall<'a> {
    /// What to do.
    pub action: SubscriptionAction,
    /// Which of the connector's subscriptions ([`SubscriptionPlans::variants`]).
    pub variant: usize,
    /// The instance's config (the descriptor's defaults are filled in by the engine).
    pub config: &'a BTreeMap<String, String>,
    /// The instance's credentials, the webhook secret included.
    pub credentials: &'a Credentials,
    /// The instance's gateway URL (`{{webhookUrl}}`).
    pub webhook_url: &'a str,
    /// The subscription's id (`renew`, `delete`).
    pub subscription_id: Option<&'a str>,
    /// The time `{{expiresAt}}` counts from.
    pub now: DateTime<Utc>,
}

/// What a subscription call answered.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionAnswer {
    /// The created subscription's id (`create`).
    pub id: Option<String>,
    /// When the subscription expires (`create`, `renew`), when known.
    pub expires_at: Option<DateTime<Utc>>,
    /// Credentials the call refreshed (an OAuth2 token), to store.
    pub refreshed_credentials: Option<Credentials>,
}

impl SubscriptionPlan {
    /// Compiles `ingestion[.webhook].subscription` found at `at`. `secret_field` is the
    /// credential field the webhook's verification reads its secret from, if any.
    pub fn compile(
        s: &SubscriptionDescriptor,
        at: &str,
        scope: &RequestScope<'_>,
        secret_field: Option<&str>,
        issues: &mut Vec<Issue>,
    ) -> Option<Self> {
        let before = issues.len();
        let lifetime = match s.lifetime_seconds {
            Some(0) => {
                issues.push(Issue::new(format!("{at}/lifetimeSeconds"), "must be greater than 0"));
                None
            }
            other => other.map(Duration::from_secs),
        };
        let context = Context { scope, lifetime: s.lifetime_seconds.is_some(), secret_field };
        let c = &s.create;
        let create =
            context.request((c.method, &c.url, &c.headers, c.body.as_ref()), &format!("{at}/create"), false, issues);
        let id = IssueSink(issues).path(&c.id_path, format!("{at}/create/idPath"));
        let expires_at =
            c.expires_at_path.as_ref().and_then(|p| IssueSink(issues).path(p, format!("{at}/create/expiresAtPath")));
        let renew = s.renew.as_ref().and_then(|r| context.renew(r, s, &format!("{at}/renew"), issues));
        let delete = s.delete.as_ref().and_then(|d| {
            context.request((d.method, &d.url, &d.headers, d.body.as_ref()), &format!("{at}/delete"), true, issues)
        });
        if issues.len() > before {
            return None;
        }
        let (create, id) = (create?, id?);
        let mut config_keys: Vec<String> = create
            .templates()
            .into_iter()
            .chain(renew.iter().flat_map(|r| r.request.templates()))
            .chain(delete.iter().flat_map(SubscriptionRequestPlan::templates))
            .flat_map(|t| t.placeholders().filter_map(|p| p.strip_prefix("config.")).map(str::to_owned))
            .collect();
        config_keys.sort();
        config_keys.dedup();
        let sends_secret = create
            .templates()
            .into_iter()
            .chain(renew.iter().flat_map(|r| r.request.templates()))
            .any(|t| t.placeholders().any(|p| p == WEBHOOK_SECRET));
        Some(Self {
            create,
            id,
            expires_at,
            renew,
            delete,
            lifetime,
            secret_field: secret_field.filter(|_| sends_secret).map(str::to_owned),
            config_keys,
        })
    }

    /// The config keys the requests read that `config` (defaults filled in) leaves empty.
    pub fn missing_config<'a>(&'a self, config: &BTreeMap<String, String>) -> Vec<&'a str> {
        self.config_keys
            .iter()
            .filter(|k| config.get(k.as_str()).is_none_or(|v| v.trim().is_empty()))
            .map(String::as_str)
            .collect()
    }

    /// `{{expiresAt}}` for a call at `now`: now plus the lifetime, RFC 3339 UTC.
    pub fn requested_expiry(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let lifetime = TimeDelta::from_std(self.lifetime?).ok()?;
        now.checked_add_signed(lifetime)
    }

    /// The request of `action`, if the descriptor declares one.
    pub fn request(&self, action: SubscriptionAction) -> Option<&SubscriptionRequestPlan> {
        match action {
            SubscriptionAction::Create => Some(&self.create),
            SubscriptionAction::Renew => self.renew.as_ref().map(|r| &r.request),
            SubscriptionAction::Delete => self.delete.as_ref(),
        }
    }

    /// Reads the answer to `action` sent at `now`: the id (create) and the expiry (create,
    /// renew; the requested one when the answer carries none). The error says what is missing.
    pub fn read_answer(
        &self,
        action: SubscriptionAction,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<SubscriptionAnswer, String> {
        let path = match action {
            SubscriptionAction::Create => self.expires_at.as_ref(),
            SubscriptionAction::Renew => self.renew.as_ref().and_then(|r| r.expires_at.as_ref()),
            SubscriptionAction::Delete => return Ok(SubscriptionAnswer::default()),
        };
        let id = match action {
            SubscriptionAction::Create => {
                Some(self.id.first(body).and_then(scalar_text).filter(|id| !id.trim().is_empty()).ok_or_else(|| {
                    format!("the answer has no subscription id at {} (create.idPath)", self.id.as_str())
                })?)
            }
            _ => None,
        };
        let expires_at = match path {
            Some(path) => match path.first(body) {
                Some(value) => Some(
                    parse_timestamp(value, TimestampFormat::Auto)
                        .map_err(|e| format!("the expiry at {} cannot be read: {e}", path.as_str()))?,
                ),
                None => return Err(format!("the answer has no expiry at {}", path.as_str())),
            },
            None => self.requested_expiry(now),
        };
        Ok(SubscriptionAnswer { id, expires_at, refreshed_credentials: None })
    }

    /// Whether a subscription expiring at `expires_at` is due for renewal at `now`.
    pub fn renewal_due(&self, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let Some(renew) = &self.renew else { return false };
        let before = TimeDelta::from_std(renew.renew_before).unwrap_or(TimeDelta::MAX);
        expires_at.checked_sub_signed(before).is_none_or(|at| at <= now)
    }
}

/// `{{expiresAt}}` as sent: RFC 3339 UTC with milliseconds (`2024-05-01T12:00:00.000Z`).
pub fn format_expiry(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What the templates of a subscription may refer to.
struct Context<'s> {
    scope: &'s RequestScope<'s>,
    lifetime: bool,
    secret_field: Option<&'s str>,
}

type RequestParts<'r> = (SubscriptionMethod, &'r String, &'r BTreeMap<String, String>, Option<&'r Value>);

impl Context<'_> {
    fn renew(
        &self,
        r: &SubscriptionRenew,
        s: &SubscriptionDescriptor,
        at: &str,
        issues: &mut Vec<Issue>,
    ) -> Option<RenewPlan> {
        let request = self.request((r.method, &r.url, &r.headers, r.body.as_ref()), at, true, issues);
        let expires_at =
            r.expires_at_path.as_ref().and_then(|p| IssueSink(issues).path(p, format!("{at}/expiresAtPath")));
        if s.create.expires_at_path.is_none() && s.lifetime_seconds.is_none() {
            issues.push(Issue::new(
                at,
                "a renewal needs to know when the subscription expires: set create.expiresAtPath (read from the \
                 provider's answer) or lifetimeSeconds",
            ));
        }
        if r.renew_before_seconds == 0 {
            issues.push(Issue::new(format!("{at}/renewBeforeSeconds"), "must be greater than 0"));
        }
        if let Some(lifetime) = s.lifetime_seconds.filter(|l| *l > 0 && r.renew_before_seconds >= *l) {
            issues.push(Issue::new(
                format!("{at}/renewBeforeSeconds"),
                format!(
                    "{} is not less than lifetimeSeconds ({lifetime}): every scheduled run would renew",
                    r.renew_before_seconds
                ),
            ));
        }
        Some(RenewPlan { request: request?, expires_at, renew_before: Duration::from_secs(r.renew_before_seconds) })
    }

    fn request(
        &self,
        (method, url, headers, body): RequestParts<'_>,
        at: &str,
        with_id: bool,
        issues: &mut Vec<Issue>,
    ) -> Option<SubscriptionRequestPlan> {
        let before = issues.len();
        let url = self.template(url, &format!("{at}/url"), with_id, issues);
        let mut compiled_headers = Vec::new();
        for (name, value) in headers {
            let pointer = format!("{at}/headers/{}", escape_pointer(name));
            if !is_header_name(name) {
                issues.push(Issue::new(&pointer, format!("{name:?} is not a header name")));
            }
            if let Some(t) = self.template(value, &pointer, with_id, issues) {
                compiled_headers.push((name.clone(), t));
            }
        }
        let body = body.and_then(|b| self.body(b, &format!("{at}/body"), with_id, issues));
        (issues.len() == before).then_some(SubscriptionRequestPlan {
            method,
            url: url?,
            headers: compiled_headers,
            body,
        })
    }

    fn body(&self, value: &Value, at: &str, with_id: bool, issues: &mut Vec<Issue>) -> Option<BodyTemplate> {
        Some(match value {
            Value::String(text) => BodyTemplate::Text(self.template(text, at, with_id, issues)?),
            Value::Array(items) => BodyTemplate::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.body(v, &format!("{at}/{i}"), with_id, issues))
                    .collect::<Option<_>>()?,
            ),
            Value::Object(members) => BodyTemplate::Object(
                members
                    .iter()
                    .map(|(k, v)| {
                        Some((k.clone(), self.body(v, &format!("{at}/{}", escape_pointer(k)), with_id, issues)?))
                    })
                    .collect::<Option<_>>()?,
            ),
            other => BodyTemplate::Literal(other.clone()),
        })
    }

    /// A template of a subscription request: the request scope's variables plus the
    /// subscription's own, each only where it has a value.
    fn template(&self, text: &str, pointer: &str, with_id: bool, issues: &mut Vec<Issue>) -> Option<Template> {
        // Every variable is known here; where one has no value is reported below, more precisely.
        let variables = ["baseUrl", WEBHOOK_URL, WEBHOOK_SECRET, EXPIRES_AT, SUBSCRIPTION_ID];
        let before = issues.len();
        let template = self.scope.template(text, pointer, &variables, issues)?;
        for name in template.placeholders() {
            let problem = match name {
                SUBSCRIPTION_ID if !with_id => Some(
                    "{{subscriptionId}} has no value yet in `create` (it is read from create's answer; use it in \
                     renew and delete)"
                        .to_owned(),
                ),
                EXPIRES_AT if !self.lifetime => Some(
                    "{{expiresAt}} needs `lifetimeSeconds` on the subscription (the lifetime to ask for)".to_owned(),
                ),
                WEBHOOK_SECRET if self.secret_field.is_none() => Some(
                    "{{webhookSecret}} needs a webhook verification scheme whose secretField names the credential \
                     holding the secret"
                        .to_owned(),
                ),
                _ => None,
            };
            if let Some(message) = problem {
                issues.push(Issue::new(pointer, message));
            }
        }
        (issues.len() == before).then_some(template)
    }
}

/// An HTTP header name (RFC 9110 token).
fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
