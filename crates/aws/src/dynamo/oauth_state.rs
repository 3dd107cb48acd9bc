//! OAuth states: `PK=OAUTH_STATE#{state}, SK=OAUTH_STATE`, the state as JSON in `oauthState`.
//! Put is conditional on absence (or expiry); take is one `DeleteItem` returning the old item, so
//! a state is handed out at most once. Expiry is checked in milliseconds (`expiresAtMs`), and
//! `expiresAt` lets DynamoDB's TTL sweep states nobody took.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use switchboard_core::ports::{OAuthState, OAuthStateStore, StoreError, store_now};

use super::DynamoStore;
use crate::error::backend;
use crate::item::{get_n, get_s, n, s, ttl_epoch_seconds};
use crate::keys::{OAUTH_STATE_SK, PK, SK, TTL_ATTRIBUTE, oauth_state_pk};

#[async_trait]
impl OAuthStateStore for DynamoStore {
    async fn put_oauth_state(&self, state: &OAuthState) -> Result<(), StoreError> {
        let body = serde_json::to_string(state)
            .map_err(|e| StoreError::Invalid(format!("OAuth state cannot be serialised: {e}")))?;
        let expires_ms = state.expires_at.timestamp_millis();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(oauth_state_pk(&state.state)))
            .item(SK, s(OAUTH_STATE_SK))
            .item("type", s("oauthState"))
            .item("oauthState", s(body))
            .item("expiresAtMs", n(expires_ms))
            .item(TTL_ATTRIBUTE, n(ttl_epoch_seconds(expires_ms)))
            .condition_expression("attribute_not_exists(PK) OR expiresAtMs <= :now")
            .expression_attribute_values(":now", n(store_now().timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The value itself stays out of the message: it is a CSRF token.
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::already_exists("OAuth state"))
            }
            Err(e) => Err(backend("storing an OAuth state", e)),
        }
    }

    async fn take_oauth_state(&self, state: &str) -> Result<Option<OAuthState>, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(oauth_state_pk(state)))
            .key(SK, s(OAUTH_STATE_SK))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| backend("taking an OAuth state", e))?;
        let Some(item) = out.attributes.filter(|item| !item.is_empty()) else { return Ok(None) };
        let expires_ms: i64 = get_n(&item, "expiresAtMs")?;
        if expires_ms <= store_now().timestamp_millis() {
            return Ok(None);
        }
        serde_json::from_str(&get_s(&item, "oauthState")?)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("stored OAuth state is unreadable: {e}")))
    }
}
