//! Compiled response rules: which responses a descriptor treats specially (by status, a
//! condition on the JSON body, a header) and what the engine then does. Data and matching only;
//! the engine in `switchboard-poll` carries the actions out.

use serde_json::Value;

use super::error::FailureClass;
use super::paging::valid_header;
use crate::mapping::condition::CompiledCondition;
use crate::model::{FailAs, HeaderMatch, Issue, ResponseAction, ResponseRule, StatusPattern};
use crate::pattern::Pattern;

/// Attempts a `retry` rule makes when it does not say (the first included).
pub const DEFAULT_RULE_ATTEMPTS: u32 = 4;
/// Most attempts a `retry` rule may ask for.
pub const MAX_RULE_ATTEMPTS: u32 = 10;

/// Auth methods without a token the engine could refresh.
const NO_REFRESH: &[&str] = &["none", "api_key", "pat", "basic", "webhook_secret"];

/// One compiled response rule.
#[derive(Debug, Clone)]
pub struct ResponseRulePlan {
    /// Its index in `responseRules` (named in errors and notes).
    pub index: usize,
    statuses: Vec<StatusTest>,
    body: Option<CompiledCondition>,
    header: Option<HeaderTest>,
    /// What to do.
    pub action: RuleAction,
    /// The descriptor's words for the outcome.
    pub message: Option<String>,
}

/// What a matching rule makes the engine do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// The response yields nothing: an empty last page.
    Ignore,
    /// The run fails with this class.
    Fail(FailureClass),
    /// Send again after a backoff, up to this many attempts in all.
    Retry {
        /// Attempts in all, the first included.
        max_attempts: u32,
    },
    /// Refresh the OAuth2 access token and send again, once.
    RefreshTokenThenRetry,
    /// Start the run over from no checkpoint.
    ResetCheckpoint,
}

#[derive(Debug, Clone, Copy)]
enum StatusTest {
    Code(u16),
    Class(u16),
}

#[derive(Debug, Clone)]
struct HeaderTest {
    name: String,
    value: Option<String>,
    matches: Option<Pattern>,
}

/// A response as the rules see it.
#[derive(Clone, Copy)]
pub struct RuleInput<'a> {
    /// HTTP status.
    pub status: u16,
    /// Every value of a header, by name (any case).
    pub header: &'a dyn Fn(&str) -> Vec<String>,
    /// The body, when it is JSON.
    pub body: Option<&'a Value>,
}

impl std::fmt::Debug for RuleInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleInput").field("status", &self.status).finish_non_exhaustive()
    }
}

impl ResponseRulePlan {
    /// Compiles `responseRules` found at `at`; `auth_method` is the descriptor's auth method.
    pub fn compile_all(rules: &[ResponseRule], at: &str, auth_method: &str, issues: &mut Vec<Issue>) -> Vec<Self> {
        rules
            .iter()
            .enumerate()
            .filter_map(|(index, rule)| Self::compile(rule, index, &format!("{at}/{index}"), auth_method, issues))
            .collect()
    }

    fn compile(
        rule: &ResponseRule,
        index: usize,
        at: &str,
        auth_method: &str,
        issues: &mut Vec<Issue>,
    ) -> Option<Self> {
        let before = issues.len();
        if rule.status.is_none() && rule.body.is_none() && rule.header.is_none() {
            issues.push(Issue::new(at, "a response rule needs at least one of `status`, `body` or `header` to match"));
        }
        let statuses = rule.status.as_ref().map_or_else(Vec::new, |status| {
            status
                .patterns()
                .into_iter()
                .enumerate()
                .filter_map(|(i, pattern)| {
                    let pointer = match status {
                        crate::model::StatusMatch::One(_) => format!("{at}/status"),
                        crate::model::StatusMatch::Many(_) => format!("{at}/status/{i}"),
                    };
                    status_test(pattern, &pointer, issues)
                })
                .collect()
        });
        if matches!(&rule.status, Some(crate::model::StatusMatch::Many(list)) if list.is_empty()) {
            issues.push(Issue::new(
                format!("{at}/status"),
                "an empty list matches no status; leave `status` out to match any",
            ));
        }
        let body = rule.body.as_ref().and_then(|condition| {
            let pointer = format!("{at}/body");
            match CompiledCondition::compile(condition.into(), &pointer) {
                Ok(CompiledCondition::Always) => {
                    issues.push(Issue::new(
                        pointer,
                        "the condition tests nothing: give `when` and `operator`, or `all` / `any`",
                    ));
                    None
                }
                Ok(compiled) => Some(compiled),
                Err(mut e) => {
                    issues.append(&mut e);
                    None
                }
            }
        });
        let header = rule.header.as_ref().and_then(|h| header_test(h, &format!("{at}/header"), issues));
        let action = action(rule, at, auth_method, issues);
        if issues.len() > before {
            return None;
        }
        Some(Self { index, statuses, body, header, action: action?, message: rule.message.clone() })
    }

    /// Whether the rule reads the body (so a non-2xx body must be read to test it).
    pub fn reads_body(&self) -> bool {
        self.body.is_some()
    }

    /// Whether the response matches every test the rule has.
    pub fn matches(&self, response: RuleInput<'_>) -> bool {
        let status_ok = self.statuses.is_empty()
            || self.statuses.iter().any(|test| match *test {
                StatusTest::Code(code) => code == response.status,
                StatusTest::Class(class) => response.status / 100 == class,
            });
        let body_ok = self.body.as_ref().is_none_or(|condition| response.body.is_some_and(|b| condition.matches(b)));
        let header_ok = self.header.as_ref().is_none_or(|test| {
            let values = (response.header)(&test.name);
            !values.is_empty()
                && values.iter().any(|v| {
                    test.value.as_ref().is_none_or(|want| v.trim().eq_ignore_ascii_case(want.trim()))
                        && test.matches.as_ref().is_none_or(|re| re.is_match(v))
                })
        });
        status_ok && body_ok && header_ok
    }

    /// How the rule is named in errors: `responseRules[2]`, with its message when it has one.
    pub fn describe(&self) -> String {
        match &self.message {
            Some(message) => format!("{message} (responseRules[{}])", self.index),
            None => format!("responseRules[{}] ({})", self.index, self.action.name()),
        }
    }
}

impl RuleAction {
    /// The action's name as written in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ignore => ResponseAction::Ignore.as_str(),
            Self::Fail(_) => ResponseAction::Fail.as_str(),
            Self::Retry { .. } => ResponseAction::Retry.as_str(),
            Self::RefreshTokenThenRetry => ResponseAction::RefreshTokenThenRetry.as_str(),
            Self::ResetCheckpoint => ResponseAction::ResetCheckpoint.as_str(),
        }
    }
}

/// The first rule of `rules` that `response` matches.
pub fn first_match<'r>(rules: &'r [ResponseRulePlan], response: RuleInput<'_>) -> Option<&'r ResponseRulePlan> {
    rules.iter().find(|rule| rule.matches(response))
}

fn status_test(pattern: &StatusPattern, pointer: &str, issues: &mut Vec<Issue>) -> Option<StatusTest> {
    match pattern {
        StatusPattern::Code(code) if (100..=599).contains(code) => Some(StatusTest::Code(*code)),
        StatusPattern::Code(code) => {
            issues.push(Issue::new(pointer, format!("{code} is not an HTTP status (100 to 599)")));
            None
        }
        StatusPattern::Class(text) => {
            let t = text.trim().to_ascii_lowercase();
            match t.as_bytes() {
                [d @ b'1'..=b'5', b'x', b'x'] => Some(StatusTest::Class(u16::from(d - b'0'))),
                _ => {
                    issues.push(Issue::new(
                        pointer,
                        format!(
                            "{text:?} is not a status pattern: use a code such as 404 or a class \"1xx\" to \"5xx\""
                        ),
                    ));
                    None
                }
            }
        }
    }
}

fn header_test(h: &HeaderMatch, pointer: &str, issues: &mut Vec<Issue>) -> Option<HeaderTest> {
    let name_ok = valid_header(&h.name, &format!("{pointer}/name"), issues);
    let matches = match h.matches.as_deref().map(Pattern::new) {
        None => None,
        Some(Ok(re)) => Some(re),
        Some(Err(e)) => {
            issues.push(Issue::new(format!("{pointer}/matches"), format!("invalid regular expression: {e}")));
            return None;
        }
    };
    name_ok.then(|| HeaderTest { name: h.name.trim().to_ascii_lowercase(), value: h.value.clone(), matches })
}

fn action(rule: &ResponseRule, at: &str, auth_method: &str, issues: &mut Vec<Issue>) -> Option<RuleAction> {
    let misplaced = |issues: &mut Vec<Issue>, present: bool, field: &str, action: &str| {
        if present {
            issues.push(Issue::new(
                format!("{at}/{field}"),
                format!("`{field}` belongs to action `{action}`, not `{}`", rule.action.as_str()),
            ));
        }
    };
    if rule.action != ResponseAction::Fail {
        misplaced(issues, rule.fail_as.is_some(), "failAs", "fail");
    }
    if rule.action != ResponseAction::Retry {
        misplaced(issues, rule.max_attempts.is_some(), "maxAttempts", "retry");
    }
    Some(match rule.action {
        ResponseAction::Ignore => RuleAction::Ignore,
        ResponseAction::ResetCheckpoint => RuleAction::ResetCheckpoint,
        ResponseAction::Fail => match rule.fail_as {
            Some(FailAs::Auth) => RuleAction::Fail(FailureClass::Auth),
            Some(FailAs::Config) => RuleAction::Fail(FailureClass::Config),
            Some(FailAs::Transient) => RuleAction::Fail(FailureClass::Transient),
            None => {
                issues.push(Issue::new(
                    format!("{at}/failAs"),
                    "action `fail` needs `failAs`: one of auth, config, transient",
                ));
                return None;
            }
        },
        ResponseAction::Retry => {
            let max_attempts = rule.max_attempts.unwrap_or(DEFAULT_RULE_ATTEMPTS);
            if !(2..=MAX_RULE_ATTEMPTS).contains(&max_attempts) {
                issues.push(Issue::new(
                    format!("{at}/maxAttempts"),
                    format!("{max_attempts} is out of range: a retry makes 2 to {MAX_RULE_ATTEMPTS} attempts in all"),
                ));
                return None;
            }
            RuleAction::Retry { max_attempts }
        }
        ResponseAction::RefreshTokenThenRetry => {
            if NO_REFRESH.contains(&auth_method) {
                issues.push(Issue::new(
                    format!("{at}/action"),
                    format!(
                        "refresh_token_then_retry needs an auth method with a refreshable token (oauth2), not `{auth_method}`"
                    ),
                ));
                return None;
            }
            RuleAction::RefreshTokenThenRetry
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(doc: Value) -> Result<ResponseRulePlan, Vec<Issue>> {
        let rule: ResponseRule = serde_json::from_value(doc).expect("shape");
        let mut issues = Vec::new();
        ResponseRulePlan::compile(&rule, 0, "/r/0", "oauth2", &mut issues).ok_or(issues)
    }

    fn input<'a>(status: u16, header: &'a dyn Fn(&str) -> Vec<String>, body: Option<&'a Value>) -> RuleInput<'a> {
        RuleInput { status, header, body }
    }

    #[test]
    fn status_body_and_header_must_all_hold() {
        let plan = rule(json!({"status": [400, "4xx"], "body": {"when": "$.error.code", "operator": "equals",
            "value": "syncStateNotFound"}, "header": {"name": "X-Kind", "value": "delta"}, "action": "reset_checkpoint"}))
        .expect("valid");
        let body = json!({"error": {"code": "syncStateNotFound"}});
        let with = |name: &str| if name == "x-kind" { vec!["Delta".to_owned()] } else { Vec::new() };
        let without = |_: &str| Vec::new();
        assert!(plan.matches(input(410, &with, Some(&body))));
        assert!(!plan.matches(input(500, &with, Some(&body))));
        assert!(!plan.matches(input(410, &without, Some(&body))));
        assert!(!plan.matches(input(410, &with, Some(&json!({"error": {"code": "other"}})))));
        assert!(!plan.matches(input(410, &with, None)));
        assert_eq!(plan.action, RuleAction::ResetCheckpoint);
    }

    #[test]
    fn mistakes_are_reported_at_their_fields() {
        let problems = |doc: Value| {
            rule(doc).expect_err("invalid").into_iter().map(|i| (i.pointer, i.message)).collect::<Vec<_>>()
        };
        let found = problems(json!({"status": [404, "6xx", 700], "action": "fail"}));
        assert!(found.iter().any(|(p, m)| p == "/r/0/status/1" && m.contains("\"6xx\"")), "{found:?}");
        assert!(found.iter().any(|(p, m)| p == "/r/0/status/2" && m.contains("100 to 599")), "{found:?}");
        assert!(found.iter().any(|(p, m)| p == "/r/0/failAs" && m.contains("auth, config, transient")), "{found:?}");
        let found = problems(json!({"action": "ignore", "maxAttempts": 3}));
        assert!(found.iter().any(|(p, _)| p == "/r/0"), "{found:?}");
        assert!(found.iter().any(|(p, m)| p == "/r/0/maxAttempts" && m.contains("retry")), "{found:?}");
        let found = problems(json!({"status": 500, "action": "retry", "maxAttempts": 50}));
        assert!(found.iter().any(|(p, m)| p == "/r/0/maxAttempts" && m.contains("2 to 10")), "{found:?}");
        let found = problems(json!({"header": {"name": "bad header", "matches": "("}, "action": "ignore"}));
        assert!(found.iter().any(|(p, _)| p == "/r/0/header/name"), "{found:?}");
        assert!(found.iter().any(|(p, _)| p == "/r/0/header/matches"), "{found:?}");
        let found = problems(json!({"body": {}, "action": "ignore"}));
        assert!(found.iter().any(|(p, m)| p == "/r/0/body" && m.contains("tests nothing")), "{found:?}");
    }

    #[test]
    fn refreshing_needs_a_refreshable_token() {
        let rule: ResponseRule =
            serde_json::from_value(json!({"status": 401, "action": "refresh_token_then_retry"})).expect("shape");
        let mut issues = Vec::new();
        assert!(ResponseRulePlan::compile(&rule, 0, "/r/0", "pat", &mut issues).is_none());
        assert_eq!(issues[0].pointer, "/r/0/action");
        assert!(issues[0].message.contains("oauth2"), "{:?}", issues[0]);
    }
}
