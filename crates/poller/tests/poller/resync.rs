//! A delta token that expires, through the poller: a Google-Calendar-shaped API answers 410
//! Gone to an old sync token, the descriptor's `reset_checkpoint` rule restarts the run from no
//! checkpoint, the poller enqueues the full resync and stores the fresh token, the sync log says
//! what happened — and the resync emits no signal twice: every envelope maps to a deterministic
//! signal id the dedup store (the one the normaliser uses) has already recorded.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::envelope::Envelope;
use switchboard_core::ports::{
    DedupOutcome, InstanceKey, NewInstance, QueueReceiver, ReceiveOptions, Stores, SyncStatus,
};
use switchboard_core::{Descriptor, MapContext, NativeRegistry};
use switchboard_embedded::{Embedded, EmbeddedQueue};
use switchboard_poll::{PollEngine, PollOptions, RetryPolicy};
use switchboard_poller::{Poller, PollerSettings};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::param;

const EVENTS: &str = "/calendar/v3/calendars/primary/events";

/// `events.list` with sync tokens (see the engine's test of the same shape): a full sync pages
/// with `pageToken`, its last page carries `nextSyncToken`, a sync token returns only changes
/// since it was issued, and an expired one answers 410 `fullSyncRequired`.
#[derive(Clone, Default)]
struct Calendar(Arc<Mutex<CalendarState>>);

#[derive(Default)]
struct CalendarState {
    /// `(id, change sequence, updated)`.
    events: Vec<(String, u64, DateTime<Utc>)>,
    sequence: u64,
    issued: u64,
    expired_before: u64,
}

impl Calendar {
    fn touch(&self, id: &str) {
        let mut state = self.0.lock().unwrap();
        state.sequence += 1;
        let sequence = state.sequence;
        let updated = DateTime::from_timestamp(1_714_521_600 + i64::try_from(sequence).unwrap() * 60, 0).unwrap();
        state.events.retain(|(e, _, _)| e != id);
        state.events.push((id.to_owned(), sequence, updated));
    }

    fn expire_tokens(&self) {
        let mut state = self.0.lock().unwrap();
        state.expired_before = state.issued + 1;
    }
}

impl Respond for Calendar {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        let from = match param(request, "syncToken") {
            None => 0,
            Some(token) => {
                let (sequence, issue) = token.trim_start_matches("sync-").split_once('.').unwrap();
                if issue.parse::<u64>().unwrap() < state.expired_before {
                    return ResponseTemplate::new(410).set_body_json(json!({"error": {"code": 410,
                        "errors": [{"domain": "calendar", "reason": "fullSyncRequired",
                            "message": "Sync token is no longer valid, a full sync is required."}],
                        "message": "Sync token is no longer valid, a full sync is required."}}));
                }
                sequence.parse().unwrap()
            }
        };
        let size: usize = param(request, "maxResults").map_or(250, |m| m.parse().unwrap());
        let skip: usize = param(request, "pageToken").map_or(0, |p| p.trim_start_matches("page-").parse().unwrap());
        let mut changed: Vec<(String, u64, DateTime<Utc>)> =
            state.events.iter().filter(|(_, s, _)| *s > from).cloned().collect();
        changed.sort_by_key(|(_, s, _)| *s);
        let items: Vec<Value> = changed
            .iter()
            .skip(skip)
            .take(size)
            .map(|(id, _, updated)| {
                json!({"kind": "calendar#event", "id": id, "status": "confirmed", "summary": format!("Meeting {id}"),
                    "updated": updated.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)})
            })
            .collect();
        let mut body = json!({"kind": "calendar#events", "items": items});
        if skip + size < changed.len() {
            body["nextPageToken"] = json!(format!("page-{}", skip + size));
        } else {
            state.issued += 1;
            body["nextSyncToken"] = json!(format!("sync-{}.{}", state.sequence, state.issued));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

fn calendar_descriptor(base: &str) -> Descriptor {
    let doc = json!({
        "id": "google-calendar-test", "name": "Calendar", "description": "Events of a calendar",
        "category": "communication", "icon": "calendar", "kind": "generic", "auth": {"method": "none"},
        "configFields": [{"key": "baseUrl", "label": "API", "type": "url", "required": true, "default": base}],
        "ingestion": {
            "mode": "polling", "method": "GET", "rateLimitRpm": 600000,
            "endpoint": "{{baseUrl}}/calendar/v3/calendars/primary/events?singleEvents=true",
            "delta": {"type": "delta_token", "tokenPath": "$.nextSyncToken", "tokenParam": "syncToken"},
            "pagination": {"type": "cursor", "nextPath": "$.nextPageToken", "nextParam": "pageToken", "pageSize": 3, "pageSizeParam": "maxResults"},
            "responseRules": [{"status": 410, "action": "reset_checkpoint", "message": "the sync token expired"}]
        },
        "fieldMapping": {
            "itemsPath": "$.items", "idPath": "$.id", "timestampPath": "$.updated", "summaryTemplate": "{{summary}}",
            "signalTypeRules": [{"when": "$.status", "operator": "equals", "value": "confirmed", "then": "event_updated"}]
        },
        "healthCheck": {"endpoint": "{{baseUrl}}/health", "method": "GET", "expectStatus": 200, "timeoutMs": 1000},
        "version": "1.0.0"
    });
    Descriptor::from_value(&doc, "calendar").unwrap_or_else(|e| panic!("{e}"))
}

struct World {
    _dir: tempfile::TempDir,
    stores: Stores,
    ingest: EmbeddedQueue,
    poller: Poller,
    descriptor: Descriptor,
    key: InstanceKey,
}

impl World {
    async fn new(server: &MockServer) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Embedded::open(&dir.path().join("switchboard.db")).unwrap();
        let stores = db.stores();
        let descriptor = calendar_descriptor(&server.uri());
        stores.descriptors.register_descriptor(descriptor.model(), true).await.unwrap();
        let key = InstanceKey::new("p1", "google-calendar-test");
        let config = BTreeMap::from([("baseUrl".to_owned(), server.uri())]);
        stores
            .create_instance(&NewInstance { key: key.clone(), config, enabled: true }, &Default::default())
            .await
            .unwrap();
        let options = PollOptions {
            retry: RetryPolicy { max_attempts: 2, base_delay: Duration::from_millis(10), ..RetryPolicy::default() },
            egress: switchboard_poll::EgressAllow::parse("127.0.0.1").unwrap(),
            ..PollOptions::default()
        };
        let catalog = ConnectorCatalog::new(stores.descriptors.clone(), NativeRegistry::new(), Duration::from_secs(60))
            .with_poll_driver(Arc::new(PollEngine::new(options).unwrap()));
        let settings = PollerSettings { safety_margin: Duration::ZERO, ..PollerSettings::default() };
        let poller = Poller::new(stores.clone(), Arc::new(catalog), Arc::new(db.ingest_queue()), settings);
        Self { _dir: dir, ingest: db.ingest_queue(), stores, poller, descriptor, key }
    }

    async fn run(&self, hours_later: i64) {
        let now = Utc::now() + TimeDelta::hours(hours_later);
        self.poller.run_due(now, Instant::now() + Duration::from_secs(60)).await.unwrap();
    }

    /// Takes every envelope off the queue and passes its signal through the dedup store as the
    /// normaliser does; the ids of the signals that were new.
    async fn deliver(&self) -> (usize, Vec<String>) {
        let mut envelopes = Vec::new();
        loop {
            let received = self.ingest.receive(ReceiveOptions::default()).await.unwrap();
            if received.is_empty() {
                break;
            }
            for message in received {
                envelopes.push(Envelope::from_json(&message.message.body).unwrap());
                self.ingest.ack(&message.receipt).await.unwrap();
            }
        }
        let mut new = Vec::new();
        for envelope in &envelopes {
            let ctx = MapContext {
                connector_id: envelope.connector_id.as_str(),
                project_id: envelope.project_id.as_str(),
                ingestion: envelope.ingestion,
                event_type: None,
                // The envelope's receive time differs per run; the signal id does not depend on it.
                received_at: envelope.received_at,
                config: Some(&envelope.config),
            };
            for signal in self.descriptor.map_item(&envelope.payload, &ctx).signals {
                if self.stores.dedup.insert_if_absent(&signal.id, Duration::from_secs(3600)).await.unwrap()
                    == DedupOutcome::Inserted
                {
                    new.push(envelope.payload["id"].as_str().unwrap().to_owned());
                }
            }
        }
        (envelopes.len(), new)
    }

    async fn checkpoint(&self) -> String {
        self.stores.checkpoints.read_checkpoint(&self.key).await.unwrap().unwrap().value
    }
}

#[tokio::test]
async fn an_expired_sync_token_resyncs_through_the_poller_and_no_signal_passes_dedup_twice() {
    let server = MockServer::start().await;
    let calendar = Calendar::default();
    Mock::given(method("GET")).and(path(EVENTS)).respond_with(calendar.clone()).mount(&server).await;
    for id in ["a", "b", "c", "d", "e"] {
        calendar.touch(id);
    }
    let world = World::new(&server).await;

    world.run(0).await;
    let (count, new) = world.deliver().await;
    assert_eq!((count, new), (5, ["a", "b", "c", "d", "e"].map(String::from).to_vec()));
    assert_eq!(world.checkpoint().await, "sync-5.1");

    calendar.touch("c");
    world.run(1).await;
    let (count, new) = world.deliver().await;
    assert_eq!((count, new), (1, vec!["c".to_owned()]), "the changed event is a new version");
    assert_eq!(world.checkpoint().await, "sync-6.2");

    // The token expires: the run resyncs in full, every event is enqueued again, none is new.
    calendar.expire_tokens();
    world.run(2).await;
    let (count, new) = world.deliver().await;
    assert_eq!(count, 5, "the full resync enqueues every event");
    assert!(new.is_empty(), "no signal twice: {new:?}");
    assert_eq!(world.checkpoint().await, "sync-6.3", "the fresh token is stored");
    let runs = world.stores.stats.recent_sync_runs(&world.key, 1).await.unwrap();
    assert_eq!(runs[0].status, SyncStatus::Succeeded);
    let text = runs[0].error.clone().unwrap_or_default();
    assert!(text.contains("HTTP 410 matched the sync token expired (responseRules[0])"), "{text}");
    assert!(text.contains("resynced from the start"), "{text}");

    // Then incremental again.
    calendar.touch("f");
    world.run(3).await;
    let (count, new) = world.deliver().await;
    assert_eq!((count, new), (1, vec!["f".to_owned()]));
}
