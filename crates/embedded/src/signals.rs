//! Recent signals on the `signals` table: one row per project and signal id (a second put
//! replaces it), listed newest first by [`SignalSortKey`]. Expired rows are hidden at once and
//! deleted now and then by a put ([`crate::db::Sweep`]).
//!
//! `signal_references` indexes them by reference: one row per project, reference and signal
//! ([`indexed_references`](switchboard_core::ports::indexed_references)), keyed
//! `(project_id, reference, sort_key)`, written in the same transaction as the signal (a put
//! first drops the signal's previous rows; see [`crate::recent_signal`]) and expiring with it.
//! A listing with `related` walks that key newest first and joins each row to its signal, so it
//! reads only the reference's own signals, however many others the project has.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::params;
use switchboard_core::ports::{SignalPage, SignalQuery, SignalSortKey, SignalStore, StoreError};
use switchboard_core::signal::NormalisedSignal;

use crate::SqliteStore;
use crate::db::now_ms;
use crate::recent_signal::RecentSignal;

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

    use crate::Embedded;
    use crate::recent_signal::{DROP_REFERENCE, STORED_VERSION};

    /// What SQLite's planner does with `sql` (one line per step of `EXPLAIN QUERY PLAN`).
    fn plan(conn: &Connection, sql: &str, parameters: usize) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let values = vec!["x"; parameters];
        stmt.query_map(rusqlite::params_from_iter(values), |row| row.get(3)).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn a_put_finds_its_signal_and_drops_its_old_references_by_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.db");
        drop(Embedded::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();

        // Searching by project alone would read every signal or reference of the project on
        // every put.
        assert_eq!(
            plan(&conn, STORED_VERSION, 2),
            ["SEARCH signals USING INDEX sqlite_autoindex_signals_1 (project_id=? AND id=?)"]
        );
        assert_eq!(
            plan(&conn, DROP_REFERENCE, 4),
            ["SEARCH signal_references USING PRIMARY KEY (project_id=? AND reference=? AND sort_key=?)"]
        );
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'signal_references'")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(indexes, ["signal_references_by_expiry"], "no index by signal to write on every put");
    }
}
