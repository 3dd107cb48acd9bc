//! What a verifier sees of a delivery: its headers, raw body and public URL.

use std::fmt;

/// Request headers, looked up case-insensitively.
///
/// `Debug` shows header names only: some values are secrets (GitLab's `X-Gitlab-Token` is the
/// shared token itself).
#[derive(Clone, Default)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// Builds from name/value pairs, keeping repeated names in order.
    pub fn new<N: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (N, V)>) -> Self {
        pairs.into_iter().collect()
    }

    /// Adds a header after the existing ones.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// The first value of a header.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in the order received.
    pub fn get_all<'h>(&'h self, name: &'h str) -> impl Iterator<Item = &'h str> + 'h {
        self.entries.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Header names, in the order received.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(pairs: I) -> Self {
        Self { entries: pairs.into_iter().map(|(n, v)| (n.into(), v.into())).collect() }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Headers").field("names", &self.names().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

/// What a verifier sees of a delivery.
#[derive(Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// Request headers.
    pub headers: &'a Headers,
    /// Raw body bytes, exactly as received (never re-serialised: one changed byte breaks the
    /// signature).
    pub body: &'a [u8],
    /// The public URL the provider called, as registered with it (Trello signs it).
    pub url: Option<&'a str>,
}

impl fmt::Debug for WebhookRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("headers", self.headers)
            .field("body_len", &self.body.len())
            .field("url", &self.url)
            .finish()
    }
}
