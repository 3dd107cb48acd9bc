//! [`HostAllowlist`]: the hosts a connector's outgoing requests may reach, from the
//! descriptor's `allowedHosts` (`api.github.com`, `*.atlassian.net`).
//!
//! The allowlist narrows where a tenant's credentials can be sent: an instance whose URLs
//! name another host is refused when it is created or updated, and the polling engine checks
//! every redirect hop against it. It is not the egress guard (which refuses private and
//! link-local addresses whatever the descriptor says); both apply.

use std::fmt;

use crate::model::Issue;

/// One `allowedHosts` entry: an exact host or a `*.` wildcard covering every subdomain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `api.github.com`: that host only.
    Exact(String),
    /// `*.atlassian.net`: any host ending in `.atlassian.net` (one or more labels before it),
    /// not `atlassian.net` itself. Holds the suffix with its leading dot.
    Subdomains(String),
}

impl HostPattern {
    /// Parses one pattern: a lower-case DNS name of at least two labels, optionally preceded
    /// by `*.`. IP addresses, ports, schemes and paths are refused.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (wildcard, name) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if !is_dns_name(name) {
            return Err(format!(
                "{text:?} is not a host pattern: use a lower-case host name such as \"api.example.com\" \
                 or \"*.example.com\" (no scheme, port, path or IP address)"
            ));
        }
        Ok(if wildcard { Self::Subdomains(format!(".{name}")) } else { Self::Exact(name.to_owned()) })
    }

    /// Whether `host` (already lower-case, without a trailing dot) matches.
    fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(name) => host == name,
            Self::Subdomains(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(name) => f.write_str(name),
            Self::Subdomains(suffix) => write!(f, "*{suffix}"),
        }
    }
}

/// The compiled `allowedHosts` of a descriptor. Empty means the descriptor declares no
/// restriction: any host the egress guard lets through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAllowlist {
    patterns: Vec<HostPattern>,
}

impl HostAllowlist {
    /// An allowlist that permits every host.
    pub fn unrestricted() -> Self {
        Self::default()
    }

    /// Compiles `allowedHosts`, reporting each bad pattern at `pointer/<index>`.
    pub fn compile(patterns: &[String], pointer: &str, issues: &mut Vec<Issue>) -> Self {
        let mut compiled = Vec::with_capacity(patterns.len());
        for (i, text) in patterns.iter().enumerate() {
            match HostPattern::parse(text) {
                Ok(pattern) => compiled.push(pattern),
                Err(message) => issues.push(Issue::new(format!("{pointer}/{i}"), message)),
            }
        }
        Self { patterns: compiled }
    }

    /// Parses a list of patterns, failing on the first bad one.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<Self, String> {
        let patterns = patterns.iter().map(|p| HostPattern::parse(p.as_ref())).collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    /// Whether the descriptor declares no restriction.
    pub fn is_unrestricted(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether a request may go to `host` (a URL's host: case and a trailing dot do not matter).
    /// An unrestricted list permits every host.
    pub fn permits(&self, host: &str) -> bool {
        if self.patterns.is_empty() {
            return true;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.patterns.iter().any(|p| p.matches(&host))
    }

    /// The patterns, in the descriptor's order.
    pub fn patterns(&self) -> &[HostPattern] {
        &self.patterns
    }
}

impl fmt::Display for HostAllowlist {
    /// The patterns separated by `, `, for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pattern) in self.patterns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{pattern}")?;
        }
        Ok(())
    }
}

/// The host a URL template names literally (`https://slack.com/api/...` → `slack.com`), or
/// `None` when the host part comes from a variable (`{{baseUrl}}/...`) or the text is not an
/// absolute http(s) URL.
pub fn literal_host(template: &str) -> Option<&str> {
    let rest = template.strip_prefix("https://").or_else(|| template.strip_prefix("http://"))?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.contains("{{") || authority.contains('@') {
        return None;
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    (!host.is_empty()).then_some(host)
}

/// Lower-case letters, digits and `-` in dot-separated labels of 1 to 63 characters, at least
/// two labels, not starting or ending a label with `-`, and not all-numeric (an IPv4 address).
fn is_dns_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        && !labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(patterns: &[&str]) -> HostAllowlist {
        HostAllowlist::parse(patterns).unwrap()
    }

    #[test]
    fn an_exact_pattern_matches_that_host_only() {
        let allow = list(&["api.github.com"]);
        assert!(allow.permits("api.github.com"));
        assert!(allow.permits("API.GitHub.com."));
        assert!(!allow.permits("github.com"));
        assert!(!allow.permits("api.github.com.attacker.example"));
        assert!(!allow.permits("evilapi.github.com"));
    }

    #[test]
    fn a_wildcard_matches_subdomains_but_not_the_domain_itself() {
        let allow = list(&["*.atlassian.net"]);
        assert!(allow.permits("acme.atlassian.net"));
        assert!(allow.permits("a.b.atlassian.net"));
        assert!(!allow.permits("atlassian.net"));
        assert!(!allow.permits("evilatlassian.net"));
        assert!(!allow.permits("acme.atlassian.net.attacker.example"));
    }

    #[test]
    fn an_empty_list_permits_every_host() {
        assert!(HostAllowlist::unrestricted().permits("anything.example"));
    }

    #[test]
    fn bad_patterns_are_refused_with_their_pointer() {
        for bad in [
            "https://api.github.com",
            "api.github.com:443",
            "127.0.0.1",
            "*",
            "*.com.",
            "API.github.com",
            "localhost",
            "a..b",
            "*.*.example.com",
        ] {
            let mut issues = Vec::new();
            HostAllowlist::compile(&["ok.example.com".to_owned(), bad.to_owned()], "/allowedHosts", &mut issues);
            assert_eq!(issues.len(), 1, "{bad} should be refused");
            assert_eq!(issues[0].pointer, "/allowedHosts/1");
        }
    }

    #[test]
    fn literal_hosts_are_read_from_absolute_templates_only() {
        assert_eq!(literal_host("https://slack.com/api/auth.test"), Some("slack.com"));
        assert_eq!(literal_host("https://api.linear.app:443/graphql"), Some("api.linear.app"));
        assert_eq!(literal_host("https://api.trello.com?x=1"), Some("api.trello.com"));
        assert_eq!(literal_host("{{baseUrl}}/rest/api"), None);
        assert_eq!(literal_host("https://{{config.site}}.atlassian.net/x"), None);
        assert_eq!(literal_host("/relative"), None);
    }
}
