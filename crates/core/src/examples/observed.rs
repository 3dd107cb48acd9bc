//! What mapping an example's payload gave ([`Observed`]), in the terms an expectation uses.

use std::fmt;

use serde_json::Value;

use crate::mapping::MapReport;

/// What mapping an example's payload gave, as the comparison sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The signals, as JSON (what the signals queue would carry).
    pub signals: Vec<Value>,
    /// Why each ignored item was ignored.
    pub ignored: Vec<String>,
    /// Each mapping error (of the payload, or of one item).
    pub errors: Vec<String>,
}

impl Observed {
    pub(super) fn from_report(report: &MapReport) -> Self {
        Self {
            signals: report.signals.iter().map(|s| serde_json::to_value(s).unwrap_or(Value::Null)).collect(),
            ignored: report.ignored.iter().map(|i| i.reason.clone()).collect(),
            errors: report.errors.iter().map(ToString::to_string).collect(),
        }
    }

    pub(super) fn ignored_for(reason: String) -> Self {
        Self { ignored: vec![reason], ..Self::default() }
    }
}

impl fmt::Display for Observed {
    /// `2 signal(s) [pr_opened 279147437, …], 1 ignored ("…"), 0 error(s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} signal(s)", self.signals.len())?;
        if !self.signals.is_empty() {
            let each: Vec<String> =
                self.signals.iter().map(|s| format!("{} {}", text(&s["signalType"]), text(&s["externalId"]))).collect();
            write!(f, " [{}]", each.join(", "))?;
        }
        write!(f, ", {} ignored", self.ignored.len())?;
        if let Some(reason) = self.ignored.first() {
            write!(f, " ({reason:?}{})", if self.ignored.len() > 1 { ", …" } else { "" })?;
        }
        write!(f, ", {} error(s)", self.errors.len())?;
        if let Some(error) = self.errors.first() {
            write!(f, " ({error}{})", if self.errors.len() > 1 { "; …" } else { "" })?;
        }
        Ok(())
    }
}

/// A JSON value as text: a string without its quotes.
pub(super) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
