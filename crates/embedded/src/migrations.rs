//! Versioned schema migrations, tracked in SQLite's `user_version`. Append new steps; never edit
//! a released one.

use rusqlite::{Connection, params};
use switchboard_core::ports::InstanceKey;

use crate::crypto::{SecretCipher, Slot};
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
    // 3: versioned secrets (compare-and-swap writes) and when the previous version was replaced
    // (a rotation's grace period). Each write so far replaced the previous version at
    // `updated_at`. Ciphertexts are re-bound to their slot by `secrets::upgrade_legacy_ciphertexts`
    // (it needs the key, which SQL does not have).
    r"
    ALTER TABLE secrets ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE secrets ADD COLUMN previous_replaced_at TEXT;
    UPDATE secrets SET previous_replaced_at = updated_at WHERE previous IS NOT NULL;
    ",
    // 4: the webhook subscription Switchboard manages for an instance (JSON of
    // `SubscriptionState`; NULL when it has none).
    r"
    ALTER TABLE instances ADD COLUMN subscription TEXT;
    ",
    // 5: health notices and the sync lifecycle: "re-auth needed" as its own flag (taken from
    // `last_error`, where it was written before), the notified health state, the instance's
    // own polling interval, and what its poll runs did (backfill progress as JSON).
    r"
    ALTER TABLE instances ADD COLUMN reauth_needed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE instances ADD COLUMN health_alert TEXT;
    ALTER TABLE instances ADD COLUMN health_alert_changed_at TEXT;
    ALTER TABLE instances ADD COLUMN polling_interval_seconds INTEGER;
    ALTER TABLE instances ADD COLUMN last_polled_at TEXT;
    ALTER TABLE instances ADD COLUMN last_poll_failed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE instances ADD COLUMN change_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE instances ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE instances ADD COLUMN backfill TEXT;
    UPDATE instances SET reauth_needed = 1 WHERE last_error LIKE 're-auth needed%';
    ",
    // 6: recent signals indexed by reference (`indexed_references`: their first related items),
    // written with each signal, so that listing one reference reads only its own signals. The
    // signals already stored are indexed under their first 20 related items.
    r"
    CREATE TABLE signal_references (
        project_id    TEXT NOT NULL,
        reference     TEXT NOT NULL,
        sort_key      TEXT NOT NULL,
        signal_id     TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        PRIMARY KEY (project_id, reference, sort_key)
    ) WITHOUT ROWID;
    CREATE INDEX signal_references_by_signal ON signal_references (project_id, signal_id);
    CREATE INDEX signal_references_by_expiry ON signal_references (expires_at_ms);
    INSERT OR IGNORE INTO signal_references (project_id, reference, sort_key, signal_id, expires_at_ms)
        SELECT s.project_id, r.value, s.sort_key, s.id, s.expires_at_ms
        FROM signals AS s, json_each(s.body, '$.relatedItems') AS r
        WHERE r.type = 'text' AND r.value <> '' AND length(CAST(r.value AS BLOB)) <= 512 AND r.key < 20;
    ",
    // 7: each instance's stored schedule (when the poller's due listing finds it, epoch
    // milliseconds; NULL: not schedulable, or written before this step), indexed per connector so
    // that a scheduled run reads only the due instances; and each connector's last schedule sweep.
    // Rows written before have no schedule: with no sweep recorded, the poller's first run
    // sweeps each connector and writes them.
    r"
    ALTER TABLE instances ADD COLUMN next_poll_at_ms INTEGER;
    CREATE INDEX instances_by_schedule ON instances (connector_id, next_poll_at_ms);
    CREATE TABLE schedule_sweeps (
        connector_id TEXT PRIMARY KEY,
        bounds       TEXT NOT NULL,
        swept_at     TEXT NOT NULL
    );
    ",
    // 8: a signal's previous references are found from its stored version by the table's key
    // (`recent_signal.rs`), so the index by signal, a write to a random page on every put, goes.
    r"
    DROP INDEX signal_references_by_signal;
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

/// Re-encrypts secrets written by builds whose ciphertexts were bound to their instance only, so
/// that each is bound to its slot too (current or previous) and older ciphertexts are no longer
/// accepted anywhere. Runs on every open and touches only such rows; one that cannot be
/// decrypted (a different key) is left as it is, with a warning, and stays unreadable.
pub(crate) fn upgrade_legacy_ciphertexts(conn: &mut Connection, cipher: &SecretCipher) -> Result<(), OpenError> {
    let tx = conn.transaction()?;
    let rows = tx
        .prepare(
            "SELECT project_id, connector_id, current, previous FROM secrets
             WHERE substr(current, 1, 1) = x'01' OR substr(previous, 1, 1) = x'01'",
        )?
        .query_map([], |row| {
            Ok((
                InstanceKey::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
                row.get::<_, Vec<u8>>(2)?,
                row.get::<_, Option<Vec<u8>>>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut upgraded = 0_usize;
    for (key, current, previous) in rows {
        let reseal = |slot: Slot, sealed: Vec<u8>| {
            if SecretCipher::is_legacy(&sealed) {
                cipher.decrypt_legacy(&key, &sealed).and_then(|plain| cipher.encrypt(&key, slot, &plain))
            } else {
                Ok(sealed)
            }
        };
        let resealed = reseal(Slot::Current, current)
            .and_then(|current| Ok((current, previous.map(|p| reseal(Slot::Previous, p)).transpose()?)));
        match resealed {
            Ok((current, previous)) => {
                tx.execute(
                    "UPDATE secrets SET current = ?3, previous = ?4 WHERE project_id = ?1 AND connector_id = ?2",
                    params![key.project_id, key.connector_id, current, previous],
                )?;
                upgraded += 1;
            }
            Err(error) => {
                tracing::warn!(instance = %key, %error, "cannot upgrade the encryption of this secret; left as it is");
            }
        }
    }
    tx.commit()?;
    if upgraded > 0 {
        tracing::info!(secrets = upgraded, "bound stored secrets to their slot (current or previous)");
    }
    Ok(())
}
