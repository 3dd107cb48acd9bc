//! The embedded queue's atomic send: a message and its dedup record are stored by one write, so
//! a key is sent at most once within its time to live, however many senders race, and a send
//! that fails leaves no record behind. The signals queue's send also stores the signal's recent
//! copy in the same write.

// Test setup helpers unwrap too: a broken setup is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::NormalisedSignal;
use switchboard_core::ports::{
    DedupOutcome, MAX_MESSAGE_BYTES, QueueMessage, SendOnce as _, SendSignalOnce as _, SignalQuery,
};
use switchboard_embedded::{Embedded, EmbeddedQueue};
use tempfile::TempDir;

const HOUR: Duration = Duration::from_secs(3600);

fn open() -> (TempDir, Embedded) {
    let dir = TempDir::new().unwrap();
    let db = Embedded::open(&dir.path().join("switchboard.db")).unwrap();
    (dir, db)
}

fn message(body: &str) -> QueueMessage {
    QueueMessage::new(body).with_attribute("projectId", "acme")
}

/// Every message in `queue`, in the order sent.
async fn drain(queue: &EmbeddedQueue) -> Vec<QueueMessage> {
    let batch = queue.receive_batch(500, Duration::from_secs(60)).await.unwrap();
    batch.into_iter().map(|m| m.message).collect()
}

#[tokio::test]
async fn a_key_sends_its_message_once_within_its_time_to_live() {
    let (_dir, db) = open();
    let queue = db.ingest_queue();

    let first = queue.send_once("delivery-1", HOUR, &message("first")).await.unwrap();
    let again = queue.send_once("delivery-1", HOUR, &message("second")).await.unwrap();
    let other = queue.send_once("delivery-2", HOUR, &message("other")).await.unwrap();

    assert_eq!((first, again, other), (DedupOutcome::Inserted, DedupOutcome::Duplicate, DedupOutcome::Inserted));
    let sent = drain(&db.ingest_queue()).await;
    assert_eq!(sent, vec![message("first"), message("other")]);
}

#[tokio::test]
async fn a_key_sends_again_once_its_record_expired() {
    let (_dir, db) = open();
    let queue = db.ingest_queue();

    queue.send_once("delivery-1", Duration::from_millis(20), &message("first")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(40)).await;
    let later = queue.send_once("delivery-1", HOUR, &message("later")).await.unwrap();

    assert_eq!(later, DedupOutcome::Inserted);
    assert_eq!(drain(&db.ingest_queue()).await, vec![message("first"), message("later")]);
}

#[tokio::test]
async fn the_records_are_the_dedup_stores_own() {
    let (_dir, db) = open();
    let (queue, dedup) = (db.ingest_queue(), db.stores().dedup);

    dedup.insert_if_absent("recorded-by-the-store", HOUR).await.unwrap();
    let refused = queue.send_once("recorded-by-the-store", HOUR, &message("refused")).await.unwrap();
    queue.send_once("sent-once", HOUR, &message("sent")).await.unwrap();
    let seen = dedup.insert_if_absent("sent-once", HOUR).await.unwrap();

    assert_eq!((refused, seen), (DedupOutcome::Duplicate, DedupOutcome::Duplicate));
    assert_eq!(drain(&db.ingest_queue()).await, vec![message("sent")]);
}

#[tokio::test]
async fn of_many_concurrent_senders_of_one_key_exactly_one_sends() {
    let (_dir, db) = open();
    let queue = Arc::new(db.ingest_queue());

    let senders: Vec<_> = (0..32)
        .map(|i| {
            let queue = queue.clone();
            tokio::spawn(async move { queue.send_once("race", HOUR, &message(&format!("copy {i}"))).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for sender in senders {
        outcomes.push(sender.await.unwrap());
    }

    assert_eq!(outcomes.iter().filter(|o| **o == DedupOutcome::Inserted).count(), 1, "{outcomes:?}");
    assert_eq!(drain(&db.ingest_queue()).await.len(), 1);
}

#[tokio::test]
async fn a_message_the_queue_refuses_records_nothing() {
    let (_dir, db) = open();
    let queue = db.ingest_queue();

    let too_large = message(&"x".repeat(MAX_MESSAGE_BYTES + 1));
    let error = queue.send_once("delivery-1", HOUR, &too_large).await.unwrap_err();
    let retried = queue.send_once("delivery-1", HOUR, &message("retried")).await.unwrap();

    assert!(error.to_string().contains("larger than"), "{error}");
    assert_eq!(retried, DedupOutcome::Inserted);
    assert_eq!(drain(&db.ingest_queue()).await, vec![message("retried")]);
}

/// A signal as the normaliser sends it: its id, its project and one related item.
fn signal(id: &str) -> NormalisedSignal {
    serde_json::from_value(serde_json::json!({
        "id": id, "source": "github-issues", "projectId": "acme", "externalId": "acme/api#7",
        "signalType": "issue_updated", "timestamp": "2024-05-01T10:00:00Z",
        "receivedAt": "2024-05-01T10:00:01Z", "summary": "Issue #7 updated",
        "relatedItems": ["acme/api#7"], "ingestion": "polling",
    }))
    .unwrap()
}

/// The project's recent signals, by id.
async fn recent_ids(db: &Embedded) -> Vec<String> {
    let page = db.stores().signals.list_signals("acme", &SignalQuery::default()).await.unwrap();
    page.signals.into_iter().map(|s| s.id).collect()
}

#[tokio::test]
async fn a_signal_is_sent_recorded_and_kept_as_recent_by_one_write_and_a_duplicate_writes_nothing() {
    let (_dir, db) = open();
    let queue = db.signals_queue();
    let before = db.writer_stats().jobs;

    let first = queue.send_signal_once(&signal("s1"), &message("s1"), HOUR, HOUR).await.unwrap();
    let again = queue.send_signal_once(&signal("s1"), &message("s1 again"), HOUR, HOUR).await.unwrap();

    assert_eq!((first, again), (DedupOutcome::Inserted, DedupOutcome::Duplicate));
    assert_eq!(db.writer_stats().jobs - before, 2, "one write each");
    assert_eq!(drain(&db.signals_queue()).await, vec![message("s1")]);
    assert_eq!(recent_ids(&db).await, ["s1"]);
    let related = SignalQuery { related: Some("acme/api#7".into()), ..SignalQuery::default() };
    let by_reference = db.stores().signals.list_signals("acme", &related).await.unwrap();
    assert_eq!(by_reference.signals.len(), 1, "the recent copy is indexed by its related item");
}

#[tokio::test]
async fn a_signal_whose_recent_copy_cannot_be_stored_is_neither_sent_nor_recorded() {
    let (dir, db) = open();
    // Another connection makes every insert of a recent signal fail, as a full disk would.
    let other = rusqlite::Connection::open(dir.path().join("switchboard.db")).unwrap();
    other
        .execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON signals BEGIN SELECT RAISE(ABORT, 'refused'); END")
        .unwrap();
    let queue = db.signals_queue();

    let error = queue.send_signal_once(&signal("s1"), &message("s1"), HOUR, HOUR).await.unwrap_err();

    assert!(error.to_string().contains("refused"), "{error}");
    assert!(drain(&db.signals_queue()).await.is_empty(), "the message was rolled back with the copy");
    other.execute_batch("DROP TRIGGER refuse").unwrap();
    // Nor was the id recorded: the retry sends the signal.
    let retry = queue.send_signal_once(&signal("s1"), &message("s1"), HOUR, HOUR).await.unwrap();
    assert_eq!(retry, DedupOutcome::Inserted);
    assert_eq!(recent_ids(&db).await, ["s1"]);
}
