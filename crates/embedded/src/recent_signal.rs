//! A signal as the rows of the recent-signals store: its row in `signals` and one row per
//! indexed reference in `signal_references` (see [`crate::signals`]). Prepared before a write and
//! stored inside it, by the signal store's put and by the signals queue's atomic send.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, params};
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
        drop_previous_references(conn, project_id, id)?;
        conn.prepare_cached(
            "INSERT INTO signals (project_id, id, sort_key, signal_type, body, expires_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (project_id, id) DO UPDATE SET sort_key = excluded.sort_key,
                 signal_type = excluded.signal_type, body = excluded.body,
                 expires_at_ms = excluded.expires_at_ms",
        )?
        .execute(params![project_id, id, sort_key.as_str(), signal_type, body, expires_at_ms])?;
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

/// Drops the reference rows of the signal's stored version, if there is one, before a put writes
/// its current ones. They are found from that version's own related items and sort key, by the
/// table's key: an index by signal would cost every put a write to a random page of it, for the
/// few puts that replace a signal.
fn drop_previous_references(conn: &Connection, project_id: &str, id: &str) -> DbResult<()> {
    let stored: Option<(String, String)> = conn
        .prepare_cached(STORED_VERSION)?
        .query_row(params![project_id, id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((sort_key, body)) = stored else { return Ok(()) };
    let previous: NormalisedSignal = serde_json::from_str(&body)
        .map_err(|e| StoreError::Corrupt(format!("stored signal `{id}` is unreadable: {e}")))?;
    let mut delete = conn.prepare_cached(DROP_REFERENCE)?;
    for reference in indexed_references(&previous) {
        delete.execute(params![project_id, reference, sort_key, id])?;
    }
    Ok(())
}

/// The stored version of a signal: its sort key and body.
pub(crate) const STORED_VERSION: &str = "SELECT sort_key, body FROM signals WHERE project_id = ?1 AND id = ?2";

/// One reference row of a signal, by the table's key.
pub(crate) const DROP_REFERENCE: &str = "DELETE FROM signal_references
     WHERE project_id = ?1 AND reference = ?2 AND sort_key = ?3 AND signal_id = ?4";
