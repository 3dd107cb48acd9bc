//! Comparing what an example's payload gave with what the example expects: expected signals
//! are partial (only the fields written are compared, objects member by member, arrays as
//! written; a field written as `null` matches an absent one), and each difference is a
//! [`Mismatch`] with the JSON pointer of the expectation it breaks.

use std::fmt;

use serde_json::Value;

use super::observed::Observed;
use crate::model::{ExampleExpectation, IgnoredExpectation, escape_pointer};

/// One difference between the expectation and the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// JSON pointer into the descriptor of the expectation that is not met, e.g.
    /// `/examples/0/expect/signals/0/signalType`.
    pub pointer: String,
    /// What the example expects (a JSON value, or words).
    pub expected: String,
    /// What the mapping gave (a JSON value, `(absent)`, or words).
    pub actual: String,
}

impl Mismatch {
    fn new(pointer: impl Into<String>, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), expected: expected.into(), actual: actual.into() }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n  expected: {}\n  actual:   {}", self.pointer, self.expected, self.actual)
    }
}

/// Every difference between `expect` (found at `pointer` in the descriptor) and `observed`.
pub fn compare(expect: &ExampleExpectation, observed: &Observed, pointer: &str) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(signals) = &expect.signals {
        let at = format!("{pointer}/signals");
        if !observed.errors.is_empty() {
            out.push(Mismatch::new(&at, "no mapping error", errors(observed)));
        }
        if signals.len() != observed.signals.len() {
            out.push(Mismatch::new(
                &at,
                format!("{} signal(s)", signals.len()),
                format!("{} signal(s)", observed.signals.len()),
            ));
        }
        for (i, (expected, actual)) in signals.iter().zip(&observed.signals).enumerate() {
            partial(expected, Some(actual), &format!("{at}/{i}"), &mut out);
        }
    }
    if let Some(ignored) = &expect.ignored {
        let at = format!("{pointer}/ignored");
        if !observed.signals.is_empty() || !observed.errors.is_empty() || observed.ignored.is_empty() {
            out.push(Mismatch::new(&at, "ignored: no signal, no error", observed.to_string()));
        } else if let IgnoredExpectation::Reason(reason) = ignored
            && !observed.ignored.iter().any(|r| r.contains(reason.as_str()))
        {
            out.push(Mismatch::new(&at, format!("a reason containing {reason:?}"), quoted(&observed.ignored)));
        }
    }
    if let Some(error) = &expect.error {
        let at = format!("{pointer}/error");
        if observed.errors.is_empty() {
            out.push(Mismatch::new(&at, format!("an error containing {error:?}"), format!("no error: {observed}")));
        } else if !observed.errors.iter().any(|e| e.contains(error.as_str())) {
            out.push(Mismatch::new(&at, format!("an error containing {error:?}"), errors(observed)));
        }
    }
    out
}

/// Compares `expected` with `actual` (`None`: absent), member by member for objects.
fn partial(expected: &Value, actual: Option<&Value>, pointer: &str, out: &mut Vec<Mismatch>) {
    match (expected, actual) {
        (Value::Object(fields), Some(Value::Object(actual))) => {
            for (key, value) in fields {
                partial(value, actual.get(key), &format!("{pointer}/{}", escape_pointer(key)), out);
            }
        }
        (Value::Null, None) => {}
        (expected, Some(actual)) if expected == actual => {}
        (expected, actual) => out.push(Mismatch::new(
            pointer,
            expected.to_string(),
            actual.map_or_else(|| "(absent)".to_owned(), Value::to_string),
        )),
    }
}

fn errors(observed: &Observed) -> String {
    observed.errors.join("; ")
}

fn quoted(reasons: &[String]) -> String {
    reasons.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn signals(expected: Value) -> ExampleExpectation {
        serde_json::from_value(json!({"signals": expected})).expect("an expectation")
    }

    fn observed(signals: Vec<Value>) -> Observed {
        Observed { signals, ..Observed::default() }
    }

    #[test]
    fn only_the_fields_written_are_compared() {
        let actual = json!({"signalType": "pr_opened", "summary": "s", "raw": {"a": 1, "b": 2}, "tags": ["x", "y"]});
        let expect = signals(json!([{"signalType": "pr_opened", "raw": {"a": 1}}]));
        assert!(compare(&expect, &observed(vec![actual.clone()]), "/e").is_empty());
        let wrong = signals(json!([{"signalType": "pr_merged", "raw": {"a": 2}, "tags": ["x"]}]));
        let mismatches = compare(&wrong, &observed(vec![actual]), "/e");
        let mut pointers: Vec<&str> = mismatches.iter().map(|m| m.pointer.as_str()).collect();
        pointers.sort_unstable();
        assert_eq!(pointers, ["/e/signals/0/raw/a", "/e/signals/0/signalType", "/e/signals/0/tags"]);
        let signal_type = mismatches.iter().find(|m| m.pointer.ends_with("signalType")).expect("reported");
        assert_eq!((signal_type.expected.as_str(), signal_type.actual.as_str()), ("\"pr_merged\"", "\"pr_opened\""));
    }

    #[test]
    fn a_null_matches_an_absent_field_and_an_absent_field_is_reported() {
        let actual = json!({"signalType": "t"});
        assert!(compare(&signals(json!([{"priority": null}])), &observed(vec![actual.clone()]), "").is_empty());
        let mismatches = compare(&signals(json!([{"priority": "high"}])), &observed(vec![actual]), "");
        assert_eq!(mismatches, vec![Mismatch::new("/signals/0/priority", "\"high\"", "(absent)")]);
    }

    #[test]
    fn the_number_of_signals_must_match() {
        let mismatches = compare(&signals(json!([{}, {}])), &observed(vec![json!({})]), "");
        assert_eq!(mismatches, vec![Mismatch::new("/signals", "2 signal(s)", "1 signal(s)")]);
    }

    #[test]
    fn ignored_needs_no_signal_and_the_reason_when_one_is_written() {
        let ignored: ExampleExpectation = serde_json::from_value(json!({"ignored": "not handled"})).expect("valid");
        let fine = Observed { ignored: vec!["event type \"push\" is not handled".to_owned()], ..Observed::default() };
        assert!(compare(&ignored, &fine, "").is_empty());
        let other = Observed { ignored: vec!["no signal type rule matched".to_owned()], ..Observed::default() };
        assert_eq!(compare(&ignored, &other, "")[0].pointer, "/ignored");
        assert_eq!(compare(&ignored, &observed(vec![json!({"signalType": "t"})]), "").len(), 1);
    }

    #[test]
    fn an_expected_error_must_happen_and_contain_the_text() {
        let error: ExampleExpectation = serde_json::from_value(json!({"error": "matched nothing"})).expect("valid");
        let failed = Observed { errors: vec!["itemsPath \"$.x\" matched nothing".to_owned()], ..Observed::default() };
        assert!(compare(&error, &failed, "").is_empty());
        let mismatches = compare(&error, &Observed::default(), "");
        assert_eq!(mismatches[0].actual, "no error: 0 signal(s), 0 ignored, 0 error(s)");
    }
}
