//! The dashboard's static assets: open (no token), typed, under a strict Content-Security-Policy,
//! with only module scripts; the API behind them stays protected.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

use crate::support::{ADMIN, Reply, World, spawn};

fn header_text(reply: &Reply, name: header::HeaderName) -> &str {
    reply.headers.get(&name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn assert_asset(reply: &Reply, path: &str, content_type: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    assert_eq!(header_text(reply, header::CONTENT_TYPE), content_type, "{path}");
    let csp = header_text(reply, header::CONTENT_SECURITY_POLICY);
    for directive in
        ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]
    {
        assert!(csp.contains(directive), "{path}: CSP {csp:?} lacks {directive:?}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: CSP {csp:?}");
    assert_eq!(header_text(reply, header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
    assert_eq!(header_text(reply, header::REFERRER_POLICY), "no-referrer", "{path}");
    assert!(!header_text(reply, header::ETAG).is_empty(), "{path}: no ETag");
}

/// Values of `attr="..."` in `html`.
fn attribute_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

/// Relative modules a script imports (`import ... from './x.js'`).
fn imports(js: &str) -> Vec<String> {
    js.lines()
        .filter(|l| l.starts_with("import "))
        .filter_map(|l| l.rsplit_once(" from ").map(|(_, t)| t.trim().trim_end_matches(';').trim_matches(['\'', '"'])))
        .map(|t| t.strip_prefix("./").unwrap_or(t).to_owned())
        .collect()
}

async fn get(world: &World, path: &str, token: Option<&str>) -> Reply {
    world.get(path, token).await
}

#[tokio::test]
async fn the_page_and_every_asset_it_loads_are_served_without_a_token() {
    let world = spawn().await;
    let index = get(&world, "/", None).await;
    assert_asset(&index, "/", "text/html; charset=utf-8");
    assert!(index.text.contains("<title>Switchboard</title>"), "{}", index.text);

    // Every script is an external module; nothing runs inline.
    let scripts: Vec<&str> = index.text.match_indices("<script").map(|(at, _)| &index.text[at..]).collect();
    assert!(!scripts.is_empty(), "no script in the page");
    for script in &scripts {
        let tag = &script[..script.find('>').unwrap() + 1];
        assert!(tag.contains(r#"type="module""#) && tag.contains(r#" src=""#), "not an external module: {tag}");
        assert!(script[tag.len()..].starts_with("</script>"), "inline script body: {script}");
    }
    for forbidden in [" onclick=", " onload=", " onerror=", " onsubmit=", " style=", "javascript:"] {
        assert!(!index.text.contains(forbidden), "the page has {forbidden:?}");
    }

    // Follow the page's links and the modules' imports: each one is served, typed and open.
    let mut pending: Vec<String> = attribute_values(&index.text, "src")
        .into_iter()
        .chain(attribute_values(&index.text, "href").into_iter().filter(|h| h.starts_with("dashboard/")))
        .map(|p| p.strip_prefix("dashboard/").unwrap().to_owned())
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let path = format!("/dashboard/{name}");
        let reply = get(&world, &path, None).await;
        let expected = match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("unexpected asset type {other:?} for {name}"),
        };
        assert_asset(&reply, &path, expected);
        if name.ends_with(".js") {
            pending.extend(imports(&reply.text));
        }
    }
    for module in
        ["app.js", "api.js", "ui.js", "catalogue.js", "setup.js", "monitor.js", "signals.js", "custom.js", "style.css"]
    {
        assert!(seen.contains(module), "{module} is not reachable from the page: {seen:?}");
    }
}

#[tokio::test]
async fn assets_ignore_a_wrong_token_but_the_api_still_refuses_it() {
    let world = spawn().await;
    assert_eq!(get(&world, "/", Some("not-a-token-at-all")).await.status, StatusCode::OK);
    assert_eq!(get(&world, "/dashboard/app.js", Some("not-a-token-at-all")).await.status, StatusCode::OK);
    for path in ["/connectors", "/projects/demo/connectors", "/projects/demo/signals"] {
        let anonymous = get(&world, path, None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{path}: {}", anonymous.text);
        assert_eq!(anonymous.code(), "unauthenticated", "{path}");
        assert_eq!(get(&world, path, Some("not-a-token-at-all")).await.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(get(&world, path, Some(ADMIN)).await.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn unknown_assets_are_404_and_writes_are_refused() {
    let world = spawn().await;
    for path in
        ["/dashboard/nope.js", "/dashboard/", "/dashboard/..%2Fsrc%2Flib.rs", "/dashboard/app.js/x", "/index.html"]
    {
        let reply = get(&world, path, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}: {}", reply.text);
        assert_eq!(reply.code(), "unknown_route", "{path}");
    }
    for path in ["/", "/dashboard/app.js"] {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let reply = world.send(method.clone(), path, Some(ADMIN), None).await;
            assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {}", reply.text);
            assert_eq!(reply.code(), "method_not_allowed", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn a_browser_holding_the_current_version_gets_304() {
    let world = spawn().await;
    let first = get(&world, "/dashboard/app.js", None).await;
    let etag = header_text(&first, header::ETAG).to_owned();
    assert_eq!(header_text(&first, header::CACHE_CONTROL), "no-cache");
    let again = |tag: String| {
        Request::builder().uri("/dashboard/app.js").header(header::IF_NONE_MATCH, tag).body(Body::empty()).unwrap()
    };
    let cached = world.request(again(etag.clone())).await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.text.is_empty());
    let stale = world.request(again("\"0000\"".to_owned())).await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.text, first.text);
}
