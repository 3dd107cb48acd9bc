//! Group commit seen from the ports: concurrent writers each get their own row, dedup still lets
//! exactly one of many racing inserts in, and a write that was answered survives the process
//! being killed (`kill -9`) in the middle of a stream of writes.

// Test setup helpers unwrap too: a broken setup is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use secrecy::SecretString;
use switchboard_core::ports::{DedupOutcome, QueueMessage, QueueSender};
use switchboard_embedded::{Embedded, SecretCipher};

fn test_cipher() -> SecretCipher {
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    SecretCipher::from_base64(&SecretString::from(key), "test key").unwrap()
}

fn open(path: &Path) -> Embedded {
    Embedded::open_with_cipher(path, test_cipher()).unwrap()
}

/// Every body in the ingest queue, in the order received.
async fn drain_bodies(db: &Embedded) -> Vec<String> {
    let queue = db.ingest_queue();
    let mut bodies = Vec::new();
    loop {
        let batch = queue.receive_batch(500, Duration::from_secs(60)).await.unwrap();
        if batch.is_empty() {
            return bodies;
        }
        bodies.extend(batch.into_iter().map(|m| m.message.body));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_enqueues_each_become_one_distinct_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir.path().join("switchboard.db"));
    let queue = Arc::new(db.ingest_queue());
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move { queue.send_entries(&[QueueMessage::new(format!("envelope-{i}"))]).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().unwrap().is_empty(), "no entry refused");
    }
    let bodies = drain_bodies(&db).await;
    assert_eq!(bodies.len(), 400, "one message per enqueue");
    let distinct: BTreeSet<&String> = bodies.iter().collect();
    assert_eq!(distinct.len(), 400, "no message twice");
    let stats = db.writer_stats();
    assert_eq!(stats.failed_batches, 0);
    assert!(stats.jobs >= 400, "every enqueue went through the writer: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_dedup_inserts_let_exactly_one_copy_of_each_id_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir.path().join("switchboard.db"));
    let dedup = db.stores().dedup;
    // 50 ids, each inserted by 8 concurrent callers.
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let dedup = Arc::clone(&dedup);
            tokio::spawn(async move {
                let id = format!("signal-{}", i % 50);
                (id.clone(), dedup.insert_if_absent(&id, Duration::from_secs(60)).await.unwrap())
            })
        })
        .collect();
    let mut inserted = Vec::new();
    let mut duplicates = 0;
    for task in tasks {
        match task.await.unwrap() {
            (id, DedupOutcome::Inserted) => inserted.push(id),
            (_, DedupOutcome::Duplicate) => duplicates += 1,
        }
    }
    inserted.sort();
    let expected: Vec<String> = {
        let mut ids: Vec<String> = (0..50).map(|i| format!("signal-{i}")).collect();
        ids.sort();
        ids
    };
    assert_eq!(inserted, expected, "each id inserted exactly once");
    assert_eq!(duplicates, 350);
}

/// The environment variable that makes [`crash_child_writes_until_killed`] run.
const CHILD_DB: &str = "SWITCHBOARD_GROUP_COMMIT_CHILD_DB";

#[test]
fn an_acknowledged_enqueue_survives_the_process_being_killed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    drop(open(&path)); // Creates and migrates the file before the child starts.
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child_writes_until_killed", "--ignored", "--nocapture", "--test-threads", "1"])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acknowledged = BTreeSet::new();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        if let Some(body) = line.unwrap().strip_prefix("acked ") {
            acknowledged.insert(body.to_owned());
        }
        if acknowledged.len() >= 3000 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no shutdown, writes in flight.
    child.wait().unwrap();
    assert!(acknowledged.len() >= 3000, "the child stopped early after {} writes", acknowledged.len());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bodies = runtime.block_on(async { drain_bodies(&open(&path)).await });
    let stored: BTreeSet<String> = bodies.iter().cloned().collect();
    assert_eq!(stored.len(), bodies.len(), "no message stored twice");
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "{} acknowledged enqueues were lost, e.g. {:?}", lost.len(), lost.first());
}

/// Run by [`an_acknowledged_enqueue_survives_the_process_being_killed`] in a child process:
/// 32 concurrent writers enqueue until the process is killed, printing each body once its
/// enqueue is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of an_acknowledged_enqueue_survives_the_process_being_killed"]
async fn crash_child_writes_until_killed() {
    let path = std::env::var(CHILD_DB).expect("run by the crash test");
    let db = open(Path::new(&path));
    let queue = Arc::new(db.ingest_queue());
    let (acked, mut printed) = tokio::sync::mpsc::unbounded_channel::<String>();
    for writer in 0..32 {
        let (queue, acked) = (Arc::clone(&queue), acked.clone());
        tokio::spawn(async move {
            for n in 0.. {
                let body = format!("w{writer}-{n}");
                queue.send_entries(&[QueueMessage::new(body.clone())]).await.unwrap();
                if acked.send(body).is_err() {
                    return;
                }
            }
        });
    }
    while let Some(body) = printed.recv().await {
        println!("acked {body}");
    }
}

#[tokio::test]
async fn committed_writes_reach_the_database_file_without_the_writer_checkpointing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    let db = open(&path);
    let queue = db.ingest_queue();
    let size = || std::fs::metadata(&path).unwrap().len();
    let before = size();

    // About 2 MB of messages: far below the writer's own checkpoint threshold (64 MB of WAL).
    for batch in 0..50 {
        let messages: Vec<QueueMessage> =
            (0..10).map(|i| QueueMessage::new(format!("{batch}-{i}-{}", "x".repeat(4096)))).collect();
        queue.send_entries(&messages).await.unwrap();
    }

    // The checkpointer copies them from the WAL into the file within a few of its intervals.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while size() < before + 2_000_000 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(size() >= before + 2_000_000, "database file {} bytes, was {before}", size());
}
