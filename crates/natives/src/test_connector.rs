//! `native-test`: a native connector for tests, polled by the real poller like any other.
//!
//! An instance's config names its items (`items`: comma-separated titles). Item `n` (from 1)
//! is `{"id": n, "title": …, "at": <2024-01-01T00:00:00Z plus n minutes>}`. Each poll emits, two
//! per page, the items after the checkpoint (the highest id emitted so far), so a second poll
//! of an unchanged config emits nothing. Mapping uses the descriptor's field mapping: every item
//! becomes a `native_item` signal whose summary is its title.
//!
//! Register [`DESCRIPTOR_JSON`] (`crates/natives/src/test_connector.json`) through the registry
//! API, create an instance with `{"config": {"items": "alpha,beta,gamma"}}`, and the next poll
//! puts three signals on the signals queue. It makes no network request.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};
use switchboard_core::mapping::MapError;
use switchboard_core::polling::{
    Checkpoint, HealthReport, Page, PageCursor, PageStream, PollError, PollRequest, RunSummary, StopReason,
};
use switchboard_core::ports::Credentials;
use switchboard_core::{Connector, Descriptor, MapContext, MapReport, PollDriver};

/// The connector id.
pub const ID: &str = "native-test";

/// The connector's descriptor (`kind: native`), as registered.
pub const DESCRIPTOR_JSON: &str = include_str!("test_connector.json");

/// Items per page.
const PAGE_SIZE: usize = 2;

/// The native implementation.
#[derive(Debug)]
pub struct TestConnector {
    descriptor: Arc<Descriptor>,
}

/// The [`switchboard_core::connector::NativeFactory`] of [`ID`] (it makes no request, so it
/// needs no poll driver).
pub fn factory(descriptor: Arc<Descriptor>, _driver: Option<Arc<dyn PollDriver>>) -> Arc<dyn Connector> {
    Arc::new(TestConnector { descriptor })
}

#[async_trait::async_trait]
impl Connector for TestConnector {
    fn map(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        self.descriptor.map(payload, ctx)
    }

    fn map_item(&self, item: &Value, ctx: &MapContext<'_>) -> MapReport {
        self.descriptor.map_item(item, ctx)
    }

    fn pages<'a>(&'a self, request: PollRequest<'a>) -> Result<Box<dyn PageStream + 'a>, PollError> {
        let titles = request
            .config
            .get("items")
            .ok_or_else(|| PollError::Config("config value \"items\" is not set".to_owned()))?;
        let checkpoint = request.checkpoint.unwrap_or_default();
        let after = match checkpoint.resume.as_ref().map(|r| &r.next) {
            Some(PageCursor::Offset(n)) => *n,
            _ => match checkpoint.position.as_deref() {
                None => 0,
                Some(position) => position
                    .parse()
                    .map_err(|_| PollError::Config(format!("checkpoint {position:?} is not an item id")))?,
            },
        };
        let items: Vec<Value> = titles
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .enumerate()
            .map(|(i, title)| item(i as u64 + 1, title))
            .collect();
        Ok(Box::new(Items {
            items,
            next: usize::try_from(after).unwrap_or(usize::MAX),
            max_pages: request.max_pages.unwrap_or(u32::MAX).max(1),
            summary: RunSummary {
                pages: 0,
                items: 0,
                checkpoint: checkpoint.clone(),
                guard: None,
                stop: None,
                refreshed_credentials: None,
                notes: Vec::new(),
            },
            start: checkpoint,
        }))
    }

    async fn check_health(&self, _config: &BTreeMap<String, String>, _credentials: &Credentials) -> HealthReport {
        HealthReport {
            healthy: true,
            status: None,
            latency_ms: 0,
            reason: None,
            class: None,
            refreshed_credentials: None,
        }
    }
}

fn item(id: u64, title: &str) -> Value {
    let start = DateTime::<Utc>::from_timestamp(1_704_067_200, 0).unwrap_or_default();
    let at = start + TimeDelta::minutes(i64::try_from(id).unwrap_or(0));
    json!({"id": id, "title": title, "at": at.to_rfc3339_opts(SecondsFormat::Secs, true)})
}

/// One run over an instance's items.
struct Items {
    items: Vec<Value>,
    /// Index of the next item to emit.
    next: usize,
    max_pages: u32,
    start: Checkpoint,
    summary: RunSummary,
}

#[async_trait::async_trait]
impl PageStream for Items {
    async fn next_page(&mut self) -> Result<Option<Page>, PollError> {
        if self.summary.stop.is_some() {
            return Ok(None);
        }
        let page: Vec<Value> = self.items.iter().skip(self.next).take(PAGE_SIZE).cloned().collect();
        self.next += page.len();
        let index = self.summary.pages;
        let more = self.next < self.items.len() && index + 1 < self.max_pages;
        let emitted = self.next.min(self.items.len()) as u64;
        let checkpoint_after = if more {
            Checkpoint {
                resume: Some(switchboard_core::polling::Resume {
                    next: PageCursor::Offset(emitted),
                    position: Some(emitted.to_string()),
                    seen_at_position: Vec::new(),
                }),
                ..self.start.clone()
            }
        } else if emitted > 0 {
            Checkpoint::at(emitted.to_string())
        } else {
            self.start.clone()
        };
        self.summary.pages += 1;
        self.summary.items += page.len() as u64;
        self.summary.checkpoint = checkpoint_after.clone();
        if !more {
            self.summary.stop = Some(StopReason::Complete);
        }
        Ok(Some(Page {
            index,
            items: page,
            checkpoint_after,
            is_last: !more,
            partition: None,
            refreshed_credentials: None,
        }))
    }

    fn summary(&self) -> RunSummary {
        self.summary.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector() -> Arc<dyn Connector> {
        factory(Arc::new(Descriptor::from_json_str(DESCRIPTOR_JSON, "test_connector.json").expect("valid")), None)
    }

    async fn run(connector: &dyn Connector, checkpoint: Option<Checkpoint>) -> (Vec<Vec<u64>>, Checkpoint) {
        let config = BTreeMap::from([("items".to_owned(), "alpha, beta,gamma".to_owned())]);
        let credentials = Credentials::new();
        let request = PollRequest { checkpoint, ..PollRequest::new(&config, &credentials) };
        let mut pages = connector.pages(request).expect("starts");
        let mut ids = Vec::new();
        while let Some(page) = pages.next_page().await.expect("a page") {
            ids.push(page.items.iter().map(|item| item["id"].as_u64().expect("an id")).collect());
        }
        (ids, pages.summary().checkpoint)
    }

    #[tokio::test]
    async fn items_come_two_per_page_and_a_later_poll_resumes_after_them() {
        let connector = connector();
        let (pages, checkpoint) = run(connector.as_ref(), None).await;
        assert_eq!(pages, [vec![1, 2], vec![3]]);
        assert_eq!(checkpoint, Checkpoint::at("3"));
        let (again, unchanged) = run(connector.as_ref(), Some(checkpoint)).await;
        assert_eq!(again, [Vec::<u64>::new()]);
        assert_eq!(unchanged, Checkpoint::at("3"));
    }

    #[test]
    fn its_items_map_to_native_item_signals() {
        let item = item(2, "beta");
        let ctx = MapContext {
            connector_id: ID,
            project_id: "p1",
            ingestion: switchboard_core::IngestionKind::Polling,
            event_type: None,
            received_at: Utc::now(),
            config: None,
        };
        let report = connector().map_item(&item, &ctx);
        assert_eq!(report.signals.len(), 1, "{report:?}");
        assert_eq!(report.signals[0].signal_type, "native_item");
        assert_eq!(report.signals[0].summary, "beta");
        assert_eq!(report.signals[0].timestamp, "2024-01-01T00:02:00Z");
    }
}
