//! The partitions of a run ([`Partitions`]): listed once at its start from the first source that
//! yields any — a config list, or a parent request paged like any other — then walked one pass
//! each, every partition from its own checkpoint. The run starts with the partition the last
//! run stopped at, so a run budget reaches every partition in turn; new partitions start from
//! the backfill start, and partitions no longer listed are retired with their checkpoints.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use switchboard_core::jsonpath::scalar_text;
use switchboard_core::polling::{Checkpoint, PartitionPlan, PartitionSourcePlan, PollError, RunNote};
use switchboard_core::template::Template;

use crate::page_request::PageRequest;
use crate::pagination::{Next, Paginator, Response};
use crate::request::{Escape, PageVars, Vars, display_url, render_text, render_url};
use crate::session::{Outcome, SendError, Session};

/// One partition: its key and the values templates read as `{{partition.<field>}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Partition {
    /// Names the partition's checkpoint.
    pub(crate) key: String,
    /// Field values.
    pub(crate) values: BTreeMap<String, String>,
}

/// Why listing stopped without an answer.
#[derive(Debug)]
pub(crate) enum ListStop {
    /// The run's time or rate budget ended first.
    Budget(SendError),
    /// The listing failed.
    Failed(PollError),
}

impl From<PollError> for ListStop {
    fn from(e: PollError) -> Self {
        Self::Failed(e)
    }
}

/// A run's partitions and every partition's checkpoint.
#[derive(Debug)]
pub(crate) struct Partitions<'e> {
    plan: &'e PartitionPlan,
    /// The partitions in this run's order; `None` until listed.
    order: Option<Vec<Partition>>,
    /// Index in `order` of the partition being fetched.
    current: usize,
    /// Checkpoints by partition key: those stored, updated as passes complete.
    checkpoints: BTreeMap<String, Checkpoint>,
    /// Where the last run stopped.
    stored_next: Option<String>,
}

impl<'e> Partitions<'e> {
    /// The partitions of a run starting from `stored`.
    pub(crate) fn new(plan: &'e PartitionPlan, stored: &Checkpoint) -> Self {
        Self {
            plan,
            order: None,
            current: 0,
            checkpoints: stored.partitions.clone(),
            stored_next: stored.next_partition.clone(),
        }
    }

    /// Whether the partitions are listed yet.
    pub(crate) fn is_listed(&self) -> bool {
        self.order.is_some()
    }

    /// Takes the listed partitions: rotated to start where the last run stopped; checkpoints of
    /// partitions no longer listed are dropped. Says what changed.
    pub(crate) fn adopt(&mut self, mut listed: Vec<Partition>) -> RunNote {
        if let Some(next) = &self.stored_next
            && let Some(at) = listed.iter().position(|p| &p.key == next)
        {
            listed.rotate_left(at);
        }
        let keys: BTreeSet<&str> = listed.iter().map(|p| p.key.as_str()).collect();
        let retired: Vec<String> = self.checkpoints.keys().filter(|k| !keys.contains(k.as_str())).cloned().collect();
        self.checkpoints.retain(|k, _| keys.contains(k.as_str()));
        let new = listed.iter().filter(|p| !self.checkpoints.contains_key(&p.key)).map(|p| p.key.clone()).collect();
        let note = RunNote::Partitions { listed: listed.len(), new, retired };
        self.order = Some(listed);
        note
    }

    /// The partition being fetched.
    pub(crate) fn current(&self) -> Option<&Partition> {
        self.order.as_ref().and_then(|o| o.get(self.current))
    }

    /// The stored checkpoint of `key` (`None` for a new partition).
    pub(crate) fn stored(&self, key: &str) -> Option<Checkpoint> {
        self.checkpoints.get(key).cloned()
    }

    /// Records the current partition's checkpoint.
    pub(crate) fn record(&mut self, checkpoint: Checkpoint) {
        if let Some(key) = self.current().map(|p| p.key.clone()) {
            self.checkpoints.insert(key, checkpoint);
        }
    }

    /// Moves to the next partition; `false` when there is none.
    pub(crate) fn advance(&mut self) -> bool {
        self.current += 1;
        self.current().is_some()
    }

    /// The stream's checkpoint: every partition's, and where the next run starts (`None` once
    /// every partition is done).
    pub(crate) fn combined(&self, next: Option<String>) -> Checkpoint {
        Checkpoint { partitions: self.checkpoints.clone(), next_partition: next, ..Checkpoint::default() }
    }

    /// Lists the partitions: the first source that yields any wins.
    pub(crate) async fn list(&self, session: &mut Session<'e>, max_pages: u32) -> Result<Vec<Partition>, ListStop> {
        for source in &self.plan.sources {
            let found = match source {
                PartitionSourcePlan::Config { list_key, field, values } => {
                    from_config(session, list_key, field, values, self.plan)?
                }
                PartitionSourcePlan::Request { .. } => from_request(session, source, self.plan, max_pages).await?,
            };
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Ok(Vec::new())
    }
}

/// Adds a partition unless its key is already listed; refuses more than the plan allows.
fn push(
    out: &mut Vec<Partition>,
    values: BTreeMap<String, String>,
    plan: &PartitionPlan,
    session: &Session<'_>,
) -> Result<(), PollError> {
    let key = render_key(&plan.key, &values, session)?;
    if out.iter().any(|p| p.key == key) {
        return Ok(());
    }
    if out.len() >= plan.max {
        return Err(PollError::Config(format!(
            "more than {} partitions are listed (raise `partitions.maxPartitions`, or narrow the list)",
            plan.max
        )));
    }
    out.push(Partition { key, values });
    Ok(())
}

fn render_key(key: &Template, values: &BTreeMap<String, String>, session: &Session<'_>) -> Result<String, PollError> {
    let vars = PageVars {
        vars: Vars::instance(&session.config, &session.credentials),
        page_size: None,
        partition: Some(values),
        window_end: None,
    };
    render_text(key, &vars, Escape::Raw)
}

fn from_config(
    session: &Session<'_>,
    list_key: &str,
    field: &str,
    values: &[(String, Template)],
    plan: &PartitionPlan,
) -> Result<Vec<Partition>, PollError> {
    let Some(list) = session.config.get(list_key) else { return Ok(Vec::new()) };
    let vars = Vars::instance(&session.config, &session.credentials);
    let mut shared = BTreeMap::new();
    for (name, template) in values {
        shared.insert(name.clone(), render_text(template, &vars, Escape::Raw)?);
    }
    let mut out = Vec::new();
    for element in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let mut partition = shared.clone();
        partition.insert(field.to_owned(), element.to_owned());
        push(&mut out, partition, plan, session)?;
    }
    Ok(out)
}

async fn from_request<'e>(
    session: &mut Session<'e>,
    source: &'e PartitionSourcePlan,
    plan: &PartitionPlan,
    max_pages: u32,
) -> Result<Vec<Partition>, ListStop> {
    let PartitionSourcePlan::Request { requests, items, fields } = source else { return Ok(Vec::new()) };
    let probe = PageVars {
        vars: Vars::instance(&session.config, &session.credentials),
        page_size: requests.pagination.as_ref().map(|p| p.page_size),
        partition: None,
        window_end: None,
    };
    let origin = render_url(&requests.endpoint, &probe)?.origin();
    let mut paginator = Paginator::new(requests.pagination.as_ref(), origin.clone());
    let stream_rules = std::mem::replace(&mut session.rules, &requests.responses);
    let mut out = Vec::new();
    let mut cursor = None;
    let mut page = 0;
    let result = loop {
        let build = PageRequest {
            requests,
            config: &session.config,
            credentials: &session.credentials,
            delta_value: None,
            partition: None,
            window_end: None,
            origin: &origin,
        };
        let request = build.build(cursor.as_ref())?;
        paginator.fetched(cursor.as_ref(), &request.url);
        let response = match session.send(&request).await {
            Ok(Outcome::Response(response)) => response,
            // A rule ignores the answer (a 404: not this kind of owner): this source has nothing.
            Ok(Outcome::Ignored { .. }) => break Ok(Vec::new()),
            Ok(Outcome::Reset { status, rule }) => {
                break Err(ListStop::Failed(PollError::Config(format!(
                    "HTTP {status} matched {rule}: a partition list has no checkpoint to reset"
                ))));
            }
            Err(SendError::Failed(e)) => break Err(ListStop::Failed(e)),
            Err(stop) => break Err(ListStop::Budget(stop)),
        };
        let endpoint = display_url(&response.url, &session.credentials);
        let body: Value = match response.json {
            Some(json) => json,
            None => match serde_json::from_slice(&response.body) {
                Ok(body) => body,
                Err(e) => break Err(PollError::MalformedJson { endpoint, message: e.to_string() }.into()),
            },
        };
        let Ok(found) = items.items.extract(&body) else {
            break Err(PollError::NoItems { endpoint, items_path: items.items.as_str().to_owned() }.into());
        };
        let item_count = found.len();
        let mut refused = None;
        for item in found {
            let values: Option<BTreeMap<String, String>> = fields
                .iter()
                .map(|(name, path)| path.first(item).and_then(scalar_text).map(|v| (name.clone(), v)))
                .collect();
            if let Some(values) = values
                && let Err(e) = push(&mut out, values, plan, session)
            {
                refused = Some(e);
                break;
            }
        }
        if let Some(e) = refused {
            break Err(e.into());
        }
        let response = Response { url: &response.url, headers: &response.headers, body: &body, item_count, page };
        match paginator.next(cursor.as_ref(), response) {
            Ok(Next::Page(next)) if page + 1 < max_pages => {
                cursor = Some(next);
                page += 1;
            }
            Ok(Next::Page(_)) => {
                break Err(PollError::Config(format!(
                    "the partition list of {endpoint} has more than {max_pages} pages (the run's page limit)"
                ))
                .into());
            }
            Ok(Next::Done) => break Ok(std::mem::take(&mut out)),
            // An incomplete list would retire partitions that still exist.
            Ok(Next::Trip(trip)) => {
                break Err(PollError::Config(format!("the partition list of {endpoint} stopped early: {trip}")).into());
            }
            Err(e) => break Err(e.into()),
        }
    };
    session.rules = stream_rules;
    result
}
