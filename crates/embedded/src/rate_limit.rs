//! Fixed-window rate limits on the `rate_limits` table: one row per key and window, counted up
//! by a single conditional upsert so that concurrent callers never exceed the limit.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use switchboard_core::ports::{FixedWindow, RateDecision, RateLimiter, StoreError};

use crate::SqliteStore;
use crate::db::now_ms;

#[async_trait]
impl RateLimiter for SqliteStore {
    async fn acquire(&self, key: &str, limit: u32, window: Duration) -> Result<RateDecision, StoreError> {
        let now = now_ms();
        let window = FixedWindow::containing(now, window)?;
        if limit == 0 {
            return Ok(RateDecision::Limited { retry_after: window.rest(now) });
        }
        let key = key.to_owned();
        let purge = self.rate_limit_sweep.due();
        let count = self
            .db
            .write("counting a rate-limited request", move |conn| {
                if purge {
                    conn.prepare_cached("DELETE FROM rate_limits WHERE expires_at_ms <= ?1")?.execute([now])?;
                }
                // No row comes back when the window is full: the update's condition failed.
                let count: Option<u32> = conn
                    .prepare_cached(
                        "INSERT INTO rate_limits (key, window_ms, window_start_ms, count, expires_at_ms)
                         VALUES (?1, ?2, ?3, 1, ?4)
                         ON CONFLICT (key, window_ms, window_start_ms) DO UPDATE SET count = count + 1
                         WHERE rate_limits.count < ?5
                         RETURNING count",
                    )?
                    .query_row(params![key, window.length_ms, window.start_ms, window.end_ms(), limit], |row| {
                        row.get(0)
                    })
                    .optional()?;
                Ok(count)
            })
            .await?;
        Ok(match count {
            Some(count) => RateDecision::Allowed { remaining: limit.saturating_sub(count) },
            None => RateDecision::Limited { retry_after: window.rest(now) },
        })
    }
}
