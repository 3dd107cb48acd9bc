//! Why the embedded database could not be opened.

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
    /// The secret key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
}
