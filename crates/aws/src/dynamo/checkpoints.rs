//! Checkpoints: `PK=PROJECT#{p}, SK=CHECKPOINT#{c}`, advanced with a version condition.

use async_trait::async_trait;
use switchboard_core::ports::{Checkpoint, CheckpointStore, InstanceKey, StoreError, stale_checkpoint, store_now};

use super::DynamoStore;
use crate::error::backend;
use crate::item::{get_n, get_s, get_ts, n, s, ts};
use crate::keys::{PK, SK, checkpoint_sk, project};

#[async_trait]
impl CheckpointStore for DynamoStore {
    async fn read_checkpoint(&self, key: &InstanceKey) -> Result<Option<Checkpoint>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(project(&key.project_id)))
            .key(SK, s(checkpoint_sk(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("reading a checkpoint", e))?;
        let Some(item) = out.item else { return Ok(None) };
        Ok(Some(Checkpoint {
            value: get_s(&item, "value")?,
            version: get_n(&item, "version")?,
            updated_at: get_ts(&item, "updatedAt")?,
        }))
    }

    async fn advance_checkpoint(
        &self,
        key: &InstanceKey,
        expected_version: u64,
        value: &str,
    ) -> Result<Checkpoint, StoreError> {
        let now = store_now();
        let version = expected_version + 1;
        // One conditional put covers both the first write (no item yet) and later ones.
        let condition = if expected_version == 0 { "attribute_not_exists(PK)" } else { "version = :expected" };
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(project(&key.project_id)))
            .item(SK, s(checkpoint_sk(key)))
            .item("type", s("checkpoint"))
            .item("projectId", s(&key.project_id))
            .item("connectorId", s(&key.connector_id))
            .item("value", s(value))
            .item("version", n(version))
            .item("updatedAt", s(ts(now)))
            .condition_expression(condition);
        if expected_version > 0 {
            request = request.expression_attribute_values(":expected", n(expected_version));
        }
        match request.send().await {
            Ok(_) => Ok(Checkpoint { value: value.to_owned(), version, updated_at: now }),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(stale_checkpoint(key, expected_version))
            }
            Err(e) => Err(backend("advancing a checkpoint", e)),
        }
    }

    async fn delete_checkpoint(&self, key: &InstanceKey) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(project(&key.project_id)))
            .key(SK, s(checkpoint_sk(key)))
            .send()
            .await
            .map_err(|e| backend("deleting a checkpoint", e))?;
        Ok(())
    }
}
