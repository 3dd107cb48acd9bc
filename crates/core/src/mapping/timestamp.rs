//! Item timestamps in every format the seed connectors use, normalised to UTC: the standard
//! formats, declared strftime-style patterns, and candidate paths that fall through.

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use crate::jsonpath::CompiledPath;
use crate::model::TimestampFormat;

/// Reads an item's timestamp: candidate paths in order, each value parsed with the declared
/// format and, failing that, the declared pattern. The first readable candidate wins.
#[derive(Debug, Clone)]
pub struct TimestampReader {
    paths: Vec<CompiledPath>,
    format: TimestampFormat,
    pattern: Option<String>,
}

impl TimestampReader {
    /// A reader over `paths` (at least one) with `format` and an optional strftime `pattern`
    /// (checked with [`check_pattern`]).
    pub fn new(paths: Vec<CompiledPath>, format: TimestampFormat, pattern: Option<String>) -> Self {
        Self { paths, format, pattern }
    }

    /// The candidate paths, in order.
    pub fn paths(&self) -> &[CompiledPath] {
        &self.paths
    }

    /// The candidate paths as written, joined with ` | ` (for error messages).
    pub fn describe(&self) -> String {
        self.paths.iter().map(CompiledPath::as_str).collect::<Vec<_>>().join(" | ")
    }

    /// The item's timestamp; the error names each candidate and why it was passed over.
    pub fn read(&self, item: &Value) -> Result<DateTime<Utc>, String> {
        let mut reasons = Vec::new();
        for path in &self.paths {
            let Some(value) = path.first(item) else {
                reasons.push(format!("{}: no value", path.as_str()));
                continue;
            };
            match self.parse(value) {
                Ok(time) => return Ok(time),
                Err(why) => reasons.push(format!("{}: {why}", path.as_str())),
            }
        }
        Err(match reasons.as_slice() {
            [only] => only.split_once(": ").map(|(_, why)| why.to_owned()).unwrap_or_else(|| only.clone()),
            _ => format!("no candidate path has a readable timestamp ({})", reasons.join("; ")),
        })
    }

    fn parse(&self, value: &Value) -> Result<DateTime<Utc>, String> {
        let standard = parse_timestamp(value, self.format);
        match (&self.pattern, value) {
            (Some(pattern), Value::String(text)) if standard.is_err() => parse_with_pattern(text.trim(), pattern),
            _ => standard,
        }
    }
}

/// Checks a strftime-style pattern: the error says what is wrong with it.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.trim().is_empty() {
        return Err("the timestamp pattern is empty".to_owned());
    }
    if StrftimeItems::new(pattern).any(|item| matches!(item, Item::Error)) {
        return Err(format!(
            "{pattern:?} is not a valid strftime pattern (e.g. \"%Y-%m-%d %H:%M:%S UTC\"; `%%` for a literal %)"
        ));
    }
    if !pattern.contains("%Y") && !pattern.contains("%F") && !pattern.contains("%s") {
        return Err(format!("{pattern:?} has no year (`%Y`, `%F`) nor epoch (`%s`): it cannot name a moment"));
    }
    Ok(())
}

/// Parses `text` with a strftime-style `pattern`: with an offset when the pattern has one,
/// else as UTC; a date-only pattern gives midnight UTC.
pub fn parse_with_pattern(text: &str, pattern: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_str(text, pattern) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, pattern) {
        return Ok(t.and_utc());
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, pattern)
        && let Some(t) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    Err(format!("{text:?} is neither a standard timestamp nor written as {pattern:?}"))
}

/// Unix values at or above this magnitude are taken as milliseconds by `auto` (year 5138 in
/// seconds, 1973 in milliseconds).
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Parses a timestamp value written in `format`; the error says what was found.
pub fn parse_timestamp(value: &Value, format: TimestampFormat) -> Result<DateTime<Utc>, String> {
    let text: std::borrow::Cow<'_, str> = match value {
        Value::String(s) => s.trim().into(),
        Value::Number(n) => n.to_string().into(),
        other => return Err(format!("expected a timestamp string or number, found {}", kind(other))),
    };
    let numeric = is_decimal(&text);
    match format {
        TimestampFormat::Auto if numeric => {
            let (secs, nanos) = split_decimal(&text)?;
            if secs.abs() >= MILLIS_THRESHOLD { from_millis(&text) } else { from_parts(secs, nanos) }
        }
        TimestampFormat::Auto | TimestampFormat::Iso8601 => parse_iso8601(&text),
        TimestampFormat::Unix | TimestampFormat::Slack if numeric => {
            let (secs, nanos) = split_decimal(&text)?;
            from_parts(secs, nanos)
        }
        TimestampFormat::UnixMs if numeric => from_millis(&text),
        TimestampFormat::UnixNs if numeric => from_nanos(&text),
        _ => Err(format!("expected a numeric timestamp, found {text:?}")),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
    }
}

fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let mut parts = digits.splitn(2, '.');
    let int = parts.next().unwrap_or_default();
    let frac = parts.next().unwrap_or("0");
    !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Splits `"1531420618.000200"` into whole seconds and nanoseconds without float rounding.
fn split_decimal(text: &str) -> Result<(i64, u32), String> {
    let negative = text.starts_with('-');
    let (int, frac) = text.trim_start_matches('-').split_once('.').unwrap_or((text.trim_start_matches('-'), ""));
    let whole: i64 = int.parse().map_err(|_| format!("timestamp {text:?} is out of range"))?;
    let mut nanos_digits: String = frac.chars().take(9).collect();
    while nanos_digits.len() < 9 {
        nanos_digits.push('0');
    }
    let nanos: u32 = nanos_digits.parse().map_err(|_| format!("timestamp {text:?} is not a number"))?;
    if negative {
        // -1.5 s is 2 s before the epoch plus 0.5 s.
        if nanos == 0 { Ok((-whole, 0)) } else { Ok((-whole - 1, 1_000_000_000 - nanos)) }
    } else {
        Ok((whole, nanos))
    }
}

fn from_millis(text: &str) -> Result<DateTime<Utc>, String> {
    let (millis, frac_nanos) = split_decimal(text)?;
    let secs = millis.div_euclid(1000);
    let nanos = (millis.rem_euclid(1000) as u32) * 1_000_000 + frac_nanos / 1000;
    from_parts(secs, nanos)
}

fn from_nanos(text: &str) -> Result<DateTime<Utc>, String> {
    let (nanos, _) = split_decimal(text)?;
    from_parts(nanos.div_euclid(1_000_000_000), nanos.rem_euclid(1_000_000_000) as u32)
}

fn from_parts(secs: i64, nanos: u32) -> Result<DateTime<Utc>, String> {
    Utc.timestamp_opt(secs, nanos).single().ok_or_else(|| format!("timestamp {secs} is out of range"))
}

fn parse_iso8601(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    // Offsets without a colon (`+0000`, as Jira writes them).
    for pattern in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(text, pattern) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    // No offset at all: the value is taken as UTC.
    for pattern in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, pattern) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(t) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    Err(format!("{text:?} is not an ISO 8601 timestamp"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::rfc3339;
    use serde_json::json;

    fn auto(v: Value) -> String {
        rfc3339(parse_timestamp(&v, TimestampFormat::Auto).expect("parses"))
    }

    #[test]
    fn iso8601_with_offsets_is_normalised_to_utc() {
        assert_eq!(auto(json!("2024-03-01T10:00:00+02:00")), "2024-03-01T08:00:00Z");
        assert_eq!(auto(json!("2024-03-01T10:00:00.123Z")), "2024-03-01T10:00:00.123Z");
        assert_eq!(auto(json!("2024-03-01T10:00:00.000+0000")), "2024-03-01T10:00:00Z");
        assert_eq!(auto(json!("2024-03-01T10:00:00")), "2024-03-01T10:00:00Z");
        assert_eq!(auto(json!("2024-03-01")), "2024-03-01T00:00:00Z");
    }

    #[test]
    fn unix_seconds_millis_and_slack_are_detected() {
        assert_eq!(auto(json!(1_700_000_000)), "2023-11-14T22:13:20Z");
        assert_eq!(auto(json!(1_700_000_000_123_i64)), "2023-11-14T22:13:20.123Z");
        assert_eq!(auto(json!("1700000000")), "2023-11-14T22:13:20Z");
        assert_eq!(auto(json!("1531420618.000200")), "2018-07-12T18:36:58.000200Z");
    }

    #[test]
    fn explicit_formats_are_honoured() {
        let ms = parse_timestamp(&json!(1_000), TimestampFormat::UnixMs).expect("ms");
        assert_eq!(rfc3339(ms), "1970-01-01T00:00:01Z");
        let s = parse_timestamp(&json!(1_000), TimestampFormat::Unix).expect("s");
        assert_eq!(rfc3339(s), "1970-01-01T00:16:40Z");
        assert!(parse_timestamp(&json!("yesterday"), TimestampFormat::Unix).is_err());
        // Opsgenie's updatedAt, a nanosecond integer beyond f64's exact range.
        let ns = parse_timestamp(&json!(1_420_452_374_669_001_603_i64), TimestampFormat::UnixNs).expect("ns");
        assert_eq!(rfc3339(ns), "2015-01-05T10:06:14.669001603Z");
        assert!(parse_timestamp(&json!("1420452374669001603"), TimestampFormat::UnixNs).is_ok());
        assert!(parse_timestamp(&json!("soon"), TimestampFormat::UnixNs).is_err());
    }

    #[test]
    fn a_declared_pattern_reads_what_iso8601_cannot() {
        let gitlab = "%Y-%m-%d %H:%M:%S UTC";
        assert!(check_pattern(gitlab).is_ok());
        assert_eq!(rfc3339(parse_with_pattern("2015-05-17 18:21:36 UTC", gitlab).unwrap()), "2015-05-17T18:21:36Z");
        let offset = "%d/%m/%Y %H:%M %z";
        assert_eq!(rfc3339(parse_with_pattern("17/05/2015 20:21 +0200", offset).unwrap()), "2015-05-17T18:21:00Z");
        assert_eq!(rfc3339(parse_with_pattern("17.05.2015", "%d.%m.%Y").unwrap()), "2015-05-17T00:00:00Z");
        assert!(parse_timestamp(&json!("2015-05-17 18:21:36 UTC"), TimestampFormat::Auto).is_err());
        for bad in ["", "%Q-%m", "%H:%M"] {
            assert!(check_pattern(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn candidate_paths_fall_through_missing_and_unreadable_values() {
        let paths = ["$.note.created_at", "$.object_attributes.created_at", "$.created_at"]
            .into_iter()
            .map(|p| CompiledPath::parse(p).unwrap())
            .collect();
        let reader = TimestampReader::new(paths, TimestampFormat::Auto, Some("%Y-%m-%d %H:%M:%S UTC".to_owned()));
        let item = json!({"object_attributes": {"created_at": "not a time"}, "created_at": "2015-05-17 18:21:36 UTC"});
        assert_eq!(rfc3339(reader.read(&item).unwrap()), "2015-05-17T18:21:36Z");
        let error = reader.read(&json!({"object_attributes": {"created_at": "soon"}})).unwrap_err();
        assert!(error.contains("$.note.created_at: no value") && error.contains("$.created_at: no value"), "{error}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for v in [json!(null), json!(true), json!([]), json!("not a date"), json!("99999999999999999999999")] {
            assert!(parse_timestamp(&v, TimestampFormat::Auto).is_err(), "{v}");
        }
    }
}
