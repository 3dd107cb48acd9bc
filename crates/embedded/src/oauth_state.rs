//! OAuth states on the `oauth_states` table: inserted if absent (or expired), taken with a
//! `DELETE … RETURNING` so that only one caller ever gets a state.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use switchboard_core::ports::{OAuthState, OAuthStateStore, StoreError};

use crate::SqliteStore;
use crate::db::now_ms;

#[async_trait]
impl OAuthStateStore for SqliteStore {
    async fn put_oauth_state(&self, state: &OAuthState) -> Result<(), StoreError> {
        let body = serde_json::to_string(state)
            .map_err(|e| StoreError::Invalid(format!("OAuth state cannot be serialised: {e}")))?;
        let (value, expires) = (state.state.clone(), state.expires_at.timestamp_millis());
        let now = now_ms();
        self.db
            .write("storing an OAuth state", move |conn| {
                conn.prepare_cached("DELETE FROM oauth_states WHERE expires_at_ms <= ?1")?.execute([now])?;
                let stored = conn
                    .prepare_cached(
                        "INSERT INTO oauth_states (state, body, expires_at_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (state) DO UPDATE SET body = excluded.body, expires_at_ms = excluded.expires_at_ms
                     WHERE oauth_states.expires_at_ms <= ?4",
                    )?
                    .execute(params![value, body, expires, now])?;
                if stored == 0 {
                    // The value itself stays out of the message: it is a CSRF token.
                    return Err(StoreError::already_exists("OAuth state").into());
                }
                Ok(())
            })
            .await
    }

    async fn take_oauth_state(&self, state: &str) -> Result<Option<OAuthState>, StoreError> {
        let value = state.to_owned();
        let now = now_ms();
        let taken = self
            .db
            .write("taking an OAuth state", move |conn| {
                let row = conn
                    .query_row(
                        "DELETE FROM oauth_states WHERE state = ?1 RETURNING body, expires_at_ms",
                        [value],
                        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
                    )
                    .optional()?;
                Ok(row)
            })
            .await?;
        match taken {
            Some((body, expires)) if expires > now => serde_json::from_str(&body)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("stored OAuth state is unreadable: {e}"))),
            _ => Ok(None),
        }
    }
}
