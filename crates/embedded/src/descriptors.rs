//! Descriptor registry on the `descriptors` table.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use switchboard_core::model::ConnectorDescriptor;
use switchboard_core::ports::{DescriptorRecord, DescriptorRegistry, StoreError, store_now};

use crate::SqliteStore;
use crate::db::Cached;
use crate::db::{DbResult, parse_ts, ts};

const COLUMNS: &str = "descriptor, built_in, created_at, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<(String, bool, String, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn to_record(
    (json, built_in, created, updated): (String, bool, String, String),
) -> Result<DescriptorRecord, StoreError> {
    let descriptor = serde_json::from_str(&json)
        .map_err(|err| StoreError::Corrupt(format!("stored connector descriptor does not parse: {err}")))?;
    Ok(DescriptorRecord { descriptor, built_in, created_at: parse_ts(&created)?, updated_at: parse_ts(&updated)? })
}

fn to_json(descriptor: &ConnectorDescriptor) -> Result<String, StoreError> {
    serde_json::to_string(descriptor)
        .map_err(|err| StoreError::Invalid(format!("descriptor does not serialise: {err}")))
}

fn select(conn: &Connection, connector_id: &str) -> DbResult<Option<DescriptorRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM descriptors WHERE connector_id = ?1");
    let row = conn.row(&sql, [connector_id], from_row).optional()?;
    Ok(row.map(to_record).transpose()?)
}

#[async_trait]
impl DescriptorRegistry for SqliteStore {
    async fn list_descriptors(&self) -> Result<Vec<DescriptorRecord>, StoreError> {
        self.db
            .read("listing connector descriptors", |conn| {
                let sql = format!("SELECT {COLUMNS} FROM descriptors ORDER BY connector_id");
                let mut stmt = conn.prepare_cached(&sql)?;
                let rows = stmt.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
                Ok(rows.into_iter().map(to_record).collect::<Result<_, _>>()?)
            })
            .await
    }

    async fn get_descriptor(&self, connector_id: &str) -> Result<Option<DescriptorRecord>, StoreError> {
        let id = connector_id.to_owned();
        self.db.lookup("reading a connector descriptor", move |conn| select(conn, &id)).await
    }

    async fn register_descriptor(
        &self,
        descriptor: &ConnectorDescriptor,
        built_in: bool,
    ) -> Result<DescriptorRecord, StoreError> {
        let json = to_json(descriptor)?;
        let now = store_now();
        let record = DescriptorRecord { descriptor: descriptor.clone(), built_in, created_at: now, updated_at: now };
        let now = ts(now);
        let id = descriptor.id.clone();
        self.db
            .write("registering a connector descriptor", move |conn| {
                let inserted = conn.exec(
                    "INSERT INTO descriptors (connector_id, descriptor, built_in, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (connector_id) DO NOTHING",
                    params![id, json, built_in, now],
                )?;
                if inserted == 0 {
                    return Err(StoreError::descriptor_exists(&id).into());
                }
                Ok(())
            })
            .await?;
        Ok(record)
    }

    async fn update_descriptor(&self, descriptor: &ConnectorDescriptor) -> Result<DescriptorRecord, StoreError> {
        let json = to_json(descriptor)?;
        let id = descriptor.id.clone();
        let now = ts(store_now());
        self.db
            .write("updating a connector descriptor", move |conn| {
                let updated = conn.exec(
                    "UPDATE descriptors SET descriptor = ?2, updated_at = ?3 WHERE connector_id = ?1",
                    params![id, json, now],
                )?;
                if updated == 0 {
                    return Err(StoreError::descriptor_not_found(&id).into());
                }
                select(conn, &id)?.ok_or_else(|| StoreError::descriptor_not_found(&id).into())
            })
            .await
    }

    async fn upsert_built_in(&self, descriptor: &ConnectorDescriptor) -> Result<DescriptorRecord, StoreError> {
        let json = to_json(descriptor)?;
        let id = descriptor.id.clone();
        let now = ts(store_now());
        self.db
            .write("writing a built-in connector descriptor", move |conn| {
                conn.exec(
                    "INSERT INTO descriptors (connector_id, descriptor, built_in, created_at, updated_at)
                     VALUES (?1, ?2, 1, ?3, ?3)
                     ON CONFLICT (connector_id) DO UPDATE
                     SET descriptor = excluded.descriptor, built_in = 1, updated_at = excluded.updated_at",
                    params![id, json, now],
                )?;
                select(conn, &id)?.ok_or_else(|| StoreError::descriptor_not_found(&id).into())
            })
            .await
    }

    async fn delete_descriptor(&self, connector_id: &str) -> Result<(), StoreError> {
        let id = connector_id.to_owned();
        self.db
            .write("deleting a connector descriptor", move |conn| {
                let deleted = conn.exec("DELETE FROM descriptors WHERE connector_id = ?1 AND built_in = 0", [&id])?;
                if deleted == 1 {
                    return Ok(());
                }
                let built_in: Option<bool> = conn
                    .query_row("SELECT built_in FROM descriptors WHERE connector_id = ?1", [&id], |row| row.get(0))
                    .optional()?;
                Err(match built_in {
                    Some(_) => StoreError::BuiltInProtected { connector_id: id },
                    None => StoreError::descriptor_not_found(&id),
                }
                .into())
            })
            .await
    }
}
