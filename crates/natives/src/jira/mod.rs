//! `jira`: Jira Cloud issues, polled and pushed, one signal per change.
//!
//! **Why native.** A descriptor maps one polled item (or one delivery) to at most one signal.
//! A Jira issue returned by the search is one item, but it may carry several changes since the
//! last poll — a transition, an assignment, two comments — and each is a signal of its own, with
//! its own from / to values read from the issue's history. Expanding one item into the signals of
//! its history, filtered by the checkpoint, and giving a change the same identity whichever path
//! reported it (a webhook delivery carries one changelog entry, a polled issue all of them) is
//! what this module adds; everything else is the descriptor's, run by the same engines as a
//! generic connector:
//!
//! - **Requests** ([`stream`]): the descriptor's polling plan — `POST /rest/api/3/search/jql`
//!   with `nextPageToken` paging, JQL `project in (…) AND updated >= "yyyy-MM-dd HH:mm" ORDER BY
//!   updated ASC` written in the user's time zone ([`zone`]: the `timeZone` config value, else
//!   `/rest/api/3/myself`), `fields` limited to what the signals need, `expand=changelog` — runs
//!   in the poll engine (`switchboard-poll`, through the [`PollDriver`] port): auth (e-mail +
//!   API token, or OAuth2), egress guard, rate limits, retries and token refresh are the
//!   engine's. The checkpoint is the engine's `timestamp_filter` one: the newest `updated`, at
//!   minute precision in the query, with the ids seen at it.
//! - **Changes** ([`change`]): issue created, each changelog history (a `status` item is
//!   `issue_transitioned`, an `assignee` item `issue_assigned`, other fields one
//!   `issue_updated`), each comment (`issue_commented`), newer than the checkpoint.
//! - **Webhooks**: Jira admin webhooks (`jira:issue_created`, `jira:issue_updated`,
//!   `comment_created`), verified by the descriptor's HMAC scheme (`X-Hub-Signature:
//!   sha256=<hex>` with the instance's `webhookSecret`); their changelog and comment become the
//!   same [`change::Change`]s, hence the same signal ids, as polling.
//! - **Signals** ([`signal`]): `PROJ-123 <summary> (<status>)`, priority from Jira's priority,
//!   participants, related issue keys, `<site>/browse/<KEY>`.
//!
//! Registering Jira's dynamic webhooks (which expire after 30 days) belongs to the managed
//! subscriptions of the descriptor language; this connector receives whatever webhook reaches
//! the gateway and needs nothing else from it.

pub mod adf;
pub mod change;
pub mod signal;
pub mod stream;
pub mod zone;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchboard_core::connector::GenericConnector;
use switchboard_core::jsonpath::scalar_text;
use switchboard_core::mapping::{IgnoredItem, ItemError, MapError};
use switchboard_core::polling::{HealthReport, PageStream, PollError, PollRequest};
use switchboard_core::ports::Credentials;
use switchboard_core::webhook::{DeliveryId, Headers, VerifyError, WebhookEvent, WebhookRequest};
use switchboard_core::{Connector, Descriptor, IngestionKind, MapContext, MapReport, PollDriver};

use change::Change;

/// The connector id.
pub const ID: &str = "jira";

/// The connector's descriptor (`kind: native`): auth, config fields, the search request, the
/// webhook verification (`crates/natives/src/jira/jira.json`).
pub const DESCRIPTOR_JSON: &str = include_str!("jira.json");

/// The native implementation.
pub struct JiraConnector {
    descriptor: Arc<Descriptor>,
    /// The `/myself` request, or why the descriptor cannot make it.
    myself: Result<Descriptor, String>,
    driver: Option<Arc<dyn PollDriver>>,
    /// Webhook verification, event types and health checks: the descriptor's, as generic.
    generic: GenericConnector,
}

impl std::fmt::Debug for JiraConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraConnector").field("id", &self.descriptor.id()).finish()
    }
}

/// The [`switchboard_core::connector::NativeFactory`] of [`ID`].
pub fn factory(descriptor: Arc<Descriptor>, driver: Option<Arc<dyn PollDriver>>) -> Arc<dyn Connector> {
    Arc::new(JiraConnector {
        myself: zone::myself_descriptor(&descriptor),
        generic: GenericConnector::new(Arc::clone(&descriptor), driver.clone()),
        descriptor,
        driver,
    })
}

impl JiraConnector {
    fn signals(&self, changes: &[Change], ctx: &MapContext<'_>) -> MapReport {
        MapReport { signals: changes.iter().map(|c| signal::signal(c, ctx)).collect(), ..MapReport::default() }
    }
}

#[async_trait::async_trait]
impl Connector for JiraConnector {
    fn receives_webhooks(&self) -> bool {
        self.generic.receives_webhooks()
    }

    fn delivery_id(&self, headers: &Headers, payload: &Value) -> DeliveryId {
        self.generic.delivery_id(headers, payload)
    }

    fn replay_window(&self) -> Duration {
        self.generic.replay_window()
    }

    fn webhook_secret_field(&self) -> Option<&str> {
        self.generic.webhook_secret_field()
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>, secrets: &[&str]) -> Result<(), VerifyError> {
        self.generic.verify_webhook(request, secrets)
    }

    fn webhook_event(&self, headers: &Headers, payload: &Value) -> WebhookEvent {
        self.generic.webhook_event(headers, payload)
    }

    /// The site (`baseUrl`), for the signals' links.
    fn mapping_config(&self, _ingestion: IngestionKind, config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let effective = self.descriptor.effective_config(config);
        effective.into_iter().filter(|(key, _)| key == signal::SITE_KEY).collect()
    }

    /// A webhook delivery: its changes (none for an event that reports no issue change: one
    /// ignored item). A polled page (tools): the changes of every issue in it.
    fn map(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        if ctx.ingestion == IngestionKind::Polling {
            let issues = payload["issues"].as_array().ok_or_else(|| MapError::NoItems("$.issues[*]".to_owned()))?;
            let changes: Vec<Change> = issues.iter().flat_map(|issue| change::from_issue(issue, None)).collect();
            return Ok(self.signals(&changes, ctx));
        }
        let given = ctx.event_type.map(str::to_owned).or_else(|| scalar_text(&payload["webhookEvent"]));
        let event = match self.descriptor.webhook().map(|webhook| webhook.judge(given.clone())) {
            Some(WebhookEvent::Ignored { reason, .. }) => return Ok(ignored(None, reason)),
            _ => given.unwrap_or_default(),
        };
        let changes = change::from_webhook(payload, &event);
        if changes.is_empty() {
            let key = scalar_text(&payload["issue"]["key"]);
            return Ok(ignored(key, format!("the {event} delivery reports no changelog entry or comment")));
        }
        Ok(self.signals(&changes, ctx))
    }

    /// One polled change (what [`Connector::pages`] puts on its pages).
    fn map_item(&self, item: &Value, ctx: &MapContext<'_>) -> MapReport {
        match serde_json::from_value::<Change>(item.clone()) {
            Ok(change) => self.signals(std::slice::from_ref(&change), ctx),
            Err(e) => MapReport {
                errors: vec![ItemError {
                    index: 0,
                    external_id: None,
                    field: "item".to_owned(),
                    path: "$".to_owned(),
                    message: format!("not a Jira change: {e}"),
                }],
                ..MapReport::default()
            },
        }
    }

    fn pages<'a>(&'a self, request: PollRequest<'a>) -> Result<Box<dyn PageStream + 'a>, PollError> {
        let driver = self.driver.as_deref().ok_or_else(|| PollError::NoDriver(ID.to_owned()))?;
        if self.descriptor.polling().is_none() {
            return Err(PollError::NotPolling(ID.to_owned()));
        }
        let myself = self
            .myself
            .as_ref()
            .map_err(|e| PollError::Config(format!("the descriptor cannot read the account's time zone: {e}")))?;
        Ok(Box::new(stream::ChangeStream::start(driver, &self.descriptor, myself, request)?))
    }

    async fn check_health(&self, config: &BTreeMap<String, String>, credentials: &Credentials) -> HealthReport {
        self.generic.check_health(config, credentials).await
    }
}

fn ignored(external_id: Option<String>, reason: String) -> MapReport {
    MapReport { ignored: vec![IgnoredItem { index: 0, external_id, reason }], ..MapReport::default() }
}
