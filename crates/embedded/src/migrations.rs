//! Versioned schema migrations, tracked in SQLite's `user_version`. Append new steps; never edit
//! a released one.

use rusqlite::Connection;

use crate::error::OpenError;

/// Step `i` moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: registry, checkpoints, leases, secrets, dedup, stats, queue.
    r"
    CREATE TABLE descriptors (
        connector_id TEXT PRIMARY KEY,
        descriptor   TEXT NOT NULL,
        built_in     INTEGER NOT NULL,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL
    );
    CREATE TABLE instances (
        project_id            TEXT NOT NULL,
        connector_id          TEXT NOT NULL,
        enabled               INTEGER NOT NULL,
        credential_secret_ref TEXT,
        config                TEXT NOT NULL,
        last_health_check     TEXT,
        healthy               INTEGER NOT NULL DEFAULT 0,
        consecutive_failures  INTEGER NOT NULL DEFAULT 0,
        last_error            TEXT,
        last_sync_at          TEXT,
        last_latency_ms       INTEGER,
        created_at            TEXT NOT NULL,
        updated_at            TEXT NOT NULL,
        PRIMARY KEY (project_id, connector_id)
    );
    CREATE INDEX instances_by_connector ON instances (connector_id, project_id);
    CREATE TABLE checkpoints (
        project_id   TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        value        TEXT NOT NULL,
        version      INTEGER NOT NULL,
        updated_at   TEXT NOT NULL,
        PRIMARY KEY (project_id, connector_id)
    );
    CREATE TABLE leases (
        project_id    TEXT NOT NULL,
        connector_id  TEXT NOT NULL,
        holder        TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        PRIMARY KEY (project_id, connector_id)
    );
    CREATE TABLE secrets (
        project_id   TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        current      BLOB NOT NULL,
        previous     BLOB,
        updated_at   TEXT NOT NULL,
        PRIMARY KEY (project_id, connector_id)
    );
    CREATE TABLE dedup (
        id            TEXT PRIMARY KEY,
        expires_at_ms INTEGER NOT NULL
    );
    CREATE INDEX dedup_by_expiry ON dedup (expires_at_ms);
    CREATE TABLE signal_stats (
        project_id   TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        hour         TEXT NOT NULL,
        signals      INTEGER NOT NULL DEFAULT 0,
        ignored      INTEGER NOT NULL DEFAULT 0,
        duplicates   INTEGER NOT NULL DEFAULT 0,
        failed       INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (project_id, connector_id, hour)
    );
    CREATE TABLE sync_runs (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id   TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        started_at   TEXT NOT NULL,
        status       TEXT NOT NULL,
        pages        INTEGER NOT NULL,
        items        INTEGER NOT NULL,
        duration_ms  INTEGER NOT NULL,
        error        TEXT
    );
    CREATE INDEX sync_runs_by_instance ON sync_runs (project_id, connector_id, started_at);
    CREATE TABLE queue_messages (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        queue         TEXT NOT NULL,
        body          TEXT NOT NULL,
        attributes    TEXT NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        visible_at_ms INTEGER NOT NULL,
        receipt       TEXT,
        sent_at_ms    INTEGER NOT NULL
    );
    CREATE INDEX queue_messages_ready ON queue_messages (queue, visible_at_ms, id);
    CREATE UNIQUE INDEX queue_messages_receipt ON queue_messages (receipt);
    ",
    // 2: recent signals, rate limit counters, OAuth states.
    r"
    CREATE TABLE signals (
        project_id    TEXT NOT NULL,
        id            TEXT NOT NULL,
        sort_key      TEXT NOT NULL,
        signal_type   TEXT NOT NULL,
        body          TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        PRIMARY KEY (project_id, id)
    );
    CREATE INDEX signals_newest_first ON signals (project_id, sort_key);
    CREATE INDEX signals_by_expiry ON signals (expires_at_ms);
    CREATE TABLE rate_limits (
        key             TEXT NOT NULL,
        window_ms       INTEGER NOT NULL,
        window_start_ms INTEGER NOT NULL,
        count           INTEGER NOT NULL,
        expires_at_ms   INTEGER NOT NULL,
        PRIMARY KEY (key, window_ms, window_start_ms)
    );
    CREATE INDEX rate_limits_by_expiry ON rate_limits (expires_at_ms);
    CREATE TABLE oauth_states (
        state         TEXT PRIMARY KEY,
        body          TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL
    );
    CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at_ms);
    ",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Applies every step newer than the database's `user_version`, each in its own transaction.
/// A database written by a newer build is refused rather than misread.
pub(crate) fn apply(conn: &mut Connection) -> Result<(), OpenError> {
    let current: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(OpenError::SchemaTooNew { found: current, supported: SCHEMA_VERSION });
    }
    for (index, step) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "applied database migration");
    }
    Ok(())
}
