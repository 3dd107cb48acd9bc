//! The dedup record write shared by the dedup store and the queue's atomic send.

use rusqlite::params;
use switchboard_core::ports::DedupOutcome;

use crate::db::{Cached, DbResult};

/// Records `id` until `expires` (epoch ms) unless an unexpired record of it exists at `now`;
/// with `purge`, deletes the expired records first. Shared by
/// [`DedupStore::insert_if_absent`](switchboard_core::ports::DedupStore::insert_if_absent)
/// and the queue's atomic sends (`SendOnce` and `SendSignalOnce` on
/// [`crate::queue::EmbeddedQueue`]).
pub(crate) fn record_if_absent(
    conn: &rusqlite::Connection,
    id: &str,
    expires: i64,
    now: i64,
    purge: bool,
) -> DbResult<DedupOutcome> {
    if purge {
        conn.exec("DELETE FROM dedup WHERE expires_at_ms <= ?1", [now])?;
    }
    let inserted = conn.exec(
        "INSERT INTO dedup (id, expires_at_ms) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET expires_at_ms = excluded.expires_at_ms
         WHERE dedup.expires_at_ms <= ?3",
        params![id, expires, now],
    )?;
    Ok(if inserted == 1 { DedupOutcome::Inserted } else { DedupOutcome::Duplicate })
}
