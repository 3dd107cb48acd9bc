//! The polling engine: fetches an instance's delta page by page, as its descriptor's compiled
//! polling plan says.
//!
//! [`PollEngine::pages`] streams pages ([`Run`]) so a caller can enqueue each one and stop at a
//! deadline; every [`Page`] carries the checkpoint to store once its items are safely enqueued.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use sha2::{Digest, Sha256};
use switchboard_core::Descriptor;
use switchboard_core::jsonpath::scalar_text;
use switchboard_core::model::PollMethod;
use switchboard_core::polling::{
    Checkpoint, DeltaPlan, GuardTrip, ItemPlan, OAuth2Plan, Page, PageCursor, PollError, PollRequest, RequestPlan,
    RunSummary, StopReason,
};

use crate::auth::HttpRequest;
use crate::client;
use crate::credentials::{self, Credentials};
use crate::delta::{self, Tracker};
use crate::egress::{EgressAllow, EgressGuard};
use crate::oauth::{self, TokenRefresher};
use crate::pagination::{Next, Paginator, Response};
use crate::ratelimit::Limiter;
use crate::request::{
    Escape, Vars, display_url, parse_http_url, reads_credentials, render_body, render_text, render_url,
    secret_query_params, set_query_param,
};
use crate::retry::RetryPolicy;
use crate::session::{Parts, SendError, Session};
use crate::timer::{Timer, TokioTimer};
use crate::token;

/// Largest response body accepted by default, in bytes (8 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Most items accepted in one page by default.
pub const DEFAULT_MAX_ITEMS_PER_PAGE: usize = 10_000;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// Timeout of one HTTP request (connect, answer and body), OAuth2 token requests included;
    /// a health check uses its own, shorter one.
    pub request_timeout: Duration,
    /// Timeout of establishing a connection.
    pub connect_timeout: Duration,
    /// The operator's exceptions to the egress guard (none by default: only public addresses
    /// are reachable).
    pub egress: EgressAllow,
    /// Retry limits.
    pub retry: RetryPolicy,
    /// OAuth2 access tokens are refreshed this long before they expire.
    pub refresh_buffer: Duration,
    /// Page limit per run when neither the request nor the descriptor (`maxPages`) sets one.
    pub default_max_pages: u32,
    /// Largest response body accepted, in bytes: a larger one is refused as too large while
    /// it streams in, never buffered whole.
    pub max_response_bytes: usize,
    /// Most items accepted in one page; a larger page fails the run with an error naming the
    /// limit.
    pub max_items_per_page: usize,
    /// The clock (a [`crate::ManualTimer`] in tests).
    pub timer: Arc<dyn Timer>,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            egress: EgressAllow::none(),
            retry: RetryPolicy::default(),
            refresh_buffer: Duration::from_secs(60),
            default_max_pages: 100,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_items_per_page: DEFAULT_MAX_ITEMS_PER_PAGE,
            timer: Arc::new(TokioTimer),
        }
    }
}

/// Polls APIs as descriptors say. Build one per process and share it: it holds the HTTP client
/// (behind the egress guard), the OAuth2 refresher (single-flight per credential) and the
/// per-instance rate limiters.
#[derive(Debug)]
pub struct PollEngine {
    pub(crate) http: reqwest::Client,
    pub(crate) guard: EgressGuard,
    pub(crate) options: PollOptions,
    pub(crate) refresher: TokenRefresher,
    limiters: Mutex<HashMap<String, Arc<Limiter>>>,
}

impl PollEngine {
    /// An engine with its own HTTP client ([`crate::client::build`]): every request it makes
    /// passes the egress guard with `options.egress`'s exceptions, follows no redirect by
    /// itself, and times out (`options.connect_timeout`, `options.request_timeout`).
    pub fn new(options: PollOptions) -> Result<Self, PollError> {
        let guard = EgressGuard::new(options.egress.clone());
        let http = client::build(&guard, options.connect_timeout, options.request_timeout)
            .map_err(|e| PollError::Config(format!("cannot build the HTTP client: {e}")))?;
        let refresher =
            TokenRefresher::new(http.clone(), options.timer.clone(), options.refresh_buffer).with_retry(options.retry);
        Ok(Self { http, guard, options, refresher, limiters: Mutex::new(HashMap::new()) })
    }

    /// The engine's guarded HTTP client, for requests made on a tenant's behalf outside a poll
    /// (prefer [`PollEngine::exchange_code`] for the OAuth2 code exchange).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The engine's egress guard.
    pub fn guard(&self) -> &EgressGuard {
        &self.guard
    }

    /// The engine's settings.
    pub fn options(&self) -> &PollOptions {
        &self.options
    }

    /// The shared OAuth2 refresher.
    pub fn refresher(&self) -> &TokenRefresher {
        &self.refresher
    }

    /// The same as [`PollEngine::new`].
    pub fn with_default_client(options: PollOptions) -> Result<Self, PollError> {
        Self::new(options)
    }

    /// Starts a run of `descriptor` for one instance; pages come from [`Run::next_page`].
    pub fn pages<'a>(&'a self, descriptor: &'a Descriptor, request: PollRequest<'a>) -> Result<Run<'a>, PollError> {
        let plan = descriptor.polling().ok_or_else(|| PollError::NotPolling(descriptor.id().to_owned()))?;
        let requests = &plan.requests;
        let checkpoint = request.checkpoint.unwrap_or_default();
        let tracker = Tracker::new(&requests.delta, &plan.items, &checkpoint)?;
        let cutoff = delta::cutoff(&requests.delta, &checkpoint)?;

        let config = descriptor.effective_config(request.config);
        let probe = Vars { config: &config, credentials: request.credentials, checkpoint: "", page_token: "" };
        let zone = delta::time_zone(&requests.delta, &probe)?;
        let delta_value = delta::request_value_in(
            &requests.delta,
            checkpoint.position.as_deref(),
            requests.checkpoint_in_template,
            zone,
        )?;
        let origin = render_url(&requests.endpoint, &probe)?.origin();
        let max_pages = request
            .max_pages
            .or_else(|| requests.pagination.as_ref().and_then(|p| p.max_pages))
            .unwrap_or(self.options.default_max_pages)
            .max(1);

        let timer = &self.options.timer;
        let mut session = Session::new(
            self.parts(),
            descriptor.auth(),
            descriptor.allowed_hosts(),
            config,
            request.credentials.clone(),
            self.options.request_timeout,
        );
        session.limiter =
            Some(self.limiter(descriptor.id(), &session.config, request.credentials, requests.rate_limit_rpm));
        session.deadline = request.time_budget.map(|budget| timer.now() + budget);
        let first = checkpoint.resume.as_ref().map(|r| r.next.clone());
        Ok(Run {
            session,
            requests,
            items_plan: &plan.items,
            tracker,
            cutoff,
            paginator: Paginator::new(requests.pagination.as_ref(), origin.clone()),
            origin,
            delta_value,
            needs_ids: matches!(requests.delta, DeltaPlan::TimestampFilter(_)),
            last_checkpoint: checkpoint.clone(),
            start: checkpoint,
            next: Some(first),
            pages: 0,
            items: 0,
            max_pages,
            max_items: self.options.max_items_per_page,
            guard: None,
            stop: None,
        })
    }

    /// The instance's limiter, shared by every run of that instance in this process.
    fn limiter(
        &self,
        connector_id: &str,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
        rpm: u32,
    ) -> Arc<Limiter> {
        // OAuth2 tokens change on every refresh; the instance stays the same.
        let token_keys = [oauth::ACCESS_TOKEN, oauth::REFRESH_TOKEN, oauth::EXPIRES_AT];
        let stable = credentials
            .keys()
            .filter(|k| !token_keys.contains(k))
            .map(|k| (k, credentials::expose(credentials, k).unwrap_or_default()));
        let mut hash = Sha256::new();
        for (k, v) in config.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(stable) {
            hash.update(k.as_bytes());
            hash.update([0]);
            hash.update(v.as_bytes());
            hash.update([0]);
        }
        let key = format!("{connector_id}/{rpm}/{}", hex::encode(&hash.finalize()[..12]));
        let mut limiters = self.limiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        limiters.entry(key).or_insert_with(|| Arc::new(Limiter::per_minute(rpm, self.options.timer.clone()))).clone()
    }
}

impl PollEngine {
    /// Exchanges an OAuth2 authorisation code for tokens ([`crate::oauth::exchange_code`])
    /// with this engine's guarded client. A token URL the egress guard refuses is an
    /// `egress_denied` configuration error.
    pub async fn exchange_code(
        &self,
        oauth: &OAuth2Plan,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
        grant: crate::oauth::CodeGrant<'_>,
        limits: crate::oauth::TokenLimits,
    ) -> Result<Credentials, PollError> {
        token::admit_token_url(&self.guard, oauth, config, credentials)?;
        match crate::oauth::exchange_code(&self.http, oauth, config, credentials, grant, limits).await {
            Ok(credentials) => Ok(credentials),
            Err(e) => Err(token::explain(&self.guard, oauth, config, credentials, e).await),
        }
    }

    /// What a session borrows from the engine.
    pub(crate) fn parts(&self) -> Parts<'_> {
        Parts {
            http: &self.http,
            guard: &self.guard,
            timer: &self.options.timer,
            refresher: &self.refresher,
            retry: self.options.retry,
            max_body: self.options.max_response_bytes,
        }
    }
}

/// A run in progress: call [`Run::next_page`] until it returns `Ok(None)`.
///
/// An error ends the stream; every page delivered before it stays valid, and its
/// `checkpoint_after` is where the next run continues. Persist
/// [`RunSummary::refreshed_credentials`] even after an error.
#[derive(Debug)]
pub struct Run<'e> {
    session: Session<'e>,
    requests: &'e RequestPlan,
    items_plan: &'e ItemPlan,
    tracker: Tracker,
    /// With `stopAtCheckpoint`: items older than this were seen by an earlier run.
    cutoff: Option<chrono::DateTime<chrono::Utc>>,
    paginator: Paginator<'e>,
    origin: url::Origin,
    delta_value: Option<String>,
    needs_ids: bool,
    start: Checkpoint,
    last_checkpoint: Checkpoint,
    /// `None` once finished; `Some(None)` before the first page of a fresh run.
    next: Option<Option<PageCursor>>,
    pages: u32,
    items: u64,
    max_pages: u32,
    max_items: usize,
    guard: Option<GuardTrip>,
    stop: Option<StopReason>,
}

impl Run<'_> {
    /// The next page, or `None` when the run is over (see [`Run::summary`] for why).
    pub async fn next_page(&mut self) -> Result<Option<Page>, PollError> {
        let Some(cursor) = self.next.clone() else { return Ok(None) };
        if self.session.deadline.is_some_and(|d| self.session.timer.now() >= d) {
            return Ok(self.end(StopReason::TimeBudget));
        }
        match self.fetch(cursor).await {
            Ok(page) => Ok(page),
            Err(e) => {
                self.end(StopReason::Failed);
                Err(e)
            }
        }
    }

    /// The run so far.
    pub fn summary(&self) -> RunSummary {
        RunSummary {
            pages: self.pages,
            items: self.items,
            checkpoint: self.last_checkpoint.clone(),
            guard: self.guard.clone(),
            stop: self.stop,
            refreshed_credentials: self.session.refreshed().cloned(),
        }
    }

    fn end(&mut self, reason: StopReason) -> Option<Page> {
        self.next = None;
        self.stop = Some(reason);
        None
    }

    async fn fetch(&mut self, cursor: Option<PageCursor>) -> Result<Option<Page>, PollError> {
        let request = self.build_request(cursor.as_ref())?;
        self.paginator.fetched(cursor.as_ref(), &request.url);
        let response = match self.session.send(&request).await {
            Ok(response) => response,
            Err(SendError::Deadline) => return Ok(self.end(StopReason::TimeBudget)),
            Err(SendError::Failed(e)) => return Err(e),
        };
        let endpoint = display_url(&response.url, &self.session.credentials);
        let body: Value = serde_json::from_slice(&response.body)
            .map_err(|e| PollError::MalformedJson { endpoint: endpoint.clone(), message: e.to_string() })?;
        let items_path = &self.items_plan.items;
        let found = items_path.extract(&body).map_err(|_| PollError::NoItems {
            endpoint: endpoint.clone(),
            items_path: items_path.as_str().to_owned(),
        })?;
        let item_count = found.len();
        if item_count > self.max_items {
            return Err(PollError::Config(format!(
                "{endpoint} answered a page of {item_count} items; at most {} items per page are accepted (use a smaller page size)",
                self.max_items
            )));
        }
        // `false` marks items already delivered at the checkpoint's position (or, with
        // `stopAtCheckpoint`, before it: paging ends there).
        let mut reached_cutoff = false;
        let keep: Vec<bool> = found
            .iter()
            .map(|item| {
                if let Some(cutoff) = self.cutoff
                    && self.tracker.item_time(item).is_some_and(|time| time < cutoff)
                {
                    reached_cutoff = true;
                    return false;
                }
                let id = if self.needs_ids { self.items_plan.id.first(item).and_then(scalar_text) } else { None };
                self.tracker.observe_item(item, id.as_deref())
            })
            .collect();
        self.tracker.observe_response(&body);
        let page_index = self.pages;
        let next = if reached_cutoff {
            Next::Done
        } else {
            self.paginator.next(
                cursor.as_ref(),
                Response { url: &response.url, headers: &response.headers, body: &body, item_count, page: page_index },
            )?
        };
        let items = items_path.take(body, &keep);
        let (checkpoint_after, continue_at) = match next {
            Next::Done => (self.tracker.complete(&self.start), None),
            Next::Trip(trip) => {
                self.guard = Some(trip);
                (self.tracker.complete(&self.start), None)
            }
            Next::Page(c) if page_index + 1 >= self.max_pages => {
                self.guard = Some(GuardTrip::MaxPages { limit: self.max_pages });
                (self.tracker.resume_at(&self.start, c), None)
            }
            Next::Page(c) => (self.tracker.resume_at(&self.start, c.clone()), Some(c)),
        };
        self.pages += 1;
        self.items += items.len() as u64;
        self.last_checkpoint = checkpoint_after.clone();
        let is_last = continue_at.is_none();
        match continue_at {
            Some(c) => self.next = Some(Some(c)),
            None => {
                self.next = None;
                self.stop = Some(if self.guard.is_some() { StopReason::Guard } else { StopReason::Complete });
            }
        }
        Ok(Some(Page {
            index: page_index,
            items,
            checkpoint_after,
            is_last,
            refreshed_credentials: self.session.take_refreshed(),
        }))
    }

    /// The request for a page: a URL the API handed out, or the endpoint template with the
    /// delta position, page and page size filled in.
    fn build_request(&self, cursor: Option<&PageCursor>) -> Result<HttpRequest, PollError> {
        let requests = self.requests;
        let pagination = requests.pagination.as_ref();
        let page_token = match cursor {
            Some(PageCursor::Offset(n)) => n.to_string(),
            Some(PageCursor::Token(t)) => t.clone(),
            Some(PageCursor::Url(_)) => String::new(),
            None if pagination.is_some_and(|p| p.is_offset()) => "0".to_owned(),
            None => String::new(),
        };
        let vars = Vars {
            config: &self.session.config,
            credentials: &self.session.credentials,
            checkpoint: self.delta_value.as_deref().unwrap_or_default(),
            page_token: &page_token,
        };
        let delta_link = match (&requests.delta, self.delta_value.as_deref()) {
            (DeltaPlan::DeltaToken { .. }, Some(v)) if v.starts_with("http://") || v.starts_with("https://") => Some(v),
            _ => None,
        };
        let url = match (cursor, delta_link) {
            (Some(PageCursor::Url(next)), _) => self.same_origin(parse_http_url(next, vars.credentials)?)?,
            (None, Some(link)) => self.same_origin(parse_http_url(link, vars.credentials)?)?,
            _ => {
                let mut url = render_url(&requests.endpoint, &vars)?;
                let param = requests.delta.param();
                if let Some(value) = &self.delta_value
                    && !param.is_empty()
                    && !requests.checkpoint_in_template
                {
                    set_query_param(&mut url, param, value);
                }
                if let Some(p) = pagination {
                    if let Some(size_param) = &p.page_size_param {
                        set_query_param(&mut url, size_param, &p.page_size.to_string());
                    }
                    if let (Some(next_param), Some(_)) = (&p.next_param, cursor)
                        && !requests.page_token_in_template
                    {
                        set_query_param(&mut url, next_param, &page_token);
                    }
                }
                url
            }
        };
        let method = match requests.method {
            PollMethod::Get => Method::GET,
            PollMethod::Post => Method::POST,
        };
        let mut request = HttpRequest::new(method, url);
        request.secret_params = secret_query_params(&requests.endpoint);
        for (name, template) in &requests.headers {
            let value = render_text(template, &vars, Escape::Raw)?;
            if reads_credentials(template) {
                request.secret_header(name, &value)?
            } else {
                request.header(name, &value)?
            }
        }
        if let Some(body) = &requests.body {
            request.body = Some(render_body(body, &vars)?);
            if !request.headers.contains_key(CONTENT_TYPE) {
                request.header(CONTENT_TYPE.as_str(), "application/json")?;
            }
        }
        Ok(request)
    }

    fn same_origin(&self, url: url::Url) -> Result<url::Url, PollError> {
        if url.origin() == self.origin {
            Ok(url)
        } else {
            Err(PollError::Config(format!(
                "refusing to send credentials to {}: the endpoint is on {}",
                url.origin().ascii_serialization(),
                self.origin.ascii_serialization()
            )))
        }
    }
}

#[async_trait::async_trait]
impl switchboard_core::polling::PageStream for Run<'_> {
    async fn next_page(&mut self) -> Result<Option<Page>, PollError> {
        Run::next_page(self).await
    }

    fn summary(&self) -> RunSummary {
        Run::summary(self)
    }
}
