//! Dedup records: `PK=DEDUP#{id}, SK=DEDUP`, inserted with a conditional put; a record past its
//! expiry counts as absent even before DynamoDB's TTL has removed it. `confirm` overwrites it
//! with a new expiry; `forget` deletes it.

use std::time::Duration;

use async_trait::async_trait;
use switchboard_core::ports::{DedupOutcome, DedupStore, StoreError, store_now};

use super::DynamoStore;
use crate::error::backend;
use crate::item::{n, s, ttl_epoch_seconds};
use crate::keys::{DEDUP_SK, PK, SK, TTL_ATTRIBUTE, dedup_pk};

#[async_trait]
impl DedupStore for DynamoStore {
    async fn insert_if_absent(&self, id: &str, ttl: Duration) -> Result<DedupOutcome, StoreError> {
        let now_ms = store_now().timestamp_millis();
        let expires_ms = now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(dedup_pk(id)))
            .item(SK, s(DEDUP_SK))
            .item("type", s("dedup"))
            .item("expiresAtMs", n(expires_ms))
            .item(TTL_ATTRIBUTE, n(ttl_epoch_seconds(expires_ms)))
            .condition_expression("attribute_not_exists(PK) OR expiresAtMs <= :now")
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match result {
            Ok(_) => Ok(DedupOutcome::Inserted),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(DedupOutcome::Duplicate)
            }
            Err(e) => Err(backend("recording a dedup key", e)),
        }
    }

    async fn confirm(&self, id: &str, ttl: Duration) -> Result<(), StoreError> {
        let expires_ms =
            store_now().timestamp_millis().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(dedup_pk(id)))
            .item(SK, s(DEDUP_SK))
            .item("type", s("dedup"))
            .item("expiresAtMs", n(expires_ms))
            .item(TTL_ATTRIBUTE, n(ttl_epoch_seconds(expires_ms)))
            .send()
            .await
            .map_err(|e| backend("confirming a dedup key", e))?;
        Ok(())
    }

    async fn forget(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(dedup_pk(id)))
            .key(SK, s(DEDUP_SK))
            .send()
            .await
            .map_err(|e| backend("forgetting a dedup key", e))?;
        Ok(())
    }
}
