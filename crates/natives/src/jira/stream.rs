//! A Jira polling run: the engine runs the descriptor's `/search/jql` plan (auth, the JQL time
//! filter in the user's zone, `nextPageToken` paging, rate limits, retries, the checkpoint of the
//! newest `updated` with the issue ids seen at it), and every issue of a page is replaced by its
//! changes since the checkpoint ([`super::change::from_issue`]). The pages keep the engine's
//! checkpoints, so a run resumes and dedupes exactly like a generic `timestamp_filter` one.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{Stream, StreamExt};
use serde_json::Value;
use switchboard_core::mapping::timestamp::parse_timestamp;
use switchboard_core::model::TimestampFormat;
use switchboard_core::polling::{Checkpoint, Page, PageStream, PollError, PollRequest, RunSummary, StopReason};
use switchboard_core::ports::Credentials;
use switchboard_core::{Descriptor, PollDriver};

use super::change::from_issue;
use super::zone::{self, ZONE_KEY};

type Pages<'a> = Pin<Box<dyn Stream<Item = Result<Page, PollError>> + Send + 'a>>;

/// The pages of one run, each holding changes instead of issues.
pub struct ChangeStream<'a> {
    pages: Pages<'a>,
    summary: Arc<Mutex<RunSummary>>,
}

impl<'a> ChangeStream<'a> {
    /// Starts a run of `descriptor`'s search for `request`, reading the zone with `myself`.
    pub fn start(
        driver: &'a dyn PollDriver,
        descriptor: &'a Descriptor,
        myself: &'a Descriptor,
        request: PollRequest<'a>,
    ) -> Result<Self, PollError> {
        let start = request.checkpoint.clone().unwrap_or_default();
        let since = since(descriptor, &request, &start)?;
        let summary = Arc::new(Mutex::new(RunSummary {
            pages: 0,
            items: 0,
            checkpoint: start,
            guard: None,
            stop: None,
            refreshed_credentials: None,
            notes: Vec::new(),
        }));
        let shared = Arc::clone(&summary);
        let pages = async_stream::try_stream! {
            let (zone, refreshed) = zone::resolve(driver, myself, request.config, request.credentials).await?;
            remember(&shared, |s| s.refreshed_credentials = refreshed.clone());
            let credentials: Credentials = refreshed.clone().unwrap_or_else(|| request.credentials.clone());
            let mut config = request.config.clone();
            config.insert(ZONE_KEY.to_owned(), zone.name().to_owned());
            let search = PollRequest { config: &config, credentials: &credentials, ..request.clone() };
            let mut issues = driver.pages(descriptor, search)?;
            let mut delivered = 0u64;
            let mut refreshed = refreshed;
            loop {
                let next = issues.next_page().await;
                let mut now = issues.summary();
                now.items = delivered;
                now.refreshed_credentials = now.refreshed_credentials.or_else(|| refreshed.clone());
                remember(&shared, |s| *s = now.clone());
                let Some(mut page) = next? else { break };
                let changes: Vec<Value> = page
                    .items
                    .iter()
                    .flat_map(|issue| from_issue(issue, since))
                    .filter_map(|change| serde_json::to_value(change).ok())
                    .collect();
                delivered += changes.len() as u64;
                remember(&shared, |s| s.items = delivered);
                page.items = changes;
                page.refreshed_credentials = page.refreshed_credentials.or_else(|| refreshed.take());
                yield page;
            }
        };
        Ok(Self { pages: Box::pin(pages), summary })
    }
}

#[async_trait::async_trait]
impl PageStream for ChangeStream<'_> {
    async fn next_page(&mut self) -> Result<Option<Page>, PollError> {
        match self.pages.next().await.transpose() {
            Err(error) => {
                remember(&self.summary, |s| {
                    s.stop.get_or_insert(StopReason::Failed);
                });
                Err(error)
            }
            ok => ok,
        }
    }

    fn summary(&self) -> RunSummary {
        match self.summary.lock() {
            Ok(summary) => summary.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

fn remember(summary: &Mutex<RunSummary>, change: impl FnOnce(&mut RunSummary)) {
    match summary.lock() {
        Ok(mut summary) => change(&mut summary),
        Err(poisoned) => change(&mut poisoned.into_inner()),
    }
}

/// The time changes must be newer than: the checkpoint's position (a resumed run keeps
/// filtering by it), else the first sync's start (the instance's start date, else the
/// descriptor's `defaultDays` before now); `None` (every change) without either.
fn since(
    descriptor: &Descriptor,
    request: &PollRequest<'_>,
    start: &Checkpoint,
) -> Result<Option<DateTime<Utc>>, PollError> {
    if let Some(position) = start.position.as_deref() {
        let at = parse_timestamp(&Value::String(position.to_owned()), TimestampFormat::Auto)
            .map_err(|e| PollError::Config(format!("checkpoint {position:?} is not a timestamp: {e}")))?;
        return Ok(Some(at));
    }
    let Some(backfill) = descriptor.polling().and_then(|plan| plan.requests.backfill.as_ref()) else {
        return Ok(None);
    };
    match request.config.get(&backfill.start_date_key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(text) => {
            let at = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|date| date.and_time(chrono::NaiveTime::MIN).and_utc())
                .or_else(|_| parse_timestamp(&Value::String(text.to_owned()), TimestampFormat::Auto))
                .map_err(|_| {
                    PollError::Config(format!(
                        "config value {:?} is {text:?}: not a date (YYYY-MM-DD) or an RFC 3339 timestamp",
                        backfill.start_date_key
                    ))
                })?;
            Ok(Some(at))
        }
        None => Ok(backfill.default_days.map(|days| Utc::now() - TimeDelta::days(i64::from(days)))),
    }
}
