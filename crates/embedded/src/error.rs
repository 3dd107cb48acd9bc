//! Why the embedded database could not be opened, and the error of a database closure.

use switchboard_core::ports::StoreError;

use crate::crypto::KeyError;

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// SQLite failed (unreadable file, failed migration).
    #[error("cannot open the SQLite database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer Switchboard.
    #[error("database schema version {found} is newer than this build supports ({supported}); upgrade switchboard")]
    SchemaTooNew {
        /// The file's version.
        found: usize,
        /// This build's version.
        supported: usize,
    },
    /// The writer thread could not be started.
    #[error("cannot start the database writer thread: {0}")]
    Writer(#[source] std::io::Error),
    /// The WAL checkpointer thread could not be started.
    #[error("cannot start the database checkpointer thread: {0}")]
    Checkpointer(#[source] std::io::Error),
    /// The secret key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
}

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
