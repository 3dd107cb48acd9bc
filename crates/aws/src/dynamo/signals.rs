//! Recent signals: `PK=PROJECT#{p}#SIGNALS, SK={timestamp}#{signalId}` (a [`SignalSortKey`]), the
//! signal as JSON in `signal`, with `signalType`, `source` and `priority` copied out for filters,
//! and the references it is indexed under (`references`) with their version (`refsVersion`).
//! A second put of a signal overwrites the first: its id is a hash that includes its timestamp
//! (`signal::signal_id`), so the same id always has the same key.
//!
//! **Index by reference.** Each of a signal's [`indexed_references`] has its own item,
//! `PK=PROJECT#{p}#REF#{reference}, SK={timestamp}#{signalId}` (project ids hold no `#`), a copy
//! of what a listing reads (`signal`, `signalType`, `source`, `priority`, `expiresAtMs` and the
//! TTL), so listing a reference is a Query of its own partition: no read of the project's other
//! signals, and no second read per entry. A put reads the stored signal's `references` and
//! writes, in one `TransactWriteItems`, the signal, an item per reference, and the deletion of
//! each reference it no longer has. A transaction rather than `BatchWriteItem`: the signal and its
//! index change together or not at all (a failed put is retried by the normaliser from the
//! queue, and never leaves a dropped reference listing the new signal or a new one missing), at
//! twice the write units. The signal's put is conditional on the `refsVersion` read, so two
//! concurrent puts of one signal cannot leave stale entries: the loser reads again and retries.
//! At most 1 + 2 × 20 actions (`MAX_INDEXED_REFERENCES`; DynamoDB allows 100); a signal whose
//! copies would pass the 4 MB a transaction may carry is indexed under fewer of its first
//! references (with a warning). Signals stored before the index existed are listed by reference
//! once they are stored again; the rest expire with the retention.
//!
//! Listing queries the partition newest first. `since` and the page token bound the sort key;
//! type, source, priority and expiry are filters, which DynamoDB applies after `Limit`, so the
//! listing reads on until the page is full, the partition ends, or [`MAX_READS`] requests were
//! made (then the page is short and its token continues after the last record read).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use switchboard_core::ports::{
    SignalPage, SignalQuery, SignalSortKey, SignalStore, StoreError, indexed_references, store_now,
};
use switchboard_core::signal::NormalisedSignal;

use super::DynamoStore;
use crate::error::backend;
use crate::item::{Item, get_s, n, opt_n, s, ttl_epoch_seconds};
use crate::keys::{PK, SK, TTL_ATTRIBUTE, signal_ref_pk, signals_pk};

/// Query requests one listing may make.
const MAX_READS: usize = 10;
/// Records read per request, as a multiple of the page size, when type, source or priority
/// filters discard some of them.
const FILTERED_READ_FACTOR: usize = 4;
/// Attempts of one put when concurrent puts of the same signal keep changing its references.
const MAX_PUT_ATTEMPTS: usize = 5;
/// Bytes one put's transaction may carry, below DynamoDB's 4 MB with room for attribute names.
const TRANSACTION_BYTES: usize = 3_800_000;
/// Bytes an index item adds to the signal's JSON (keys, copied attributes, names), generously.
const INDEX_ITEM_OVERHEAD: usize = 1_024;

/// The attributes a signal item and its index items share: what a listing reads and filters on.
fn listed_attributes(signal: &NormalisedSignal, body: &str, expires_ms: i64) -> Item {
    let mut item = Item::from([
        ("signalType".to_owned(), s(&signal.signal_type)),
        ("source".to_owned(), s(&signal.source)),
        ("signal".to_owned(), s(body)),
        ("expiresAtMs".to_owned(), n(expires_ms)),
        (TTL_ATTRIBUTE.to_owned(), n(ttl_epoch_seconds(expires_ms))),
    ]);
    if let Some(priority) = signal.priority {
        item.insert("priority".to_owned(), s(priority.as_str()));
    }
    item
}

/// The references a put indexes: [`indexed_references`], fewer when their copies of a large
/// signal would not fit in one transaction.
fn references_within_budget<'a>(signal: &'a NormalisedSignal, body: &str) -> Vec<&'a str> {
    let mut references = indexed_references(signal);
    let per_item = body.len() + INDEX_ITEM_OVERHEAD;
    let fit = TRANSACTION_BYTES.saturating_sub(per_item) / per_item;
    if references.len() > fit {
        tracing::warn!(
            signal_id = %signal.id,
            bytes = body.len(),
            indexed = fit,
            references = references.len(),
            "signal too large to copy under every reference; indexed under its first ones only"
        );
        references.truncate(fit);
    }
    references
}

/// The references a stored signal is indexed under, and their version (`None`: no signal, or
/// one stored before the index existed).
fn stored_references(item: Option<&Item>) -> Result<(Vec<String>, Option<i64>), StoreError> {
    let Some(item) = item else { return Ok((Vec::new(), None)) };
    let references = match item.get("references") {
        None => Vec::new(),
        Some(AttributeValue::L(values)) => values.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
        Some(_) => return Err(StoreError::Corrupt("stored signal has a `references` that is not a list".into())),
    };
    Ok((references, opt_n(item, "refsVersion")?))
}

fn build<T, E: std::fmt::Display>(what: &str, built: Result<T, E>) -> Result<T, StoreError> {
    built.map_err(|e| StoreError::Invalid(format!("cannot build the {what} of a signal put: {e}")))
}

/// Whether a transaction failed only because the signal's `refsVersion` changed meanwhile.
fn lost_race(error: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, impl std::fmt::Debug>) -> bool {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => {
            canceled.cancellation_reasons().iter().any(|reason| reason.code() == Some("ConditionalCheckFailed"))
        }
        _ => false,
    }
}

#[async_trait]
impl SignalStore for DynamoStore {
    async fn put_signal(&self, signal: &NormalisedSignal, ttl: Duration) -> Result<(), StoreError> {
        let sort_key = SignalSortKey::of(signal)?;
        let body = serde_json::to_string(signal)
            .map_err(|e| StoreError::Invalid(format!("signal `{}` cannot be serialised: {e}", signal.id)))?;
        let now_ms = store_now().timestamp_millis();
        let expires_ms = now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let references = references_within_budget(signal, &body);
        let listed = listed_attributes(signal, &body, expires_ms);
        let signal_key =
            Item::from([(PK.to_owned(), s(signals_pk(&signal.project_id))), (SK.to_owned(), s(sort_key.as_str()))]);
        let ref_key = |reference: &str| {
            Item::from([
                (PK.to_owned(), s(signal_ref_pk(&signal.project_id, reference))),
                (SK.to_owned(), s(sort_key.as_str())),
            ])
        };
        for _ in 0..MAX_PUT_ATTEMPTS {
            let stored = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(signal_key.clone()))
                .projection_expression("#references, refsVersion")
                .expression_attribute_names("#references", "references")
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| backend("reading a signal's references", e))?;
            let (old_references, version) = stored_references(stored.item())?;

            let mut item = listed.clone();
            item.extend(signal_key.clone());
            item.insert("type".to_owned(), s("signal"));
            item.insert("references".to_owned(), AttributeValue::L(references.iter().map(|r| s(*r)).collect()));
            item.insert("refsVersion".to_owned(), n(version.unwrap_or(0) + 1));
            let put = Put::builder().table_name(&self.table).set_item(Some(item));
            let put = match version {
                Some(version) => put
                    .condition_expression("refsVersion = :version")
                    .expression_attribute_values(":version", n(version)),
                None => put.condition_expression("attribute_not_exists(refsVersion)"),
            };
            let mut actions = vec![TransactWriteItem::builder().put(build("signal item", put.build())?).build()];
            for reference in &references {
                let mut item = listed.clone();
                item.extend(ref_key(reference));
                item.insert("type".to_owned(), s("signal_ref"));
                let put = Put::builder().table_name(&self.table).set_item(Some(item));
                actions.push(TransactWriteItem::builder().put(build("index item", put.build())?).build());
            }
            for dropped in old_references.iter().filter(|old| !references.contains(&old.as_str())) {
                let delete = Delete::builder().table_name(&self.table).set_key(Some(ref_key(dropped)));
                actions.push(TransactWriteItem::builder().delete(build("index deletion", delete.build())?).build());
            }
            match self.client.transact_write_items().set_transact_items(Some(actions)).send().await {
                Ok(_) => return Ok(()),
                Err(e) if lost_race(&e) => continue,
                Err(e) => return Err(backend("storing a signal", e)),
            }
        }
        Err(StoreError::ConditionFailed(format!(
            "signal `{}` was stored concurrently {MAX_PUT_ATTEMPTS} times while its references were written",
            signal.id
        )))
    }

    async fn list_signals(&self, project_id: &str, query: &SignalQuery) -> Result<SignalPage, StoreError> {
        let after = query.after()?;
        let since = query.since_key();
        let page_size = query.page_size();
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(
                ":pk",
                s(match &query.related {
                    Some(reference) => signal_ref_pk(project_id, reference),
                    None => signals_pk(project_id),
                }),
            )
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
        let filtered = query.signal_type.is_some() || query.source.is_some() || query.priority.is_some();
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
