//! Request templating: fills `{{baseUrl}}`, `{{checkpoint}}`, the page position
//! (`{{pageToken}}`, `{{offset}}`, `{{pageNumber}}`), `{{pageSize}}`, `{{config.<key>}}` and
//! `{{credentials.<key>}}` into endpoint, header and body templates, escaping each value for
//! where it lands.
//!
//! - In a URL, values are percent-encoded: in the path everything but unreserved characters and
//!   `/` (so `owner/repo` still spans two segments, but `?`, `#` or `%` cannot change the URL's
//!   shape); in the query everything but unreserved characters. `{{baseUrl}}` is inserted as is.
//! - In a JSON body, values are JSON string-escaped (the template supplies the quotes). A member
//!   whose whole value is `"{{pageToken}}"` or `"{{checkpoint}}"` is left out while that
//!   variable is empty: APIs reject an empty cursor (Notion's `start_cursor`, a GraphQL `after`)
//!   where leaving it out means "from the start".
//! - In a header, values are inserted as is; control characters are rejected when the header is
//!   built. A header whose whole value is an empty page position or `{{checkpoint}}` is left out
//!   (see [`is_dropped_when_empty`]).

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

use switchboard_core::polling::PollError;
use switchboard_core::template::{Segment, Template};

use crate::credentials::{Credentials, expose, redact};

/// Characters escaped in a query value: all but RFC 3986 unreserved.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// Characters escaped in a path value: as in a query value, but `/` is kept.
const PATH_VALUE: &AsciiSet = &QUERY_VALUE.remove(b'/');

/// How a substituted value is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// JSON string content (for bodies).
    Json,
    /// Unchanged (for headers).
    Raw,
}

/// The values a request template can refer to.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// Instance config with the descriptor's defaults filled in.
    pub config: &'a BTreeMap<String, String>,
    /// Instance credentials.
    pub credentials: &'a Credentials,
    /// The delta position as the API expects it (empty when there is none).
    pub checkpoint: &'a str,
    /// The page token or offset (empty on a first cursor page).
    pub page_token: &'a str,
}

impl<'a> Vars<'a> {
    /// The values of a request outside a page: the instance's config and credentials, no
    /// delta position and no page position.
    pub fn instance(config: &'a BTreeMap<String, String>, credentials: &'a Credentials) -> Self {
        Self { config, credentials, checkpoint: "", page_token: "" }
    }
}

/// What request templates read their values from: [`Vars`], or [`PageVars`] for a page request.
pub trait Variables {
    /// The value of placeholder `name`, unescaped.
    fn lookup(&self, name: &str) -> Result<String, PollError>;
    /// The credentials (to keep them out of error messages).
    fn credentials(&self) -> &Credentials;
}

impl Variables for Vars<'_> {
    fn lookup(&self, name: &str) -> Result<String, PollError> {
        match name {
            "baseUrl" => self
                .config
                .get("baseUrl")
                .map(|b| b.trim_end_matches('/').to_owned())
                .ok_or_else(|| PollError::Config("config value \"baseUrl\" is not set".to_owned())),
            "checkpoint" => Ok(self.checkpoint.to_owned()),
            // The page position, whichever way the pagination counts it.
            "pageToken" | "offset" | "pageNumber" => Ok(self.page_token.to_owned()),
            _ => {
                if let Some(key) = name.strip_prefix("config.") {
                    self.config
                        .get(key)
                        .cloned()
                        .ok_or_else(|| PollError::Config(format!("config value {key:?} is not set")))
                } else if let Some(key) = name.strip_prefix("credentials.") {
                    expose(self.credentials, key)
                        .map(str::to_owned)
                        .ok_or_else(|| PollError::MissingCredential(key.to_owned()))
                } else {
                    Err(PollError::Config(format!("unknown template variable {{{{{name}}}}}")))
                }
            }
        }
    }

    fn credentials(&self) -> &Credentials {
        self.credentials
    }
}

/// The values of a page request: [`Vars`] plus the page size (`{{pageSize}}`).
#[derive(Debug, Clone, Copy)]
pub struct PageVars<'a> {
    /// Everything but the page size.
    pub vars: Vars<'a>,
    /// The pagination's page size, when the connector pages.
    pub page_size: Option<u32>,
    /// The partition's values (`{{partition.<field>}}`), in a partitioned stream.
    pub partition: Option<&'a BTreeMap<String, String>>,
    /// The end of the time window being fetched (`{{windowEnd}}`).
    pub window_end: Option<&'a str>,
}

impl Variables for PageVars<'_> {
    fn lookup(&self, name: &str) -> Result<String, PollError> {
        match (name, self.page_size) {
            ("pageSize", Some(size)) => Ok(size.to_string()),
            ("pageSize", None) => Err(PollError::Config("{{pageSize}} needs a pagination with a pageSize".to_owned())),
            ("windowEnd", _) => Ok(self.window_end.unwrap_or_default().to_owned()),
            _ => match name.strip_prefix("partition.") {
                Some(field) => self
                    .partition
                    .and_then(|values| values.get(field))
                    .cloned()
                    .ok_or_else(|| PollError::Config(format!("partition value {field:?} is not set"))),
                None => self.vars.lookup(name),
            },
        }
    }

    fn credentials(&self) -> &Credentials {
        self.vars.credentials
    }
}

/// Renders a URL template: values percent-encoded for the path or the query they land in.
pub fn render_url<V: Variables + ?Sized>(template: &Template, vars: &V) -> Result<Url, PollError> {
    let mut out = String::with_capacity(template.as_str().len() + 32);
    let mut in_query = false;
    for segment in template.segments() {
        match segment {
            Segment::Literal(text) => {
                in_query |= text.contains('?');
                out.push_str(text);
            }
            Segment::Placeholder(name) if name == "baseUrl" => {
                let base = vars.lookup(name)?;
                in_query |= base.contains('?');
                out.push_str(&base);
            }
            Segment::Placeholder(name) => {
                let value = vars.lookup(name)?;
                let set = if in_query { QUERY_VALUE } else { PATH_VALUE };
                out.extend(utf8_percent_encode(&value, set));
            }
        }
    }
    parse_http_url(&out, vars.credentials())
}

/// Parses an absolute http(s) URL; the error never shows secret values.
pub fn parse_http_url(text: &str, credentials: &Credentials) -> Result<Url, PollError> {
    let url = Url::parse(text)
        .map_err(|e| PollError::Config(format!("{:?} is not a valid URL: {e}", redact(text, credentials))))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(PollError::Config(format!("{:?} is not an http(s) URL", redact(text, credentials))));
    }
    Ok(url)
}

/// Renders a header or body template.
pub fn render_text<V: Variables + ?Sized>(template: &Template, vars: &V, escape: Escape) -> Result<String, PollError> {
    template.render(|name| {
        let value = vars.lookup(name)?;
        Ok(match escape {
            Escape::Raw => value,
            Escape::Json => json_escape(&value),
        })
    })
}

/// The variables whose JSON body members (and headers) are left out while empty.
const DROPPED_WHEN_EMPTY: [&str; 4] = ["pageToken", "offset", "pageNumber", "checkpoint"];

/// Whether a header template is a single placeholder that leaves the header out while empty
/// (an API rejects an empty cursor header where leaving it out means "from the start").
pub fn is_dropped_when_empty(template: &Template) -> bool {
    matches!(template.segments(), [Segment::Placeholder(name)] if DROPPED_WHEN_EMPTY.contains(&name.as_str()))
}

/// Stands in for an empty variable while a body is checked for members to leave out; a
/// control character, so no real value contains it.
const UNSET: &str = "\u{1}switchboard:unset\u{1}";

/// Renders a JSON body template (values JSON-escaped). An object member or array element whose
/// whole value is an empty `{{pageToken}}` or `{{checkpoint}}` is left out; the body is then
/// re-serialised. A template that is not JSON once rendered is sent as rendered.
pub fn render_body<V: Variables + ?Sized>(template: &Template, vars: &V) -> Result<String, PollError> {
    let unset =
        |name: &str| DROPPED_WHEN_EMPTY.contains(&name) && vars.lookup(name).is_ok_and(|value| value.is_empty());
    if !template.placeholders().any(&unset) {
        return render_text(template, vars, Escape::Json);
    }
    let marked = template.render(|name| {
        if unset(name) { Ok(json_escape(UNSET)) } else { vars.lookup(name).map(|value| json_escape(&value)) }
    })?;
    match serde_json::from_str::<serde_json::Value>(&marked) {
        Ok(mut body) => {
            drop_unset(&mut body);
            Ok(body.to_string())
        }
        Err(_) => render_text(template, vars, Escape::Json),
    }
}

/// Removes members and elements that are exactly [`UNSET`]; elsewhere the marker becomes "".
fn drop_unset(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(members) => {
            members.retain(|_, v| v.as_str() != Some(UNSET));
            members.values_mut().for_each(drop_unset);
        }
        Value::Array(elements) => {
            elements.retain(|v| v.as_str() != Some(UNSET));
            elements.iter_mut().for_each(drop_unset);
        }
        Value::String(text) if text.contains(UNSET) => *text = text.replace(UNSET, ""),
        _ => {}
    }
}

/// The content of a JSON string literal holding `value` (without the quotes).
fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// Sets a query parameter, replacing any the URL already has under that name and leaving the
/// rest of the query exactly as written.
pub fn set_query_param(url: &mut Url, name: &str, value: &str) {
    if url.query_pairs().any(|(k, _)| k == name) {
        let kept: Vec<String> = url
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or_default();
                !pair.is_empty() && url::form_urlencoded::parse(key.as_bytes()).all(|(k, _)| k != name)
            })
            .map(str::to_owned)
            .collect();
        url.set_query((!kept.is_empty()).then(|| kept.join("&")).as_deref());
    }
    url.query_pairs_mut().append_pair(name, value);
}

/// Whether `template` reads a credential (`{{credentials.<key>}}`).
pub fn reads_credentials(template: &Template) -> bool {
    template.placeholders().any(|name| name.starts_with("credentials."))
}

/// The names of the query parameters of URL template `template` whose value reads a
/// credential (Trello's `?key={{credentials.apiKey}}&token={{credentials.token}}`).
pub fn secret_query_params(template: &Template) -> Vec<String> {
    let source = template.as_str();
    let Some((_, query)) = source.split_once('?') else { return Vec::new() };
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(_, value)| Template::parse(value).map_or(value.contains("{{"), |value| reads_credentials(&value)))
        .map(|(name, _)| url::form_urlencoded::parse(name.as_bytes()).map(|(k, _)| k.into_owned()).collect())
        .collect()
}

/// The URL as shown in errors and logs: scheme, host, port and path, never the query (which may
/// carry an API key) or user info.
pub fn display_url(url: &Url, credentials: &Credentials) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    redact(&shown, credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(config: &'a BTreeMap<String, String>, creds: &'a Credentials) -> Vars<'a> {
        Vars { config, credentials: creds, checkpoint: "2024-01-01T00:00:00+01:00", page_token: "a b&c" }
    }

    fn config() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("baseUrl".to_owned(), "https://api.example.com/".to_owned()),
            ("repo".to_owned(), "octo cat/hello?x#y".to_owned()),
        ])
    }

    #[test]
    fn path_values_keep_slashes_but_cannot_start_a_query() {
        let (config, creds) = (config(), Credentials::new());
        let t = Template::parse("{{baseUrl}}/repos/{{config.repo}}/issues").expect("valid");
        let url = render_url(&t, &vars(&config, &creds)).expect("renders");
        assert_eq!(url.as_str(), "https://api.example.com/repos/octo%20cat/hello%3Fx%23y/issues");
        assert_eq!(url.query(), None);
    }

    #[test]
    fn query_values_are_fully_escaped() {
        let (config, creds) = (config(), Credentials::new());
        let t = Template::parse("{{baseUrl}}/search?since={{checkpoint}}&page={{pageToken}}").expect("valid");
        let url = render_url(&t, &vars(&config, &creds)).expect("renders");
        assert_eq!(url.query(), Some("since=2024-01-01T00%3A00%3A00%2B01%3A00&page=a%20b%26c"));
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        assert_eq!(pairs[0].1, "2024-01-01T00:00:00+01:00");
        assert_eq!(pairs[1].1, "a b&c");
    }

    #[test]
    fn body_values_are_json_escaped() {
        let (config, creds) = (BTreeMap::new(), Credentials::new());
        let mut v = vars(&config, &creds);
        v.checkpoint = "say \"hi\"\n\\";
        let t = Template::parse(r#"{"filter": "{{checkpoint}}"}"#).expect("valid");
        let body = render_text(&t, &v, Escape::Json).expect("renders");
        let parsed: serde_json::Value = serde_json::from_str(&body).expect("still JSON");
        assert_eq!(parsed["filter"], "say \"hi\"\n\\");
    }

    #[test]
    fn empty_cursor_members_are_left_out_of_json_bodies() {
        let (config, creds) = (BTreeMap::new(), Credentials::new());
        let mut v = vars(&config, &creds);
        v.page_token = "";
        let t = Template::parse(
            r#"{"query": "q", "variables": {"since": "{{checkpoint}}", "after": "{{pageToken}}"}, "ids": ["{{pageToken}}"], "note": "at {{pageToken}}"}"#,
        )
        .expect("valid");
        let body: serde_json::Value = serde_json::from_str(&render_body(&t, &v).expect("renders")).expect("JSON");
        assert_eq!(
            body,
            serde_json::json!({"query": "q", "variables": {"since": "2024-01-01T00:00:00+01:00"}, "ids": [], "note": "at "})
        );
        v.page_token = "c2";
        let body: serde_json::Value = serde_json::from_str(&render_body(&t, &v).expect("renders")).expect("JSON");
        assert_eq!(body["variables"]["after"], "c2");
        assert_eq!(body["ids"], serde_json::json!(["c2"]));
    }

    #[test]
    fn bodies_without_empty_cursors_are_rendered_as_written() {
        let (config, creds) = (BTreeMap::new(), Credentials::new());
        let t = Template::parse(r#"{"b": 1,  "a": "{{pageToken}}"}"#).expect("valid");
        assert_eq!(render_body(&t, &vars(&config, &creds)).expect("renders"), r#"{"b": 1,  "a": "a b&c"}"#);
        let mut v = vars(&config, &creds);
        v.page_token = "";
        let form = Template::parse("cursor={{pageToken}}&x=1").expect("valid");
        assert_eq!(render_body(&form, &v).expect("renders"), "cursor=&x=1");
    }

    #[test]
    fn missing_config_and_credentials_are_named() {
        let (config, creds) = (BTreeMap::new(), Credentials::new());
        let t = Template::parse("https://x/{{config.projectKey}}").expect("valid");
        let err = render_url(&t, &vars(&config, &creds)).expect_err("missing");
        assert!(err.to_string().contains("projectKey"), "{err}");
        let t = Template::parse("https://x/?key={{credentials.apiKey}}").expect("valid");
        assert_eq!(render_url(&t, &vars(&config, &creds)), Err(PollError::MissingCredential("apiKey".to_owned())));
    }

    #[test]
    fn setting_a_query_param_replaces_it_and_keeps_the_rest() {
        let mut url = Url::parse("https://x/y?jql=a%20b&page=1&state=all").expect("valid");
        set_query_param(&mut url, "page", "2");
        assert_eq!(url.query(), Some("jql=a%20b&state=all&page=2"));
        set_query_param(&mut url, "since", "2024-01-01T00:00:00Z");
        assert_eq!(url.query(), Some("jql=a%20b&state=all&page=2&since=2024-01-01T00%3A00%3A00Z"));
    }

    #[test]
    fn credential_bearing_query_params_are_found() {
        let t = Template::parse("{{baseUrl}}/1/boards?fields=name&key={{credentials.apiKey}}&token={{ credentials.token }}&since={{checkpoint}}")
            .expect("valid");
        assert_eq!(secret_query_params(&t), ["key", "token"]);
        assert!(reads_credentials(&t));
        let plain = Template::parse("{{baseUrl}}/search?q={{config.project}}").expect("valid");
        assert!(secret_query_params(&plain).is_empty());
        assert!(!reads_credentials(&plain));
    }

    #[test]
    fn displayed_urls_drop_the_query() {
        let url = Url::parse("https://user:pw@x.io:8443/a/b?api_key=secret").expect("valid");
        assert_eq!(display_url(&url, &Credentials::new()), "https://x.io:8443/a/b");
    }
}
