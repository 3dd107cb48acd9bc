//! Delta strategies (spec §4.2): how the checkpoint goes into the first request, and how the
//! pages of a run move it forward.
//!
//! | strategy | request | new position |
//! |---|---|---|
//! | `timestamp_filter` | `queryParam` = position minus `lookbackSeconds`, as `format` | newest item timestamp |
//! | `delta_token` | the token as `tokenParam`, or the token itself when it is a URL | last `tokenPath` value seen |
//! | `cursor` | the cursor as `cursorParam` | last `cursorPath` value seen |
//! | `since_id` | the id as `idParam` | highest item id (`idPath`) |
//!
//! The position never moves backwards, and a run that sees nothing new keeps it.
//!
//! A `timestamp_filter` written without an offset (`yyyy-MM-dd HH:mm`) is written in its
//! `timeZone`; with `stopAtCheckpoint`, items older than the position are dropped on our side
//! and paging stops at the first of them (for APIs that list newest first and cannot filter).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use switchboard_core::jsonpath::{CompiledPath, scalar_text};
use switchboard_core::mapping::TimestampReader;
use switchboard_core::mapping::timestamp::parse_timestamp;
use switchboard_core::model::{TimestampFormat, TimestampParamFormat};
use switchboard_core::polling::{
    BackfillPlan, Checkpoint, DeltaPlan, ItemPlan, PageCursor, PollError, Resume, TimeZonePlan,
};

use crate::request::{Escape, Vars, render_text};

/// Ids kept per checkpoint for "at or after" filters; beyond this, a few duplicates may pass
/// (the normaliser removes them).
const MAX_SEEN_IDS: usize = 200;

/// The position as the API expects it in a request; `None` when there is no position. When
/// `required` (the template itself uses `{{checkpoint}}`), a timestamp filter without a position
/// starts at the Unix epoch.
pub fn request_value(
    strategy: &DeltaPlan,
    position: Option<&str>,
    required: bool,
) -> Result<Option<String>, PollError> {
    request_value_in(strategy, position, required, Tz::UTC)
}

/// As [`request_value`], writing formats without an offset in `zone` (see [`time_zone`]).
pub fn request_value_in(
    strategy: &DeltaPlan,
    position: Option<&str>,
    required: bool,
    zone: Tz,
) -> Result<Option<String>, PollError> {
    let DeltaPlan::TimestampFilter(filter) = strategy else {
        return Ok(position.map(str::to_owned));
    };
    let time = match position {
        Some(p) => parse_position(p)?,
        None if required => DateTime::UNIX_EPOCH,
        None => return Ok(None),
    };
    Ok(Some(write_time(filter.format, time - filter.lookback, zone)))
}

/// A time as a timestamp filter writes it in a request.
pub fn write_time(format: TimestampParamFormat, time: DateTime<Utc>, zone: Tz) -> String {
    match format {
        TimestampParamFormat::Iso8601 => time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        TimestampParamFormat::Unix => time.timestamp().to_string(),
        TimestampParamFormat::UnixMs => time.timestamp_millis().to_string(),
        // Leaving out the seconds rounds down: the filter starts at most a minute early.
        TimestampParamFormat::DateTimeMinutes => time.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string(),
    }
}

/// The end of the time window a pass from `checkpoint` covers: `step` after its position, or
/// `None` when the window reaches `now` (or there is no window, or no position to start from).
pub fn window_end(
    strategy: &DeltaPlan,
    backfill: Option<&BackfillPlan>,
    checkpoint: &Checkpoint,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, PollError> {
    let (DeltaPlan::TimestampFilter(_), Some(window)) = (strategy, backfill.and_then(|b| b.window.as_ref())) else {
        return Ok(None);
    };
    let Some(position) = checkpoint.position.as_deref() else { return Ok(None) };
    let end = parse_position(position)? + window.step;
    Ok((end < now).then_some(end))
}

/// The time zone a timestamp filter writes zone-less positions in: its `timeZone` (an IANA
/// name, or `{{config.<key>}}` filled from `vars`), UTC when it has none.
pub fn time_zone(strategy: &DeltaPlan, vars: &Vars<'_>) -> Result<Tz, PollError> {
    let DeltaPlan::TimestampFilter(filter) = strategy else {
        return Ok(Tz::UTC);
    };
    let template = match &filter.time_zone {
        TimeZonePlan::Fixed(zone) => return Ok(*zone),
        TimeZonePlan::FromConfig(template) => template,
    };
    let name = render_text(template, vars, Escape::Raw)?;
    let name = name.trim();
    if name.is_empty() {
        return Ok(Tz::UTC);
    }
    name.parse().map_err(|_| PollError::Config(format!("time zone {name:?} is not an IANA time zone name")))
}

/// The checkpoint a first sync starts from under `backfill`: the instance's start date
/// (`YYYY-MM-DD`, taken as midnight UTC, or RFC 3339), else `defaultDays` before `now`; no
/// checkpoint without a backfill or when neither is set (the API's own beginning).
pub fn first_checkpoint(
    backfill: Option<&BackfillPlan>,
    config: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Checkpoint, PollError> {
    let Some(backfill) = backfill else { return Ok(Checkpoint::default()) };
    let start = match config.get(&backfill.start_date_key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(text) => match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => date.and_time(chrono::NaiveTime::MIN).and_utc(),
            Err(_) => parse_timestamp(&Value::String(text.to_owned()), TimestampFormat::Auto).map_err(|_| {
                PollError::Config(format!(
                    "config value {:?} is {text:?}: not a date (YYYY-MM-DD) or an RFC 3339 timestamp",
                    backfill.start_date_key
                ))
            })?,
        },
        None => match backfill.default_days {
            Some(days) => now - chrono::TimeDelta::days(i64::from(days)),
            None => return Ok(Checkpoint::default()),
        },
    };
    Ok(Checkpoint::at(start.to_rfc3339_opts(SecondsFormat::Secs, true)))
}

/// With `stopAtCheckpoint`, the time before which items are already seen: the position minus
/// the lookback; `None` otherwise or without a position.
pub fn cutoff(strategy: &DeltaPlan, checkpoint: &Checkpoint) -> Result<Option<DateTime<Utc>>, PollError> {
    match (strategy, checkpoint.position.as_deref()) {
        (DeltaPlan::TimestampFilter(filter), Some(position)) if filter.stop_at_checkpoint => {
            Ok(Some(parse_position(position)? - filter.lookback))
        }
        _ => Ok(None),
    }
}

/// Parses a timestamp position (RFC 3339, or unix seconds / milliseconds typed by a user).
pub fn parse_position(position: &str) -> Result<DateTime<Utc>, PollError> {
    parse_timestamp(&Value::String(position.to_owned()), TimestampFormat::Auto)
        .map_err(|e| PollError::Config(format!("checkpoint {position:?} is not a timestamp: {e}")))
}

/// Moves the position forward as a run's pages arrive.
#[derive(Debug, Clone)]
pub enum Tracker {
    /// `timestamp_filter`: newest item timestamp and the ids at it.
    Timestamp {
        /// How item timestamps are read (the mapping's `timestampPath` and formats).
        reader: TimestampReader,
        /// The position the run filters by, and the ids already seen there.
        from: Option<(DateTime<Utc>, Vec<String>)>,
        /// Newest timestamp so far.
        best: Option<DateTime<Utc>>,
        /// Ids at `best`.
        ids: Vec<String>,
    },
    /// `delta_token` / `cursor`: the last value found in a response.
    Latest {
        /// Path in the response.
        path: CompiledPath,
        /// Last value seen.
        value: Option<String>,
    },
    /// No delta (a full listing): nothing moves.
    Nothing,
    /// `since_id`: the highest item id.
    MaxId {
        /// Path in an item.
        path: CompiledPath,
        /// Highest id so far.
        best: Option<String>,
    },
}

impl Tracker {
    /// A tracker for a run starting from `checkpoint` (continuing its progress when resuming).
    pub fn new(strategy: &DeltaPlan, items: &ItemPlan, checkpoint: &Checkpoint) -> Result<Self, PollError> {
        let progress = checkpoint.resume.as_ref();
        Ok(match strategy {
            DeltaPlan::TimestampFilter(_) => {
                let reader = items.timestamp.clone();
                let from = match &checkpoint.position {
                    Some(p) => Some((parse_position(p)?, checkpoint.seen_at_position.clone())),
                    None => None,
                };
                let best = progress.and_then(|r| r.position.as_deref()).map(parse_position).transpose()?;
                Self::Timestamp {
                    reader,
                    from,
                    best,
                    ids: progress.map(|r| r.seen_at_position.clone()).unwrap_or_default(),
                }
            }
            DeltaPlan::DeltaToken { path, .. } | DeltaPlan::Cursor { path, .. } => {
                Self::Latest { path: path.clone(), value: progress.and_then(|r| r.position.clone()) }
            }
            DeltaPlan::SinceId { path, .. } => {
                Self::MaxId { path: path.clone(), best: progress.and_then(|r| r.position.clone()) }
            }
            DeltaPlan::Full => Self::Nothing,
        })
    }

    /// An item's timestamp, for `timestamp_filter` (`None` for other strategies, or when the
    /// item has no readable timestamp).
    pub fn item_time(&self, item: &Value) -> Option<DateTime<Utc>> {
        match self {
            Self::Timestamp { reader, .. } => reader.read(item).ok(),
            Self::Latest { .. } | Self::MaxId { .. } | Self::Nothing => None,
        }
    }

    /// Looks at a whole response (delta tokens and cursors live there).
    pub fn observe_response(&mut self, body: &Value) {
        if let Self::Latest { path, value } = self
            && let Some(found) = path.first(body).and_then(scalar_text).filter(|v| !v.is_empty())
        {
            *value = Some(found);
        }
    }

    /// Looks at one item; `false` means the item was already delivered at the checkpoint's
    /// position and should be dropped.
    pub fn observe_item(&mut self, item: &Value, id: Option<&str>) -> bool {
        match self {
            Self::Timestamp { reader, from, best, ids } => {
                let Some(time) = reader.read(item).ok() else {
                    return true;
                };
                if let (Some((at, seen)), Some(id)) = (from.as_ref(), id)
                    && *at == time
                    && seen.iter().any(|s| s == id)
                {
                    return false;
                }
                match *best {
                    Some(b) if b > time => {}
                    Some(b) if b == time => push_id(ids, id),
                    _ => {
                        *best = Some(time);
                        ids.clear();
                        push_id(ids, id);
                    }
                }
                true
            }
            Self::MaxId { path, best } => {
                if let Some(found) = path.first(item).and_then(scalar_text)
                    && best.as_deref().is_none_or(|b| id_greater(&found, b))
                {
                    *best = Some(found);
                }
                true
            }
            Self::Latest { .. } | Self::Nothing => true,
        }
    }

    /// The checkpoint of an unfinished run that continues at `next`.
    pub fn resume_at(&self, start: &Checkpoint, next: PageCursor) -> Checkpoint {
        let (position, seen_at_position) = self.progress();
        Checkpoint {
            position: start.position.clone(),
            seen_at_position: start.seen_at_position.clone(),
            resume: Some(Resume { next, position, seen_at_position }),
            ..Checkpoint::default()
        }
    }

    /// The checkpoint of a complete run that started from `start`.
    pub fn complete(&self, start: &Checkpoint) -> Checkpoint {
        let (progress, ids) = self.progress();
        let mut done = Checkpoint { resume: None, ..start.clone() };
        match self {
            Self::Timestamp { from, best: Some(best), .. } => match from {
                Some((at, _)) if at > best => {}
                Some((at, seen)) if at == best => {
                    let mut merged = seen.clone();
                    for id in ids {
                        push_id(&mut merged, Some(&id));
                    }
                    done.seen_at_position = merged;
                }
                _ => {
                    done.position = progress;
                    done.seen_at_position = ids;
                }
            },
            Self::MaxId { best: Some(best), .. }
                if start.position.as_deref().is_none_or(|old| id_greater(best, old)) =>
            {
                done.position = Some(best.clone());
            }
            Self::Latest { value: Some(value), .. } => done.position = Some(value.clone()),
            _ => {}
        }
        done
    }

    fn progress(&self) -> (Option<String>, Vec<String>) {
        match self {
            Self::Timestamp { best, ids, .. } => {
                (best.map(|b| b.to_rfc3339_opts(SecondsFormat::AutoSi, true)), ids.clone())
            }
            Self::Latest { value, .. } => (value.clone(), Vec::new()),
            Self::MaxId { best, .. } => (best.clone(), Vec::new()),
            Self::Nothing => (None, Vec::new()),
        }
    }
}

fn push_id(ids: &mut Vec<String>, id: Option<&str>) {
    if let Some(id) = id
        && ids.len() < MAX_SEEN_IDS
        && !ids.iter().any(|s| s == id)
    {
        ids.push(id.to_owned());
    }
}

/// Compares ids numerically when both are integers, else as text.
fn id_greater(a: &str, b: &str) -> bool {
    match (a.parse::<i128>(), b.parse::<i128>()) {
        (Ok(x), Ok(y)) => x > y,
        _ => a > b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::TimeDelta;
    use switchboard_core::polling::{FailureClass, TimestampFilter};
    use switchboard_core::template::Template;

    use crate::credentials::Credentials;

    fn strategy(
        param: &str,
        format: TimestampParamFormat,
        lookback: i64,
        time_zone: TimeZonePlan,
        stop_at_checkpoint: bool,
    ) -> DeltaPlan {
        DeltaPlan::TimestampFilter(TimestampFilter {
            param: param.into(),
            format,
            lookback: TimeDelta::seconds(lookback),
            time_zone,
            stop_at_checkpoint,
        })
    }

    fn filter(format: TimestampParamFormat, lookback: Option<u32>) -> DeltaPlan {
        strategy("since", format, i64::from(lookback.unwrap_or(0)), TimeZonePlan::Fixed(Tz::UTC), false)
    }

    fn from_config() -> TimeZonePlan {
        TimeZonePlan::FromConfig(Template::parse("{{config.timeZone}}").expect("valid"))
    }

    fn zoned(zone: &str) -> (DeltaPlan, Tz) {
        let strategy = strategy("cql", TimestampParamFormat::DateTimeMinutes, 120, from_config(), false);
        let config = std::collections::BTreeMap::from([("timeZone".to_owned(), zone.to_owned())]);
        let credentials = Credentials::new();
        let vars = Vars::instance(&config, &credentials);
        let tz = time_zone(&strategy, &vars).expect("a zone");
        (strategy, tz)
    }

    #[test]
    fn minute_positions_are_written_in_the_zone_the_api_reads_them_in() {
        let at = Some("2024-07-01T10:00:42Z");
        let (berlin, tz) = zoned("Europe/Berlin");
        // 09:58:42 UTC after the lookback is 11:58 in Berlin (summer time, +02:00).
        assert_eq!(request_value_in(&berlin, at, true, tz).expect("ok").as_deref(), Some("2024-07-01 11:58"));
        let (winter, tz) = zoned("Europe/Berlin");
        let jan = request_value_in(&winter, Some("2024-01-15T10:00:00Z"), true, tz).expect("ok");
        assert_eq!(jan.as_deref(), Some("2024-01-15 10:58"));
        let (utc, tz) = zoned("");
        assert_eq!(tz, Tz::UTC);
        assert_eq!(request_value_in(&utc, at, true, tz).expect("ok").as_deref(), Some("2024-07-01 09:58"));
        let (new_york, tz) = zoned("America/New_York");
        assert_eq!(request_value_in(&new_york, None, true, tz).expect("ok").as_deref(), Some("1969-12-31 18:58"));
    }

    #[test]
    fn an_unknown_time_zone_is_a_config_error() {
        let strategy = strategy("", TimestampParamFormat::DateTimeMinutes, 0, from_config(), false);
        let config = std::collections::BTreeMap::from([("timeZone".to_owned(), "Mars/Olympus_Mons".to_owned())]);
        let credentials = Credentials::new();
        let vars = Vars::instance(&config, &credentials);
        let err = time_zone(&strategy, &vars).expect_err("unknown zone");
        assert_eq!(err.class(), FailureClass::Config);
        assert!(err.to_string().contains("Mars/Olympus_Mons"), "{err}");
    }

    #[test]
    fn the_cutoff_is_the_position_minus_the_lookback_and_only_when_asked_for() {
        let stop = strategy("", TimestampParamFormat::Iso8601, 30, TimeZonePlan::Fixed(Tz::UTC), true);
        let at = Checkpoint::at("2024-05-01T10:00:00Z");
        let expected = parse_position("2024-05-01T09:59:30Z").expect("valid");
        assert_eq!(cutoff(&stop, &at).expect("ok"), Some(expected));
        assert_eq!(cutoff(&stop, &Checkpoint::default()).expect("ok"), None);
        assert_eq!(cutoff(&filter(TimestampParamFormat::Iso8601, Some(30)), &at).expect("ok"), None);
    }

    #[test]
    fn timestamp_positions_are_formatted_with_lookback() {
        let at = Some("2024-05-01T10:00:00Z");
        let iso = request_value(&filter(TimestampParamFormat::Iso8601, Some(60)), at, false).expect("ok");
        assert_eq!(iso.as_deref(), Some("2024-05-01T09:59:00Z"));
        let unix = request_value(&filter(TimestampParamFormat::Unix, None), at, false).expect("ok");
        assert_eq!(unix.as_deref(), Some("1714557600"));
        let ms = request_value(&filter(TimestampParamFormat::UnixMs, None), at, false).expect("ok");
        assert_eq!(ms.as_deref(), Some("1714557600000"));
        assert_eq!(request_value(&filter(TimestampParamFormat::Unix, None), None, false).expect("ok"), None);
        let epoch = request_value(&filter(TimestampParamFormat::Iso8601, None), None, true).expect("ok");
        assert_eq!(epoch.as_deref(), Some("1970-01-01T00:00:00Z"));
    }

    #[test]
    fn ids_compare_numerically_when_they_can() {
        assert!(id_greater("10", "9"));
        assert!(!id_greater("9", "10"));
        assert!(id_greater("b", "a"));
    }
}
