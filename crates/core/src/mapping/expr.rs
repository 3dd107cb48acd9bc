//! Placeholders of mapping templates (`summaryTemplate`, `urlTemplate`, `idTemplate`): one or
//! more field paths (`a ?? b`: the first that has a value), then pure filters applied in order.
//!
//! ```text
//! {{object_attributes.title | truncate:80}}
//! {{note.author.name ?? user.name | default:someone}}
//! {{object_attributes.title | capture:"[A-Z][A-Z0-9]+-\d+"}}
//! {{created_at | date:"%Y-%m-%d"}}
//! {{labels.*.title | lower | join:" / "}}
//! {{updated_at | since:run_started_at}}
//! ```
//!
//! Filters: `lower`, `upper`, `trim`, `truncate:N` (characters, with `…`), `default:TEXT` (when
//! nothing else is left), `capture:REGEX` (the first match of each value: its first group when
//! the regex has one, else the whole match; values without a match are dropped), `date:FORMAT`
//! (the value read as a timestamp, written with a strftime-style format, in UTC), `since:PATH`
//! (the time from the timestamp at the item's field `PATH` to the value read as a timestamp,
//! written `1h 2m 3s`; dropped when either is missing or the value is earlier) and `join:SEP`
//! (how several values are joined, `, ` by default; it must come last, and a bare separator
//! runs to the end of the placeholder). An argument is written bare or quoted (`"..."`, needed
//! when it contains `|`; inside, `\"` is a quote and backslashes are otherwise kept as written).

use chrono::format::{Item, StrftimeItems};
use serde_json::Value;

use super::timestamp::parse_timestamp;
use crate::jsonpath::CompiledPath;
use crate::model::TimestampFormat;
use crate::pattern::Pattern;

/// Separator between several values of one placeholder.
pub const DEFAULT_JOIN: &str = ", ";

/// Longest argument of `truncate` (a guard against a typo like `truncate:80000000000`).
const MAX_TRUNCATE: usize = 100_000;

/// One compiled placeholder.
#[derive(Debug, Clone)]
pub struct Expr {
    paths: Vec<CompiledPath>,
    filters: Vec<Filter>,
    join: String,
}

#[derive(Debug, Clone)]
enum Filter {
    Lower,
    Upper,
    Trim,
    Truncate(usize),
    Default(String),
    Capture(Pattern),
    Date(String),
    Since(CompiledPath),
}

/// Every filter name, for error messages.
const FILTER_NAMES: [&str; 9] = ["lower", "upper", "trim", "truncate", "default", "capture", "date", "since", "join"];

impl Expr {
    /// Compiles the inside of a `{{...}}` placeholder; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (path_part, mut rest) = split_filter(text);
        let mut paths = Vec::new();
        for alternative in path_part.split("??") {
            let alternative = alternative.trim();
            if alternative.is_empty() {
                return Err(format!("empty field path in {text:?}"));
            }
            paths.push(CompiledPath::parse_field(alternative)?);
        }
        let mut filters = Vec::new();
        let mut join = DEFAULT_JOIN.to_owned();
        while let Some(chain) = rest {
            let chain = chain.trim_start();
            let name_end = chain.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(chain.len());
            let name = &chain[..name_end];
            let after_name = &chain[name_end..];
            let (argument, next) = match after_name.strip_prefix(':') {
                Some(arg) if name == "join" && !arg.starts_with('"') => (Some(arg.to_owned()), None),
                Some(arg) => {
                    let (arg, next) = read_argument(arg)?;
                    (Some(arg), next)
                }
                None => {
                    let (_, next) = split_filter(after_name);
                    if !after_name.trim().is_empty() && next.is_none() {
                        return Err(format!("unexpected {after_name:?} after filter `{name}`"));
                    }
                    (None, next)
                }
            };
            if name == "join" {
                if next.is_some() {
                    return Err("`join` must be the last filter".to_owned());
                }
                join = argument.unwrap_or_default();
            } else {
                filters.push(Filter::compile(name, argument)?);
            }
            rest = next;
        }
        Ok(Self { paths, filters, join })
    }

    /// The paths the placeholder reads, in order.
    pub fn paths(&self) -> &[CompiledPath] {
        &self.paths
    }

    /// Every path the placeholder reads: its alternatives and the start of a `since` filter.
    pub fn read_paths(&self) -> impl Iterator<Item = &CompiledPath> {
        self.paths.iter().chain(self.filters.iter().filter_map(|f| match f {
            Filter::Since(start) => Some(start),
            _ => None,
        }))
    }

    /// The placeholder's values for `item`, after every filter (empty when nothing is left).
    pub fn values(&self, item: &Value) -> Vec<String> {
        let mut values = Vec::new();
        for path in &self.paths {
            path.collect_strings(item, &mut values);
            if !values.is_empty() {
                break;
            }
        }
        for filter in &self.filters {
            values = filter.apply(values, item);
        }
        values
    }

    /// The placeholder rendered: its values joined.
    pub fn render(&self, item: &Value) -> Option<String> {
        let values = self.values(item);
        (!values.is_empty()).then(|| values.join(&self.join))
    }
}

impl Filter {
    fn compile(name: &str, argument: Option<String>) -> Result<Self, String> {
        let needs = |what: &str| format!("filter `{name}` needs {what} (`{name}:...`)");
        let takes_none = |argument: &Option<String>| match argument {
            Some(_) => Err(format!("filter `{name}` takes no argument")),
            None => Ok(()),
        };
        Ok(match name {
            "lower" => takes_none(&argument).map(|()| Self::Lower)?,
            "upper" => takes_none(&argument).map(|()| Self::Upper)?,
            "trim" => takes_none(&argument).map(|()| Self::Trim)?,
            "truncate" => {
                let text = argument.ok_or_else(|| needs("a length"))?;
                match text.trim().parse::<usize>() {
                    Ok(n) if (1..=MAX_TRUNCATE).contains(&n) => Self::Truncate(n),
                    _ => {
                        return Err(format!("filter `truncate` needs a length from 1 to {MAX_TRUNCATE}, not {text:?}"));
                    }
                }
            }
            "default" => Self::Default(argument.ok_or_else(|| needs("a text"))?),
            "capture" => {
                let pattern = argument.ok_or_else(|| needs("a regular expression"))?;
                Self::Capture(
                    Pattern::new(&pattern).map_err(|e| format!("filter `capture`: invalid regular expression: {e}"))?,
                )
            }
            "date" => {
                let format = argument.ok_or_else(|| needs("a strftime-style format"))?;
                if StrftimeItems::new(&format).any(|item| matches!(item, Item::Error)) {
                    return Err(format!("filter `date`: {format:?} is not a valid strftime format"));
                }
                Self::Date(format)
            }
            "since" => {
                let start = argument.ok_or_else(|| needs("the field path of the start time"))?;
                Self::Since(CompiledPath::parse_field(start.trim()).map_err(|e| format!("filter `since`: {e}"))?)
            }
            other => {
                return Err(format!("unknown filter `{other}` (filters: {})", FILTER_NAMES.join(", ")));
            }
        })
    }

    fn apply(&self, values: Vec<String>, item: &Value) -> Vec<String> {
        match self {
            Self::Lower => values.into_iter().map(|v| v.to_lowercase()).collect(),
            Self::Upper => values.into_iter().map(|v| v.to_uppercase()).collect(),
            Self::Trim => values.into_iter().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect(),
            Self::Truncate(n) => values.into_iter().map(|v| truncate(v, *n)).collect(),
            Self::Default(text) if values.is_empty() => vec![text.clone()],
            Self::Default(_) => values,
            Self::Capture(regex) => values
                .iter()
                .filter_map(|v| {
                    let found = regex.matcher()?.captures(v)?;
                    found.get(1).or_else(|| found.get(0)).map(|m| m.as_str().to_owned())
                })
                .collect(),
            Self::Date(format) => values
                .into_iter()
                .filter_map(|v| parse_timestamp(&Value::String(v), TimestampFormat::Auto).ok())
                .map(|time| time.format(format).to_string())
                .collect(),
            Self::Since(start_path) => {
                let mut starts = Vec::new();
                start_path.collect_strings(item, &mut starts);
                let Some(start) =
                    starts.first().and_then(|s| parse_timestamp(&Value::String(s.clone()), TimestampFormat::Auto).ok())
                else {
                    return Vec::new();
                };
                values
                    .into_iter()
                    .filter_map(|v| parse_timestamp(&Value::String(v), TimestampFormat::Auto).ok())
                    .filter_map(|end| (end - start).to_std().ok())
                    .map(|elapsed| human_duration(elapsed.as_secs()))
                    .collect()
            }
        }
    }
}

/// `3723` seconds as `1h 2m 3s` (leading zero units left out; `0s` for nothing).
fn human_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

/// Cuts `text` to `n` characters, ending with `…` when it was longer.
fn truncate(text: String, n: usize) -> String {
    if text.chars().count() <= n {
        return text;
    }
    let mut cut: String = text.chars().take(n.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Splits `text` at the first single `|` (a JSONPath `||` stays intact): the part before, and
/// the filter chain after it.
fn split_filter(text: &str) -> (&str, Option<&str>) {
    let bytes = text.as_bytes();
    for (at, &b) in bytes.iter().enumerate() {
        let doubled = (at > 0 && bytes[at - 1] == b'|') || bytes.get(at + 1) == Some(&b'|');
        if b == b'|' && !doubled {
            return (&text[..at], Some(&text[at + 1..]));
        }
    }
    (text, None)
}

/// Reads a filter argument: quoted (`"..."`, where `\"` is a quote and every other character,
/// backslashes included, stands for itself — so regexes need no double escaping), or bare text
/// up to the next filter.
fn read_argument(text: &str) -> Result<(String, Option<&str>), String> {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' if quoted[at + 1..].starts_with('"') => {
                    value.push('"');
                    chars.next();
                }
                '"' => {
                    let rest = &quoted[at + 1..];
                    let (between, next) = split_filter(rest);
                    if !between.trim().is_empty() {
                        return Err(format!("unexpected {between:?} after the quoted argument"));
                    }
                    return Ok((value, next));
                }
                other => value.push(other),
            }
        }
        return Err(format!("unterminated quoted argument \"{quoted}"));
    }
    let (argument, next) = split_filter(text);
    Ok((argument.trim().to_owned(), next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(expr: &str, item: &Value) -> Option<String> {
        Expr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}")).render(item)
    }

    #[test]
    fn filters_apply_in_order() {
        let item =
            json!({"title": "  Fix PROJ-12 crash in Parser  ", "labels": ["Bug", "UI"], "at": "2015-05-17T18:21:36Z"});
        assert_eq!(render("title | trim | lower", &item).unwrap(), "fix proj-12 crash in parser");
        assert_eq!(render("title | trim | upper | truncate:8", &item).unwrap(), "FIX PRO…");
        assert_eq!(render(r#"title | capture:"[A-Z][A-Z0-9]+-\d+""#, &item).unwrap(), "PROJ-12");
        assert_eq!(render(r#"title | capture:"(\d+) crash""#, &item).unwrap(), "12");
        assert_eq!(render("labels | lower | join: / ", &item).unwrap(), "bug / ui");
        assert_eq!(render(r#"at | date:"%d %b %Y""#, &item).unwrap(), "17 May 2015");
        assert_eq!(render("missing | default:nobody", &item).unwrap(), "nobody");
        assert_eq!(render(r#"title | capture:"ZZZ-\d+""#, &item), None);
    }

    #[test]
    fn since_writes_the_time_between_two_timestamps() {
        let run = json!({"run_started_at": "2020-01-22T19:33:05Z", "updated_at": "2020-01-22T20:35:13Z",
                         "job": {"started_at": "2020-01-22T19:33:08Z"}, "finished": "2020-01-22T19:33:10Z"});
        assert_eq!(render("updated_at | since:run_started_at", &run).unwrap(), "1h 2m 8s");
        assert_eq!(render("finished | since:job.started_at", &run).unwrap(), "2s");
        assert_eq!(render("updated_at | since:job.started_at | default:?", &run).unwrap(), "1h 2m 5s");
        assert_eq!(render("run_started_at | since:updated_at", &run), None, "an end before its start");
        assert_eq!(render("updated_at | since:missing", &run), None, "no start time");
        assert_eq!(human_duration(4 * 60 + 12), "4m 12s");
    }

    #[test]
    fn alternatives_take_the_first_path_with_a_value() {
        let item = json!({"user": {"name": "Ann"}, "empty": ""});
        assert_eq!(render("note.author.name ?? empty ?? user.name", &item).unwrap(), "Ann");
        assert_eq!(render("a ?? b", &item), None);
    }

    #[test]
    fn a_jsonpath_or_and_a_quoted_bar_are_not_filters() {
        let item = json!({"items": [{"a": 1, "n": "x"}, {"b": 2, "n": "y"}], "t": "a|b"});
        assert_eq!(render("$.items[?@.a == 1 || @.b == 2].n", &item).unwrap(), "x, y");
        assert_eq!(render(r#"t | capture:"(a|c)""#, &item).unwrap(), "a");
    }

    #[test]
    fn mistakes_are_named() {
        for (text, needle) in [
            ("title | shout", "unknown filter `shout`"),
            ("title | truncate", "needs a length"),
            ("updated_at | since", "needs the field path of the start time"),
            ("updated_at | since:$[", "filter `since`"),
            ("title | truncate:0", "from 1 to"),
            ("title | capture:\"(\"", "invalid regular expression"),
            ("title | lower:x", "takes no argument"),
            ("title | join:, | lower", ""),
            ("a ?? ", "empty field path"),
            ("title | date:\"%Q\"", "not a valid strftime"),
        ] {
            match Expr::parse(text) {
                Err(e) => assert!(e.contains(needle), "{text}: {e}"),
                Ok(expr) if needle.is_empty() => assert_eq!(expr.join, ", | lower", "join takes the rest verbatim"),
                Ok(_) => panic!("{text} should be refused"),
            }
        }
    }
}
