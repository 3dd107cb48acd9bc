//! The polling constructs beyond a single list request (extensions): response rules, rate
//! budgets read from response headers, and record filters. Pagination's own fields live on
//! [`super::PaginationDescriptor`].
//!
//! Shape only: `crate::polling::plan` compiles and checks them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::Condition;

/// What to do with a response that matches: every given test (`status`, `body`, `header`) must
/// hold. Rules are tried in order before the engine's own handling; the first that matches wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponseRule {
    /// HTTP status(es) matched: a code (`404`), a class (`"5xx"`), or a list of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusMatch>,
    /// A condition on the JSON body, whose paths start at the body's root (`$.error.code`). A
    /// body that is not JSON matches no body condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Condition>,
    /// A response header that must be present (and, when given, have a value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderMatch>,
    /// What the engine does with a matching response.
    pub action: ResponseAction,
    /// For `fail`: how the failure is classified (`auth`: the user must reconnect; `config`:
    /// someone must fix the descriptor or instance; `transient`: the next run tries again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_as: Option<FailAs>,
    /// For `retry`: attempts in all, the first included (2 to 10; default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Words recorded with the outcome (a `fail`'s error, a `reset_checkpoint`'s note), e.g.
    /// `"the sync token expired"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One status pattern or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusMatch {
    /// A single pattern.
    One(StatusPattern),
    /// Any of these patterns.
    Many(Vec<StatusPattern>),
}

impl StatusMatch {
    /// The patterns, in order.
    pub fn patterns(&self) -> Vec<&StatusPattern> {
        match self {
            Self::One(p) => vec![p],
            Self::Many(ps) => ps.iter().collect(),
        }
    }
}

/// A status code (`410`) or a class of them (`"4xx"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusPattern {
    /// An exact status code, 100 to 599.
    Code(u16),
    /// `"1xx"` to `"5xx"`.
    Class(String),
}

/// A header test: the header is present, and, when `value` or `matches` is given, one of its
/// values equals `value` (ignoring case and surrounding space) or matches the regex `matches`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderMatch {
    /// Header name (any case).
    pub name: String,
    /// Expected value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Regular expression a value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
}

/// What a response rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseAction {
    /// The response yields nothing and is no error: it ends the run as an empty last page
    /// (e.g. a 404 for a list that no longer exists).
    Ignore,
    /// The run fails, classified by `failAs`.
    Fail,
    /// The request is sent again after a backoff, up to `maxAttempts` in all.
    Retry,
    /// The OAuth2 access token is refreshed and the request sent again, once.
    RefreshTokenThenRetry,
    /// The delta position is no longer valid (an expired sync token): the run starts over from
    /// no checkpoint, a full resync. Items delivered before are delivered again and removed
    /// downstream by their deterministic signal ids.
    ResetCheckpoint,
}

impl ResponseAction {
    /// The action's name as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ignore => "ignore",
            Self::Fail => "fail",
            Self::Retry => "retry",
            Self::RefreshTokenThenRetry => "refresh_token_then_retry",
            Self::ResetCheckpoint => "reset_checkpoint",
        }
    }
}

/// How a `fail` rule classifies the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailAs {
    /// The credentials are rejected: the user must reconnect.
    Auth,
    /// The descriptor or the instance configuration is wrong.
    Config,
    /// It may pass: the next run tries again.
    Transient,
}

/// A request budget the API announces in response headers, shared by every instance of this
/// process that sends the same credential to the same API (GitHub's limit is per token). When
/// it is spent, requests wait for its reset if that comes within the run's time; otherwise the
/// run stops cleanly, keeping its checkpoint, and says why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateBudgetDescriptor {
    /// Header with the requests left (default: the first present of `X-RateLimit-Remaining`,
    /// `RateLimit-Remaining`, `X-Rate-Limit-Remaining`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_header: Option<String>,
    /// Header with the reset time (default: the first present of `X-RateLimit-Reset`,
    /// `RateLimit-Reset`, `X-Rate-Limit-Reset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_header: Option<String>,
    /// How the reset is written (default `auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_format: Option<ResetFormat>,
    /// Requests left untouched for other uses of the credential (default 0): the budget counts
    /// as spent when this many remain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve: Option<u32>,
}

/// How a rate-limit reset header is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResetFormat {
    /// Seconds to wait when the number is small (below 100000000), otherwise a unix time in
    /// seconds or, when larger still, milliseconds.
    Auto,
    /// Seconds until the reset (IETF `RateLimit-Reset`).
    Seconds,
    /// A unix time in seconds (GitHub's `X-RateLimit-Reset`).
    EpochSeconds,
    /// A unix time in milliseconds.
    EpochMillis,
}

/// Items dropped before they are handed on (extension): an item is kept when it matches
/// `include` (if given) and does not match `exclude` (if given). Paths are relative to the item.
/// Dropped items still move the checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordFilter {
    /// Only items matching this are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Condition>,
    /// Items matching this are dropped (GitHub's issue list: `{"when": "$.pull_request",
    /// "operator": "exists"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Condition>,
}

/// How far back the first sync of an instance (or of a new partition) goes: the position a
/// `timestamp_filter` starts from when there is no checkpoint yet.
///
/// ```json
/// "backfill": { "defaultDays": 30, "startDateKey": "startDate", "windowDays": 7, "windowEndParam": "until" }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackfillDescriptor {
    /// Days before now the first sync starts at when the instance sets no start date (omit to
    /// start from the beginning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_days: Option<u32>,
    /// The config key an instance sets its start date in (`YYYY-MM-DD` or RFC 3339; default
    /// `startDate`). Declare it in `configFields` to offer it in the setup form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date_key: Option<String>,
    /// For APIs that need bounded time ranges: a run walks from the checkpoint to now in windows
    /// of this many days, one pass each, the checkpoint moving to each window's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_days: Option<u32>,
    /// Query parameter carrying a window's end (written as the delta's `format`); or place
    /// `{{windowEnd}}` in a request template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end_param: Option<String>,
}

/// Pagination configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaginationDescriptor {
    /// Pagination style.
    #[serde(rename = "type")]
    pub kind: PaginationKind,
    /// JSONPath to the next page token/offset in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_path: Option<String>,
    /// Query parameter for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_param: Option<String>,
    /// JSONPath to the total item count (for `offset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_path: Option<String>,
    /// Page size.
    pub page_size: u32,
    /// Query parameter carrying the page size (extension), e.g. `per_page`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size_param: Option<String>,
    /// Maximum pages fetched in one run (extension; default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<u32>,
    /// The first page's number (`page_number`; extension; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_page: Option<u64>,
    /// JSONPath to the number of pages (`page_number`; extension): paging stops after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_pages_path: Option<String>,
    /// JSONPath to the next page's URL in the body (`next_url`; extension); a relative URL is
    /// resolved against the page's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_url_path: Option<String>,
    /// Response header carrying the next page's cursor (`cursor`, instead of `nextPath`;
    /// extension), e.g. `X-Next-Cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_header: Option<String>,
    /// JSONPath to a boolean saying whether more pages follow (any type; extension), e.g.
    /// GraphQL's `$.data.issues.pageInfo.hasNextPage`: `false` stops paging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_more_path: Option<String>,
    /// JSONPath to a boolean saying this is the last page (any type; extension), e.g. Jira's
    /// `$.isLast`: `true` stops paging without another request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_last_path: Option<String>,
}

/// Pagination style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaginationKind {
    /// Numeric offset.
    Offset,
    /// Opaque next-page cursor.
    Cursor,
    /// RFC 8288 `Link: <...>; rel="next"`.
    LinkHeader,
    /// Page numbers counting up from `startPage` (extension).
    PageNumber,
    /// The next page's URL in the body, at `nextUrlPath` (extension).
    NextUrl,
}

impl PaginationKind {
    /// The kind's name as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offset => "offset",
            Self::Cursor => "cursor",
            Self::LinkHeader => "link_header",
            Self::PageNumber => "page_number",
            Self::NextUrl => "next_url",
        }
    }
}
