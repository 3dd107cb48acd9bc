//! Redirects, followed by hand: the client follows none by itself, so every hop passes the
//! egress guard before it is sent, and a hop to another host must be among the descriptor's
//! `allowedHosts` ([`HOST_NOT_ALLOWED`] otherwise).
//!
//! A hop to another origin (scheme, host or port) carries no credential: `Authorization`,
//! `Cookie`, `Proxy-Authorization`, every header marked sensitive (auth headers and headers whose
//! template reads `{{credentials.*}}`, e.g. Datadog's `DD-API-KEY`) or holding a credential
//! value, and every query parameter that carried one (an API key, Trello's `token=`) are
//! dropped. A body holding a credential is never sent to another origin.

use std::collections::HashSet;

use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HeaderMap, LOCATION, PROXY_AUTHORIZATION};
use reqwest::{Method, StatusCode};

use switchboard_core::polling::PollError;

use crate::auth::HttpRequest;
use crate::credentials::{Credentials, contains_secret};
use crate::request::{display_url, parse_http_url};

/// The code starting the error of a redirect to a host outside the descriptor's `allowedHosts`.
pub const HOST_NOT_ALLOWED: &str = "host_not_allowed";

/// Redirects followed for one request before giving up.
pub const MAX_REDIRECTS: u32 = 5;

/// The request to send after answer `status` with `headers` to `request`, or `None` when the
/// answer is not a redirect.
pub fn next_hop(
    request: &HttpRequest,
    status: StatusCode,
    headers: &HeaderMap,
    credentials: &Credentials,
) -> Result<Option<HttpRequest>, PollError> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let endpoint = || display_url(&request.url, credentials);
    let unusable = || {
        PollError::Config(format!("{} answered HTTP {} without a usable Location header", endpoint(), status.as_u16()))
    };
    let location = headers.get(LOCATION).and_then(|v| v.to_str().ok()).ok_or_else(unusable)?;
    let joined = request.url.join(location).map_err(|_| unusable())?;
    let mut url = parse_http_url(joined.as_str(), credentials)?;
    // User info in a Location would be sent as Basic auth: only our own auth is sent.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);

    let mut next = HttpRequest::new(request.method.clone(), url);
    next.headers = request.headers.clone();
    next.body = request.body.clone();
    next.secret_params = request.secret_params.clone();
    let becomes_get = match status.as_u16() {
        303 => request.method != Method::HEAD,
        301 | 302 => request.method == Method::POST,
        _ => false,
    };
    if becomes_get {
        next.method = Method::GET;
        next.body = None;
        next.headers.remove(CONTENT_TYPE);
        next.headers.remove(CONTENT_LENGTH);
    }
    if next.url.origin() != request.url.origin() {
        if next.body.as_deref().is_some_and(|body| contains_secret(body, credentials)) {
            return Err(PollError::Config(format!(
                "{} redirected to {} with a body carrying credentials; refusing to send it to another origin",
                endpoint(),
                next.url.origin().ascii_serialization()
            )));
        }
        strip_credentials(&mut next, request, credentials);
    }
    Ok(Some(next))
}

/// Removes every credential-bearing header and query parameter from `next`; `from` is the
/// request it was redirected from (its query tells which parameters carried credentials).
fn strip_credentials(next: &mut HttpRequest, from: &HttpRequest, credentials: &Credentials) {
    let mut headers = HeaderMap::new();
    for (name, value) in &next.headers {
        let credential = [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION].contains(name)
            || value.is_sensitive()
            || value.to_str().is_ok_and(|text| contains_secret(text, credentials));
        if !credential {
            headers.append(name.clone(), value.clone());
        }
    }
    next.headers = headers;

    let mut secret_names: HashSet<String> = from.secret_params.iter().cloned().collect();
    secret_names.extend(
        from.url
            .query_pairs()
            .filter(|(_, value)| contains_secret(value, credentials))
            .map(|(name, _)| name.into_owned()),
    );
    let pairs: Vec<(String, String)> = next.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let kept: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(name, value)| !secret_names.contains(name) && !contains_secret(value, credentials))
        .collect();
    if kept.len() != pairs.len() {
        if kept.is_empty() {
            next.url.set_query(None);
        } else {
            next.url.query_pairs_mut().clear().extend_pairs(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
    }
    next.secret_params.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use url::Url;

    fn redirect_to(location: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, HeaderValue::from_str(location).expect("valid"));
        headers
    }

    fn signed_request(credentials: &Credentials) -> HttpRequest {
        let url =
            Url::parse("https://api.example.com/v1/items?page=2&api_key=k3y-value&token=t0ken-value").expect("valid");
        let mut request = HttpRequest::new(Method::GET, url);
        request.secret_header("Authorization", "Bearer b3arer-value").expect("valid");
        request.secret_header("DD-API-KEY", "dd-api-key-value").expect("valid");
        request.header("DD-APPLICATION-KEY", "dd-app-key-value").expect("valid");
        request.header("Cookie", "session=1").expect("valid");
        request.header("Accept", "application/json").expect("valid");
        request.secret_params.push("api_key".to_owned());
        let _ = credentials;
        request
    }

    fn credentials() -> Credentials {
        [("token", "t0ken-value"), ("appKey", "dd-app-key-value")].into_iter().collect()
    }

    #[test]
    fn a_hop_to_another_origin_carries_no_credentials() {
        let creds = credentials();
        let request = signed_request(&creds);
        let headers = redirect_to("https://elsewhere.example.net/landing?page=2&token=t0ken-value&api_key=k3y-value");
        let next = next_hop(&request, StatusCode::FOUND, &headers, &creds).expect("follows").expect("a redirect");
        assert_eq!(next.url.as_str(), "https://elsewhere.example.net/landing?page=2");
        let names: Vec<&str> = next.headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["accept"]);
    }

    #[test]
    fn a_hop_within_the_origin_keeps_the_request_as_it_was() {
        let creds = credentials();
        let request = signed_request(&creds);
        let next = next_hop(&request, StatusCode::TEMPORARY_REDIRECT, &redirect_to("/v2/items?page=2"), &creds)
            .expect("follows")
            .expect("a redirect");
        assert_eq!(next.url.as_str(), "https://api.example.com/v2/items?page=2");
        assert_eq!(next.headers.len(), request.headers.len());
        assert!(next.headers.get("dd-api-key").is_some_and(HeaderValue::is_sensitive));
    }

    #[test]
    fn see_other_becomes_a_get_without_body_and_other_answers_are_not_redirects() {
        let creds = Credentials::new();
        let mut post = HttpRequest::new(Method::POST, Url::parse("https://api.example.com/search").expect("valid"));
        post.body = Some("{}".to_owned());
        post.header("Content-Type", "application/json").expect("valid");
        let next =
            next_hop(&post, StatusCode::SEE_OTHER, &redirect_to("/results/1"), &creds).expect("ok").expect("hop");
        assert_eq!((next.method, next.body, next.headers.get(CONTENT_TYPE)), (Method::GET, None, None));
        assert!(next_hop(&post, StatusCode::OK, &redirect_to("/x"), &creds).expect("ok").is_none());
        assert!(next_hop(&post, StatusCode::NOT_MODIFIED, &redirect_to("/x"), &creds).expect("ok").is_none());
    }

    #[test]
    fn a_body_with_credentials_never_goes_to_another_origin() {
        let creds: Credentials = [("token", "t0ken-value")].into_iter().collect();
        let mut post = HttpRequest::new(Method::POST, Url::parse("https://api.example.com/graphql").expect("valid"));
        post.body = Some(r#"{"auth": "t0ken-value"}"#.to_owned());
        let err = next_hop(&post, StatusCode::PERMANENT_REDIRECT, &redirect_to("https://evil.example/"), &creds)
            .expect_err("refused");
        assert!(err.to_string().contains("https://evil.example"), "{err}");
    }

    #[test]
    fn a_redirect_without_location_is_a_clear_error() {
        let creds = Credentials::new();
        let get = HttpRequest::new(Method::GET, Url::parse("https://api.example.com/x").expect("valid"));
        let err = next_hop(&get, StatusCode::FOUND, &HeaderMap::new(), &creds).expect_err("no location");
        assert!(err.to_string().contains("without a usable Location"), "{err}");
        let err = next_hop(&get, StatusCode::FOUND, &redirect_to("ftp://files.example/x"), &creds).expect_err("ftp");
        assert!(err.to_string().contains("not an http(s) URL"), "{err}");
    }
}
