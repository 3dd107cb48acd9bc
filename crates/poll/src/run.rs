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
use serde_json::Value;

use switchboard_core::jsonpath::scalar_text;
use switchboard_core::mapping::projection::Projection;
use switchboard_core::polling::{
    Checkpoint, DeltaPlan, FailureClass, GuardTrip, ItemPlan, Page, PageCursor, PartitionPlan, PollError, RequestPlan,
    RunNote, RunSummary, StopReason,
};

use crate::auth::HttpRequest;
use crate::delta::{self, Tracker};
use crate::hydrate;
use crate::page_request::PageRequest;
use crate::pagination::{Next, Paginator, Response};
use crate::partition::{ListStop, Partitions};
use crate::request::display_url;
use crate::session::{Outcome, SendError, Session};

/// The field each item of a partitioned stream carries its partition's values in, for the
/// mapping to read (`$._partition.<field>`).
pub const PARTITION_FIELD: &str = "_partition";

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
    /// Pages fetched in this pass.
    pages: u32,
    /// The end of the pass's time window, when the API is asked in bounded windows and this one
    /// ends before now.
    window_end: Option<DateTime<Utc>>,
}

impl<'e> Pass<'e> {
    fn new(
        requests: &'e RequestPlan,
        items: &ItemPlan,
        checkpoint: Checkpoint,
        zone: Tz,
        origin: url::Origin,
        now: DateTime<Utc>,
    ) -> Result<Self, PollError> {
        let tracker = Tracker::new(&requests.delta, items, &checkpoint)?;
        let window_end = delta::window_end(&requests.delta, requests.backfill.as_ref(), &checkpoint, now)?;
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
            pages: 0,
            window_end,
        })
    }
}

/// What one fetch came to.
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per page and moved straight out; boxing would only add an allocation"
)]
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
    /// What of a response is built when it is parsed.
    projection: Projection,
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
    /// The partitions of a partitioned stream.
    partitions: Option<Partitions<'e>>,
}

/// What a run is started with.
pub(crate) struct RunSetup<'e> {
    pub(crate) session: Session<'e>,
    pub(crate) requests: &'e RequestPlan,
    pub(crate) items: &'e ItemPlan,
    /// What of a response is built when it is parsed.
    pub(crate) projection: Projection,
    pub(crate) partitions: Option<&'e PartitionPlan>,
    pub(crate) checkpoint: Checkpoint,
    pub(crate) zone: Tz,
    pub(crate) origin: url::Origin,
    pub(crate) max_pages: u32,
    pub(crate) max_items: usize,
}

impl<'e> Run<'e> {
    /// A run from `setup.checkpoint`.
    pub(crate) fn start(setup: RunSetup<'e>) -> Result<Self, PollError> {
        let RunSetup {
            session,
            requests,
            items,
            projection,
            partitions,
            checkpoint,
            zone,
            origin,
            max_pages,
            max_items,
        } = setup;
        let partitions = partitions.map(|plan| Partitions::new(plan, &checkpoint));
        // A partitioned run lists its partitions before its first pass starts.
        let first = if partitions.is_some() {
            Checkpoint::default()
        } else if checkpoint == Checkpoint::default() {
            delta::first_checkpoint(requests.backfill.as_ref(), &session.config, session.timer.utc_now())?
        } else {
            checkpoint.clone()
        };
        let pass = Pass::new(requests, items, first, zone, origin.clone(), session.timer.utc_now())?;
        Ok(Self {
            session,
            requests,
            items_plan: items,
            projection,
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
            partitions,
        })
    }

    /// The next page, or `None` when the run is over (see [`Run::summary`] for why).
    pub async fn next_page(&mut self) -> Result<Option<Page>, PollError> {
        if self.partitions.as_ref().is_some_and(|p| !p.is_listed()) && !self.list_partitions().await? {
            return Ok(None);
        }
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
                return Ok(Step::Page(Some(self.page(Vec::new(), Next::Done)?)));
            }
            Ok(Outcome::Reset { status, rule }) => {
                self.restart(&request, status, rule)?;
                return Ok(Step::Restarted);
            }
            Err(SendError::Failed(e)) => return Err(e),
            Err(stop) => {
                let reason = self.budget_stop(stop);
                return Ok(Step::Page(self.end(reason)));
            }
        };
        let endpoint = display_url(&response.url, &self.session.credentials);
        let body: Value = match response.json {
            Some(json) => json,
            None if self.projection.is_all() => serde_json::from_slice(&response.body)
                .map_err(|e| PollError::MalformedJson { endpoint: endpoint.clone(), message: e.to_string() })?,
            None => self
                .projection
                .parse_slice(&response.body)
                .map_err(|e| PollError::MalformedJson { endpoint: endpoint.clone(), message: e.0 })?,
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
        if let Some(plan) = &self.requests.hydrate {
            let hydrated = hydrate::hydrate(&mut self.session, plan, &self.origin, items).await;
            self.notes.append(&mut self.session.notes);
            items = match hydrated {
                Ok(items) => items,
                Err(stop) => return self.unhydrated(stop),
            };
        }
        let items = self.tag(items);
        Ok(Step::Page(Some(self.page(items, next)?)))
    }

    /// A page whose items could not all be hydrated is not delivered, so its checkpoint is not
    /// stored: the run stops (time or rate budget) or fails, and the next run fetches the page
    /// again.
    fn unhydrated(&mut self, stop: SendError) -> Result<Step, PollError> {
        match stop {
            SendError::Failed(e) => Err(e),
            stop => {
                let reason = self.budget_stop(stop);
                Ok(Step::Page(self.end(reason)))
            }
        }
    }

    /// The page of `items` followed by `next`, with the checkpoint after it. In a partitioned
    /// stream, the end of a partition's pages moves on to the next partition.
    fn page(&mut self, items: Vec<Value>, next: Next) -> Result<Page, PollError> {
        let page_index = self.pages;
        let pass = &self.pass;
        // A page limit holds per partition in a partitioned stream, per run otherwise.
        let counted = if self.partitions.is_some() { pass.pages } else { page_index };
        let pass_done = next == Next::Done;
        let (pass_checkpoint, continue_at) = match next {
            Next::Done => (pass.tracker.complete(&pass.start), None),
            Next::Trip(trip) => {
                tracing::warn!(guard = %trip, "pagination guard");
                self.guard = Some(trip);
                (pass.tracker.complete(&pass.start), None)
            }
            Next::Page(c) if counted + 1 >= self.max_pages => {
                self.guard = Some(GuardTrip::MaxPages { limit: self.max_pages });
                (pass.tracker.resume_at(&pass.start, c), None)
            }
            Next::Page(c) => (pass.tracker.resume_at(&pass.start, c.clone()), Some(c)),
        };
        self.pages += 1;
        self.pass.pages += 1;
        self.items += items.len() as u64;
        let partition = self.partitions.as_ref().and_then(Partitions::current).map(|p| p.key.clone());
        // A window done before now: the next window starts at its end, in this run.
        let next_window = match (pass_done, self.pass.window_end) {
            (true, Some(end)) => Some(next_window_start(&pass_checkpoint, end)),
            _ => None,
        };
        let checkpoint_now = match (&continue_at, &next_window) {
            (None, Some(next)) => next.clone(),
            _ => pass_checkpoint,
        };
        let checkpoint_after = match self.partitions.as_mut() {
            None => {
                match (continue_at, next_window) {
                    (Some(c), _) => self.pass.next = Some(Some(c)),
                    (None, Some(next)) => self.pass = self.new_pass(next)?,
                    (None, None) => self.finish(),
                }
                checkpoint_now
            }
            Some(partitions) => {
                partitions.record(checkpoint_now);
                match (continue_at, next_window) {
                    (Some(c), _) => {
                        self.pass.next = Some(Some(c));
                        partitions.combined(partition.clone())
                    }
                    (None, Some(next)) => {
                        let combined = partitions.combined(partition.clone());
                        self.pass = self.new_pass(next)?;
                        combined
                    }
                    (None, None) if partitions.advance() => {
                        let next = partitions.current().map(|p| p.key.clone()).unwrap_or_default();
                        let stored = partitions.stored(&next);
                        let combined = partitions.combined(Some(next));
                        let checkpoint = match stored {
                            Some(stored) => stored,
                            None => self.fresh_checkpoint()?,
                        };
                        self.pass = self.new_pass(checkpoint)?;
                        combined
                    }
                    (None, None) => {
                        let combined = partitions.combined(None);
                        self.finish();
                        combined
                    }
                }
            }
        };
        self.last_checkpoint = checkpoint_after.clone();
        Ok(Page {
            index: page_index,
            items,
            checkpoint_after,
            is_last: self.pass.next.is_none(),
            partition,
            refreshed_credentials: self.session.take_refreshed(),
        })
    }

    /// A pass of this run's stream from `checkpoint`.
    fn new_pass(&self, checkpoint: Checkpoint) -> Result<Pass<'e>, PollError> {
        let now = self.session.timer.utc_now();
        Pass::new(self.requests, self.items_plan, checkpoint, self.zone, self.origin.clone(), now)
    }

    /// Ends the run after its last page.
    fn finish(&mut self) {
        self.pass.next = None;
        self.stop = Some(if self.guard.is_some() { StopReason::Guard } else { StopReason::Complete });
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
        self.pass = self.new_pass(Checkpoint::default())?;
        Ok(())
    }

    /// The request for a page of the current pass (and partition).
    fn build_request(&self, cursor: Option<&PageCursor>) -> Result<HttpRequest, PollError> {
        PageRequest {
            requests: self.requests,
            config: &self.session.config,
            credentials: &self.session.credentials,
            delta_value: self.pass.delta_value.as_deref(),
            partition: self.partitions.as_ref().and_then(Partitions::current).map(|p| &p.values),
            window_end: self.pass.window_end.map(|end| self.window_text(end)).as_deref(),
            origin: &self.origin,
        }
        .build(cursor)
    }

    /// A window's end as the API expects it (the timestamp filter's format).
    fn window_text(&self, end: DateTime<Utc>) -> String {
        match &self.requests.delta {
            DeltaPlan::TimestampFilter(filter) => delta::write_time(filter.format, end, self.zone),
            _ => end.to_rfc3339(),
        }
    }

    /// Marks each item with its partition's values (`_partition`), for the mapping to read.
    fn tag(&self, mut items: Vec<Value>) -> Vec<Value> {
        if let Some(partition) = self.partitions.as_ref().and_then(Partitions::current) {
            let values: serde_json::Map<String, Value> =
                partition.values.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            for item in &mut items {
                if let Value::Object(fields) = item {
                    fields.insert(PARTITION_FIELD.to_owned(), Value::Object(values.clone()));
                }
            }
        }
        items
    }

    /// Lists the partitions and starts the first one's pass; `false` when the run ended instead.
    async fn list_partitions(&mut self) -> Result<bool, PollError> {
        let Some(partitions) = self.partitions.as_mut() else { return Ok(true) };
        let listed = partitions.list(&mut self.session, self.max_pages).await;
        self.notes.append(&mut self.session.notes);
        let listed = match listed {
            Ok(listed) => listed,
            Err(ListStop::Budget(stop)) => {
                let reason = self.budget_stop(stop);
                self.end(reason);
                return Ok(false);
            }
            Err(ListStop::Failed(e)) => {
                self.end(StopReason::Failed);
                return Err(e);
            }
        };
        let note = partitions.adopt(listed);
        tracing::info!(%note, "partitions");
        self.notes.push(note);
        let Some(first) = partitions.current() else {
            self.end(StopReason::Complete);
            return Ok(false);
        };
        let checkpoint = match partitions.stored(&first.key) {
            Some(stored) => stored,
            None => self.fresh_checkpoint()?,
        };
        self.pass = self.new_pass(checkpoint)?;
        Ok(true)
    }

    /// The checkpoint of a first sync: the backfill start, when the descriptor declares one.
    fn fresh_checkpoint(&self) -> Result<Checkpoint, PollError> {
        delta::first_checkpoint(self.requests.backfill.as_ref(), &self.session.config, self.session.timer.utc_now())
    }

    /// The stop reason for a budget that ended the run, noted.
    fn budget_stop(&mut self, stop: SendError) -> StopReason {
        match stop {
            SendError::Budget(wait) => {
                let reset_in_seconds = wait.map(|w| w.as_secs() + u64::from(w.subsec_nanos() > 0));
                let note = RunNote::RateBudgetSpent { reset_in_seconds };
                tracing::info!(%note, "stopping the run");
                self.notes.push(note);
                StopReason::RateBudget
            }
            _ => StopReason::TimeBudget,
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

/// Where the window after one that ended at `end` starts: at `end`, or past it when the API
/// returned newer items anyway.
fn next_window_start(done: &Checkpoint, end: DateTime<Utc>) -> Checkpoint {
    let reached = done.position.as_deref().and_then(|p| delta::parse_position(p).ok());
    if reached.is_some_and(|r| r >= end) {
        return Checkpoint { resume: None, ..done.clone() };
    }
    Checkpoint::at(end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}
