//! Leases on the `leases` table: each operation is one conditional statement, so two callers
//! racing for a lease cannot both win.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;
use switchboard_core::ports::{InstanceKey, Lease, LeaseStore, StoreError, lease_expiry, lease_lost, store_now};

use crate::SqliteStore;
use crate::db::Cached;

fn expiry(ttl: Duration) -> Result<(DateTime<Utc>, i64, i64), StoreError> {
    let now = store_now();
    let expires_at = lease_expiry(now, ttl)?;
    Ok((expires_at, now.timestamp_millis(), expires_at.timestamp_millis()))
}

#[async_trait]
impl LeaseStore for SqliteStore {
    async fn acquire_lease(&self, key: &InstanceKey, holder: &str, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        let (expires_at, now_ms, expires_ms) = expiry(ttl)?;
        let key = key.clone();
        let holder = holder.to_owned();
        self.db
            .write("acquiring a lease", move |conn| {
                let taken = conn.exec(
                    "INSERT INTO leases (project_id, connector_id, holder, expires_at_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (project_id, connector_id) DO UPDATE
                     SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms
                     WHERE leases.expires_at_ms <= ?5 OR leases.holder = excluded.holder",
                    params![key.project_id, key.connector_id, holder, expires_ms, now_ms],
                )?;
                Ok((taken == 1).then_some(Lease { holder, expires_at }))
            })
            .await
    }

    async fn renew_lease(&self, key: &InstanceKey, holder: &str, ttl: Duration) -> Result<Lease, StoreError> {
        let (expires_at, now_ms, expires_ms) = expiry(ttl)?;
        let key = key.clone();
        let holder = holder.to_owned();
        self.db
            .write("renewing a lease", move |conn| {
                let renewed = conn.exec(
                    "UPDATE leases SET expires_at_ms = ?4
                     WHERE project_id = ?1 AND connector_id = ?2 AND holder = ?3 AND expires_at_ms > ?5",
                    params![key.project_id, key.connector_id, holder, expires_ms, now_ms],
                )?;
                if renewed == 0 {
                    return Err(lease_lost(&key, &holder).into());
                }
                Ok(Lease { holder, expires_at })
            })
            .await
    }

    async fn release_lease(&self, key: &InstanceKey, holder: &str) -> Result<(), StoreError> {
        let key = key.clone();
        let holder = holder.to_owned();
        self.db
            .write("releasing a lease", move |conn| {
                conn.exec(
                    "DELETE FROM leases WHERE project_id = ?1 AND connector_id = ?2 AND holder = ?3",
                    params![key.project_id, key.connector_id, holder],
                )?;
                Ok(())
            })
            .await
    }
}
