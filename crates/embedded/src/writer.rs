//! Group commit: one thread owns the only writing connection and runs every write of the process.
//!
//! Callers hand it a job (a closure over the connection) and wait for its answer. The thread takes
//! every job that is waiting, up to [`MAX_BATCH`], runs them in one `BEGIN IMMEDIATE` transaction,
//! each inside its own savepoint, and commits once; only after that commit does any of them get
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

use crate::db::{DbError, DbResult};

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
        let stopped = || StoreError::backend(action, "the database writer has stopped");
        let (reply, answer) = oneshot::channel();
        let job = Box::new(WriteJob { action, work: Some(work), result: None, reply });
        self.jobs.as_ref().ok_or_else(stopped)?.send(job).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
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

/// Takes every waiting job (up to [`MAX_BATCH`]), commits them together, answers them; repeats
/// until every sender is gone.
fn write_loop(conn: &Connection, receiver: &Receiver<Box<dyn Job>>, counters: &WriterCounters) {
    while let Ok(first) = receiver.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let committed = commit_batch(conn, &mut batch);
        if committed.is_err() {
            counters.failed_batches.fetch_add(1, Ordering::Relaxed);
        }
        let committed = committed.as_ref().copied().map_err(String::as_str);
        for job in batch {
            job.finish(committed);
        }
    }
}

/// Runs every job of `batch` in one transaction and commits it; on any failure of the
/// transaction itself the batch is rolled back and the reason returned.
fn commit_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    run_cached(conn, "BEGIN IMMEDIATE").map_err(|err| err.to_string())?;
    for job in batch.iter_mut() {
        job.run(conn);
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
