//! The SQLite connections of one database file (WAL mode): the writer, which commits concurrent
//! writes together ([`crate::writer`]), and a few reader connections, which read the last
//! committed state without waiting for the writer. Lookups by key run on the calling thread
//! (they take microseconds); longer reads run in `spawn_blocking`, so async callers never block
//! the runtime for long. Every statement goes through the connection's statement
//! cache, so it is parsed once per connection.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags};
use switchboard_core::ports::StoreError;

use crate::checkpointer::{self, BACKSTOP_PAGES, Checkpointer};
use crate::crypto::SecretCipher;
use crate::error::OpenError;
pub(crate) use crate::error::{DbError, DbResult};
use crate::migrations;
use crate::writer::{Writer, WriterStats};

/// Reader connections. Reads are short point lookups and small pages; a few connections keep
/// them off each other's mutex.
const READERS: usize = 4;
/// Prepared statements kept per connection (every statement of the crate fits).
const STATEMENT_CACHE: usize = 128;
/// The writer's page cache, in KiB (SQLite's negative `cache_size`): every write reads the pages
/// it changes, and a page already cached is not read again from the WAL or the file. SQLite's
/// default is 2 MiB; the readers keep it.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// The writer, the readers and the checkpointer; cheap to clone.
#[derive(Clone)]
pub(crate) struct Db {
    writer: Arc<Writer>,
    readers: Arc<Readers>,
    _checkpointer: Arc<Checkpointer>,
}

/// The reader connections, each behind its own mutex, taken round-robin. Each is opened by its
/// first use: a process that reads little (a Lambda function's cold start on this store) opens
/// only the connections it needs.
struct Readers {
    path: PathBuf,
    conns: Vec<Mutex<Option<Connection>>>,
    next: AtomicUsize,
}

/// Opens one connection with the settings every connection of the file shares.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl Db {
    /// Opens (creating if needed) the database file, enables WAL, applies pending migrations,
    /// upgrades secrets encrypted by older builds (with `cipher`), then starts the writer
    /// thread; each reader connection opens on its first use.
    pub(crate) fn open(path: &Path, cipher: &SecretCipher) -> Result<Self, OpenError> {
        let mut conn = connect(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // In WAL mode a commit is in the WAL file before it returns, so a process that is
        // killed loses nothing committed; only a power cut can lose the last commits.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // The checkpointer thread copies the WAL into the file; the writer only as a backstop.
        conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)?;
        // Each write runs in a savepoint (see `crate::writer`); the pages a savepoint would
        // restore are kept in memory rather than in a temporary file.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        migrations::apply(&mut conn)?;
        migrations::upgrade_legacy_ciphertexts(&mut conn, cipher)?;
        let readers = Readers {
            path: path.to_owned(),
            conns: (0..READERS).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        };
        let checkpointer = Checkpointer::spawn(checkpointer::connect(path)?).map_err(OpenError::Checkpointer)?;
        let writer = Writer::spawn(conn).map_err(OpenError::Writer)?;
        Ok(Self { writer: Arc::new(writer), readers: Arc::new(readers), _checkpointer: Arc::new(checkpointer) })
    }

    /// Runs `f` in the writer's next batch (see [`crate::writer`]): the answer comes once the
    /// write is committed. `action` names it in backend errors.
    pub(crate) async fn write<T, F>(&self, action: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        self.writer.write(action, f).await
    }

    /// Runs `f` on a reader connection in a blocking task: it sees every write answered so far.
    pub(crate) async fn read<T, F>(&self, action: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        let joined = tokio::task::spawn_blocking(move || {
            let mut slot = readers.take().map_err(|_| StoreError::backend(action, "a reader mutex is poisoned"))?;
            readers.run(&mut slot, action, f)
        })
        .await;
        joined.map_err(|err| StoreError::backend(action, err))?
    }

    /// Runs `f`, a lookup by primary key, on a free reader connection on the calling thread:
    /// such a lookup takes microseconds, less than handing it to a blocking thread and back.
    /// When every reader is busy it waits in a blocking task like [`Self::read`].
    pub(crate) async fn lookup<T, F>(&self, action: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        if let Some(mut slot) = self.readers.try_take() {
            return self.readers.run(&mut slot, action, f);
        }
        self.read(action, f).await
    }

    /// What the writer has done so far.
    pub(crate) fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }
}

/// A closure's error as the ports report it; `action` names a SQL failure.
fn into_store_error(action: &'static str, err: DbError) -> StoreError {
    match err {
        DbError::Sql(err) => StoreError::backend(action, err),
        DbError::Store(err) => err,
    }
}

impl Readers {
    /// A free reader, if there is one: an opened one when one is free, so that a process
    /// reading one thing at a time keeps to one connection.
    fn try_take(&self) -> Option<MutexGuard<'_, Option<Connection>>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.conns.len();
        let mut unopened = None;
        for offset in 0..n {
            if let Ok(slot) = self.conns[(start + offset) % n].try_lock() {
                if slot.is_some() {
                    return Some(slot);
                }
                unopened.get_or_insert(slot);
            }
        }
        unopened
    }

    /// A free reader if there is one, else waits for the next in turn.
    fn take(&self) -> Result<MutexGuard<'_, Option<Connection>>, PoisonError<()>> {
        match self.try_take() {
            Some(conn) => Ok(conn),
            None => {
                let next = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
                self.conns[next].lock().map_err(|_| PoisonError::new(()))
            }
        }
    }

    /// Runs `f` on the taken reader `slot`; `action` names a failure.
    fn run<T>(
        &self,
        slot: &mut Option<Connection>,
        action: &'static str,
        f: impl FnOnce(&Connection) -> DbResult<T>,
    ) -> Result<T, StoreError> {
        let conn = self.opened(slot).map_err(|err| StoreError::backend(action, err))?;
        f(conn).map_err(|err| into_store_error(action, err))
    }

    /// The connection of a taken reader, opened now if this is its first use.
    fn opened<'a>(&self, slot: &'a mut Option<Connection>) -> rusqlite::Result<&'a Connection> {
        let conn = match slot.take() {
            Some(conn) => conn,
            None => {
                let conn = connect(&self.path)?;
                conn.pragma_update(None, "query_only", "ON")?;
                conn
            }
        };
        Ok(slot.insert(conn))
    }
}

/// Statements through the connection's cache: parsed once per connection, then reused.
pub(crate) trait Cached {
    /// `Connection::execute` with a cached statement.
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    /// `Connection::query_row` with a cached statement.
    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// Counts the calls of one kind of write and says when expired rows are due to be deleted: on
/// the first call and every [`Self::EVERY`] calls after it, so that deleting them costs a
/// fraction of a statement per write. Expired rows are never read as live in between.
#[derive(Debug, Default)]
pub(crate) struct Sweep {
    calls: AtomicU64,
}

impl Sweep {
    /// Calls between two deletions of expired rows.
    pub(crate) const EVERY: u64 = 256;

    /// Whether this call deletes the expired rows.
    pub(crate) fn due(&self) -> bool {
        self.calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(Self::EVERY)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use base64::Engine as _;
    use secrecy::SecretString;

    use super::*;

    fn opened_readers(db: &Db) -> usize {
        db.readers.conns.iter().filter(|slot| slot.lock().unwrap().is_some()).count()
    }

    #[tokio::test]
    async fn reader_connections_open_on_first_use_not_with_the_store() {
        let dir = tempfile::TempDir::new().unwrap();
        let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        let cipher = SecretCipher::from_base64(&SecretString::from(key), "test key").unwrap();
        let db = Db::open(&dir.path().join("store.db"), &cipher).unwrap();
        // A cold start that reads once should not pay for every reader's open.
        assert_eq!(opened_readers(&db), 0);
        let tables: i64 = db
            .lookup("count tables", |conn| Ok(conn.row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))?))
            .await
            .unwrap();
        assert!(tables > 0, "the reader sees the migrated schema");
        assert_eq!(opened_readers(&db), 1);
        // Reads one after the other keep to the connection already open.
        for _ in 0..3 {
            db.lookup("read again", |conn| Ok(conn.row("SELECT 1", [], |row| row.get::<_, i64>(0))?)).await.unwrap();
        }
        assert_eq!(opened_readers(&db), 1);
        // A reader refuses writes, as when they were opened with the store.
        let refused = db.lookup("write", |conn| Ok(conn.exec("CREATE TABLE t (x)", [])?)).await;
        assert!(refused.is_err());
    }
}
