//! The compiled polling plan: what the HTTP polling engine executes, with every template,
//! JSONPath, delta strategy and pagination rule compiled when the descriptor is loaded. The
//! engine reads only this, never the authored model.

use chrono::TimeDelta;
use chrono_tz::Tz;

use super::budget::RateBudgetPlan;
use super::filter::RecordFilterPlan;
use super::hydration::HydrationPlan;
use super::paging::{PAGE_POSITION_VARIABLES, PageRule, PaginationPlan, TokenSource};
use super::rules::ResponseRulePlan;
use super::scope::{POLL_VARIABLES, RequestScope, partition_variables};
use crate::jsonpath::CompiledPath;
use crate::mapping::items::ItemsPath;
use crate::mapping::projection::Projection;
use crate::mapping::{IssueSink, TimestampReader};
use crate::model::{
    BackfillDescriptor, DeltaStrategy, Issue, PollMethod, PollingDescriptor, TimestampParamFormat, escape_pointer,
};
use crate::template::Template;

/// The requests of a run.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    /// HTTP method.
    pub method: PollMethod,
    /// Endpoint URL template.
    pub endpoint: Template,
    /// Header name and value templates.
    pub headers: Vec<(String, Template)>,
    /// Body template (POST).
    pub body: Option<Template>,
    /// How the checkpoint goes into the first request and moves forward.
    pub delta: DeltaPlan,
    /// How pages follow each other, if the API pages.
    pub pagination: Option<PaginationPlan>,
    /// Requests per minute per instance (at least 1).
    pub rate_limit_rpm: u32,
    /// Whether a template uses `{{checkpoint}}` (then no delta query parameter is added).
    pub checkpoint_in_template: bool,
    /// Whether a template places the page position (`{{pageToken}}`, `{{offset}}`,
    /// `{{pageNumber}}`; then no page query parameter is added).
    pub page_token_in_template: bool,
    /// Whether a template places `{{pageSize}}` (then no page size query parameter is added).
    pub page_size_in_template: bool,
    /// Response rules, in order.
    pub responses: Vec<ResponseRulePlan>,
    /// The API's announced request budget, when the descriptor reads it.
    pub rate_budget: Option<RateBudgetPlan>,
    /// Which items of a page are handed on.
    pub record_filter: Option<RecordFilterPlan>,
    /// Where a first sync starts.
    pub backfill: Option<BackfillPlan>,
    /// The detail request per listed item, when the items are hydrated.
    pub hydrate: Option<HydrationPlan>,
}

/// Where the first sync of an instance or a new partition starts (`timestamp_filter` only).
#[derive(Debug, Clone)]
pub struct BackfillPlan {
    /// Days before now, when the instance sets no start date.
    pub default_days: Option<u32>,
    /// The config key holding the instance's start date.
    pub start_date_key: String,
    /// Time windows a run walks through, when the API needs bounded ranges.
    pub window: Option<WindowPlan>,
}

/// Bounded time windows: `[position, position + step)`, up to now.
#[derive(Debug, Clone)]
pub struct WindowPlan {
    /// Length of a window.
    pub step: TimeDelta,
    /// Query parameter carrying the window's end (empty: a template places `{{windowEnd}}`).
    pub end_param: String,
}

/// The config key of an instance's start date when the descriptor names none.
pub const DEFAULT_START_DATE_KEY: &str = "startDate";

/// How items are read from a response.
#[derive(Debug, Clone)]
pub struct ItemPlan {
    /// Where the items are in a page (the polling mapping's `itemsPath`).
    pub items: ItemsPath,
    /// An item's id (the polling mapping's `idPath`).
    pub id: CompiledPath,
    /// How an item's timestamp is read (the polling mapping's `timestampPath`,
    /// `timestampFormat` and `timestampPattern`).
    pub timestamp: TimestampReader,
}

impl ItemPlan {
    /// What of a response a run over `requests` needs when its consumer reads `consumer` of
    /// each item (a mapping's item projection): the items as the run and the consumer read
    /// them, everything else whole, and the body paths of pagination and delta. The whole
    /// response when items are hydrated (hydration fills templates from them and replaces them).
    pub fn page_projection(&self, requests: &RequestPlan, consumer: &Projection) -> Projection {
        if requests.hydrate.is_some() {
            return Projection::All;
        }
        let item = consumer.clone().union(self.item_projection(requests));
        let mut page = Projection::of_items_in_page(self.items.as_str(), &item);
        for path in requests.body_paths() {
            page = page.union(Projection::of_whole(path));
        }
        page
    }

    /// What of each item a run over `requests` reads itself: ids, timestamps, the record filter.
    fn item_projection(&self, requests: &RequestPlan) -> Projection {
        let mut read = Projection::of_whole(&self.id);
        for path in self.timestamp.paths() {
            read = read.union(Projection::of_whole(path));
        }
        if let DeltaPlan::SinceId { path, .. } = &requests.delta {
            read = read.union(Projection::of_whole(path));
        }
        if let Some(filter) = &requests.record_filter {
            read = read.union(filter.projection());
        }
        read
    }
}

/// A compiled delta strategy (spec §4.2).
#[derive(Debug, Clone)]
pub enum DeltaPlan {
    /// No delta: every run lists everything (a partition source's parent list).
    Full,
    /// Filter by a timestamp query parameter; the position is the newest item timestamp.
    TimestampFilter(TimestampFilter),
    /// An opaque delta token or link found at `path` in the response.
    DeltaToken {
        /// Query parameter the token is sent in (unused when the token is a URL).
        param: String,
        /// Where the token is in a response.
        path: CompiledPath,
    },
    /// A cursor found at `path` in the response.
    Cursor {
        /// Query parameter the cursor is sent in.
        param: String,
        /// Where the cursor is in a response.
        path: CompiledPath,
    },
    /// Increasing item ids; the position is the highest id at `path` in an item.
    SinceId {
        /// Query parameter the last id is sent in.
        param: String,
        /// Where the id is in an item.
        path: CompiledPath,
    },
}

/// A compiled `timestamp_filter`.
#[derive(Debug, Clone)]
pub struct TimestampFilter {
    /// Query parameter carrying the position (empty: none).
    pub param: String,
    /// How the position is written.
    pub format: TimestampParamFormat,
    /// Subtracted from the position when querying.
    pub lookback: TimeDelta,
    /// The zone zone-less formats are written in.
    pub time_zone: TimeZonePlan,
    /// Drop items older than the position and stop paging at the first of them.
    pub stop_at_checkpoint: bool,
}

/// The time zone of a timestamp filter.
#[derive(Debug, Clone)]
pub enum TimeZonePlan {
    /// A zone named in the descriptor (UTC when none).
    Fixed(Tz),
    /// A template of instance config values naming the zone (empty: UTC).
    FromConfig(Template),
}

impl DeltaPlan {
    /// The query parameter the position is sent in (may be empty: none).
    pub fn param(&self) -> &str {
        match self {
            Self::TimestampFilter(filter) => &filter.param,
            Self::DeltaToken { param, .. } | Self::Cursor { param, .. } | Self::SinceId { param, .. } => param,
            Self::Full => "",
        }
    }
}

impl RequestPlan {
    /// The paths pagination and delta read in a response body.
    pub fn body_paths(&self) -> Vec<&CompiledPath> {
        let mut paths = Vec::new();
        if let Some(pagination) = &self.pagination {
            paths.extend(pagination.has_more.iter().chain(&pagination.is_last));
            match &pagination.rule {
                PageRule::Offset { next_path, total_path } => paths.extend(next_path.iter().chain(total_path)),
                PageRule::Cursor { next: TokenSource::Body(path) } | PageRule::NextUrl { path } => paths.push(path),
                PageRule::PageNumber { total_pages, .. } => paths.extend(total_pages),
                PageRule::Cursor { next: TokenSource::Header(_) } | PageRule::LinkHeader => {}
            }
        }
        if let DeltaPlan::DeltaToken { path, .. } | DeltaPlan::Cursor { path, .. } = &self.delta {
            paths.push(path);
        }
        paths
    }

    /// Checks and compiles the request side of a polling section found at `at`; problems go to
    /// `issues`.
    pub fn compile(p: &PollingDescriptor, at: &str, scope: &RequestScope<'_>, issues: &mut Vec<Issue>) -> Option<Self> {
        let before = issues.len();
        let partition_variables = partition_variables(p.partitions.as_ref());
        let windowed = p.backfill.as_ref().is_some_and(|b| b.window_days.is_some());
        let variables: Vec<&str> = POLL_VARIABLES
            .iter()
            .copied()
            .chain(partition_variables.iter().map(String::as_str))
            .chain(windowed.then_some("windowEnd"))
            .collect();
        let variables = variables.as_slice();
        let endpoint = scope.template(&p.endpoint, &format!("{at}/endpoint"), variables, issues);
        let mut headers = Vec::new();
        for (name, value) in &p.headers {
            let pointer = format!("{at}/headers/{}", escape_pointer(name));
            if let Some(t) = scope.template(value, &pointer, variables, issues) {
                headers.push((name.clone(), t));
            }
        }
        let body = p.body.as_ref().and_then(|b| scope.template(b, &format!("{at}/body"), variables, issues));
        if p.rate_limit_rpm == 0 {
            issues.push(Issue::new(format!("{at}/rateLimitRpm"), "must be greater than 0"));
        }
        if p.interval_seconds == Some(0) {
            issues.push(Issue::new(format!("{at}/intervalSeconds"), "must be greater than 0"));
        }
        if p.min_interval_seconds == Some(0) {
            issues.push(Issue::new(format!("{at}/minIntervalSeconds"), "must be greater than 0"));
        }
        if let (Some(min), Some(max)) = (p.min_interval_seconds, p.max_interval_seconds)
            && min > max
        {
            issues.push(Issue::new(format!("{at}/maxIntervalSeconds"), "must not be below `minIntervalSeconds`"));
        }
        let delta = compile_delta(&p.delta, at, scope, issues);
        let templates: Vec<&Template> =
            endpoint.iter().chain(body.as_ref()).chain(headers.iter().map(|(_, t)| t)).collect();
        let pagination = p
            .pagination
            .as_ref()
            .and_then(|pg| PaginationPlan::compile(pg, &format!("{at}/pagination"), &templates, issues));
        if p.pagination.is_none() {
            for name in ["pageSize", "offset", "pageNumber"] {
                if templates.iter().any(|t| t.placeholders().any(|p| p == name)) {
                    issues.push(Issue::new(
                        at,
                        format!("a request template uses {{{{{name}}}}}, but the connector has no `pagination`"),
                    ));
                }
            }
        }
        let responses = ResponseRulePlan::compile_all(
            &p.response_rules,
            &format!("{at}/responseRules"),
            scope.auth_method(),
            issues,
        );
        let rate_budget =
            p.rate_budget.as_ref().and_then(|b| RateBudgetPlan::compile(b, &format!("{at}/rateBudget"), issues));
        let record_filter =
            p.record_filter.as_ref().and_then(|f| RecordFilterPlan::compile(f, &format!("{at}/recordFilter"), issues));
        let window_in_template = [Some(&p.endpoint), p.body.as_ref()]
            .into_iter()
            .flatten()
            .chain(p.headers.values())
            .any(|t| t.contains("{{windowEnd}}"));
        let backfill = p
            .backfill
            .as_ref()
            .and_then(|b| compile_backfill(b, p, &format!("{at}/backfill"), scope, window_in_template, issues));
        let hydrate =
            p.hydrate.as_ref().and_then(|h| HydrationPlan::compile(h, &format!("{at}/hydrate"), scope, issues));
        if issues.len() > before {
            return None;
        }
        let (endpoint, delta) = (endpoint?, delta?);
        let uses = |name: &str| {
            std::iter::once(&endpoint)
                .chain(body.as_ref())
                .chain(headers.iter().map(|(_, t)| t))
                .any(|t| t.placeholders().any(|p| p == name))
        };
        Some(Self {
            checkpoint_in_template: uses("checkpoint"),
            page_token_in_template: PAGE_POSITION_VARIABLES.iter().any(|v| uses(v)),
            page_size_in_template: uses("pageSize"),
            responses,
            rate_budget,
            record_filter,
            backfill,
            hydrate,
            method: p.method,
            endpoint,
            headers,
            body,
            delta,
            pagination,
            rate_limit_rpm: p.rate_limit_rpm,
        })
    }
}

fn compile_delta(
    delta: &DeltaStrategy,
    at: &str,
    scope: &RequestScope<'_>,
    issues: &mut Vec<Issue>,
) -> Option<DeltaPlan> {
    match delta {
        DeltaStrategy::TimestampFilter { query_param, format, lookback_seconds, time_zone, stop_at_checkpoint } => {
            let time_zone = match time_zone {
                None => Some(TimeZonePlan::Fixed(Tz::UTC)),
                Some(zone) => compile_zone(zone, &format!("{at}/delta/timeZone"), scope, issues),
            };
            Some(DeltaPlan::TimestampFilter(TimestampFilter {
                param: query_param.clone(),
                format: *format,
                lookback: TimeDelta::seconds(i64::from(lookback_seconds.unwrap_or(0))),
                time_zone: time_zone?,
                stop_at_checkpoint: *stop_at_checkpoint,
            }))
        }
        DeltaStrategy::DeltaToken { token_path, token_param } => {
            let path = IssueSink(issues).path(token_path, format!("{at}/delta/tokenPath"))?;
            Some(DeltaPlan::DeltaToken { param: token_param.clone(), path })
        }
        DeltaStrategy::Cursor { cursor_path, cursor_param } => {
            let path = IssueSink(issues).path(cursor_path, format!("{at}/delta/cursorPath"))?;
            Some(DeltaPlan::Cursor { param: cursor_param.clone(), path })
        }
        DeltaStrategy::SinceId { id_path, id_param } => {
            let path = IssueSink(issues).path(id_path, format!("{at}/delta/idPath"))?;
            Some(DeltaPlan::SinceId { param: id_param.clone(), path })
        }
    }
}

/// A `backfill`: only a `timestamp_filter` has a position a start date can be; the start date
/// key must be a declared config field.
fn compile_backfill(
    b: &BackfillDescriptor,
    p: &PollingDescriptor,
    at: &str,
    scope: &RequestScope<'_>,
    window_in_template: bool,
    issues: &mut Vec<Issue>,
) -> Option<BackfillPlan> {
    let before = issues.len();
    if !matches!(p.delta, DeltaStrategy::TimestampFilter { .. }) {
        issues.push(Issue::new(
            at,
            "a backfill start needs `delta.type` `timestamp_filter` (other deltas have no time to start from)",
        ));
    }
    let start_date_key = b.start_date_key.clone().unwrap_or_else(|| DEFAULT_START_DATE_KEY.to_owned());
    if !scope.has_config(&start_date_key) {
        issues.push(Issue::new(
            if b.start_date_key.is_some() { format!("{at}/startDateKey") } else { at.to_owned() },
            format!("the start date is read from config key {start_date_key:?}: declare it in configFields"),
        ));
    }
    let end_param = b.window_end_param.clone().unwrap_or_default();
    let window = match b.window_days {
        None => {
            if b.window_end_param.is_some() {
                issues.push(Issue::new(format!("{at}/windowEndParam"), "is only read with `windowDays`"));
            }
            None
        }
        Some(0) => {
            issues.push(Issue::new(format!("{at}/windowDays"), "must be greater than 0"));
            None
        }
        Some(days) => {
            if end_param.is_empty() && !window_in_template {
                issues.push(Issue::new(
                    at,
                    "a window's end must reach the API: set `windowEndParam`, or place {{windowEnd}} in a request template",
                ));
            }
            Some(WindowPlan { step: TimeDelta::days(i64::from(days)), end_param })
        }
    };
    (issues.len() == before).then_some(BackfillPlan { default_days: b.default_days, start_date_key, window })
}

/// A `timeZone`: an IANA zone name, or a template of config values.
fn compile_zone(zone: &str, pointer: &str, scope: &RequestScope<'_>, issues: &mut Vec<Issue>) -> Option<TimeZonePlan> {
    let template = scope.template(zone, pointer, &[], issues)?;
    if template.placeholders().next().is_some() {
        return Some(TimeZonePlan::FromConfig(template));
    }
    match zone.trim().parse::<Tz>() {
        Ok(tz) => Some(TimeZonePlan::Fixed(tz)),
        Err(_) => {
            issues.push(Issue::new(
                pointer,
                format!("{zone:?} is not an IANA time zone name (e.g. \"Europe/Berlin\") or {{{{config.<key>}}}}"),
            ));
            None
        }
    }
}
