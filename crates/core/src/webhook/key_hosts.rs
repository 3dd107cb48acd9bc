//! Where verification keys and confirmation URLs may be fetched from: `https` URLs whose host
//! matches a pattern in which `*` stands for exactly one DNS label (`sns.*.amazonaws.com`
//! admits `sns.us-east-1.amazonaws.com`, not `sns.evil.com.amazonaws.com` nor
//! `sns.amazonaws.com`).
//!
//! A payload names the URL (SNS `SigningCertURL`, `SubscribeURL`), so whoever sends the payload
//! chooses it: only a pattern the descriptor declares lets it through, before any request.

use crate::model::Issue;

/// A compiled list of host patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHosts {
    patterns: Vec<Vec<Label>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Label {
    Any,
    Exact(String),
}

/// Why a URL is not admitted. Names the host only (never a query, which may hold a token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UrlRefused(String);

impl KeyHosts {
    /// Compiles `patterns` found at `pointer`, reporting each bad one at `pointer/<index>`.
    pub fn compile(patterns: &[String], pointer: &str, issues: &mut Vec<Issue>) -> Option<Self> {
        let before = issues.len();
        if patterns.is_empty() {
            issues.push(Issue::new(pointer, "must name at least one host pattern, e.g. \"sns.*.amazonaws.com\""));
        }
        let mut compiled = Vec::new();
        for (i, text) in patterns.iter().enumerate() {
            match parse_pattern(text) {
                Ok(labels) => compiled.push(labels),
                Err(message) => issues.push(Issue::new(format!("{pointer}/{i}"), message)),
            }
        }
        (issues.len() == before).then_some(Self { patterns: compiled })
    }

    /// Whether `url` is an `https` URL on an admitted host (default port, no user info).
    pub fn check(&self, url: &str) -> Result<(), UrlRefused> {
        let Some(rest) = url.strip_prefix("https://") else {
            return Err(UrlRefused("the URL is not an https URL".to_owned()));
        };
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if authority.contains('@') {
            return Err(UrlRefused("the URL carries user information".to_owned()));
        }
        let host = match authority.rsplit_once(':') {
            Some((host, "443")) => host,
            Some(_) => return Err(UrlRefused("the URL names a port other than 443".to_owned())),
            None => authority,
        };
        let host = host.to_ascii_lowercase();
        let labels: Vec<&str> = host.split('.').collect();
        let admitted = self.patterns.iter().any(|pattern| {
            pattern.len() == labels.len()
                && pattern.iter().zip(&labels).all(|(p, l)| match p {
                    Label::Any => is_label(l),
                    Label::Exact(exact) => exact == l,
                })
        });
        if admitted { Ok(()) } else { Err(UrlRefused(format!("host {host:?} is not one of {}", self.describe()))) }
    }

    fn describe(&self) -> String {
        let texts: Vec<String> = self
            .patterns
            .iter()
            .map(|p| {
                p.iter()
                    .map(|l| match l {
                        Label::Any => "*",
                        Label::Exact(e) => e.as_str(),
                    })
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .collect();
        texts.join(", ")
    }
}

fn parse_pattern(text: &str) -> Result<Vec<Label>, String> {
    let bad = || {
        format!(
            "{text:?} is not a host pattern: use lower-case DNS labels separated by dots, where `*` stands for one \
             label (e.g. \"sns.*.amazonaws.com\"); no scheme, port or path, and at least two fixed labels"
        )
    };
    let labels: Vec<Label> = text
        .split('.')
        .map(|label| match label {
            "*" => Ok(Label::Any),
            l if is_label(l) && l == l.to_ascii_lowercase() => Ok(Label::Exact(l.to_owned())),
            _ => Err(bad()),
        })
        .collect::<Result<_, _>>()?;
    let fixed = labels.iter().filter(|l| matches!(l, Label::Exact(_))).count();
    // A top-level wildcard (`*.com`) or a pattern of wildcards would admit any host.
    if fixed < 2 || matches!(labels.last(), Some(Label::Any)) {
        return Err(bad());
    }
    Ok(labels)
}

fn is_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sns() -> KeyHosts {
        KeyHosts::compile(&["sns.*.amazonaws.com".to_owned()], "/p", &mut Vec::new()).unwrap()
    }

    #[test]
    fn a_wildcard_stands_for_exactly_one_label() {
        assert!(sns().check("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem").is_ok());
        assert!(sns().check("https://SNS.eu-west-1.amazonaws.com:443/x.pem").is_ok());
        for refused in [
            "https://sns.amazonaws.com/x.pem",
            "https://sns.a.b.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.com/x.pem",
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com:8443/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://evil.com/sns.us-east-1.amazonaws.com",
        ] {
            assert!(sns().check(refused).is_err(), "{refused} was admitted");
        }
    }

    #[test]
    fn patterns_that_would_admit_too_much_are_refused_with_their_pointer() {
        let mut issues = Vec::new();
        let patterns = ["*.com", "*.*", "sns.*", "https://x.com", "ok.example.com"].map(str::to_owned);
        assert!(KeyHosts::compile(&patterns, "/v/certificateHosts", &mut issues).is_none());
        let pointers: Vec<&str> = issues.iter().map(|i| i.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/v/certificateHosts/0", "/v/certificateHosts/1", "/v/certificateHosts/2", "/v/certificateHosts/3"]
        );
        let mut issues = Vec::new();
        assert!(KeyHosts::compile(&[], "/v/certificateHosts", &mut issues).is_none());
        assert!(issues[0].message.contains("at least one"));
    }
}
