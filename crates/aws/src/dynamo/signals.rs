//! Recent signals: `PK=PROJECT#{p}#SIGNALS, SK={timestamp}#{signalId}` (a [`SignalSortKey`]), the
//! signal as JSON in `signal`, with `signalType`, `relatedItems`, `source` and `priority` copied
//! out for filters.
//! A second put of a signal overwrites the first: its id is a hash that includes its timestamp
//! (`signal::signal_id`), so the same id always has the same key.
//!
//! Listing queries the partition newest first. `since` and the page token bound the sort key;
//! type, related item, source, priority and expiry are filters, which DynamoDB applies after `Limit`, so the
//! listing reads on until the page is full, the partition ends, or [`MAX_READS`] requests were
//! made (then the page is short and its token continues after the last record read).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use switchboard_core::ports::{SignalPage, SignalQuery, SignalSortKey, SignalStore, StoreError, store_now};
use switchboard_core::signal::NormalisedSignal;

use super::DynamoStore;
use crate::error::backend;
use crate::item::{Item, get_s, n, s, ttl_epoch_seconds};
use crate::keys::{PK, SK, TTL_ATTRIBUTE, signals_pk};

/// Query requests one listing may make.
const MAX_READS: usize = 10;
/// Records read per request, as a multiple of the page size, when type or related filters
/// discard some of them.
const FILTERED_READ_FACTOR: usize = 4;

#[async_trait]
impl SignalStore for DynamoStore {
    async fn put_signal(&self, signal: &NormalisedSignal, ttl: Duration) -> Result<(), StoreError> {
        let sort_key = SignalSortKey::of(signal)?;
        let body = serde_json::to_string(signal)
            .map_err(|e| StoreError::Invalid(format!("signal `{}` cannot be serialised: {e}", signal.id)))?;
        let now_ms = store_now().timestamp_millis();
        let expires_ms = now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let mut put = self.client.put_item();
        if let Some(priority) = signal.priority {
            put = put.item("priority", s(priority.as_str()));
        }
        put.table_name(&self.table)
            .item(PK, s(signals_pk(&signal.project_id)))
            .item(SK, s(sort_key.as_str()))
            .item("type", s("signal"))
            .item("signalType", s(&signal.signal_type))
            .item("relatedItems", AttributeValue::L(signal.related_items.iter().map(s).collect()))
            .item("source", s(&signal.source))
            .item("signal", s(body))
            .item("expiresAtMs", n(expires_ms))
            .item(TTL_ATTRIBUTE, n(ttl_epoch_seconds(expires_ms)))
            .send()
            .await
            .map_err(|e| backend("storing a signal", e))?;
        Ok(())
    }

    async fn list_signals(&self, project_id: &str, query: &SignalQuery) -> Result<SignalPage, StoreError> {
        let after = query.after()?;
        let since = query.since_key();
        let page_size = query.page_size();
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(signals_pk(project_id)))
            .expression_attribute_values(":now", n(store_now().timestamp_millis()))
            .scan_index_forward(false)
            .consistent_read(true);
        let key_condition = match (&since, &after) {
            (None, None) => "PK = :pk",
            (Some(since), None) => {
                request = request.expression_attribute_values(":since", s(since));
                "PK = :pk AND SK >= :since"
            }
            (None, Some(after)) => {
                request = request.expression_attribute_values(":after", s(after.as_str()));
                "PK = :pk AND SK < :after"
            }
            // BETWEEN is inclusive: the `after` record itself is skipped below.
            (Some(since), Some(after)) if since.as_str() <= after.as_str() => {
                request = request
                    .expression_attribute_values(":since", s(since))
                    .expression_attribute_values(":after", s(after.as_str()));
                "PK = :pk AND SK BETWEEN :since AND :after"
            }
            (Some(_), Some(_)) => return Ok(SignalPage::default()),
        };
        let mut filters = vec!["expiresAtMs > :now"];
        if let Some(signal_type) = &query.signal_type {
            request = request.expression_attribute_values(":type", s(signal_type));
            filters.push("signalType = :type");
        }
        if let Some(related) = &query.related {
            request = request.expression_attribute_values(":related", s(related));
            filters.push("contains(relatedItems, :related)");
        }
        if let Some(source) = &query.source {
            request = request
                .expression_attribute_names("#source", "source")
                .expression_attribute_values(":source", s(source));
            filters.push("#source = :source");
        }
        if let Some(priority) = query.priority {
            request = request
                .expression_attribute_names("#priority", "priority")
                .expression_attribute_values(":priority", s(priority.as_str()));
            filters.push("#priority = :priority");
        }
        let filtered = query.signal_type.is_some()
            || query.related.is_some()
            || query.source.is_some()
            || query.priority.is_some();
        let per_read = (page_size + 1) * if filtered { FILTERED_READ_FACTOR } else { 1 };
        let request = request
            .key_condition_expression(key_condition)
            .filter_expression(filters.join(" AND "))
            .limit(i32::try_from(per_read).unwrap_or(i32::MAX));

        // One record more than the page tells whether another page follows.
        let mut found: Vec<(String, Item)> = Vec::new();
        let mut start = None;
        for _ in 0..MAX_READS {
            let out = request
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| backend("listing signals", e))?;
            for item in out.items.unwrap_or_default() {
                let sort_key = get_s(&item, SK)?;
                if after.as_ref().is_some_and(|after| after.as_str() == sort_key) {
                    continue;
                }
                found.push((sort_key, item));
                if found.len() > page_size {
                    found.truncate(page_size);
                    return page(found, true);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return page(found, false);
            }
        }
        // Out of reads: a short page that continues after the last record read.
        let resume = start.as_ref().map(|key| get_s(key, SK)).transpose()?;
        let mut page = page(found, false)?;
        page.next_token = resume.map(|key| SignalSortKey::from_stored(key).to_token());
        Ok(page)
    }
}

/// The records as signals; with `more`, a token continuing after the last one.
fn page(found: Vec<(String, Item)>, more: bool) -> Result<SignalPage, StoreError> {
    let next_token = match found.last() {
        Some((sort_key, _)) if more => Some(SignalSortKey::from_stored(sort_key.clone()).to_token()),
        _ => None,
    };
    let signals = found
        .iter()
        .map(|(_, item)| {
            serde_json::from_str(&get_s(item, "signal")?)
                .map_err(|e| StoreError::Corrupt(format!("stored signal is unreadable: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(SignalPage { signals, next_token })
}
