//! A signal as the rows of the recent-signals store: its row in `signals` and one row per
//! indexed reference in `signal_references` (see [`crate::signals`]). Prepared before a write and
//! stored inside it, by the signal store's put and by the signals queue's atomic send.

use std::time::Duration;

use rusqlite::{Connection, params};
use switchboard_core::ports::{SignalSortKey, StoreError, indexed_references};
use switchboard_core::signal::NormalisedSignal;

use crate::db::{DbResult, millis, now_ms};

/// A signal as its recent-signals rows: prepared before the write, stored inside it (by
/// `SignalStore::put_signal`, or with the signal's send by the signals queue's
/// `SendSignalOnce`).
pub(crate) struct RecentSignal {
    project_id: String,
    id: String,
    sort_key: SignalSortKey,
    signal_type: String,
    body: String,
    references: Vec<String>,
    expires_at_ms: i64,
}

impl RecentSignal {
    /// `signal`'s rows, expiring `ttl` from now.
    pub(crate) fn of(signal: &NormalisedSignal, ttl: Duration) -> Result<Self, StoreError> {
        let sort_key = SignalSortKey::of(signal)?;
        let body = serde_json::to_string(signal)
            .map_err(|e| StoreError::Invalid(format!("signal `{}` cannot be serialised: {e}", signal.id)))?;
        Ok(Self {
            project_id: signal.project_id.clone(),
            id: signal.id.clone(),
            sort_key,
            signal_type: signal.signal_type.clone(),
            body,
            references: indexed_references(signal).into_iter().map(str::to_owned).collect(),
            expires_at_ms: now_ms().saturating_add(millis(ttl)),
        })
    }

    /// The signal's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Stores the signal (replacing an earlier put of the same id) and its reference rows;
    /// `purge` first deletes the expired signals and references.
    pub(crate) fn store(&self, conn: &Connection, purge: bool) -> DbResult<()> {
        if purge {
            let now = now_ms();
            conn.prepare_cached("DELETE FROM signals WHERE expires_at_ms <= ?1")?.execute([now])?;
            conn.prepare_cached("DELETE FROM signal_references WHERE expires_at_ms <= ?1")?.execute([now])?;
        }
        let Self { project_id, id, sort_key, signal_type, body, references, expires_at_ms } = self;
        conn.prepare_cached(
            "INSERT INTO signals (project_id, id, sort_key, signal_type, body, expires_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (project_id, id) DO UPDATE SET sort_key = excluded.sort_key,
                 signal_type = excluded.signal_type, body = excluded.body,
                 expires_at_ms = excluded.expires_at_ms",
        )?
        .execute(params![project_id, id, sort_key.as_str(), signal_type, body, expires_at_ms])?;
        conn.prepare_cached(DROP_REFERENCES_OF_SIGNAL)?.execute(params![project_id, id])?;
        let mut insert = conn.prepare_cached(
            "INSERT INTO signal_references (project_id, reference, sort_key, signal_id, expires_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for reference in references {
            insert.execute(params![project_id, reference, sort_key.as_str(), id, expires_at_ms])?;
        }
        Ok(())
    }
}

/// Drops one signal's reference rows before a put writes its current ones. `INDEXED BY`: without
/// it SQLite 3.54's planner searches the primary key by project instead (every reference of the
/// project, read on every put: the put's cost then grows with the project's recent signals).
pub(crate) const DROP_REFERENCES_OF_SIGNAL: &str =
    "DELETE FROM signal_references INDEXED BY signal_references_by_signal
     WHERE project_id = ?1 AND signal_id = ?2";
