//! The storage contract suite against SQLite, plus what only the embedded store promises:
//! no plaintext credential in the database files, and migrations that survive a reopen.

// Test setup helpers unwrap too: a broken setup is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use switchboard_contract_tests::{Backend, QueuePair, contract_tests};
use switchboard_core::ports::{Credentials, InstanceKey, NewInstance, Stores};
use switchboard_embedded::{DeadLetter, Embedded, SecretCipher};
use tempfile::TempDir;

/// A fresh database in its own temporary directory (kept alive as long as the backend).
struct Sqlite {
    db: Embedded,
    _dir: TempDir,
}

fn test_cipher() -> SecretCipher {
    let key = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    SecretCipher::from_base64(&SecretString::from(key), "test key").unwrap()
}

impl Sqlite {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Embedded::open_with_cipher(&dir.path().join("switchboard.db"), test_cipher()).unwrap();
        Self { db, _dir: dir }
    }
}

#[async_trait]
impl Backend for Sqlite {
    async fn stores(&self) -> Stores {
        self.db.stores()
    }

    async fn queue_pair(&self, max_receives: u32) -> QueuePair {
        let dead = DeadLetter { queue: "test-dlq".into(), max_receives };
        QueuePair {
            queue: Arc::new(self.db.queue("test", Some(dead))),
            dead_letters: Arc::new(self.db.queue("test-dlq", None)),
            max_receives,
        }
    }
}

contract_tests!(Sqlite::new());

/// Every byte SQLite has written: the main file, the WAL and the shared-memory index.
fn database_bytes(db_path: &Path) -> Vec<u8> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::read(format!("{}{suffix}", db_path.display())).ok())
        .flatten()
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn the_database_files_never_contain_a_plaintext_credential() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    let db = Embedded::open_with_cipher(&path, test_cipher()).unwrap();
    let stores = db.stores();
    let descriptor = switchboard_contract_tests::fixtures::descriptor("github-issues", "GitHub");
    stores.descriptors.register_descriptor(&descriptor, true).await.unwrap();
    let key = InstanceKey::new("acme", "github-issues");
    let new = NewInstance { key: key.clone(), config: Default::default(), enabled: true };
    let first: Credentials = [("apiKey", "ghp_FIRSTplaintextMARKER0001")].into_iter().collect();
    stores.create_instance(&new, &first).await.unwrap();
    let second: Credentials = [("apiKey", "ghp_SECONDplaintextMARKER002")].into_iter().collect();
    stores.store_credentials(&key, &second).await.unwrap();

    let versions = stores.secrets.get_credentials(&key).await.unwrap().unwrap();
    assert_eq!(versions.current.get("apiKey").unwrap().expose_secret(), "ghp_SECONDplaintextMARKER002");

    let bytes = database_bytes(&path);
    assert!(bytes.len() > 4096, "the database files were read");
    assert!(contains(&bytes, "github-issues"), "sanity check: plain data is visible to this grep");
    for marker in ["ghp_FIRSTplaintextMARKER0001", "ghp_SECONDplaintextMARKER002", "plaintextMARKER"] {
        assert!(!contains(&bytes, marker), "`{marker}` found in the SQLite files");
    }
}

#[tokio::test]
async fn secrets_written_with_one_key_cannot_be_read_with_another() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    let key = InstanceKey::new("acme", "github-issues");
    {
        let db = Embedded::open_with_cipher(&path, test_cipher()).unwrap();
        let creds: Credentials = [("apiKey", "secret-value")].into_iter().collect();
        db.stores().secrets.put_credentials(&key, &creds).await.unwrap();
    }
    let other = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
    let db =
        Embedded::open_with_cipher(&path, SecretCipher::from_base64(&SecretString::from(other), "k").unwrap()).unwrap();
    let err = db.stores().secrets.get_credentials(&key).await.unwrap_err();
    assert!(err.to_string().contains("cannot be decrypted"), "{err}");
    assert!(!err.to_string().contains("secret-value"));
}

#[tokio::test]
async fn reopening_a_database_keeps_its_data_and_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    let descriptor = switchboard_contract_tests::fixtures::descriptor("jira", "Jira");
    Embedded::open_with_cipher(&path, test_cipher())
        .unwrap()
        .stores()
        .descriptors
        .register_descriptor(&descriptor, false)
        .await
        .unwrap();
    let reopened = Embedded::open_with_cipher(&path, test_cipher()).unwrap();
    assert!(reopened.stores().descriptors.get_descriptor("jira").await.unwrap().is_some());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, switchboard_embedded::SCHEMA_VERSION as i64);
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

/// Signals stored before the reference index existed (schema 5) are listed by reference after
/// the upgrade, under their first related items only.
#[tokio::test]
async fn upgrading_to_the_reference_index_indexes_the_signals_already_stored() {
    use switchboard_core::ports::SignalQuery;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    let keys: Vec<String> = (0..25).map(|i| format!("K-{i}")).collect();
    let mut old = switchboard_contract_tests::fixtures::signal("p1", "old", "opened", "2025-03-01T10:00:00Z", &[]);
    old.related_items = keys.clone();
    let day = std::time::Duration::from_secs(86_400);
    {
        let db = Embedded::open_with_cipher(&path, test_cipher()).unwrap();
        db.stores().signals.put_signal(&old, day).await.unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    // Back to schema 5: undo steps 7 (the schedule index) and 6.
    conn.execute_batch(
        "DROP INDEX instances_by_schedule; ALTER TABLE instances DROP COLUMN next_poll_at_ms;
         DROP TABLE schedule_sweeps; DROP TABLE signal_references; PRAGMA user_version = 5;",
    )
    .unwrap();
    drop(conn);
    let stores = Embedded::open_with_cipher(&path, test_cipher()).unwrap().stores();
    let by = |key: &str| SignalQuery { related: Some(key.to_owned()), ..SignalQuery::default() };
    for key in ["K-0", "K-19"] {
        let page = stores.signals.list_signals("p1", &by(key)).await.unwrap();
        assert_eq!(page.signals, [old.clone()], "{key}");
    }
    assert!(stores.signals.list_signals("p1", &by("K-20")).await.unwrap().signals.is_empty());
    assert!(stores.signals.list_signals("p2", &by("K-0")).await.unwrap().signals.is_empty());
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 999).unwrap();
    let err = Embedded::open_with_cipher(&path, test_cipher()).err().unwrap();
    assert!(err.to_string().contains("newer than this build"), "{err}");
}

#[tokio::test]
async fn the_ingest_queue_dead_letters_after_five_receives_like_aws() {
    use std::time::Duration;
    use switchboard_core::ports::{QueueMessage, QueueReceiver, QueueSender, ReceiveOptions};
    let sqlite = Sqlite::new();
    let ingest = sqlite.db.ingest_queue();
    ingest.send_entries(&[QueueMessage::new("envelope")]).await.unwrap();
    let now = ReceiveOptions { visibility_timeout: Duration::ZERO, ..ReceiveOptions::default() };
    for _ in 0..5 {
        assert_eq!(ingest.receive(now).await.unwrap().len(), 1);
    }
    assert!(ingest.receive(now).await.unwrap().is_empty());
    let dead = sqlite.db.dead_letter_queue("ingest").receive(now).await.unwrap();
    assert_eq!(dead[0].message.body, "envelope");
}
