//! The WAL checkpointer: a thread with its own connection that copies committed pages from the
//! write-ahead log into the database file, so that the writer never does.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the WAL's size threshold,
//! on the writer's thread: about half of each commit's cost under a steady stream of webhook
//! deliveries, and every write queued behind it waits. Here a `PASSIVE` checkpoint runs every
//! [`INTERVAL`] beside the writer (it never blocks the writer or the readers). The writer keeps
//! an automatic checkpoint only as a backstop, at [`BACKSTOP_PAGES`], should this thread fall
//! far behind.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the checkpointer copies the WAL into the database file.
pub(crate) const INTERVAL: Duration = Duration::from_millis(100);
/// WAL pages at which the writer checkpoints by itself (SQLite's default is 1,000).
pub(crate) const BACKSTOP_PAGES: u32 = 16_384;

/// The running checkpointer; dropping it stops the thread.
pub(crate) struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing through `conn` (a connection of the database's file).
    pub(crate) fn spawn(conn: Connection) -> std::io::Result<Self> {
        let (stop, stopped) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpointer".into())
            .spawn(move || checkpoint_loop(&conn, &stopped))?;
        Ok(Self { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Checkpoints every [`INTERVAL`] until the stop channel closes.
fn checkpoint_loop(conn: &Connection, stopped: &Receiver<()>) {
    loop {
        match stopped.recv_timeout(INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        // One row: busy (0/1), frames in the WAL, frames in the database file.
        if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(%error, "WAL checkpoint failed; the writer's backstop checkpoint remains");
        }
    }
}

/// Opens the checkpointer's connection to `path`.
pub(crate) fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}
