//! SQLite adapters of Switchboard's storage ports: the local default used by `switchboard serve`.
//!
//! One database file (WAL mode, versioned migrations) holds the registry, checkpoints, leases,
//! dedup records, stats, recent signals, rate limit counters, OAuth states, the durable queues
//! and the instances' secrets, which are encrypted with AES-256-GCM (see [`SecretCipher`]).
//! Open it with [`Embedded::open`], then take the ports with [`Embedded::stores`] and queues
//! with [`Embedded::queue`].

mod checkpointer;
mod checkpoints;
mod crypto;
mod db;
mod dedup;
mod dedup_record;
mod descriptors;
mod error;
mod instances;
mod leases;
mod migrations;
mod oauth_state;
mod queue;
mod rate_limit;
mod recent_signal;
mod secrets;
mod signals;
mod stats;
mod writer;

use std::path::Path;
use std::sync::Arc;

use switchboard_core::ports::{DEFAULT_MAX_RECEIVES, INGEST_QUEUE, SIGNALS_QUEUE, Stores};

pub use crypto::{KeyError, SECRET_KEY_ENV, SecretCipher};
pub use error::OpenError;
pub use migrations::SCHEMA_VERSION;
pub use queue::{DeadLetter, EmbeddedQueue};
pub use writer::WriterStats;

use db::{Db, Sweep};

/// An open embedded database. Cheap to clone; every clone shares the writer and the readers.
#[derive(Clone)]
pub struct Embedded {
    store: Arc<SqliteStore>,
}

/// Implements every storage port on the shared connections.
pub(crate) struct SqliteStore {
    db: Db,
    cipher: SecretCipher,
    dedup_sweep: Sweep,
    rate_limit_sweep: Sweep,
    signal_sweep: Sweep,
}

impl Embedded {
    /// Opens `path` with the key from `SWITCHBOARD_SECRET_KEY`, or from the key file next to the
    /// database (`path` with extension `.key`, created 0600 on first use).
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let cipher = SecretCipher::from_env_or_file(&path.with_extension("key"))?;
        Self::open_with_cipher(path, cipher)
    }

    /// Opens `path` with an explicit cipher.
    pub fn open_with_cipher(path: &Path, cipher: SecretCipher) -> Result<Self, OpenError> {
        let db = Db::open(path, &cipher)?;
        let store = SqliteStore {
            db,
            cipher,
            dedup_sweep: Sweep::default(),
            rate_limit_sweep: Sweep::default(),
            signal_sweep: Sweep::default(),
        };
        Ok(Self { store: Arc::new(store) })
    }

    /// Every storage port, backed by this database.
    pub fn stores(&self) -> Stores {
        Stores {
            descriptors: self.store.clone(),
            instances: self.store.clone(),
            checkpoints: self.store.clone(),
            leases: self.store.clone(),
            secrets: self.store.clone(),
            dedup: self.store.clone(),
            stats: self.store.clone(),
            signals: self.store.clone(),
            rate_limits: self.store.clone(),
            oauth_states: self.store.clone(),
        }
    }

    /// How many writes the writer has committed, in how many transactions (group commit).
    pub fn writer_stats(&self) -> WriterStats {
        self.store.db.writer_stats()
    }

    /// The ingest queue, whose messages move to `ingest-dlq` after
    /// [`DEFAULT_MAX_RECEIVES`] receives (as on AWS).
    pub fn ingest_queue(&self) -> EmbeddedQueue {
        self.queue_with_dlq(INGEST_QUEUE)
    }

    /// The signals queue, with `signals-dlq` like [`Self::ingest_queue`].
    pub fn signals_queue(&self) -> EmbeddedQueue {
        self.queue_with_dlq(SIGNALS_QUEUE)
    }

    /// A queue's dead-letter queue (`{name}-dlq`), to inspect or replay what failed.
    pub fn dead_letter_queue(&self, name: &str) -> EmbeddedQueue {
        self.queue(&format!("{name}-dlq"), None)
    }

    fn queue_with_dlq(&self, name: &str) -> EmbeddedQueue {
        let dead_letter = DeadLetter { queue: format!("{name}-dlq"), max_receives: DEFAULT_MAX_RECEIVES };
        self.queue(name, Some(dead_letter))
    }

    /// The durable queue called `name`; with `dead_letter`, a message received more than
    /// `max_receives` times moves to that queue instead of being delivered again.
    pub fn queue(&self, name: &str, dead_letter: Option<DeadLetter>) -> EmbeddedQueue {
        EmbeddedQueue::new(self.store.db.clone(), name, dead_letter)
    }
}
