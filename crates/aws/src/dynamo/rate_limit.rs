//! Rate limit counters: `PK=RATE#{key}, SK=WINDOW#{windowMs}#{windowStartMs}`, one item per key
//! and window, counted with `ADD` under the condition that the window is not full yet, so that
//! every process shares one count. DynamoDB's TTL removes the item after its window.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use switchboard_core::ports::{FixedWindow, RateDecision, RateLimiter, StoreError, store_now};

use super::DynamoStore;
use crate::error::backend;
use crate::item::{get_n, n, s, ttl_epoch_seconds};
use crate::keys::{PK, SK, TTL_ATTRIBUTE, rate_pk, rate_sk};

#[async_trait]
impl RateLimiter for DynamoStore {
    async fn acquire(&self, key: &str, limit: u32, window: Duration) -> Result<RateDecision, StoreError> {
        let now_ms = store_now().timestamp_millis();
        let window = FixedWindow::containing(now_ms, window)?;
        if limit == 0 {
            return Ok(RateDecision::Limited { retry_after: window.rest(now_ms) });
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(rate_pk(key)))
            .key(SK, s(rate_sk(window.length_ms, window.start_ms)))
            .update_expression("ADD #count :one SET #type = :type, #ttl = :ttl")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#type", "type")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":type", s("rateLimit"))
            .expression_attribute_values(":ttl", n(ttl_epoch_seconds(window.end_ms())))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let count: u32 = get_n(&out.attributes.unwrap_or_default(), "count")?;
                Ok(RateDecision::Allowed { remaining: limit.saturating_sub(count) })
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(RateDecision::Limited { retry_after: window.rest(now_ms) })
            }
            Err(e) => Err(backend("counting a rate-limited request", e)),
        }
    }
}
