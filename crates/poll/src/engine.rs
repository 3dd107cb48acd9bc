//! The polling engine: fetches an instance's delta page by page, as its descriptor says.
//!
//! [`PollEngine::pages`] streams pages so a caller can enqueue each one and stop at a deadline;
//! every [`Page`] carries the checkpoint to store once its items are safely enqueued.
//! [`PollEngine::fetch_delta`] collects a whole run (the spec's `fetchDelta`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::auth::HttpRequest;
use super::checkpoint::{Checkpoint, PageCursor};
use super::credentials::{self, Credentials};
use super::delta::{self, Tracker};
use super::error::PollError;
use super::oauth::{self, TokenRefresher};
use super::pagination::{GuardTrip, Next, Paginator, Response};
use super::ratelimit::Limiter;
use super::request::{
    Escape, Vars, display_url, effective_config, parse_http_url, render_body, render_text, render_url, set_query_param,
    uses,
};
use super::retry::RetryPolicy;
use super::session::{SendError, Session};
use super::timer::{Timer, TokioTimer};
use crate::descriptor::model::{DeltaStrategy, PaginationKind, PollMethod, PollingDescriptor};
use crate::descriptor::{CompiledPolling, Descriptor};
use crate::mapping::FieldMapper;
use crate::signal::IngestionKind;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Retry limits.
    pub retry: RetryPolicy,
    /// OAuth2 access tokens are refreshed this long before they expire.
    pub refresh_buffer: Duration,
    /// Page limit per run when neither the request nor the descriptor (`maxPages`) sets one.
    pub default_max_pages: u32,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: usize,
    /// The clock (a [`super::ManualTimer`] in tests).
    pub timer: Arc<dyn Timer>,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            refresh_buffer: Duration::from_secs(60),
            default_max_pages: 100,
            max_response_bytes: 32 * 1024 * 1024,
            timer: Arc::new(TokioTimer),
        }
    }
}

/// What to poll: one instance of a connector.
#[derive(Debug, Clone)]
pub struct PollRequest<'a> {
    /// The connector.
    pub descriptor: &'a Descriptor,
    /// The instance's config (`baseUrl`, `projectKey`, ...); descriptor defaults fill the gaps.
    pub config: &'a BTreeMap<String, String>,
    /// The instance's credentials.
    pub credentials: &'a Credentials,
    /// Where the last run stopped; `None` polls from the beginning.
    pub checkpoint: Option<Checkpoint>,
    /// Page limit for this run (overrides the descriptor's `maxPages`).
    pub max_pages: Option<u32>,
    /// Stop starting new requests once this much time has passed; the last page's checkpoint
    /// then resumes the next run where this one stopped.
    pub time_budget: Option<Duration>,
}

impl<'a> PollRequest<'a> {
    /// A request from the start, with no limits beyond the descriptor's.
    pub fn new(descriptor: &'a Descriptor, config: &'a BTreeMap<String, String>, credentials: &'a Credentials) -> Self {
        Self { descriptor, config, credentials, checkpoint: None, max_pages: None, time_budget: None }
    }
}

/// One fetched page.
#[derive(Debug, Clone)]
pub struct Page {
    /// Index of the page in this run (0-based).
    pub index: u32,
    /// The raw items (extracted with the descriptor's `itemsPath`), minus items already
    /// delivered at the checkpoint.
    pub items: Vec<Value>,
    /// The checkpoint to store once this page's items are safely handed on.
    pub checkpoint_after: Checkpoint,
    /// Whether this is the run's last page.
    pub is_last: bool,
    /// Credentials refreshed while fetching this page, to persist now (rotation may have
    /// invalidated the old refresh token).
    pub refreshed_credentials: Option<Credentials>,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The API had no more pages.
    Complete,
    /// A pagination guard tripped (see the run's guard).
    Guard,
    /// The time budget ran out; the checkpoint resumes the next run.
    TimeBudget,
    /// A request failed.
    Failed,
}

/// A run so far (or, once the stream has ended, the whole run).
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Pages fetched.
    pub pages: u32,
    /// Items delivered.
    pub items: u64,
    /// The checkpoint after the last delivered page (the input checkpoint before any).
    pub checkpoint: Checkpoint,
    /// The guard that tripped, if any.
    pub guard: Option<GuardTrip>,
    /// Why the run ended; `None` while it is still going.
    pub stop: Option<StopReason>,
    /// The newest refreshed credentials of the run: persist them even when the run failed.
    pub refreshed_credentials: Option<Credentials>,
}

/// The result of a whole run (the spec's `{ items, newCheckpoint }`).
#[derive(Debug, Clone)]
pub struct Delta {
    /// Every item of every page, in order.
    pub items: Vec<Value>,
    /// The checkpoint to store.
    pub new_checkpoint: Checkpoint,
    /// Pages fetched.
    pub pages: u32,
    /// Refreshed credentials to persist.
    pub refreshed_credentials: Option<Credentials>,
    /// The guard that tripped, if any.
    pub guard: Option<GuardTrip>,
    /// Why the run ended.
    pub stop: StopReason,
}

/// Polls APIs as descriptors say. Build one per process and share it: it holds the HTTP client,
/// the OAuth2 refresher (single-flight per credential) and the per-instance rate limiters.
#[derive(Debug)]
pub struct PollEngine {
    pub(crate) http: reqwest::Client,
    pub(crate) options: PollOptions,
    pub(crate) refresher: TokenRefresher,
    limiters: Mutex<HashMap<String, Arc<Limiter>>>,
}

impl PollEngine {
    /// An engine over an HTTP client.
    pub fn new(http: reqwest::Client, options: PollOptions) -> Self {
        let refresher =
            TokenRefresher::new(http.clone(), options.timer.clone(), options.refresh_buffer).with_retry(options.retry);
        Self { http, options, refresher, limiters: Mutex::new(HashMap::new()) }
    }

    /// The engine's settings.
    pub fn options(&self) -> &PollOptions {
        &self.options
    }

    /// The shared OAuth2 refresher.
    pub fn refresher(&self) -> &TokenRefresher {
        &self.refresher
    }

    /// Fetches a whole delta: every page until the API has no more, a guard trips or the time
    /// budget runs out.
    pub async fn fetch_delta(&self, request: PollRequest<'_>) -> Result<Delta, PollError> {
        let mut stream = self.pages(request)?;
        let mut items = Vec::new();
        while let Some(page) = stream.next_page().await? {
            items.extend(page.items);
        }
        let summary = stream.summary();
        Ok(Delta {
            items,
            new_checkpoint: summary.checkpoint,
            pages: summary.pages,
            refreshed_credentials: summary.refreshed_credentials,
            guard: summary.guard,
            stop: summary.stop.unwrap_or(StopReason::Complete),
        })
    }

    /// Starts a run; pages come from [`PageStream::next_page`].
    pub fn pages<'a>(&'a self, request: PollRequest<'a>) -> Result<PageStream<'a>, PollError> {
        let descriptor = request.descriptor;
        let not_polling = || PollError::NotPolling(descriptor.id().to_owned());
        let spec = descriptor.model().ingestion.polling().ok_or_else(not_polling)?;
        let compiled = descriptor.polling().ok_or_else(not_polling)?;
        let mapper = descriptor.mapper(IngestionKind::Polling).ok_or_else(not_polling)?;
        let base_mapping = &descriptor.model().field_mapping;
        let mapping = base_mapping.polling.as_deref().unwrap_or(base_mapping);

        let checkpoint = request.checkpoint.unwrap_or_default();
        let tracker = Tracker::new(&spec.delta, compiled.delta_path.as_ref(), mapping, &checkpoint)?;
        let templates_use = |name: &str| {
            uses(&compiled.endpoint, name)
                || compiled.body.as_ref().is_some_and(|b| uses(b, name))
                || compiled.headers.iter().any(|(_, t)| uses(t, name))
        };
        let checkpoint_in_template = templates_use("checkpoint");
        let cutoff = delta::cutoff(&spec.delta, &checkpoint)?;

        let config = effective_config(descriptor, request.config);
        let probe = Vars { config: &config, credentials: request.credentials, checkpoint: "", page_token: "" };
        let zone = delta::time_zone(&spec.delta, &probe)?;
        let delta_value =
            delta::request_value_in(&spec.delta, checkpoint.position.as_deref(), checkpoint_in_template, zone)?;
        let origin = render_url(&compiled.endpoint, &probe)?.origin();
        let max_pages = request
            .max_pages
            .or_else(|| spec.pagination.as_ref().and_then(|p| p.max_pages))
            .unwrap_or(self.options.default_max_pages)
            .max(1);

        let timer = &self.options.timer;
        let mut session = Session::new(
            &self.http,
            timer,
            &self.refresher,
            &descriptor.model().auth,
            config,
            request.credentials.clone(),
            self.options.retry,
            self.options.request_timeout,
            self.options.max_response_bytes,
        );
        session.limiter = Some(self.limiter(descriptor, &session.config, request.credentials, spec.rate_limit_rpm));
        session.deadline = request.time_budget.map(|budget| timer.now() + budget);
        let first = checkpoint.resume.as_ref().map(|r| r.next.clone());
        Ok(PageStream {
            session,
            spec,
            compiled,
            mapper,
            items_path: &mapping.items_path,
            items_query: serde_json_path::JsonPath::parse(&mapping.items_path).ok(),
            tracker,
            cutoff,
            paginator: Paginator::new(spec.pagination.as_ref(), compiled, origin.clone()),
            origin,
            delta_value,
            checkpoint_in_template,
            page_token_in_template: templates_use("pageToken"),
            needs_ids: matches!(spec.delta, DeltaStrategy::TimestampFilter { .. }),
            last_checkpoint: checkpoint.clone(),
            start: checkpoint,
            next: Some(first),
            pages: 0,
            items: 0,
            max_pages,
            guard: None,
            stop: None,
        })
    }

    /// The instance's limiter, shared by every run of that instance in this process.
    fn limiter(
        &self,
        descriptor: &Descriptor,
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
        let key = format!("{}/{rpm}/{}", descriptor.id(), hex::encode(&hash.finalize()[..12]));
        let mut limiters = self.limiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        limiters.entry(key).or_insert_with(|| Arc::new(Limiter::per_minute(rpm, self.options.timer.clone()))).clone()
    }
}

/// A run in progress: call [`PageStream::next_page`] until it returns `Ok(None)`.
///
/// An error ends the stream; every page delivered before it stays valid, and its
/// `checkpoint_after` is where the next run continues. Persist
/// [`RunSummary::refreshed_credentials`] even after an error.
#[derive(Debug)]
pub struct PageStream<'e> {
    session: Session<'e>,
    spec: &'e PollingDescriptor,
    compiled: &'e CompiledPolling,
    mapper: &'e FieldMapper,
    items_path: &'e str,
    items_query: Option<serde_json_path::JsonPath>,
    tracker: Tracker,
    /// With `stopAtCheckpoint`: items older than this were seen by an earlier run.
    cutoff: Option<chrono::DateTime<chrono::Utc>>,
    paginator: Paginator<'e>,
    origin: url::Origin,
    delta_value: Option<String>,
    checkpoint_in_template: bool,
    page_token_in_template: bool,
    needs_ids: bool,
    start: Checkpoint,
    last_checkpoint: Checkpoint,
    /// `None` once finished; `Some(None)` before the first page of a fresh run.
    next: Option<Option<PageCursor>>,
    pages: u32,
    items: u64,
    max_pages: u32,
    guard: Option<GuardTrip>,
    stop: Option<StopReason>,
}

impl PageStream<'_> {
    /// The next page, or `None` when the run is over (see [`PageStream::summary`] for why).
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
        let found = self
            .mapper
            .items(&body)
            .map_err(|_| PollError::NoItems { endpoint: endpoint.clone(), items_path: self.items_path.to_owned() })?;
        let item_count = found.len();
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
                let id = if self.needs_ids { self.mapper.external_id(item) } else { None };
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
        let items = self.take_items(body, &keep);
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

    /// The page's items, kept where `keep` says. When `itemsPath` selects one array (the
    /// common case, where [`FieldMapper::items`] yields its elements) the items are moved out of
    /// the parsed page instead of copied.
    fn take_items(&self, mut body: Value, keep: &[bool]) -> Vec<Value> {
        let pointer = self.items_query.as_ref().and_then(|query| {
            let node = query.query_located(&body).exactly_one().ok()?;
            let is_the_items = node.node().as_array().is_some_and(|a| a.len() == keep.len());
            is_the_items.then(|| node.location().to_json_pointer())
        });
        if let Some(Value::Array(items)) = pointer.and_then(|p| body.pointer_mut(&p).map(Value::take)) {
            return items.into_iter().zip(keep).filter_map(|(item, k)| k.then_some(item)).collect();
        }
        let found = self.mapper.items(&body).unwrap_or_default();
        found.into_iter().zip(keep).filter(|(_, k)| **k).map(|(item, _)| item.clone()).collect()
    }

    /// The request for a page: a URL the API handed out, or the endpoint template with the
    /// delta position, page and page size filled in.
    fn build_request(&self, cursor: Option<&PageCursor>) -> Result<HttpRequest, PollError> {
        let pagination = self.spec.pagination.as_ref();
        let page_token = match cursor {
            Some(PageCursor::Offset(n)) => n.to_string(),
            Some(PageCursor::Token(t)) => t.clone(),
            Some(PageCursor::Url(_)) => String::new(),
            None if pagination.is_some_and(|p| p.kind == PaginationKind::Offset) => "0".to_owned(),
            None => String::new(),
        };
        let vars = Vars {
            config: &self.session.config,
            credentials: &self.session.credentials,
            checkpoint: self.delta_value.as_deref().unwrap_or_default(),
            page_token: &page_token,
        };
        let delta_link = match (&self.spec.delta, self.delta_value.as_deref()) {
            (DeltaStrategy::DeltaToken { .. }, Some(v)) if v.starts_with("http://") || v.starts_with("https://") => {
                Some(v)
            }
            _ => None,
        };
        let url = match (cursor, delta_link) {
            (Some(PageCursor::Url(next)), _) => self.same_origin(parse_http_url(next, vars.credentials)?)?,
            (None, Some(link)) => self.same_origin(parse_http_url(link, vars.credentials)?)?,
            _ => {
                let mut url = render_url(&self.compiled.endpoint, &vars)?;
                let param = delta::param_name(&self.spec.delta);
                if let Some(value) = &self.delta_value
                    && !param.is_empty()
                    && !self.checkpoint_in_template
                {
                    set_query_param(&mut url, param, value);
                }
                if let Some(p) = pagination {
                    if let Some(size_param) = &p.page_size_param {
                        set_query_param(&mut url, size_param, &p.page_size.to_string());
                    }
                    if let (Some(next_param), Some(_)) = (&p.next_param, cursor)
                        && !self.page_token_in_template
                    {
                        set_query_param(&mut url, next_param, &page_token);
                    }
                }
                url
            }
        };
        let method = match self.spec.method {
            PollMethod::Get => Method::GET,
            PollMethod::Post => Method::POST,
        };
        let mut request = HttpRequest::new(method, url);
        for (name, template) in &self.compiled.headers {
            request.header(name, &render_text(template, &vars, Escape::Raw)?)?;
        }
        if let Some(body) = &self.compiled.body {
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
