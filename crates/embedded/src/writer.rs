//! Group commit: one thread owns the only writing connection and runs every write of the process.
//!
//! Callers hand it a job (a closure over the connection) and wait for its answer. The thread takes
//! every job that is waiting, and those that arrive while it runs them, up to [`MAX_BATCH`], runs
//! them in one `BEGIN IMMEDIATE` transaction, each inside its own savepoint, and commits once; only after that commit does any of them get
//! its answer. So concurrent writers share one commit (one WAL append) instead of taking turns,
//! and an answer always means the write is in the database:
//!
//! - a job whose closure fails has its savepoint rolled back and gets its own error; the others
//!   in its batch are not affected;
//! - a batch whose commit fails is rolled back whole, and every job in it gets the commit's error
//!   (none is acknowledged, whatever its closure returned).
//!
//! A job that panics is caught and answered like a failed closure, so the writer keeps running.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;

use rusqlite::Connection;
use switchboard_core::ports::StoreError;
use tokio::sync::oneshot;

use crate::error::{DbError, DbResult};

/// Most jobs committed together. Bounds how long a batch holds the write lock and how many
/// answers wait on one commit.
pub(crate) const MAX_BATCH: usize = 512;

/// One write waiting for the writer thread.
trait Job: Send {
    /// Runs the write inside the open transaction (in its own savepoint).
    fn run(&mut self, conn: &Connection);
    /// Answers the caller: `Ok` when the batch committed, else the commit's (or begin's) error.
    fn finish(self: Box<Self>, committed: Result<(), &str>);
}

/// A closure, its answer channel and, once run, its result.
struct WriteJob<T, F> {
    action: &'static str,
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for WriteJob<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> DbResult<T> + Send,
{
    fn run(&mut self, conn: &Connection) {
        let Some(work) = self.work.take() else { return };
        let action = self.action;
        self.result = Some(in_savepoint(conn, action, work));
    }

    fn finish(self: Box<Self>, committed: Result<(), &str>) {
        let answer = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::backend(self.action, "the write was not run")),
            (Err(reason), _) => Err(StoreError::backend(self.action, format!("the transaction failed: {reason}"))),
        };
        // The caller may have gone away (its request was cancelled): the write stands regardless.
        let _ = self.reply.send(answer);
    }
}

/// Runs `work` in a savepoint: released when it succeeds, rolled back when it fails or panics.
fn in_savepoint<T>(
    conn: &Connection,
    action: &'static str,
    work: impl FnOnce(&Connection) -> DbResult<T>,
) -> Result<T, StoreError> {
    if let Err(err) = run_cached(conn, "SAVEPOINT job") {
        return Err(StoreError::backend(action, err));
    }
    let outcome = match catch_unwind(AssertUnwindSafe(|| work(conn))) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(DbError::Sql(err))) => Err(StoreError::backend(action, err)),
        Ok(Err(DbError::Store(err))) => Err(err),
        Err(_) => Err(StoreError::backend(action, "the write panicked")),
    };
    let closed = if outcome.is_ok() {
        run_cached(conn, "RELEASE job")
    } else {
        run_cached(conn, "ROLLBACK TO job").and_then(|()| run_cached(conn, "RELEASE job"))
    };
    match closed {
        Ok(()) => outcome,
        Err(err) => Err(StoreError::backend(action, err)),
    }
}

/// Runs one parameterless statement through the connection's statement cache.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Where a submitted write's answer arrives.
type Answer<T> = oneshot::Receiver<Result<T, StoreError>>;

/// The error of a write the writer can no longer take or answer.
fn stopped(action: &'static str) -> StoreError {
    StoreError::backend(action, "the database writer has stopped")
}

/// How much the writer has done: the bench prints jobs per commit.
#[derive(Debug, Default)]
pub(crate) struct WriterCounters {
    batches: AtomicU64,
    jobs: AtomicU64,
    failed_batches: AtomicU64,
}

/// A snapshot of the writer's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed or attempted.
    pub batches: u64,
    /// Writes run, in every batch.
    pub jobs: u64,
    /// Batches whose begin or commit failed (every job in them was answered with the error).
    pub failed_batches: u64,
}

/// The handle callers send jobs through; dropping the last one stops the thread after the jobs
/// already sent are done.
pub(crate) struct Writer {
    jobs: Option<Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<WriterCounters>,
}

impl Writer {
    /// Starts the writer thread on `conn` (migrated already).
    pub(crate) fn spawn(conn: Connection) -> std::io::Result<Self> {
        let (jobs, receiver) = std::sync::mpsc::channel::<Box<dyn Job>>();
        let counters = Arc::new(WriterCounters::default());
        let thread_counters = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(&conn, &receiver, &thread_counters))?;
        Ok(Self { jobs: Some(jobs), thread: Some(thread), counters })
    }

    /// Runs `work` in the next batch and answers once that batch has committed.
    pub(crate) async fn write<T, F>(&self, action: &'static str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let answer = self.submit(action, work)?;
        answer.await.map_err(|_| stopped(action))?
    }

    /// Queues `work` for the next batch at once; the receiver gets the answer after the commit.
    fn submit<T, F>(&self, action: &'static str, work: F) -> Result<Answer<T>, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(WriteJob { action, work: Some(work), result: None, reply });
        self.jobs.as_ref().ok_or_else(|| stopped(action))?.send(job).map_err(|_| stopped(action))?;
        Ok(answer)
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            jobs: self.counters.jobs.load(Ordering::Relaxed),
            failed_batches: self.counters.failed_batches.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel ends the loop once the queued jobs are done; waiting for it means
        // the connection is closed (and the WAL checkpointed) when the database is dropped.
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Takes the next job, runs it and every job that arrives while the transaction is open (up to
/// [`MAX_BATCH`]), commits them together, answers them; repeats until every sender is gone.
fn write_loop(conn: &Connection, receiver: &Receiver<Box<dyn Job>>, counters: &WriterCounters) {
    while let Ok(first) = receiver.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        let committed = commit_batch(conn, &mut batch, receiver);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        if committed.is_err() {
            counters.failed_batches.fetch_add(1, Ordering::Relaxed);
        }
        let committed = committed.as_ref().copied().map_err(String::as_str);
        for job in batch {
            job.finish(committed);
        }
    }
}

/// Runs the jobs of `batch`, and those `receiver` has waiting once they are done (again and
/// again, up to [`MAX_BATCH`]: a batch grows with the load, without waiting for anything), in one
/// transaction and commits it; on any failure of the transaction itself the batch is rolled back
/// and the reason returned.
fn commit_batch(
    conn: &Connection,
    batch: &mut Vec<Box<dyn Job>>,
    receiver: &Receiver<Box<dyn Job>>,
) -> Result<(), String> {
    run_cached(conn, "BEGIN IMMEDIATE").map_err(|err| err.to_string())?;
    let mut run = 0;
    loop {
        for job in &mut batch[run..] {
            job.run(conn);
        }
        run = batch.len();
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        if batch.len() == run {
            break;
        }
    }
    match run_cached(conn, "COMMIT") {
        Ok(()) => Ok(()),
        Err(err) => {
            if !conn.is_autocommit()
                && let Err(rollback) = conn.execute_batch("ROLLBACK")
            {
                tracing::error!(error = %rollback, "cannot roll back a failed batch");
            }
            tracing::error!(error = %err, jobs = batch.len(), "a batch of writes failed to commit; every write in it is refused");
            Err(err.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;

    use super::*;

    /// A fresh file database with one table, and its path's directory.
    fn database() -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("writer.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE rows (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE)").unwrap();
        (dir, path, conn)
    }

    fn insert(value: String) -> impl FnOnce(&Connection) -> DbResult<i64> + Send + 'static {
        move |conn| {
            conn.prepare_cached("INSERT INTO rows (value) VALUES (?1)")?.execute([&value])?;
            Ok(conn.last_insert_rowid())
        }
    }

    fn stored(path: &std::path::Path) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn.prepare("SELECT value FROM rows ORDER BY value").unwrap();
        stmt.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }

    /// Holds the writer thread inside a batch until the returned sender is used: every job
    /// submitted meanwhile joins that batch (the writer runs what arrived before committing).
    fn hold_writer(writer: &Writer) -> (mpsc::Sender<()>, Answer<()>) {
        let (release, gate) = mpsc::channel::<()>();
        let (entered_tx, entered) = mpsc::channel::<()>();
        let held = writer
            .submit("holding the writer", move |_| {
                entered_tx.send(()).unwrap();
                gate.recv().unwrap();
                Ok(())
            })
            .unwrap();
        entered.recv().unwrap();
        (release, held)
    }

    /// Submits `n` inserts while the writer is held, so that they join its batch, then lets it
    /// go; returns their answers after the holding job's.
    async fn inserts_in_one_batch(writer: &Writer, n: usize) -> (Result<(), StoreError>, Vec<Answer<i64>>) {
        let (release, held) = hold_writer(writer);
        let answers = (0..n).map(|i| writer.submit("inserting", insert(format!("v{i:02}"))).unwrap()).collect();
        release.send(()).unwrap();
        (held.await.unwrap(), answers)
    }

    #[tokio::test]
    async fn writes_submitted_together_share_one_commit_and_are_all_answered_after_it() {
        let (_dir, path, conn) = database();
        let writer = Writer::spawn(conn).unwrap();
        let (held, answers) = inserts_in_one_batch(&writer, 50).await;
        held.unwrap();
        let mut ids = Vec::new();
        for answer in answers {
            ids.push(answer.await.unwrap().unwrap());
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 50, "every write got its own row");
        assert_eq!(stored(&path).len(), 50);
        // The 50 arrived while the holding job ran: they joined its transaction.
        assert_eq!(writer.stats(), WriterStats { batches: 1, jobs: 51, failed_batches: 0 });
    }

    #[tokio::test]
    async fn every_write_in_a_batch_whose_commit_fails_is_refused_and_none_is_stored() {
        let (_dir, path, mut conn) = database();
        // SQLite turns a COMMIT into a ROLLBACK when the commit hook says so: the first commit
        // (the batch of 20 below) fails as a full disk or an I/O error would.
        let commits = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&commits);
        conn.commit_hook(Some(move || seen.fetch_add(1, Ordering::SeqCst) == 0)).unwrap();
        let writer = Writer::spawn(conn).unwrap();
        let (held, answers) = inserts_in_one_batch(&writer, 20).await;
        assert!(held.is_err(), "the holding job was in the failed batch too");
        for answer in answers {
            let error = answer.await.unwrap().unwrap_err();
            assert!(error.to_string().contains("the transaction failed"), "{error}");
        }
        assert!(stored(&path).is_empty(), "nothing of the failed batch was stored");
        assert_eq!(writer.stats(), WriterStats { batches: 1, jobs: 21, failed_batches: 1 });
        // The writer goes on: the next batch commits.
        writer.write("inserting", insert("after".into())).await.unwrap();
        assert_eq!(stored(&path), ["after"]);
    }

    #[tokio::test]
    async fn a_failing_or_panicking_write_is_refused_alone_and_its_batch_commits() {
        let (_dir, path, conn) = database();
        let writer = Writer::spawn(conn).unwrap();
        let (release, held) = hold_writer(&writer);
        let first = writer.submit("inserting", insert("a".into())).unwrap();
        // The same value again breaks the UNIQUE constraint: that statement fails.
        let duplicate = writer
            .submit("inserting twice", |conn: &Connection| {
                conn.execute("INSERT INTO rows (value) VALUES ('b')", [])?;
                conn.execute("INSERT INTO rows (value) VALUES ('a')", [])?;
                Ok(())
            })
            .unwrap();
        let panicking = writer
            .submit("panicking", |conn: &Connection| -> DbResult<()> {
                conn.execute("INSERT INTO rows (value) VALUES ('c')", [])?;
                panic!("a bug in a write");
            })
            .unwrap();
        let last = writer.submit("inserting", insert("d".into())).unwrap();
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        first.await.unwrap().unwrap();
        assert!(duplicate.await.unwrap().unwrap_err().to_string().contains("UNIQUE"));
        assert!(panicking.await.unwrap().unwrap_err().to_string().contains("panicked"));
        last.await.unwrap().unwrap();
        // `b` and `c` were rolled back with their savepoints; `a` and `d` committed together.
        assert_eq!(stored(&path), ["a", "d"]);
        assert_eq!(writer.stats(), WriterStats { batches: 1, jobs: 5, failed_batches: 0 });
    }
}
