//! Where an instance's requests go: the scheme and host of every URL template of its descriptor
//! (polling endpoint, health check, OAuth2 authorisation and token URLs), rendered with the
//! instance's config exactly as the polling engine renders them.
//!
//! Two rules rest on it. An instance whose URLs name a host outside the descriptor's
//! `allowedHosts` (and not admitted by the operator) is refused; and the config keys that feed
//! a URL's scheme or host (`baseUrl`, `{{config.site}}` in `https://{{config.site}}.atlassian.net`)
//! are the ones whose change sends requests — and the stored credentials — somewhere else.

use std::collections::{BTreeMap, BTreeSet};

use switchboard_core::Descriptor;
use switchboard_core::Issue;
use switchboard_core::model::ConnectorKind;
use switchboard_core::ports::Credentials;
use switchboard_core::template::{Segment, Template};
use switchboard_poll::request::{Vars, render_url};
use url::{Host, Url};

/// The config key every connector's `{{baseUrl}}` reads; always counted as feeding a host.
pub const BASE_URL: &str = "baseUrl";

/// The origin part (scheme and authority) of one URL template of a descriptor.
#[derive(Debug, Clone)]
struct Origin {
    /// What the URL is for, in error messages.
    what: &'static str,
    /// The template up to the end of its authority (`{{baseUrl}}`, `https://{{config.site}}.atlassian.net`).
    template: Template,
}

impl Origin {
    /// The config keys its placeholders read (`{{baseUrl}}` reads `baseUrl`).
    fn config_keys(&self) -> impl Iterator<Item = &str> {
        self.template
            .placeholders()
            .filter_map(|name| if name == BASE_URL { Some(name) } else { name.strip_prefix("config.") })
    }

    /// Whether a credential decides the host (then the host is never quoted in an error).
    fn reads_credentials(&self) -> bool {
        self.template.placeholders().any(|name| name.starts_with("credentials."))
    }

    /// The request body field an error about this origin points at: the config key that
    /// decides the host (`baseUrl` first), else the credential.
    fn pointer(&self) -> String {
        let mut keys: Vec<&str> = self.config_keys().collect();
        keys.sort_by_key(|k| *k != BASE_URL);
        if let Some(key) = keys.first() {
            return field_pointer("config", key);
        }
        match self.template.placeholders().find_map(|name| name.strip_prefix("credentials.")) {
            Some(key) => field_pointer("credentials", key),
            None => "/config".to_owned(),
        }
    }
}

/// The origins of a descriptor's URL templates.
#[derive(Debug, Clone)]
pub struct Destinations {
    origins: Vec<Origin>,
}

impl Destinations {
    /// The origin of every URL template `descriptor` compiles: polling endpoint, health
    /// check, the OAuth2 authorisation and token URLs, and the token or login URL of the other
    /// token-issuing auth methods.
    pub fn of(descriptor: &Descriptor) -> Self {
        let mut templates: Vec<(&'static str, &Template)> = Vec::new();
        if let Some(polling) = descriptor.polling() {
            templates.push(("polling endpoint", &polling.requests.endpoint));
        }
        if let Some(health_check) = descriptor.health_check() {
            templates.push(("health check", &health_check.endpoint));
        }
        if let Some(oauth) = descriptor.auth().oauth2() {
            templates.push(("OAuth2 authorisation URL", &oauth.authorise_url));
            templates.push(("OAuth2 token URL", &oauth.token_url));
        } else if let Some(token_url) = descriptor.auth().token_endpoint() {
            templates.push(("token URL", token_url));
        }
        // A native connector's own code decides what its templates mean: one written with
        // another scheme (`native://items`) is not a URL anybody requests.
        if descriptor.kind() == ConnectorKind::Native {
            templates.retain(|(_, template)| !has_other_scheme(template.as_str()));
        }
        let origins =
            templates.into_iter().map(|(what, template)| Origin { what, template: origin_of(template) }).collect();
        Self { origins }
    }

    /// The config keys that decide where requests go: `baseUrl` and every config key read in
    /// the scheme or host part of a URL template.
    pub fn config_keys(&self) -> BTreeSet<&str> {
        let mut keys: BTreeSet<&str> = self.origins.iter().flat_map(Origin::config_keys).collect();
        keys.insert(BASE_URL);
        keys
    }

    /// Whether some URL's host comes from a credential.
    pub fn read_credentials(&self) -> bool {
        self.origins.iter().any(Origin::reads_credentials)
    }

    /// The destination config keys whose effective value differs between `before` and `after`.
    pub fn changed_keys<'k>(
        &'k self,
        before: &BTreeMap<String, String>,
        after: &BTreeMap<String, String>,
    ) -> Vec<&'k str> {
        self.config_keys().into_iter().filter(|key| before.get(*key) != after.get(*key)).collect()
    }

    /// Checks that every URL, rendered with the instance's effective `config` and its
    /// `credentials`, is an http(s) URL whose host the descriptor's `allowedHosts` permits or
    /// the operator admits. One problem per request field, pointing at the field that decides
    /// the host (`/config/baseUrl`).
    pub fn check(
        &self,
        descriptor: &Descriptor,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
        operator_admits: &dyn Fn(&str, u16) -> bool,
    ) -> Vec<Issue> {
        let vars = Vars::instance(config, credentials);
        let allowed = descriptor.allowed_hosts();
        let mut issues: Vec<Issue> = Vec::new();
        for origin in &self.origins {
            let pointer = origin.pointer();
            if issues.iter().any(|i| i.pointer == pointer) {
                continue;
            }
            let problem = match render_url(&origin.template, &vars) {
                Err(error) => Some(format!("cannot build the {} URL from it: {error}", origin.what)),
                Ok(url) => match host_and_port(&url) {
                    None => Some(format!("the {} URL has no host", origin.what)),
                    Some((host, port)) if allowed.permits(&host) || operator_admits(&host, port) => None,
                    Some((host, _)) => {
                        let named =
                            if origin.reads_credentials() { "its host".to_owned() } else { format!("`{host}`") };
                        Some(format!(
                            "the {} would go to {named}, which this connector may not reach (allowed hosts: {allowed}); \
                             an operator can admit a self-hosted host with SWITCHBOARD_EGRESS_ALLOW",
                            origin.what
                        ))
                    }
                },
            };
            if let Some(message) = problem {
                issues.push(Issue::new(pointer, message));
            }
        }
        issues
    }
}

/// Whether `template` starts with a literal scheme other than http(s) (`native://items`).
fn has_other_scheme(template: &str) -> bool {
    let literal = template.split("{{").next().unwrap_or_default();
    literal
        .split_once("://")
        .is_some_and(|(scheme, _)| !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https"))
}

/// The host of `url` as the allowlist and the operator allowance read it (a DNS name, or an IP
/// address without brackets) and its port (the scheme's default when none is written).
fn host_and_port(url: &Url) -> Option<(String, u16)> {
    let host = match url.host()? {
        Host::Domain(name) => name.trim_end_matches('.').to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    };
    Some((host, url.port_or_known_default()?))
}

/// The part of `template` that decides the scheme and host: everything up to the first `/`,
/// `?` or `#` written after `://` (or after `{{baseUrl}}`, whose value is an absolute URL). A
/// placeholder before that point can change the host, so it is kept; the rest (path, query,
/// where credentials may appear) is left out.
fn origin_of(template: &Template) -> Template {
    let mut source = String::new();
    let mut after_scheme = false;
    for segment in template.segments() {
        match segment {
            Segment::Placeholder(name) => {
                source.push_str("{{");
                source.push_str(name);
                source.push_str("}}");
                after_scheme |= name == BASE_URL;
            }
            Segment::Literal(text) => {
                let authority_from = if after_scheme {
                    0
                } else if let Some(at) = text.find("://") {
                    after_scheme = true;
                    at + 3
                } else {
                    source.push_str(text);
                    continue;
                };
                if let Some(end) = text[authority_from..].find(['/', '?', '#']) {
                    source.push_str(&text[..authority_from + end]);
                    break;
                }
                source.push_str(text);
            }
        }
    }
    // The source is built from a parsed template's own pieces, so it parses again.
    Template::parse(&source).unwrap_or_else(|_| template.clone())
}

/// An RFC 6901 pointer to `/{section}/{key}`.
fn field_pointer(section: &str, key: &str) -> String {
    format!("/{section}/{}", key.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> String {
        origin_of(&Template::parse(text).expect("valid")).as_str().to_owned()
    }

    #[test]
    fn the_origin_ends_where_the_path_or_query_starts() {
        assert_eq!(origin("{{baseUrl}}/repos/{{config.repo}}?token={{credentials.t}}"), "{{baseUrl}}");
        assert_eq!(
            origin("https://{{config.site}}.atlassian.net/wiki/{{config.space}}"),
            "https://{{config.site}}.atlassian.net"
        );
        assert_eq!(origin("https://slack.com/api/auth.test"), "https://slack.com");
        assert_eq!(origin("https://api.trello.com?key={{credentials.k}}"), "https://api.trello.com");
        assert_eq!(origin("{{baseUrl}}{{config.tenant}}/x"), "{{baseUrl}}{{config.tenant}}");
        assert_eq!(origin("{{config.scheme}}://{{config.host}}"), "{{config.scheme}}://{{config.host}}");
    }

    #[test]
    fn a_config_value_with_a_slash_decides_the_host_as_the_engine_renders_it() {
        let template = origin_of(&Template::parse("https://{{config.site}}.atlassian.net/x").expect("valid"));
        let config = BTreeMap::from([("site".to_owned(), "attacker.example/".to_owned())]);
        let credentials = Credentials::new();
        let vars = Vars::instance(&config, &credentials);
        let url = render_url(&template, &vars).expect("renders");
        assert_eq!(host_and_port(&url), Some(("attacker.example".to_owned(), 443)));
    }

    #[test]
    fn only_literal_schemes_other_than_http_are_other_schemes() {
        assert!(has_other_scheme("native://items"));
        assert!(!has_other_scheme("https://api.example.com/x"));
        assert!(!has_other_scheme("HTTP://api.example.com/x"));
        assert!(!has_other_scheme("{{baseUrl}}/x?next=ftp://y"));
    }

    #[test]
    fn hosts_are_read_in_their_canonical_form() {
        let read = |text: &str| host_and_port(&Url::parse(text).expect("a URL"));
        assert_eq!(read("http://[::ffff:127.0.0.1]/"), Some(("::ffff:127.0.0.1".to_owned(), 80)));
        assert_eq!(read("http://2130706433:8080/"), Some(("127.0.0.1".to_owned(), 8080)));
        assert_eq!(read("https://API.GitHub.com./x"), Some(("api.github.com".to_owned(), 443)));
        assert_eq!(read("https://api.github.com@attacker.example/"), Some(("attacker.example".to_owned(), 443)));
    }
}
