//! An isolated world per test: a temporary SQLite database, descriptors and instances in it,
//! and the applications assembled over it exactly as the Lambda binaries assemble them on AWS.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use switchboard_app::{App, Settings};
use switchboard_core::Descriptor;
use switchboard_core::envelope::Envelope;
use switchboard_core::ports::{Credentials, InstanceKey, NewInstance, QueueReceiver as _, ReceiveOptions};
use switchboard_embedded::{Embedded, EmbeddedQueue};
use tempfile::TempDir;

/// One isolated deployment on SQLite.
pub struct World {
    _dir: TempDir,
    /// The database and its queues.
    pub db: Embedded,
    /// The applications over it.
    pub app: App,
}

impl World {
    /// An empty world with `settings`.
    pub fn new(settings: Settings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Embedded::open(&dir.path().join("switchboard.db")).unwrap();
        let app = App::assemble(db.stores(), settings);
        Self { _dir: dir, db, app }
    }

    /// Registers the descriptor documents `descriptors`.
    pub async fn register(&self, descriptors: &[Value]) {
        for doc in descriptors {
            let descriptor = Descriptor::from_value(doc, "test").unwrap();
            self.app.stores().descriptors.register_descriptor(descriptor.model(), true).await.unwrap();
        }
    }

    /// Adds an enabled instance.
    pub async fn add_instance(
        &self,
        connector: &str,
        project: &str,
        config: &[(&str, &str)],
        credentials: &[(&str, &str)],
    ) {
        let config: BTreeMap<String, String> = config.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let new = NewInstance { key: InstanceKey::new(project, connector), config, enabled: true };
        let credentials: Credentials = credentials.iter().copied().collect();
        self.app.stores().create_instance(&new, &credentials).await.unwrap();
    }

    /// Every envelope on the ingest queue (received and acked).
    pub async fn ingested(&self) -> Vec<Envelope> {
        drain(&self.db.ingest_queue()).await.iter().map(|body| Envelope::from_json(body).unwrap()).collect()
    }

    /// Every message body on the signals queue (received and acked).
    pub async fn signals(&self) -> Vec<Value> {
        drain(&self.db.signals_queue()).await.iter().map(|body| serde_json::from_str(body).unwrap()).collect()
    }
}

async fn drain(queue: &EmbeddedQueue) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let received = queue.receive(ReceiveOptions::default()).await.unwrap();
        if received.is_empty() {
            return bodies;
        }
        for message in received {
            bodies.push(message.message.body.clone());
            queue.ack(&message.receipt).await.unwrap();
        }
    }
}

/// A file of the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

/// A file of the repository as text.
pub fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// A built-in descriptor document.
pub fn descriptor(id: &str) -> Value {
    serde_json::from_str(&read(&format!("descriptors/{id}.json"))).unwrap()
}

/// The `.json` files of an `events/` folder, sorted.
pub fn event_files(function: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo_path(&format!("events/{function}")))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    files
}
