//! Leases: `PK=PROJECT#{p}, SK=LEASE#{c}`, taken with a conditional put. Expiry is compared in
//! milliseconds (`leaseExpiresAtMs`); `expiresAt` lets DynamoDB's TTL sweep old leases.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::ports::{InstanceKey, Lease, LeaseStore, StoreError, lease_expiry, lease_lost, store_now};

use super::DynamoStore;
use crate::error::backend;
use crate::item::{n, s, ttl_epoch_seconds};
use crate::keys::{PK, SK, TTL_ATTRIBUTE, lease_sk, project};

fn expiry(ttl: Duration) -> Result<(DateTime<Utc>, i64, i64), StoreError> {
    let now = store_now();
    let expires_at = lease_expiry(now, ttl)?;
    Ok((expires_at, now.timestamp_millis(), expires_at.timestamp_millis()))
}

#[async_trait]
impl LeaseStore for DynamoStore {
    async fn acquire_lease(&self, key: &InstanceKey, holder: &str, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        let (expires_at, now_ms, expires_ms) = expiry(ttl)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(project(&key.project_id)))
            .item(SK, s(lease_sk(key)))
            .item("type", s("lease"))
            .item("holder", s(holder))
            .item("leaseExpiresAtMs", n(expires_ms))
            .item(TTL_ATTRIBUTE, n(ttl_epoch_seconds(expires_ms)))
            .condition_expression("attribute_not_exists(PK) OR leaseExpiresAtMs <= :now OR holder = :holder")
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(Lease { holder: holder.to_owned(), expires_at })),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(None),
            Err(e) => Err(backend("acquiring a lease", e)),
        }
    }

    async fn renew_lease(&self, key: &InstanceKey, holder: &str, ttl: Duration) -> Result<Lease, StoreError> {
        let (expires_at, now_ms, expires_ms) = expiry(ttl)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(project(&key.project_id)))
            .key(SK, s(lease_sk(key)))
            .update_expression("SET leaseExpiresAtMs = :expires, #ttl = :ttl")
            .condition_expression("holder = :holder AND leaseExpiresAtMs > :now")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":expires", n(expires_ms))
            .expression_attribute_values(":ttl", n(ttl_epoch_seconds(expires_ms)))
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Lease { holder: holder.to_owned(), expires_at }),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(lease_lost(key, holder))
            }
            Err(e) => Err(backend("renewing a lease", e)),
        }
    }

    async fn release_lease(&self, key: &InstanceKey, holder: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(project(&key.project_id)))
            .key(SK, s(lease_sk(key)))
            .condition_expression("holder = :holder")
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(backend("releasing a lease", e)),
        }
    }
}
