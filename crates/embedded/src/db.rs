//! The SQLite connection: opened once in WAL mode, migrated, shared behind a mutex and used from
//! `spawn_blocking` so async callers never block the runtime.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags};
use switchboard_core::ports::StoreError;

use crate::crypto::SecretCipher;
use crate::error::OpenError;
use crate::migrations;

/// An error inside a database closure: SQL, or a store-level outcome such as a conflict.
#[derive(Debug)]
pub(crate) enum DbError {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for DbError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Sql(err)
    }
}

impl From<StoreError> for DbError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

/// Result of a database closure.
pub(crate) type DbResult<T> = Result<T, DbError>;

/// The shared connection.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the database file, enables WAL, applies pending migrations and
    /// upgrades secrets encrypted by older builds (with `cipher`).
    pub(crate) fn open(path: &Path, cipher: &SecretCipher) -> Result<Self, OpenError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::apply(&mut conn)?;
        migrations::upgrade_legacy_ciphertexts(&mut conn, cipher)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` on the connection in a blocking task; `action` names it in backend errors.
    pub(crate) async fn call<T, F>(&self, action: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> DbResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| StoreError::backend(action, "the database mutex is poisoned"))?;
            f(&mut conn).map_err(|err| match err {
                DbError::Sql(err) => StoreError::backend(action, err),
                DbError::Store(err) => err,
            })
        })
        .await;
        joined.map_err(|err| StoreError::backend(action, err))?
    }
}

/// Current time in milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// RFC 3339 text with milliseconds, the form every timestamp is stored in.
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a stored timestamp.
pub(crate) fn parse_ts(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("`{text}` is not an RFC 3339 timestamp")))
}

/// Parses an optional stored timestamp.
pub(crate) fn parse_opt_ts(text: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.as_deref().map(parse_ts).transpose()
}

/// Milliseconds in a duration, saturating.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
