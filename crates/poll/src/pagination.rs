//! Pagination: finds the next page after each response (`offset`, `cursor`, `link_header`) and
//! guards against APIs that would keep us paging forever.
//!
//! Guards: a page token or URL that was already fetched in this run, or an empty page while the
//! API claims there is more, ends the run and is reported as a [`GuardTrip`]. The page limit per
//! run is enforced by the engine (the checkpoint then resumes where the run stopped).

use std::collections::HashSet;

use reqwest::header::{HeaderMap, LINK};
use serde_json::Value;
use url::Url;

use switchboard_core::jsonpath::{CompiledPath, scalar_text};
use switchboard_core::polling::{GuardTrip, PageCursor, PageRule, PaginationPlan, PollError};

/// What follows a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The last page.
    Done,
    /// Another page.
    Page(PageCursor),
    /// A guard tripped: stop here.
    Trip(GuardTrip),
}

/// A response as pagination sees it.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    /// The URL that was fetched.
    pub url: &'a Url,
    /// Response headers.
    pub headers: &'a HeaderMap,
    /// Parsed body.
    pub body: &'a Value,
    /// Items on the page (before any were dropped as already seen).
    pub item_count: usize,
    /// Index of the page in this run.
    pub page: u32,
}

/// Follows one run's pages.
#[derive(Debug)]
pub struct Paginator<'d> {
    plan: Option<&'d PaginationPlan>,
    origin: url::Origin,
    seen_tokens: HashSet<String>,
    seen_urls: HashSet<String>,
}

impl<'d> Paginator<'d> {
    /// A paginator for a descriptor's pagination; next-page URLs must stay on `origin`.
    pub fn new(plan: Option<&'d PaginationPlan>, origin: url::Origin) -> Self {
        Self { plan, origin, seen_tokens: HashSet::new(), seen_urls: HashSet::new() }
    }

    /// Records a page as fetched, so the API pointing back at it trips a guard.
    pub fn fetched(&mut self, cursor: Option<&PageCursor>, url: &Url) {
        if let Some(PageCursor::Token(token)) = cursor {
            self.seen_tokens.insert(token.clone());
        }
        self.seen_urls.insert(url.as_str().to_owned());
    }

    /// The page after `response`, fetched at `current`.
    pub fn next(&mut self, current: Option<&PageCursor>, response: Response<'_>) -> Result<Next, PollError> {
        let Some(plan) = self.plan else { return Ok(Next::Done) };
        match &plan.rule {
            PageRule::Offset { next_path, total_path } => {
                Ok(self.next_offset(plan, next_path.as_ref(), total_path.as_ref(), current, response))
            }
            PageRule::Cursor { next_path } => {
                let token = next_path.first(response.body).and_then(scalar_text);
                match token.filter(|t| !t.is_empty()) {
                    None => Ok(Next::Done),
                    Some(t) if t.starts_with("http://") || t.starts_with("https://") => {
                        self.next_url(response.url.join(&t), response)
                    }
                    Some(_) if response.item_count == 0 => Ok(Next::Trip(GuardTrip::EmptyPage { page: response.page })),
                    Some(t) if self.seen_tokens.contains(&t) => {
                        Ok(Next::Trip(GuardTrip::RepeatedPageToken { token: t }))
                    }
                    Some(t) => Ok(Next::Page(PageCursor::Token(t))),
                }
            }
            PageRule::LinkHeader => match next_link(response.headers) {
                None => Ok(Next::Done),
                Some(link) => self.next_url(response.url.join(&link), response),
            },
        }
    }

    fn next_offset(
        &self,
        plan: &PaginationPlan,
        next_path: Option<&CompiledPath>,
        total_path: Option<&CompiledPath>,
        current: Option<&PageCursor>,
        response: Response<'_>,
    ) -> Next {
        let offset = match current {
            Some(PageCursor::Offset(n)) => *n,
            _ => 0,
        };
        let count = response.item_count as u64;
        let total = total_path.and_then(|p| p.first(response.body)).and_then(as_u64);
        if count == 0 {
            return match total {
                Some(total) if offset < total => Next::Trip(GuardTrip::EmptyPage { page: response.page }),
                _ => Next::Done,
            };
        }
        let next = match next_path {
            Some(path) => match path.first(response.body).and_then(as_u64) {
                Some(n) => n,
                None => return Next::Done,
            },
            None => offset + count,
        };
        if next <= offset {
            return Next::Trip(GuardTrip::RepeatedPageToken { token: next.to_string() });
        }
        match total {
            Some(total) if next >= total => Next::Done,
            None if count < u64::from(plan.page_size) && next_path.is_none() => Next::Done,
            _ => Next::Page(PageCursor::Offset(next)),
        }
    }

    fn next_url(&self, joined: Result<Url, url::ParseError>, response: Response<'_>) -> Result<Next, PollError> {
        let url = joined.map_err(|e| PollError::Config(format!("the next page link is not a valid URL: {e}")))?;
        if url.origin() != self.origin {
            return Err(PollError::Config(format!(
                "the API's next page link points to another site ({}); refusing to send credentials there",
                url.origin().ascii_serialization()
            )));
        }
        if response.item_count == 0 {
            return Ok(Next::Trip(GuardTrip::EmptyPage { page: response.page }));
        }
        if self.seen_urls.contains(url.as_str()) {
            let mut shown = url.clone();
            shown.set_query(None);
            return Ok(Next::Trip(GuardTrip::RepeatedUrl { url: shown.to_string() }));
        }
        Ok(Next::Page(PageCursor::Url(url.into())))
    }
}

/// The `rel="next"` target of the response's `Link` headers (RFC 8288).
fn next_link(headers: &HeaderMap) -> Option<String> {
    let joined = headers.get_all(LINK).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(", ");
    if joined.is_empty() {
        return None;
    }
    let links = parse_link_header::parse_with_rel(&joined).ok()?;
    links.get("next").map(|link| link.raw_uri.clone())
}

fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn github_link_headers_give_the_next_page() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            HeaderValue::from_static(
                r#"<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last""#,
            ),
        );
        assert_eq!(next_link(&headers).as_deref(), Some("https://api.github.com/repositories/1/issues?page=2"));
        headers.insert(LINK, HeaderValue::from_static(r#"<https://x/?page=1>; rel="prev""#));
        assert_eq!(next_link(&headers), None);
    }
}
