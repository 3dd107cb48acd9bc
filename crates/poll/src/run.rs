//! A run in progress ([`Run`]): page after page of one instance, each with the checkpoint to
//! store once its items are handed on.
//!
//! A run is made of passes ([`Pass`]): one pass goes from a checkpoint through the endpoint's
//! pages. A response rule that resets the checkpoint (an expired sync token) ends the pass and
//! starts a fresh one from no checkpoint in the same run — a full resync, whose repeated items
//! the normaliser drops by their deterministic signal ids. (A partitioned stream would drive one
//! pass per partition the same way.)
//!
//! What ends a run early is reported, never looped on: a pagination guard ([`GuardTrip`]), the
//! time budget, the credential's rate budget ([`RunNote::RateBudgetSpent`]).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use switchboard_core::jsonpath::scalar_text;
use switchboard_core::model::PollMethod;
use switchboard_core::polling::{
    Checkpoint, DeltaPlan, FailureClass, GuardTrip, ItemPlan, Page, PageCursor, PollError, RequestPlan, RunNote,
    RunSummary, StopReason,
};

use crate::auth::HttpRequest;
use crate::delta::{self, Tracker};
use crate::hydrate;
use crate::pagination::{Next, Paginator, Response};
use crate::request::{
    Escape, PageVars, Vars, display_url, is_dropped_when_empty, parse_http_url, reads_credentials, render_body,
    render_text, render_url, secret_query_params, set_query_param,
};
use crate::session::{Outcome, SendError, Session};

/// One pass over the endpoint, from a checkpoint to the end of its pages.
#[derive(Debug)]
struct Pass<'e> {
    /// The checkpoint the pass started from.
    start: Checkpoint,
    tracker: Tracker,
    /// With `stopAtCheckpoint`: items older than this were seen by an earlier run.
    cutoff: Option<DateTime<Utc>>,
    /// The delta position as the API expects it.
    delta_value: Option<String>,
    paginator: Paginator<'e>,
    /// `None` once finished; `Some(None)` before the first page of a fresh pass.
    next: Option<Option<PageCursor>>,
}

impl<'e> Pass<'e> {
    fn new(
        requests: &'e RequestPlan,
        items: &ItemPlan,
        checkpoint: Checkpoint,
        zone: Tz,
        origin: url::Origin,
    ) -> Result<Self, PollError> {
        let tracker = Tracker::new(&requests.delta, items, &checkpoint)?;
        let cutoff = delta::cutoff(&requests.delta, &checkpoint)?;
        let delta_value = delta::request_value_in(
            &requests.delta,
            checkpoint.position.as_deref(),
            requests.checkpoint_in_template,
            zone,
        )?;
        let first = checkpoint.resume.as_ref().map(|r| r.next.clone());
        Ok(Self {
            start: checkpoint,
            tracker,
            cutoff,
            delta_value,
            paginator: Paginator::new(requests.pagination.as_ref(), origin),
            next: Some(first),
        })
    }
}

/// What one fetch came to.
enum Step {
    /// A page, or the end of the run.
    Page(Option<Page>),
    /// The checkpoint was reset: fetch again from the fresh pass.
    Restarted,
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
    origin: url::Origin,
    zone: Tz,
    needs_ids: bool,
    pass: Pass<'e>,
    last_checkpoint: Checkpoint,
    pages: u32,
    items: u64,
    max_pages: u32,
    max_items: usize,
    guard: Option<GuardTrip>,
    stop: Option<StopReason>,
    notes: Vec<RunNote>,
    /// Whether this run already reset its checkpoint (it does so at most once).
    reset: bool,
}

/// What a run is started with.
pub(crate) struct RunSetup<'e> {
    pub(crate) session: Session<'e>,
    pub(crate) requests: &'e RequestPlan,
    pub(crate) items: &'e ItemPlan,
    pub(crate) checkpoint: Checkpoint,
    pub(crate) zone: Tz,
    pub(crate) origin: url::Origin,
    pub(crate) max_pages: u32,
    pub(crate) max_items: usize,
}

impl<'e> Run<'e> {
    /// A run from `setup.checkpoint`.
    pub(crate) fn start(setup: RunSetup<'e>) -> Result<Self, PollError> {
        let RunSetup { session, requests, items, checkpoint, zone, origin, max_pages, max_items } = setup;
        let pass = Pass::new(requests, items, checkpoint.clone(), zone, origin.clone())?;
        Ok(Self {
            session,
            requests,
            items_plan: items,
            origin,
            zone,
            needs_ids: matches!(requests.delta, DeltaPlan::TimestampFilter(_)),
            pass,
            last_checkpoint: checkpoint,
            pages: 0,
            items: 0,
            max_pages,
            max_items,
            guard: None,
            stop: None,
            notes: Vec::new(),
            reset: false,
        })
    }

    /// The next page, or `None` when the run is over (see [`Run::summary`] for why).
    pub async fn next_page(&mut self) -> Result<Option<Page>, PollError> {
        loop {
            let Some(cursor) = self.pass.next.clone() else { return Ok(None) };
            if self.session.deadline.is_some_and(|d| self.session.timer.now() >= d) {
                return Ok(self.end(StopReason::TimeBudget));
            }
            match self.fetch(cursor).await {
                Ok(Step::Page(page)) => return Ok(page),
                Ok(Step::Restarted) => {}
                Err(e) => {
                    self.end(StopReason::Failed);
                    return Err(e);
                }
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
            notes: self.notes.clone(),
        }
    }

    fn end(&mut self, reason: StopReason) -> Option<Page> {
        self.pass.next = None;
        self.stop = Some(reason);
        None
    }

    async fn fetch(&mut self, cursor: Option<PageCursor>) -> Result<Step, PollError> {
        let request = self.build_request(cursor.as_ref())?;
        self.pass.paginator.fetched(cursor.as_ref(), &request.url);
        let sent = self.session.send(&request).await;
        self.notes.append(&mut self.session.notes);
        let response = match sent {
            Ok(Outcome::Response(response)) => response,
            Ok(Outcome::Ignored { status }) => {
                tracing::info!(status, "a response rule ignores this answer: the run ends here");
                return Ok(Step::Page(Some(self.page(Vec::new(), Next::Done))));
            }
            Ok(Outcome::Reset { status, rule }) => {
                self.restart(&request, status, rule)?;
                return Ok(Step::Restarted);
            }
            Err(SendError::Deadline) => return Ok(Step::Page(self.end(StopReason::TimeBudget))),
            Err(SendError::Budget(wait)) => {
                let reset_in_seconds = wait.map(|w| w.as_secs() + u64::from(w.subsec_nanos() > 0));
                let note = RunNote::RateBudgetSpent { reset_in_seconds };
                tracing::info!(%note, "stopping the run");
                self.notes.push(note);
                return Ok(Step::Page(self.end(StopReason::RateBudget)));
            }
            Err(SendError::Failed(e)) => return Err(e),
        };
        let endpoint = display_url(&response.url, &self.session.credentials);
        let body: Value = match response.json {
            Some(json) => json,
            None => serde_json::from_slice(&response.body)
                .map_err(|e| PollError::MalformedJson { endpoint: endpoint.clone(), message: e.to_string() })?,
        };
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
        // `stopAtCheckpoint`, before it: paging ends there), and items the record filter drops.
        // Every item moves the position, dropped ones too.
        let mut reached_cutoff = false;
        let filter = self.requests.record_filter.as_ref();
        let pass = &mut self.pass;
        let keep: Vec<bool> = found
            .iter()
            .map(|item| {
                if let Some(cutoff) = pass.cutoff
                    && pass.tracker.item_time(item).is_some_and(|time| time < cutoff)
                {
                    reached_cutoff = true;
                    return false;
                }
                let id = if self.needs_ids { self.items_plan.id.first(item).and_then(scalar_text) } else { None };
                let new = pass.tracker.observe_item(item, id.as_deref());
                new && filter.is_none_or(|f| f.keeps(item))
            })
            .collect();
        pass.tracker.observe_response(&body);
        let next = if reached_cutoff {
            Next::Done
        } else {
            let page = self.pages;
            let response = Response { url: &response.url, headers: &response.headers, body: &body, item_count, page };
            self.pass.paginator.next(cursor.as_ref(), response)?
        };
        let mut items = items_path.take(body, &keep);
        let requests = self.requests;
        if let Some(plan) = &requests.hydrate {
            let hydrated = hydrate::hydrate(&mut self.session, plan, &self.origin, items).await;
            self.notes.append(&mut self.session.notes);
            items = match hydrated {
                Ok(items) => items,
                Err(stop) => return self.unhydrated(stop),
            };
        }
        Ok(Step::Page(Some(self.page(items, next))))
    }

    /// A page whose items could not all be hydrated is not delivered, so its checkpoint is not
    /// stored: the run stops (time or rate budget) or fails, and the next run fetches the page
    /// again.
    fn unhydrated(&mut self, stop: SendError) -> Result<Step, PollError> {
        match stop {
            SendError::Deadline => Ok(Step::Page(self.end(StopReason::TimeBudget))),
            SendError::Budget(wait) => {
                let reset_in_seconds = wait.map(|w| w.as_secs() + u64::from(w.subsec_nanos() > 0));
                let note = RunNote::RateBudgetSpent { reset_in_seconds };
                tracing::info!(%note, "stopping the run before this page's items were all hydrated");
                self.notes.push(note);
                Ok(Step::Page(self.end(StopReason::RateBudget)))
            }
            SendError::Failed(e) => Err(e),
        }
    }

    /// The page of `items` followed by `next`, with the checkpoint after it.
    fn page(&mut self, items: Vec<Value>, next: Next) -> Page {
        let page_index = self.pages;
        let pass = &self.pass;
        let (checkpoint_after, continue_at) = match next {
            Next::Done => (pass.tracker.complete(&pass.start), None),
            Next::Trip(trip) => {
                tracing::warn!(guard = %trip, "pagination guard");
                self.guard = Some(trip);
                (pass.tracker.complete(&pass.start), None)
            }
            Next::Page(c) if page_index + 1 >= self.max_pages => {
                self.guard = Some(GuardTrip::MaxPages { limit: self.max_pages });
                (pass.tracker.resume_at(&pass.start, c), None)
            }
            Next::Page(c) => (pass.tracker.resume_at(&pass.start, c.clone()), Some(c)),
        };
        self.pages += 1;
        self.items += items.len() as u64;
        self.last_checkpoint = checkpoint_after.clone();
        let is_last = continue_at.is_none();
        match continue_at {
            Some(c) => self.pass.next = Some(Some(c)),
            None => {
                self.pass.next = None;
                self.stop = Some(if self.guard.is_some() { StopReason::Guard } else { StopReason::Complete });
            }
        }
        Page {
            index: page_index,
            items,
            checkpoint_after,
            is_last,
            refreshed_credentials: self.session.take_refreshed(),
        }
    }

    /// Starts a fresh pass from no checkpoint after a response rule declared the checkpoint
    /// invalid; once per run, and only when there was a checkpoint to reset.
    fn restart(&mut self, request: &HttpRequest, status: u16, rule: String) -> Result<(), PollError> {
        let endpoint = display_url(&request.url, &self.session.credentials);
        let declared = |class, what: &str| PollError::Declared {
            endpoint: endpoint.clone(),
            status,
            class,
            rule: format!("{rule}{what}"),
        };
        if self.reset {
            return Err(declared(FailureClass::Transient, "; the API refused the fresh start too"));
        }
        if self.pass.start == Checkpoint::default() {
            return Err(declared(
                FailureClass::Config,
                "; but the run started from no checkpoint, so there is nothing to reset",
            ));
        }
        tracing::warn!(status, %rule, "the checkpoint is no longer valid: resyncing from the start");
        self.reset = true;
        self.notes.push(RunNote::CheckpointReset { status, rule });
        self.pass = Pass::new(self.requests, self.items_plan, Checkpoint::default(), self.zone, self.origin.clone())?;
        Ok(())
    }

    /// The request for a page: a URL the API handed out, or the endpoint template with the
    /// delta position, page and page size filled in.
    fn build_request(&self, cursor: Option<&PageCursor>) -> Result<HttpRequest, PollError> {
        let requests = self.requests;
        let pagination = requests.pagination.as_ref();
        let first_number = pagination.and_then(|p| p.start_page());
        let page_token = match cursor {
            Some(PageCursor::Offset(n) | PageCursor::Page(n)) => n.to_string(),
            Some(PageCursor::Token(t)) => t.clone(),
            Some(PageCursor::Url(_)) => String::new(),
            None if pagination.is_some_and(|p| p.is_offset()) => "0".to_owned(),
            None => first_number.map(|n| n.to_string()).unwrap_or_default(),
        };
        let delta_value = self.pass.delta_value.as_deref();
        let vars = PageVars {
            vars: Vars {
                config: &self.session.config,
                credentials: &self.session.credentials,
                checkpoint: delta_value.unwrap_or_default(),
                page_token: &page_token,
            },
            page_size: pagination.map(|p| p.page_size),
        };
        let delta_link = match (&requests.delta, delta_value) {
            (DeltaPlan::DeltaToken { .. }, Some(v)) if v.starts_with("http://") || v.starts_with("https://") => Some(v),
            _ => None,
        };
        let credentials = vars.vars.credentials;
        let url = match (cursor, delta_link) {
            (Some(PageCursor::Url(next)), _) => self.same_origin(parse_http_url(next, credentials)?)?,
            (None, Some(link)) => self.same_origin(parse_http_url(link, credentials)?)?,
            _ => {
                let mut url = render_url(&requests.endpoint, &vars)?;
                let param = requests.delta.param();
                if let Some(value) = delta_value
                    && !param.is_empty()
                    && !requests.checkpoint_in_template
                {
                    set_query_param(&mut url, param, value);
                }
                if let Some(p) = pagination {
                    if let Some(size_param) = &p.page_size_param {
                        set_query_param(&mut url, size_param, &p.page_size.to_string());
                    }
                    // A page number goes on the first page too (the API's default may differ
                    // from `startPage`); a token or offset only once there is one.
                    if let Some(next_param) = &p.next_param
                        && (cursor.is_some() || first_number.is_some())
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
            if value.is_empty() && is_dropped_when_empty(template) {
                continue;
            }
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
