//! The JSON shape of a webhook subscription Switchboard manages at the provider
//! (`ingestion.subscription`, or `ingestion.webhook.subscription`): how the webhook is created
//! through the provider's API with the instance's credentials, where the created id and expiry
//! are read, how it is renewed before it expires, and how it is deleted.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A webhook registered, renewed and removed by Switchboard through the provider's API.
///
/// Request templates may use `{{webhookUrl}}` (the instance's gateway URL), `{{webhookSecret}}`
/// (the webhook secret, generated when the instance does not set it), `{{baseUrl}}`,
/// `{{config.<key>}}` and `{{credentials.<key>}}`; `renew` and `delete` also `{{subscriptionId}}`,
/// and every request `{{expiresAt}}` when `lifetimeSeconds` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionDescriptor {
    /// The request that registers the webhook, and where its answer carries the id and expiry.
    pub create: SubscriptionCreate,
    /// The request that extends an expiring subscription (Microsoft Graph, Jira dynamic
    /// webhooks). Leave it out for webhooks that do not expire (GitHub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew: Option<SubscriptionRenew>,
    /// The request that removes the webhook when the instance is disabled or deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<SubscriptionRequest>,
    /// The lifetime Switchboard asks for, in seconds: `{{expiresAt}}` is now plus this, as an
    /// RFC 3339 UTC timestamp (e.g. Graph's `expirationDateTime`). It is also the expiry assumed
    /// when the answer carries none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_seconds: Option<u64>,
}

/// `subscription`: one webhook subscription, or alternatives (e.g. a repository hook and an
/// organisation hook). Of alternatives, an instance uses the first whose config values
/// (`{{config.<key>}}` in its requests) are all set; the choice is stored with the
/// subscription, so it is renewed and deleted the way it was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SubscriptionSpec {
    /// One subscription.
    One(Box<SubscriptionDescriptor>),
    /// Alternatives, tried in order.
    Alternatives(Vec<SubscriptionDescriptor>),
}

impl SubscriptionSpec {
    /// The subscriptions, in order (one for [`SubscriptionSpec::One`]).
    pub fn variants(&self) -> Vec<&SubscriptionDescriptor> {
        match self {
            Self::One(one) => vec![one.as_ref()],
            Self::Alternatives(all) => all.iter().collect(),
        }
    }

    /// The JSON pointer of variant `index` under the subscription's pointer `at`.
    pub fn pointer(&self, at: &str, index: usize) -> String {
        match self {
            Self::One(_) => at.to_owned(),
            Self::Alternatives(_) => format!("{at}/{index}"),
        }
    }
}

/// HTTP method of a subscription request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SubscriptionMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl SubscriptionMethod {
    /// The method's name as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// The request that registers the webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionCreate {
    /// HTTP method (usually `POST`).
    pub method: SubscriptionMethod,
    /// URL template, e.g. `{{baseUrl}}/repos/{{config.owner}}/{{config.repo}}/hooks`.
    pub url: String,
    /// Request header templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// JSON body; every string in it is a template whose values are inserted as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// JSONPath to the created subscription's id in the answer, e.g. `$.id`.
    pub id_path: String,
    /// JSONPath to the subscription's expiry in the answer (RFC 3339 / ISO 8601, unix seconds
    /// or milliseconds), e.g. `$.expirationDateTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_path: Option<String>,
}

/// The request that extends a subscription before it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionRenew {
    /// HTTP method (Graph: `PATCH`; Jira: `PUT`).
    pub method: SubscriptionMethod,
    /// URL template; may use `{{subscriptionId}}`.
    pub url: String,
    /// Request header templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// JSON body; every string in it is a template (e.g. `{"expirationDateTime": "{{expiresAt}}"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// JSONPath to the new expiry in the answer; without it the expiry is now plus
    /// `lifetimeSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_path: Option<String>,
    /// The poller's scheduled run renews a subscription that expires within this many seconds.
    /// Keep it above the poller's schedule, so a renewal is tried more than once.
    pub renew_before_seconds: u64,
}

/// A request to the provider's API (the `delete` request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionRequest {
    /// HTTP method (usually `DELETE`).
    pub method: SubscriptionMethod,
    /// URL template; may use `{{subscriptionId}}`.
    pub url: String,
    /// Request header templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// JSON body; every string in it is a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}
