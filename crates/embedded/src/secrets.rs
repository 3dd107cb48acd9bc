//! Secrets on the `secrets` table, encrypted with AES-256-GCM; the previous version is kept
//! beside the current one for rotation.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use secrecy::ExposeSecret;
use switchboard_core::ports::{CredentialVersions, Credentials, InstanceKey, SecretStore, StoreError, store_now};

use crate::SqliteStore;
use crate::db::ts;

/// The reference recorded on the instance row.
fn secret_ref(key: &InstanceKey) -> String {
    format!("sqlite:secrets/{}/{}", key.project_id, key.connector_id)
}

#[async_trait]
impl SecretStore for SqliteStore {
    async fn get_credentials(&self, key: &InstanceKey) -> Result<Option<CredentialVersions>, StoreError> {
        let lookup = key.clone();
        let row = self
            .db
            .call("reading a secret", move |conn| {
                Ok(conn
                    .query_row(
                        "SELECT current, previous FROM secrets WHERE project_id = ?1 AND connector_id = ?2",
                        [&lookup.project_id, &lookup.connector_id],
                        |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Option<Vec<u8>>>(1)?)),
                    )
                    .optional()?)
            })
            .await?;
        let Some((current, previous)) = row else { return Ok(None) };
        let open = |sealed: &[u8]| -> Result<Credentials, StoreError> {
            Credentials::from_json(self.cipher.decrypt(key, sealed)?.expose_secret())
        };
        Ok(Some(CredentialVersions { current: open(&current)?, previous: previous.as_deref().map(open).transpose()? }))
    }

    async fn put_credentials(&self, key: &InstanceKey, credentials: &Credentials) -> Result<String, StoreError> {
        let sealed = self.cipher.encrypt(key, &credentials.to_json())?;
        let row_key = key.clone();
        self.db
            .call("storing a secret", move |conn| {
                conn.execute(
                    "INSERT INTO secrets (project_id, connector_id, current, previous, updated_at)
                     VALUES (?1, ?2, ?3, NULL, ?4)
                     ON CONFLICT (project_id, connector_id) DO UPDATE
                     SET previous = secrets.current, current = excluded.current, updated_at = excluded.updated_at",
                    params![row_key.project_id, row_key.connector_id, sealed, ts(store_now())],
                )?;
                Ok(())
            })
            .await?;
        Ok(secret_ref(key))
    }

    async fn delete_credentials(&self, key: &InstanceKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.db
            .call("deleting a secret", move |conn| {
                conn.execute(
                    "DELETE FROM secrets WHERE project_id = ?1 AND connector_id = ?2",
                    [&key.project_id, &key.connector_id],
                )?;
                Ok(())
            })
            .await
    }
}
