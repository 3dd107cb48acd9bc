//! The public URL a provider called, for schemes that sign it (Trello signs its callback URL).

use std::collections::BTreeMap;

use axum::http::header;
use axum::http::request::Parts;

/// Instance configuration key holding the callback URL exactly as registered with the provider.
pub const CONFIG_WEBHOOK_URL: &str = "webhookUrl";

/// The path as the provider called it, when a front end rewrote the request's own path (the
/// Lambda adapter removes the API Gateway stage prefix and keeps the original here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicPath(pub String);

/// The instance's configured `webhookUrl`, or the URL rebuilt from `X-Forwarded-Proto`, `Host`
/// and the path; `None` when the host is unknown.
pub(crate) fn public_url(config: &BTreeMap<String, String>, parts: &Parts) -> Option<String> {
    if let Some(url) = config.get(CONFIG_WEBHOOK_URL).filter(|u| !u.trim().is_empty()) {
        return Some(url.clone());
    }
    let header_text = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let host = header_text(header::HOST).or_else(|| parts.uri.authority().map(|a| a.as_str()))?;
    let scheme = header_text(header::HeaderName::from_static("x-forwarded-proto"))
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .or_else(|| parts.uri.scheme_str())
        .unwrap_or("https");
    let path = match parts.extensions.get::<PublicPath>() {
        Some(PublicPath(path)) => path.as_str(),
        None => parts.uri.path(),
    };
    let query = parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{scheme}://{host}{path}{query}"))
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts(request: Request<()>) -> Parts {
        request.into_parts().0
    }

    #[test]
    fn configured_webhook_url_wins() {
        let config = BTreeMap::from([(CONFIG_WEBHOOK_URL.to_owned(), "https://hooks.example.com/t".to_owned())]);
        let request = Request::post("/webhooks/trello/p1").header("host", "internal").body(()).unwrap();
        assert_eq!(public_url(&config, &parts(request)).as_deref(), Some("https://hooks.example.com/t"));
    }

    #[test]
    fn url_is_rebuilt_from_forwarded_proto_host_and_the_public_path() {
        let mut request = Request::post("/webhooks/trello/p1?x=1")
            .header("host", "api.example.com")
            .header("x-forwarded-proto", "http")
            .body(())
            .unwrap();
        assert_eq!(
            public_url(&BTreeMap::new(), &parts(request.clone())).as_deref(),
            Some("http://api.example.com/webhooks/trello/p1?x=1")
        );
        request.extensions_mut().insert(PublicPath("/prod/webhooks/trello/p1".into()));
        assert_eq!(
            public_url(&BTreeMap::new(), &parts(request)).as_deref(),
            Some("http://api.example.com/prod/webhooks/trello/p1?x=1")
        );
    }

    #[test]
    fn unknown_host_gives_no_url() {
        let request = Request::post("/webhooks/trello/p1").body(()).unwrap();
        assert_eq!(public_url(&BTreeMap::new(), &parts(request)), None);
    }
}
