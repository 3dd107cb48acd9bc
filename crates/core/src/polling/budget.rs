//! A compiled rate budget: which response headers announce the requests left and when the
//! budget resets, and how the reset is written.

use super::paging::valid_header;
use crate::model::{Issue, RateBudgetDescriptor, ResetFormat};

/// Header names tried for the requests left when the descriptor names none (lower case).
pub const DEFAULT_REMAINING_HEADERS: &[&str] =
    &["x-ratelimit-remaining", "ratelimit-remaining", "x-rate-limit-remaining"];
/// Header names tried for the reset when the descriptor names none (lower case).
pub const DEFAULT_RESET_HEADERS: &[&str] = &["x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset"];

/// How the engine reads an API's announced request budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateBudgetPlan {
    /// Headers tried, in order, for the requests left (lower case).
    pub remaining_headers: Vec<String>,
    /// Headers tried, in order, for the reset (lower case).
    pub reset_headers: Vec<String>,
    /// How the reset is written.
    pub reset_format: ResetFormat,
    /// The budget counts as spent when this many requests remain.
    pub reserve: u64,
}

impl RateBudgetPlan {
    /// Checks and compiles a `rateBudget` found at `at`.
    pub fn compile(budget: &RateBudgetDescriptor, at: &str, issues: &mut Vec<Issue>) -> Option<Self> {
        let before = issues.len();
        let names = |given: &Option<String>, field: &str, defaults: &[&str], issues: &mut Vec<Issue>| match given {
            Some(name) => {
                valid_header(name, &format!("{at}/{field}"), issues);
                vec![name.trim().to_ascii_lowercase()]
            }
            None => defaults.iter().map(|d| (*d).to_owned()).collect(),
        };
        let remaining_headers = names(&budget.remaining_header, "remainingHeader", DEFAULT_REMAINING_HEADERS, issues);
        let reset_headers = names(&budget.reset_header, "resetHeader", DEFAULT_RESET_HEADERS, issues);
        if issues.len() > before {
            return None;
        }
        Some(Self {
            remaining_headers,
            reset_headers,
            reset_format: budget.reset_format.unwrap_or(ResetFormat::Auto),
            reserve: u64::from(budget.reserve.unwrap_or(0)),
        })
    }
}
