//! Partitioned streams against fakes: one pass per partition, each from its own checkpoint;
//! partition values in request templates and on every item (`_partition`); a time budget that
//! stops between partitions and a next run that starts where it stopped; a backfill start for
//! a first sync.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_core::Descriptor;
use switchboard_core::polling::{Checkpoint, PollRequest, StopReason};
use switchboard_poll::Credentials;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::support::*;

/// A stream over the boards listed in config value `boards`, polled by update time.
fn boards_descriptor(rpm: u32, backfill: Option<Value>) -> Descriptor {
    let mut doc = descriptor_doc(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/boards/{{partition.board}}/items",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "pagination": {"type": "link_header", "pageSize": 2, "pageSizeParam": "per_page"},
            "rateLimitRpm": rpm,
            "partitions": {
                "sources": [{"from": "config", "listKey": "boards", "field": "board"}],
                "key": "board-{{partition.board}}"
            }
        }),
        "$",
    );
    doc["configFields"].as_array_mut().unwrap().extend([
        json!({"key": "boards", "label": "Boards", "type": "text", "required": true}),
        json!({"key": "startDate", "label": "Start date", "type": "text", "required": false}),
    ]);
    if let Some(backfill) = backfill {
        doc["ingestion"]["backfill"] = backfill;
    }
    compile(&doc)
}

async fn boards(sizes: &[(&str, u64)]) -> (MockServer, BTreeMap<String, Dataset>) {
    let server = MockServer::start().await;
    let mut data = BTreeMap::new();
    for (board, n) in sizes {
        let dataset = Dataset::with(*n);
        Mock::given(method("GET"))
            .and(path(format!("/boards/{board}/items")))
            .respond_with(GitHubFake(dataset.clone()))
            .mount(&server)
            .await;
        data.insert((*board).to_owned(), dataset);
    }
    (server, data)
}

async fn run(
    descriptor: &Descriptor,
    config: &BTreeMap<String, String>,
    checkpoint: Option<&Checkpoint>,
    budget: Option<Duration>,
) -> Delta {
    let (engine, _) = engine();
    let credentials = Credentials::new();
    let stored = checkpoint.map(|c| Checkpoint::parse(&c.to_string()).unwrap());
    let request = PollRequest { checkpoint: stored, time_budget: budget, ..PollRequest::new(config, &credentials) };
    fetch_delta(&engine, descriptor, request).await.unwrap_or_else(|e| panic!("{e}"))
}

/// `(board, id)` of every item, in order, read from the `_partition` each item carries.
fn board_ids(items: &[Value]) -> Vec<(String, u64)> {
    items.iter().map(|i| (i["_partition"]["board"].as_str().unwrap().to_owned(), i["id"].as_u64().unwrap())).collect()
}

fn boards_requested(requests: &[wiremock::Request]) -> Vec<String> {
    requests.iter().map(|r| r.url.path().split('/').nth(2).unwrap().to_owned()).collect()
}

#[tokio::test]
async fn each_partition_keeps_its_own_checkpoint_and_a_second_run_returns_only_newer_items() {
    let (server, data) = boards(&[("red", 3), ("blue", 2)]).await;
    let descriptor = boards_descriptor(600_000, None);
    let mut config = config(&server);
    config.insert("boards".into(), " red, blue ,".into());

    let first = run(&descriptor, &config, None, None).await;
    assert_eq!(first.stop, StopReason::Complete);
    let expected: Vec<(String, u64)> =
        [("red", 1), ("red", 2), ("red", 3), ("blue", 1), ("blue", 2)].map(|(b, i)| (b.to_owned(), i)).to_vec();
    assert_eq!(board_ids(&first.items), expected, "every item once, tagged with its partition");
    let checkpoint = &first.new_checkpoint;
    assert_eq!(checkpoint.partitions.keys().collect::<Vec<_>>(), ["board-blue", "board-red"]);
    assert_eq!(checkpoint.partitions["board-red"].position.as_deref(), Some("2024-05-01T00:02:00Z"));
    assert_eq!(checkpoint.partitions["board-blue"].position.as_deref(), Some("2024-05-01T00:01:00Z"));
    assert_eq!(checkpoint.next_partition, None, "a complete run starts the next one at the first partition");
    assert_eq!(checkpoint.position, None);

    data["blue"].add(2);
    let before = server.received_requests().await.unwrap().len();
    let second = run(&descriptor, &config, Some(checkpoint), None).await;
    let sent = server.received_requests().await.unwrap().split_off(before);
    assert_eq!(param(&sent[0], "since").as_deref(), Some("2024-05-01T00:02:00Z"), "red from its own position");
    assert_eq!(param(&sent[1], "since").as_deref(), Some("2024-05-01T00:01:00Z"), "blue from its own position");
    assert_eq!(board_ids(&second.items), [("blue".to_owned(), 3), ("blue".to_owned(), 4)], "only what is new");
    assert_eq!(second.new_checkpoint.partitions["board-blue"].position.as_deref(), Some("2024-05-01T00:03:00Z"));
    assert_eq!(second.new_checkpoint.partitions["board-red"], checkpoint.partitions["board-red"]);

    // A board no longer listed is retired with its checkpoint; a new one starts from nothing.
    config.insert("boards".into(), "blue".into());
    let third = run(&descriptor, &config, Some(&second.new_checkpoint), None).await;
    assert!(third.items.is_empty());
    assert_eq!(third.new_checkpoint.partitions.keys().collect::<Vec<_>>(), ["board-blue"]);
}

#[tokio::test]
async fn a_time_budget_stops_between_partitions_and_the_next_run_starts_where_it_stopped() {
    // One request a minute: in a 90 s budget a run reaches two of the three boards.
    let (server, _) = boards(&[("a", 1), ("b", 1), ("c", 1)]).await;
    let descriptor = boards_descriptor(1, None);
    let mut config = config(&server);
    config.insert("boards".into(), "a,b,c".into());

    let first = run(&descriptor, &config, None, Some(Duration::from_secs(90))).await;
    assert_eq!(first.stop, StopReason::TimeBudget);
    assert_eq!(board_ids(&first.items), [("a".to_owned(), 1), ("b".to_owned(), 1)]);
    assert_eq!(first.new_checkpoint.next_partition.as_deref(), Some("board-c"), "where the next run starts");

    let before = server.received_requests().await.unwrap().len();
    let second = run(&descriptor, &config, Some(&first.new_checkpoint), Some(Duration::from_secs(90))).await;
    let sent = server.received_requests().await.unwrap().split_off(before);
    assert_eq!(boards_requested(&sent), ["c", "a"], "c, which waited longest, goes first");
    assert_eq!(board_ids(&second.items), [("c".to_owned(), 1)], "a's item was delivered by the first run");
    assert_eq!(second.new_checkpoint.next_partition.as_deref(), Some("board-b"));
    assert_eq!(second.new_checkpoint.partitions.len(), 3);
}

#[tokio::test]
async fn a_first_sync_starts_at_the_instance_start_date_or_the_default_days() {
    let (server, _) = boards(&[("red", 1)]).await;
    let mut config = config(&server);
    config.insert("boards".into(), "red".into());

    config.insert("startDate".into(), "2024-03-15".into());
    let descriptor = boards_descriptor(600_000, Some(json!({"defaultDays": 30})));
    run(&descriptor, &config, None, None).await;
    config.remove("startDate");
    run(&descriptor, &config, None, None).await;
    let sent = server.received_requests().await.unwrap();
    assert_eq!(param(&sent[0], "since").as_deref(), Some("2024-03-15T00:00:00Z"), "the instance's start date");
    // The engine's clock reads 2024-05-01T00:00:00Z: thirty days before it.
    assert_eq!(param(&sent[1], "since").as_deref(), Some("2024-04-01T00:00:00Z"), "the descriptor's default");

    config.insert("startDate".into(), "last spring".into());
    let (engine, _) = engine();
    let credentials = Credentials::new();
    let error = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.expect_err("bad date");
    assert!(error.to_string().contains("\"startDate\" is \"last spring\": not a date (YYYY-MM-DD)"), "{error}");
}

/// Items by id and update time.
type Timeline = std::sync::Arc<std::sync::Mutex<Vec<(u64, chrono::DateTime<chrono::Utc>)>>>;

/// An API that needs bounded ranges: `since` (at or after) and `until` (before), a bare array.
#[derive(Clone)]
struct RangeFake(Timeline);

impl wiremock::Respond for RangeFake {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let time = |name| param(request, name).map(|t| chrono::DateTime::parse_from_rfc3339(&t).unwrap());
        let (since, until) = (time("since"), time("until"));
        let items: Vec<Value> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, at)| since.is_none_or(|s| *at >= s) && until.is_none_or(|u| *at < u))
            .map(|(id, at)| json!({"id": id, "title": format!("Item {id}"), "updated_at": at.to_rfc3339()}))
            .collect();
        wiremock::ResponseTemplate::new(200).set_body_json(items)
    }
}

#[tokio::test]
async fn windows_walk_from_the_start_to_now_one_bounded_request_each() {
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&chrono::Utc);
    let data: Timeline = std::sync::Arc::new(std::sync::Mutex::new(vec![
        (1, at("2024-04-22T00:00:00Z")),
        (2, at("2024-04-25T00:00:00Z")),
        (3, at("2024-04-25T12:00:00Z")),
        (4, at("2024-04-30T06:00:00Z")),
    ]));
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/events")).respond_with(RangeFake(data.clone())).mount(&server).await;
    let mut doc = descriptor_doc(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/events",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "backfill": {"defaultDays": 10, "windowDays": 3, "windowEndParam": "until"}
        }),
        "$",
    );
    doc["configFields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "startDate", "label": "Start", "type": "text", "required": false}));
    let descriptor = compile(&doc);
    let config = config(&server);

    // The clock reads 2024-05-01T00:00:00Z: ten days back, then three days at a time.
    let first = run(&descriptor, &config, None, None).await;
    let sent = server.received_requests().await.unwrap();
    let ranges: Vec<(Option<String>, Option<String>)> =
        sent.iter().map(|r| (param(r, "since"), param(r, "until"))).collect();
    let day = |d: &str| Some(format!("2024-04-{d}T00:00:00Z"));
    assert_eq!(
        ranges,
        [(day("21"), day("24")), (day("24"), day("27")), (day("27"), day("30")), (day("30"), None)],
        "bounded windows, the last one open up to now"
    );
    assert_eq!(first.stop, StopReason::Complete);
    assert_eq!(ids(&first.items), [1, 2, 3, 4], "every item once");
    assert_eq!(first.new_checkpoint.position.as_deref(), Some("2024-04-30T06:00:00Z"));

    data.lock().unwrap().push((5, at("2024-04-30T20:00:00Z")));
    let before = server.received_requests().await.unwrap().len();
    let second = run(&descriptor, &config, Some(&first.new_checkpoint), None).await;
    let sent = server.received_requests().await.unwrap().split_off(before);
    assert_eq!(sent.len(), 1, "the checkpoint is within one window of now");
    assert_eq!(param(&sent[0], "until"), None);
    assert_eq!(ids(&second.items), [5], "only what is new");
}
