//! Reading and writing DynamoDB attribute values.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use switchboard_core::ports::StoreError;

/// A DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string value.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number value.
pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A boolean value.
pub(crate) fn b(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

/// A timestamp, as RFC 3339 with milliseconds (sorts lexicographically).
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A map of strings.
pub(crate) fn string_map(map: &BTreeMap<String, String>) -> AttributeValue {
    AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), s(v))).collect())
}

/// Seconds since the epoch at which a record created now with this many milliseconds to live
/// may be removed by DynamoDB's TTL (rounded up).
pub(crate) fn ttl_epoch_seconds(expires_at_ms: i64) -> i64 {
    expires_at_ms.div_euclid(1000) + 1
}

fn missing(name: &str) -> StoreError {
    StoreError::Corrupt(format!("stored item has no valid `{name}` attribute"))
}

/// A required string attribute.
pub(crate) fn get_s(item: &Item, name: &str) -> Result<String, StoreError> {
    opt_s(item, name).ok_or_else(|| missing(name))
}

/// An optional string attribute.
pub(crate) fn opt_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// A required boolean attribute.
pub(crate) fn get_bool(item: &Item, name: &str) -> Result<bool, StoreError> {
    item.get(name).and_then(|v| v.as_bool().ok()).copied().ok_or_else(|| missing(name))
}

/// An optional boolean attribute.
pub(crate) fn opt_bool(item: &Item, name: &str) -> Result<Option<bool>, StoreError> {
    item.get(name).map(|v| v.as_bool().copied().map_err(|_| missing(name))).transpose()
}

/// An optional number attribute.
pub(crate) fn opt_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<Option<T>, StoreError> {
    item.get(name).map(|v| v.as_n().ok().and_then(|text| text.parse().ok()).ok_or_else(|| missing(name))).transpose()
}

/// A required number attribute.
pub(crate) fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    opt_n(item, name)?.ok_or_else(|| missing(name))
}

/// A required timestamp attribute.
pub(crate) fn get_ts(item: &Item, name: &str) -> Result<DateTime<Utc>, StoreError> {
    opt_ts(item, name)?.ok_or_else(|| missing(name))
}

/// An optional timestamp attribute.
pub(crate) fn opt_ts(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    opt_s(item, name)
        .map(|text| DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc)).map_err(|_| missing(name)))
        .transpose()
}

/// A map-of-strings attribute (absent reads as empty).
pub(crate) fn get_string_map(item: &Item, name: &str) -> Result<BTreeMap<String, String>, StoreError> {
    let Some(value) = item.get(name) else { return Ok(BTreeMap::new()) };
    let map = value.as_m().map_err(|_| missing(name))?;
    map.iter().map(|(k, v)| Ok((k.clone(), v.as_s().map_err(|_| missing(name))?.clone()))).collect()
}
