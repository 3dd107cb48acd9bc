//! Checkpoints on the `checkpoints` table, advanced only from the version the caller read.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use switchboard_core::ports::{Checkpoint, CheckpointStore, InstanceKey, StoreError, stale_checkpoint, store_now};

use crate::SqliteStore;
use crate::db::Cached;
use crate::db::{parse_ts, ts};

#[async_trait]
impl CheckpointStore for SqliteStore {
    async fn read_checkpoint(&self, key: &InstanceKey) -> Result<Option<Checkpoint>, StoreError> {
        let key = key.clone();
        self.db
            .lookup("reading a checkpoint", move |conn| {
                let row = conn
                    .query_row(
                        "SELECT value, version, updated_at FROM checkpoints WHERE project_id = ?1 AND connector_id = ?2",
                        [&key.project_id, &key.connector_id],
                        |row| Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?, row.get::<_, String>(2)?)),
                    )
                    .optional()?;
                let Some((value, version, updated_at)) = row else { return Ok(None) };
                Ok(Some(Checkpoint { value, version, updated_at: parse_ts(&updated_at)? }))
            })
            .await
    }

    async fn advance_checkpoint(
        &self,
        key: &InstanceKey,
        expected_version: u64,
        value: &str,
    ) -> Result<Checkpoint, StoreError> {
        let key = key.clone();
        let value = value.to_owned();
        let now = store_now();
        self.db
            .write("advancing a checkpoint", move |conn| {
                let changed = if expected_version == 0 {
                    conn.exec(
                        "INSERT INTO checkpoints (project_id, connector_id, value, version, updated_at)
                         VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (project_id, connector_id) DO NOTHING",
                        params![key.project_id, key.connector_id, value, ts(now)],
                    )?
                } else {
                    conn.exec(
                        "UPDATE checkpoints SET value = ?3, version = version + 1, updated_at = ?4
                         WHERE project_id = ?1 AND connector_id = ?2 AND version = ?5",
                        params![key.project_id, key.connector_id, value, ts(now), expected_version],
                    )?
                };
                if changed == 0 {
                    return Err(stale_checkpoint(&key, expected_version).into());
                }
                Ok(Checkpoint { value, version: expected_version + 1, updated_at: now })
            })
            .await
    }

    async fn delete_checkpoint(&self, key: &InstanceKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.db
            .write("deleting a checkpoint", move |conn| {
                conn.exec(
                    "DELETE FROM checkpoints WHERE project_id = ?1 AND connector_id = ?2",
                    [&key.project_id, &key.connector_id],
                )?;
                Ok(())
            })
            .await
    }
}
