//! Recent signals on the `signals` table: one row per project and signal id (a second put
//! replaces it), listed newest first by [`SignalSortKey`]. Expired rows are hidden at once and
//! deleted now and then by a put ([`crate::db::Sweep`]).
//!
//! `signal_references` indexes them by reference: one row per project, reference and signal
//! ([`indexed_references`]), keyed `(project_id, reference, sort_key)`, written in the same
//! transaction as the signal (a put first drops the signal's previous rows) and expiring with it.
//! A listing with `related` walks that key newest first and joins each row to its signal, so it
//! reads only the reference's own signals, however many others the project has.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, params};
use switchboard_core::ports::{SignalPage, SignalQuery, SignalSortKey, SignalStore, StoreError, indexed_references};
use switchboard_core::signal::NormalisedSignal;

use crate::SqliteStore;
use crate::db::{DbResult, millis, now_ms};

#[async_trait]
impl SignalStore for SqliteStore {
    async fn put_signal(&self, signal: &NormalisedSignal, ttl: Duration) -> Result<(), StoreError> {
        let recent = RecentSignal::of(signal, ttl)?;
        let purge = self.signal_sweep.due();
        self.db.write("storing a signal", move |conn| recent.store(conn, purge)).await
    }

    async fn list_signals(&self, project_id: &str, query: &SignalQuery) -> Result<SignalPage, StoreError> {
        let after = query.after()?.map(|key| key.as_str().to_owned());
        let since = query.since_key();
        let page_size = query.page_size();
        let (project_id, signal_type, related) =
            (project_id.to_owned(), query.signal_type.clone(), query.related.clone());
        let (source, priority) = (query.source.clone(), query.priority.map(|p| p.as_str()));
        let now = now_ms();
        let rows = self
            .db
            .read("listing signals", move |conn| {
                let mut stmt = conn.prepare_cached(if related.is_some() { BY_REFERENCE } else { ALL })?;
                // One row more than the page tells whether another page follows.
                let rows = stmt
                    .query_map(
                        params![project_id, now, since, after, signal_type, related, page_size + 1, source, priority],
                        |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
                    )?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        page(rows, page_size)
    }
}

/// A signal as its recent-signals rows: prepared before the write, stored inside it (by
/// [`SignalStore::put_signal`], or with the signal's send by the signals queue's
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
const DROP_REFERENCES_OF_SIGNAL: &str = "DELETE FROM signal_references INDEXED BY signal_references_by_signal
     WHERE project_id = ?1 AND signal_id = ?2";

/// A project's signals, newest first (`?6`, the reference, is not read: SQLite numbers
/// parameters up to the largest, so both statements take one parameter list).
const ALL: &str = "SELECT sort_key, body FROM signals
     WHERE project_id = ?1 AND expires_at_ms > ?2
       AND (?3 IS NULL OR sort_key >= ?3)
       AND (?4 IS NULL OR sort_key < ?4)
       AND (?5 IS NULL OR signal_type = ?5)
       AND (?8 IS NULL OR json_extract(signals.body, '$.source') = ?8)
       AND (?9 IS NULL OR json_extract(signals.body, '$.priority') = ?9)
     ORDER BY sort_key DESC LIMIT ?7";

/// The signals of one reference (`?6`), newest first, through the `signal_references` key.
const BY_REFERENCE: &str = "SELECT r.sort_key, s.body FROM signal_references AS r
     JOIN signals AS s ON s.project_id = r.project_id AND s.id = r.signal_id
     WHERE r.project_id = ?1 AND r.reference = ?6 AND r.expires_at_ms > ?2
       AND (?3 IS NULL OR r.sort_key >= ?3)
       AND (?4 IS NULL OR r.sort_key < ?4)
       AND (?5 IS NULL OR s.signal_type = ?5)
       AND (?8 IS NULL OR json_extract(s.body, '$.source') = ?8)
       AND (?9 IS NULL OR json_extract(s.body, '$.priority') = ?9)
     ORDER BY r.sort_key DESC LIMIT ?7";

/// The first `page_size` rows as signals, and a token if more rows were found.
fn page(mut rows: Vec<(String, String)>, page_size: usize) -> Result<SignalPage, StoreError> {
    let more = rows.len() > page_size;
    rows.truncate(page_size);
    let next_token = match rows.last() {
        Some((sort_key, _)) if more => Some(SignalSortKey::from_stored(sort_key.clone()).to_token()),
        _ => None,
    };
    let signals = rows
        .iter()
        .map(|(_, body)| {
            serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("stored signal is unreadable: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(SignalPage { signals, next_token })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::Connection;

    use super::*;
    use crate::Embedded;

    /// What SQLite's planner does with `sql` (one line per step of `EXPLAIN QUERY PLAN`).
    fn plan(conn: &Connection, sql: &str, parameters: usize) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let values = vec!["x"; parameters];
        stmt.query_map(rusqlite::params_from_iter(values), |row| row.get(3)).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn a_put_finds_the_old_references_of_its_own_signal_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.db");
        drop(Embedded::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();

        let steps = plan(&conn, DROP_REFERENCES_OF_SIGNAL, 2);

        // Searching by project alone would read every reference of the project on every put.
        assert_eq!(
            steps,
            ["SEARCH signal_references USING INDEX signal_references_by_signal (project_id=? AND signal_id=?)"]
        );
    }
}
