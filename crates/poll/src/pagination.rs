//! Pagination: finds the next page after each response (`offset`, `cursor` from the body or a
//! header, `link_header`, `page_number`, `next_url`) and guards against APIs that would keep us
//! paging forever.
//!
//! A declared `isLastPath` (`true`) or `hasMorePath` (`false`) ends paging at once, with no
//! extra request; `hasMorePath` (`true`) keeps a short page from ending it.
//!
//! Guards: a page token or URL that was already fetched in this run, or an empty page while the
//! API claims there is more, ends the run and is reported as a [`GuardTrip`]. The page limit per
//! run is enforced by the engine (the checkpoint then resumes where the run stopped).

use std::collections::HashSet;

use reqwest::header::{HeaderMap, LINK};
use serde_json::Value;
use url::Url;

use switchboard_core::jsonpath::{CompiledPath, scalar_text};
use switchboard_core::polling::{GuardTrip, PageCursor, PageRule, PaginationPlan, PollError, TokenSource};

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
        // The API's own word (`isLast`, `hasMore`) comes first: no extra request after the last page.
        let more = declared_more(plan, response.body);
        if more == Some(false) {
            return Ok(Next::Done);
        }
        match &plan.rule {
            PageRule::Offset { next_path, total_path } => {
                Ok(self.next_offset(plan, next_path.as_ref(), total_path.as_ref(), current, response, more))
            }
            PageRule::Cursor { next } => {
                let token = match next {
                    TokenSource::Body(path) => path.first(response.body).and_then(scalar_text),
                    TokenSource::Header(name) => {
                        response.headers.get(name.as_str()).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned())
                    }
                };
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
            PageRule::NextUrl { path } => match path.first(response.body).and_then(scalar_text) {
                Some(link) if !link.trim().is_empty() => self.next_url(response.url.join(link.trim()), response),
                _ => Ok(Next::Done),
            },
            PageRule::PageNumber { start, total_pages } => {
                let number = match current {
                    Some(PageCursor::Page(n)) => *n,
                    _ => *start,
                };
                // The last page's number, when the API says how many there are.
                let last = total_pages
                    .as_ref()
                    .and_then(|p| p.first(response.body))
                    .and_then(as_u64)
                    .map(|total| (start + total).saturating_sub(1));
                let announced = more == Some(true) || last.is_some_and(|last| number < last);
                if response.item_count == 0 {
                    return Ok(if announced {
                        Next::Trip(GuardTrip::EmptyPage { page: response.page })
                    } else {
                        Next::Done
                    });
                }
                let short = response.item_count < plan.page_size as usize;
                let done = match (more, last) {
                    (Some(true), _) => false,
                    (_, Some(last)) => number >= last,
                    _ => short,
                };
                Ok(if done { Next::Done } else { Next::Page(PageCursor::Page(number + 1)) })
            }
        }
    }

    fn next_offset(
        &self,
        plan: &PaginationPlan,
        next_path: Option<&CompiledPath>,
        total_path: Option<&CompiledPath>,
        current: Option<&PageCursor>,
        response: Response<'_>,
        more: Option<bool>,
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
                _ if more == Some(true) => Next::Trip(GuardTrip::EmptyPage { page: response.page }),
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
            _ if more == Some(true) => Next::Page(PageCursor::Offset(next)),
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

/// What the page's `isLastPath` / `hasMorePath` say: `Some(false)` when no page follows,
/// `Some(true)` when one does, `None` when neither is declared or readable.
fn declared_more(plan: &PaginationPlan, body: &Value) -> Option<bool> {
    let is_last = plan.is_last.as_ref().and_then(|p| p.first(body)).and_then(as_bool);
    let has_more = plan.has_more.as_ref().and_then(|p| p.first(body)).and_then(as_bool);
    match (is_last, has_more) {
        (Some(true), _) | (_, Some(false)) => Some(false),
        (Some(false), _) | (_, Some(true)) => Some(true),
        (None, None) => None,
    }
}

/// A boolean as APIs write it: `true`, `"true"`, `1`.
fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_u64().map(|n| n != 0),
        _ => None,
    }
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
