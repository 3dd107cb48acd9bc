//! Dedup records on the `dedup` table; expired rows count as absent and are purged now and then.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::params;
use switchboard_core::ports::{DedupOutcome, DedupStore, StoreError};

use crate::SqliteStore;
use crate::db::Cached;
use crate::db::{millis, now_ms};
use crate::dedup_record::record_if_absent;

#[async_trait]
impl DedupStore for SqliteStore {
    async fn insert_if_absent(&self, id: &str, ttl: Duration) -> Result<DedupOutcome, StoreError> {
        let id = id.to_owned();
        let now = now_ms();
        let expires = now.saturating_add(millis(ttl));
        let purge = self.dedup_sweep.due();
        self.db.write("recording a dedup key", move |conn| record_if_absent(conn, &id, expires, now, purge)).await
    }

    async fn confirm(&self, id: &str, ttl: Duration) -> Result<(), StoreError> {
        let id = id.to_owned();
        let expires = now_ms().saturating_add(millis(ttl));
        self.db
            .write("confirming a dedup key", move |conn| {
                conn.exec(
                    "INSERT INTO dedup (id, expires_at_ms) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET expires_at_ms = excluded.expires_at_ms",
                    params![id, expires],
                )?;
                Ok(())
            })
            .await
    }

    async fn forget(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.db
            .write("forgetting a dedup key", move |conn| {
                conn.exec("DELETE FROM dedup WHERE id = ?1", [id])?;
                Ok(())
            })
            .await
    }
}
