//! Secrets on the `secrets` table, encrypted with AES-256-GCM, each ciphertext bound to its
//! instance and its slot (see [`crate::crypto`]). The previous version is kept beside the
//! current one for rotation, with when it was replaced; `version` counts the writes and is the
//! compare-and-swap token of [`SecretStore::put_credentials_if`].

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use crate::db::Cached;
use secrecy::ExposeSecret;
use switchboard_core::ports::{
    CredentialVersion, CredentialVersions, Credentials, InstanceKey, SecretStore, StoreError, StoredCredentials,
    store_now,
};

use crate::SqliteStore;
use crate::crypto::{SecretCipher, Slot};
use crate::db::{parse_opt_ts, ts};

/// The reference recorded on the instance row.
fn secret_ref(key: &InstanceKey) -> String {
    format!("sqlite:secrets/{}/{}", key.project_id, key.connector_id)
}

/// One stored row, still encrypted.
struct Row {
    current: Vec<u8>,
    previous: Option<Vec<u8>>,
    version: i64,
    previous_replaced_at: Option<String>,
}

fn read_row(conn: &Connection, key: &InstanceKey) -> rusqlite::Result<Option<Row>> {
    conn.row(
        "SELECT current, previous, version, previous_replaced_at FROM secrets WHERE project_id = ?1 AND connector_id = ?2",
        [&key.project_id, &key.connector_id],
        |row| Ok(Row { current: row.get(0)?, previous: row.get(1)?, version: row.get(2)?, previous_replaced_at: row.get(3)? }),
    )
    .optional()
}

/// What a write requires of the stored row.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Nothing: an unconditional write.
    Anything,
    /// No row yet.
    Absent,
    /// The row at this version.
    Version(i64),
}

impl Expect {
    fn from_token(expected: Option<&CredentialVersion>) -> Result<Self, StoreError> {
        match expected {
            None => Ok(Self::Absent),
            Some(version) => version.as_str().parse().map(Self::Version).map_err(|_| {
                StoreError::Invalid(format!("`{version}` is not a version of a credential stored in SQLite"))
            }),
        }
    }

    fn holds(self, row: Option<&Row>) -> bool {
        match (self, row) {
            (Self::Anything, _) | (Self::Absent, None) => true,
            (Self::Version(expected), Some(row)) => row.version == expected,
            _ => false,
        }
    }
}

impl SqliteStore {
    /// Writes `credentials` as current if the row meets `expect`; the old current moves to the
    /// previous slot (re-encrypted for it), all in one write of the writer (nothing writes in
    /// between).
    async fn write_credentials(
        &self,
        key: &InstanceKey,
        expect: Expect,
        credentials: &Credentials,
    ) -> Result<StoredCredentials, StoreError> {
        let sealed = self.cipher.encrypt(key, Slot::Current, &credentials.to_json())?;
        let cipher = self.cipher.clone();
        let row_key = key.clone();
        let version = self
            .db
            .write("storing a secret", move |conn| {
                let row = read_row(conn, &row_key)?;
                if !expect.holds(row.as_ref()) {
                    return Err(StoreError::ConditionFailed(format!(
                        "the credentials of {row_key} were changed by another writer"
                    ))
                    .into());
                }
                let now = ts(store_now());
                let version = match row {
                    None => {
                        conn.exec(
                            "INSERT INTO secrets (project_id, connector_id, current, previous, updated_at, version, previous_replaced_at)
                             VALUES (?1, ?2, ?3, NULL, ?4, 1, NULL)",
                            params![row_key.project_id, row_key.connector_id, sealed, now],
                        )?;
                        1
                    }
                    Some(row) => {
                        let previous = reseal_as_previous(&cipher, &row_key, &row.current);
                        let replaced_at = previous.as_ref().map(|_| now.clone());
                        conn.exec(
                            "UPDATE secrets SET current = ?3, previous = ?4, previous_replaced_at = ?5,
                             version = ?6, updated_at = ?7
                             WHERE project_id = ?1 AND connector_id = ?2",
                            params![
                                row_key.project_id,
                                row_key.connector_id,
                                sealed,
                                previous,
                                replaced_at,
                                row.version + 1,
                                now
                            ],
                        )?;
                        row.version + 1
                    }
                };
                Ok(version)
            })
            .await?;
        Ok(StoredCredentials {
            secret_ref: secret_ref(key),
            version: CredentialVersion::new(version.to_string()),
            credentials: credentials.clone(),
        })
    }
}

/// The current ciphertext re-encrypted for the previous slot; `None` (with a warning) when it
/// cannot be decrypted, so a damaged secret can still be replaced.
fn reseal_as_previous(cipher: &SecretCipher, key: &InstanceKey, current: &[u8]) -> Option<Vec<u8>> {
    let resealed =
        cipher.decrypt(key, Slot::Current, current).and_then(|plain| cipher.encrypt(key, Slot::Previous, &plain));
    match resealed {
        Ok(sealed) => Some(sealed),
        Err(error) => {
            tracing::warn!(instance = %key, %error, "the replaced credentials cannot be kept as the previous version");
            None
        }
    }
}

#[async_trait]
impl SecretStore for SqliteStore {
    async fn get_credentials(&self, key: &InstanceKey) -> Result<Option<CredentialVersions>, StoreError> {
        let lookup = key.clone();
        let row = self.db.lookup("reading a secret", move |conn| Ok(read_row(conn, &lookup)?)).await?;
        let Some(row) = row else { return Ok(None) };
        let open = |slot: Slot, sealed: &[u8]| -> Result<Credentials, StoreError> {
            Credentials::from_json(self.cipher.decrypt(key, slot, sealed)?.expose_secret())
        };
        Ok(Some(CredentialVersions {
            current: open(Slot::Current, &row.current)?,
            version: CredentialVersion::new(row.version.to_string()),
            previous: row.previous.as_deref().map(|sealed| open(Slot::Previous, sealed)).transpose()?,
            previous_replaced_at: parse_opt_ts(row.previous_replaced_at)?,
        }))
    }

    async fn read_latest_credentials(&self, key: &InstanceKey) -> Result<Option<CredentialVersions>, StoreError> {
        // Nothing is cached here: every read is the latest.
        self.get_credentials(key).await
    }

    async fn put_credentials(&self, key: &InstanceKey, credentials: &Credentials) -> Result<String, StoreError> {
        Ok(self.write_credentials(key, Expect::Anything, credentials).await?.secret_ref)
    }

    async fn put_credentials_if(
        &self,
        key: &InstanceKey,
        expected: Option<&CredentialVersion>,
        credentials: &Credentials,
    ) -> Result<StoredCredentials, StoreError> {
        self.write_credentials(key, Expect::from_token(expected)?, credentials).await
    }

    async fn delete_credentials(&self, key: &InstanceKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.db
            .write("deleting a secret", move |conn| {
                conn.exec(
                    "DELETE FROM secrets WHERE project_id = ?1 AND connector_id = ?2",
                    [&key.project_id, &key.connector_id],
                )?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use base64::Engine as _;
    use rusqlite::Connection;
    use secrecy::SecretString;

    use super::*;
    use crate::Embedded;

    fn cipher() -> SecretCipher {
        let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        SecretCipher::from_base64(&SecretString::from(key), "test key").unwrap()
    }

    fn creds(value: &str) -> Credentials {
        [("apiKey", value)].into_iter().collect()
    }

    #[tokio::test]
    async fn current_and_previous_ciphertexts_swapped_in_the_file_do_not_decrypt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.db");
        let key = InstanceKey::new("acme", "github-issues");
        let stores = Embedded::open_with_cipher(&path, cipher()).unwrap().stores();
        stores.secrets.put_credentials(&key, &creds("revoked-old")).await.unwrap();
        stores.secrets.put_credentials(&key, &creds("current-new")).await.unwrap();
        let versions = stores.secrets.get_credentials(&key).await.unwrap().unwrap();
        assert_eq!(versions.current.get("apiKey").unwrap().expose_secret(), "current-new");

        // Someone with write access to the file puts the old secret back in the current slot.
        Connection::open(&path)
            .unwrap()
            .execute("UPDATE secrets SET current = previous, previous = current", [])
            .unwrap();

        let err = stores.secrets.get_credentials(&key).await.unwrap_err();
        assert!(err.to_string().contains("cannot be decrypted"), "{err}");
    }

    #[tokio::test]
    async fn a_database_of_an_older_build_is_upgraded_to_slot_bound_ciphertexts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.db");
        let key = InstanceKey::new("acme", "github-issues");
        let cipher = cipher();
        drop(Embedded::open_with_cipher(&path, cipher.clone()).unwrap());
        {
            // The rows as an older build wrote them (its migration step 3 fills the new columns).
            let conn = Connection::open(&path).unwrap();
            conn.exec(
                "INSERT INTO secrets (project_id, connector_id, current, previous, updated_at, previous_replaced_at)
                 VALUES ('acme', 'github-issues', ?1, ?2, '2025-01-02T03:04:05.000Z', '2025-01-02T03:04:05.000Z')",
                params![
                    cipher.encrypt_legacy(&key, creds("new").to_json().expose_secret()),
                    cipher.encrypt_legacy(&key, creds("old").to_json().expose_secret())
                ],
            )
            .unwrap();
        }
        let stores = Embedded::open_with_cipher(&path, cipher).unwrap().stores();

        let versions = stores.secrets.get_credentials(&key).await.unwrap().unwrap();
        assert_eq!(versions.current.get("apiKey").unwrap().expose_secret(), "new");
        assert_eq!(versions.previous.unwrap().get("apiKey").unwrap().expose_secret(), "old");
        assert_eq!(versions.previous_replaced_at.map(|t| t.to_rfc3339()).as_deref(), Some("2025-01-02T03:04:05+00:00"));
        let (current, previous): (Vec<u8>, Vec<u8>) = Connection::open(&path)
            .unwrap()
            .query_row("SELECT current, previous FROM secrets", [], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap();
        assert!(!SecretCipher::is_legacy(&current) && !SecretCipher::is_legacy(&previous), "rewritten");
    }

    #[tokio::test]
    async fn a_secret_another_key_wrote_is_left_alone_by_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.db");
        let key = InstanceKey::new("acme", "github-issues");
        drop(Embedded::open_with_cipher(&path, cipher()).unwrap());
        let other = SecretCipher::from_base64(
            &SecretString::from(base64::engine::general_purpose::STANDARD.encode([1u8; 32])),
            "other",
        )
        .unwrap();
        let foreign = other.encrypt_legacy(&key, "{}");
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO secrets (project_id, connector_id, current, updated_at) VALUES ('acme', 'github-issues', ?1, 'x')",
                [&foreign],
            )
            .unwrap();
        let stores = Embedded::open_with_cipher(&path, cipher()).unwrap().stores();
        assert!(stores.secrets.get_credentials(&key).await.is_err(), "still unreadable, and opening worked");
        // A new value can still replace it.
        stores.secrets.put_credentials(&key, &creds("fresh")).await.unwrap();
        let versions = stores.secrets.get_credentials(&key).await.unwrap().unwrap();
        assert_eq!(versions.current.get("apiKey").unwrap().expose_secret(), "fresh");
        assert!(versions.previous.is_none(), "the unreadable value is not carried over");
    }
}
