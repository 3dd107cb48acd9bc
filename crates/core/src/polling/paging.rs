//! Compiled pagination: how the page after a response is found, how its token, offset, number
//! and size reach the request, and what stops paging besides the API running out of pages.
//!
//! One rule for where page values go: each is sent as a query parameter (`nextParam`,
//! `pageSizeParam`) unless a request template (endpoint, header or body) places it with a
//! placeholder — `{{pageToken}}` (every kind), `{{offset}}` (`offset`), `{{pageNumber}}`
//! (`page_number`), `{{pageSize}}` — in which case the placeholder is where it goes.

use crate::jsonpath::CompiledPath;
use crate::mapping::IssueSink;
use crate::model::{Issue, PaginationDescriptor, PaginationKind};
use crate::template::Template;

/// The placeholders that carry the page position (token, offset or number).
pub const PAGE_POSITION_VARIABLES: &[&str] = &["pageToken", "offset", "pageNumber"];

/// Compiled pagination.
#[derive(Debug, Clone)]
pub struct PaginationPlan {
    /// How the next page is found.
    pub rule: PageRule,
    /// Query parameter for the next page token, offset or number.
    pub next_param: Option<String>,
    /// Query parameter carrying the page size.
    pub page_size_param: Option<String>,
    /// Page size.
    pub page_size: u32,
    /// Maximum pages per run, when the descriptor sets one.
    pub max_pages: Option<u32>,
    /// A boolean in the body saying whether more pages follow (`false` stops).
    pub has_more: Option<CompiledPath>,
    /// A boolean in the body saying this is the last page (`true` stops).
    pub is_last: Option<CompiledPath>,
}

/// How the page after a response is found.
#[derive(Debug, Clone)]
pub enum PageRule {
    /// A numeric offset: from `next_path` when set, else the offset plus the items received.
    Offset {
        /// The next offset in the response.
        next_path: Option<CompiledPath>,
        /// The total item count in the response.
        total_path: Option<CompiledPath>,
    },
    /// An opaque token (or a URL) in the body or a header.
    Cursor {
        /// Where the next page's token is.
        next: TokenSource,
    },
    /// The `Link: <…>; rel="next"` response header.
    LinkHeader,
    /// Page numbers counting up from `start`; a short page (fewer items than the page size)
    /// ends paging unless `has_more` or `total_pages` says otherwise.
    PageNumber {
        /// The first page's number.
        start: u64,
        /// The number of pages in the response.
        total_pages: Option<CompiledPath>,
    },
    /// The next page's URL at `path` in the body.
    NextUrl {
        /// Where the URL is.
        path: CompiledPath,
    },
}

/// Where a cursor is found in a response.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// At a JSONPath in the body.
    Body(CompiledPath),
    /// In a response header (lower-case name).
    Header(String),
}

impl PaginationPlan {
    /// Whether pages are counted by offset.
    pub fn is_offset(&self) -> bool {
        matches!(self.rule, PageRule::Offset { .. })
    }

    /// The first page's number, for `page_number` pagination.
    pub fn start_page(&self) -> Option<u64> {
        match self.rule {
            PageRule::PageNumber { start, .. } => Some(start),
            _ => None,
        }
    }

    /// Checks and compiles the pagination found at `at`; `templates` are the request's
    /// endpoint, header and body templates (to see which page placeholders they use).
    pub fn compile(
        pg: &PaginationDescriptor,
        at: &str,
        templates: &[&Template],
        issues: &mut Vec<Issue>,
    ) -> Option<Self> {
        let before = issues.len();
        let (next_path, total_path, total_pages, next_url, has_more, is_last) = {
            let mut sink = IssueSink(issues);
            let mut path = |value: &Option<String>, field: &str| {
                value.as_ref().and_then(|p| sink.path(p, format!("{at}/{field}")))
            };
            (
                path(&pg.next_path, "nextPath"),
                path(&pg.total_path, "totalPath"),
                path(&pg.total_pages_path, "totalPagesPath"),
                path(&pg.next_url_path, "nextUrlPath"),
                path(&pg.has_more_path, "hasMorePath"),
                path(&pg.is_last_path, "isLastPath"),
            )
        };
        if pg.page_size == 0 {
            issues.push(Issue::new(format!("{at}/pageSize"), "must be greater than 0"));
        }
        if pg.max_pages == Some(0) {
            issues.push(Issue::new(format!("{at}/maxPages"), "must be greater than 0"));
        }
        let kind = pg.kind;
        let only = |issues: &mut Vec<Issue>, present: bool, field: &str, kinds: &str| {
            if present {
                issues.push(Issue::new(
                    format!("{at}/{field}"),
                    format!("`{field}` is only read by {kinds} pagination, not `{}`", kind.as_str()),
                ));
            }
        };
        if kind != PaginationKind::PageNumber {
            only(issues, pg.start_page.is_some(), "startPage", "`page_number`");
            only(issues, pg.total_pages_path.is_some(), "totalPagesPath", "`page_number`");
        }
        if kind != PaginationKind::NextUrl {
            only(issues, pg.next_url_path.is_some(), "nextUrlPath", "`next_url`");
        }
        if kind != PaginationKind::Cursor {
            only(issues, pg.next_header.is_some(), "nextHeader", "`cursor`");
        }
        let uses = |name: &str| templates.iter().any(|t| t.placeholders().any(|p| p == name));
        let placed = PAGE_POSITION_VARIABLES.iter().any(|v| uses(v));
        let needs_param = |issues: &mut Vec<Issue>, what: &str, placeholder: &str| {
            if pg.next_param.is_none() && !placed {
                issues.push(Issue::new(
                    format!("{at}/nextParam"),
                    format!(
                        "{} pagination needs nextParam (the query parameter of the {what}) or {{{{{placeholder}}}}} in the endpoint, a header or the body",
                        kind.as_str()
                    ),
                ));
            }
        };
        let rule = match kind {
            PaginationKind::Cursor => {
                needs_param(issues, "page token", "pageToken");
                let next = match (next_path, &pg.next_header) {
                    (Some(_), Some(_)) => {
                        issues.push(Issue::new(
                            format!("{at}/nextHeader"),
                            "use either nextPath (a cursor in the body) or nextHeader (a cursor in a header), not both",
                        ));
                        None
                    }
                    (Some(path), None) => Some(TokenSource::Body(path)),
                    (None, Some(header)) => valid_header(header, &format!("{at}/nextHeader"), issues)
                        .then(|| TokenSource::Header(header.trim().to_ascii_lowercase())),
                    (None, None) => {
                        if pg.next_path.is_none() {
                            issues.push(Issue::new(
                                format!("{at}/nextPath"),
                                "cursor pagination needs nextPath (the cursor in the body) or nextHeader (the cursor in a response header)",
                            ));
                        }
                        None
                    }
                };
                next.map(|next| PageRule::Cursor { next })
            }
            PaginationKind::Offset => {
                needs_param(issues, "offset", "offset");
                Some(PageRule::Offset { next_path, total_path })
            }
            PaginationKind::PageNumber => {
                needs_param(issues, "page number", "pageNumber");
                Some(PageRule::PageNumber { start: pg.start_page.unwrap_or(1), total_pages })
            }
            PaginationKind::NextUrl => {
                if pg.next_url_path.is_none() {
                    issues.push(Issue::new(
                        format!("{at}/nextUrlPath"),
                        "next_url pagination needs nextUrlPath (the JSONPath of the next page's URL in the body)",
                    ));
                }
                next_url.map(|path| PageRule::NextUrl { path })
            }
            PaginationKind::LinkHeader => Some(PageRule::LinkHeader),
        };
        let wrong_placeholder = |issues: &mut Vec<Issue>, name: &str, kinds: PaginationKind| {
            if uses(name) && kind != kinds {
                issues.push(Issue::new(
                    at,
                    format!(
                        "a request template uses {{{{{name}}}}}, which only {} pagination fills (this is `{}`); use {{{{pageToken}}}}",
                        kinds.as_str(),
                        kind.as_str()
                    ),
                ));
            }
        };
        wrong_placeholder(issues, "offset", PaginationKind::Offset);
        wrong_placeholder(issues, "pageNumber", PaginationKind::PageNumber);
        if let Some(name) = &pg.page_size_param {
            valid_param(name, &format!("{at}/pageSizeParam"), issues);
        }
        if let Some(name) = &pg.next_param {
            valid_param(name, &format!("{at}/nextParam"), issues);
        }
        if issues.len() > before {
            return None;
        }
        Some(Self {
            rule: rule?,
            next_param: pg.next_param.clone(),
            page_size_param: pg.page_size_param.clone(),
            page_size: pg.page_size,
            max_pages: pg.max_pages,
            has_more,
            is_last,
        })
    }
}

/// Checks that a header name is a valid HTTP token.
pub(crate) fn valid_header(name: &str, pointer: &str, issues: &mut Vec<Issue>) -> bool {
    let name = name.trim();
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !ok {
        issues.push(Issue::new(pointer, format!("{name:?} is not a valid HTTP header name")));
    }
    ok
}

fn valid_param(name: &str, pointer: &str, issues: &mut Vec<Issue>) {
    if name.trim().is_empty() {
        issues.push(Issue::new(pointer, "must not be empty"));
    }
}
