//! Hydration: a detail request per listed item ([`HydrationPlan`]), whose answer becomes the
//! item (or goes under a key of it).
//!
//! The detail requests of one page run at most `concurrency` at a time. Each goes through its
//! own fork of the run's [`Session`] ([`Session::fork`]): the fork shares the instance's
//! `rateLimitRpm` limiter, the credential's rate budget, the token cache, the deadline, the
//! egress guard and `allowedHosts`, so every detail request is paced, counted, authorised and
//! guarded exactly like a page request, while the HTTP exchanges overlap. What a fork learns
//! (rate budget notes, refreshed credentials) is taken back once the page is done.
//!
//! The items keep their order. A detail answer a response rule ignores drops that item (a 404
//! for a message deleted since it was listed); any other failure ends the page: the requests
//! already in flight finish (so refreshed credentials are not lost), no new one starts, and the
//! page is not delivered, so its checkpoint is never stored past items that were not hydrated.

use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::stream::{self, StreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde_json::Value;
use url::Url;

use switchboard_core::polling::hydration::is_item_placeholder;
use switchboard_core::polling::{FailureClass, HydrationPlan, PollError};
use switchboard_core::template::Segment;

use crate::auth::HttpRequest;
use crate::credentials::{Credentials, redact};
use crate::redirect::HOST_NOT_ALLOWED;
use crate::request::{Escape, Variables, Vars, display_url, parse_http_url, reads_credentials, render_text};
use crate::session::{Outcome, SendError, Session};

/// Characters escaped in an item value: all but RFC 3986 unreserved, `/` included, so a value
/// stays one path segment (GitLab's `group%2Fproject`) and cannot change the URL's shape.
const ITEM_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// Characters escaped in an instance value in the path: as [`ITEM_VALUE`], but `/` is kept (as
/// in every request template).
const PATH_VALUE: &AsciiSet = &ITEM_VALUE.remove(b'/');

/// Hydrates a page's kept `items` (in order) through `session`: the hydrated items in the same
/// order, without those whose detail answer a response rule ignored. `origin` is the list
/// endpoint's: a detail request must go there or to a host among the connector's
/// `allowedHosts`.
pub(crate) async fn hydrate<'e>(
    session: &mut Session<'e>,
    plan: &'e HydrationPlan,
    origin: &url::Origin,
    items: Vec<Value>,
) -> Result<Vec<Value>, SendError> {
    let requests = items
        .iter()
        .enumerate()
        .map(|(index, item)| detail_request(session, plan, origin, index, item))
        .collect::<Result<Vec<_>, PollError>>()?;
    let rules = plan.responses.as_deref().unwrap_or(session.rules);
    let stopped = AtomicBool::new(false);
    let stopped = &stopped;
    let jobs = requests.into_iter().zip(items).enumerate().map(|(index, (request, item))| {
        let mut fork = session.fork(rules);
        async move {
            if stopped.load(Ordering::SeqCst) {
                return (index, fork, Ok(None));
            }
            let result = fetch_detail(&mut fork, plan, &request, item).await;
            if result.is_err() {
                stopped.store(true, Ordering::SeqCst);
            }
            (index, fork, result)
        }
    });
    // `futures-util`'s `buffer_unordered` (the workspace's stream toolkit) keeps at most
    // `concurrency` requests going and starts the next as soon as any finishes; `buffered` would
    // hold a slot for every finished answer behind a slow one. The order is restored by index.
    let mut done: Vec<_> = stream::iter(jobs).buffer_unordered(plan.concurrency.max(1)).collect().await;
    done.sort_by_key(|(index, _, _)| *index);
    let mut hydrated = Vec::with_capacity(done.len());
    let mut failure = None;
    for (_, fork, result) in done {
        session.rejoin(fork);
        match result {
            Ok(Some(item)) => hydrated.push(item),
            Ok(None) => {}
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(hydrated),
    }
}

/// Sends one detail request: the hydrated item, or `None` when a response rule ignored it.
async fn fetch_detail(
    fork: &mut Session<'_>,
    plan: &HydrationPlan,
    request: &HttpRequest,
    item: Value,
) -> Result<Option<Value>, SendError> {
    let endpoint = display_url(&request.url, &fork.credentials);
    let response = match fork.send(request).await? {
        Outcome::Response(response) => response,
        Outcome::Ignored { status } => {
            tracing::info!(status, endpoint, "a response rule ignores this detail answer: the item is dropped");
            return Ok(None);
        }
        Outcome::Reset { status, rule } => {
            return Err(SendError::Failed(PollError::Declared {
                endpoint,
                status,
                class: FailureClass::Config,
                rule: format!(
                    "{rule}; a detail request cannot reset the checkpoint (give `hydrate` its own responseRules)"
                ),
            }));
        }
    };
    let body: Value = match response.json {
        Some(json) => json,
        None => serde_json::from_slice(&response.body)
            .map_err(|e| PollError::MalformedJson { endpoint: endpoint.clone(), message: e.to_string() })?,
    };
    let Some(detail) = plan.detail.first(&body) else {
        return Err(SendError::Failed(PollError::Config(format!(
            "{endpoint}: hydrate.detailPath {:?} matched nothing in the answer",
            plan.detail.as_str()
        ))));
    };
    let detail = detail.clone();
    Ok(Some(match (&plan.merge_under, item) {
        (None, _) => detail,
        (Some(key), Value::Object(mut listed)) => {
            listed.insert(key.clone(), detail);
            Value::Object(listed)
        }
        // `detail_request` refused such items before anything was sent.
        (Some(_), listed) => listed,
    }))
}

/// The detail request for item `index` of the page.
fn detail_request(
    session: &Session<'_>,
    plan: &HydrationPlan,
    origin: &url::Origin,
    index: usize,
    item: &Value,
) -> Result<HttpRequest, PollError> {
    if plan.merge_under.is_some() && !item.is_object() {
        return Err(PollError::Config(format!(
            "hydrate.mergeUnder needs listed items that are JSON objects; item {index} of the page is {}",
            kind(item)
        )));
    }
    let vars = DetailVars { vars: Vars::instance(&session.config, &session.credentials), plan, item, index };
    let url = detail_url(plan, &vars)?;
    let host = url.host_str().unwrap_or_default();
    let listed_host = url.origin() == *origin;
    if !listed_host && (session.hosts.is_unrestricted() || !session.hosts.permits(host)) {
        return Err(PollError::Config(format!(
            "{HOST_NOT_ALLOWED}: the detail request of item {index} goes to {}, which is neither the list \
             endpoint's origin ({}) nor among the connector's allowedHosts ({})",
            display_url(&url, &session.credentials),
            origin.ascii_serialization(),
            session.hosts
        )));
    }
    let mut request = HttpRequest::new(Method::GET, url);
    for (name, template) in &plan.headers {
        let value = render_text(template, &vars, Escape::Raw)?;
        if reads_credentials(template) { request.secret_header(name, &value)? } else { request.header(name, &value)? }
    }
    Ok(request)
}

/// The detail URL: the item's value itself when the endpoint is one item placeholder alone,
/// otherwise the template with item values encoded as one path segment or a query value.
fn detail_url(plan: &HydrationPlan, vars: &DetailVars<'_>) -> Result<Url, PollError> {
    let credentials = vars.credentials();
    if let Some(name) = plan.url_from_item() {
        return parse_http_url(&vars.lookup(name)?, credentials);
    }
    let mut out = String::with_capacity(plan.endpoint.as_str().len() + 32);
    let mut in_query = false;
    for segment in plan.endpoint.segments() {
        match segment {
            Segment::Literal(text) => {
                in_query |= text.contains('?');
                out.push_str(text);
            }
            Segment::Placeholder(name) if name == "baseUrl" => {
                let base = vars.lookup(name)?;
                in_query |= base.contains('?');
                out.push_str(&base);
            }
            Segment::Placeholder(name) if is_item_placeholder(name) => {
                let value = vars.lookup(name)?;
                if !in_query && (value == "." || value == "..") {
                    return Err(PollError::Config(format!(
                        "item {} of the page has {value:?} for {{{{{name}}}}}, which cannot be a path segment",
                        vars.index
                    )));
                }
                out.extend(utf8_percent_encode(&value, ITEM_VALUE));
            }
            Segment::Placeholder(name) => {
                let value = vars.lookup(name)?;
                out.extend(utf8_percent_encode(&value, if in_query { ITEM_VALUE } else { PATH_VALUE }));
            }
        }
    }
    parse_http_url(&out, credentials)
}

/// What a detail request template reads: the instance's values and the listed item's.
struct DetailVars<'a> {
    vars: Vars<'a>,
    plan: &'a HydrationPlan,
    item: &'a Value,
    index: usize,
}

impl Variables for DetailVars<'_> {
    fn lookup(&self, name: &str) -> Result<String, PollError> {
        if !is_item_placeholder(name) {
            return self.vars.lookup(name);
        }
        self.plan.item_value(name, self.item).map_err(|e| {
            let message = format!("hydrate: item {} of the page cannot fill the detail request: {e}", self.index);
            PollError::Config(redact(&message, self.vars.credentials))
        })
    }

    fn credentials(&self) -> &Credentials {
        self.vars.credentials
    }
}

/// A JSON value's kind, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
