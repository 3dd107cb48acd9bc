//! The web dashboard: static assets (HTML, JavaScript modules, CSS) embedded in the binary and
//! served at `/` and `/dashboard/{file}`, with no build step.
//!
//! These routes are open: they carry no data and ignore the caller, so a browser can load the
//! page before it signs in; every API route the page then calls still needs its bearer token.
//! They are not API operations, so the OpenAPI document does not list them. Every answer
//! carries a strict Content-Security-Policy (scripts, styles and requests only from this origin;
//! no inline script; the page itself may also reach the OIDC issuer's token endpoint when it
//! signs in with one), `nosniff`, `no-referrer`, and an `ETag` so a browser revalidates cheaply
//! (`Cache-Control: no-cache`: a new release is picked up on the next load).
//!
//! `GET /dashboard/sign-in.json` tells the page how to sign in ([`crate::sign_in`]).

use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::sign_in::SignInDocument;
use crate::state::RegistryState;

/// The Content-Security-Policy of every dashboard asset (the page's own adds the OIDC token
/// endpoint's origin to `connect-src` when it signs in with an issuer).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// [`CONTENT_SECURITY_POLICY`] with `origin` also admitted in `connect-src`.
fn policy_connecting_to(origin: &str) -> String {
    CONTENT_SECURITY_POLICY.replace("connect-src 'self'", &format!("connect-src 'self' {origin}"))
}

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset { name: $name, content_type: $type, body: include_bytes!(concat!("../dashboard/", $name)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `dashboard/` the page uses; `index.html` is served at `/`.
static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("ui.js", JS),
    asset!("catalogue.js", JS),
    asset!("setup.js", JS),
    asset!("monitor.js", JS),
    asset!("signals.js", JS),
    asset!("context.js", JS),
    asset!("custom.js", JS),
    asset!("signin.js", JS),
];

/// Entity tags of [`ASSETS`], in the same order.
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = Sha256::digest(a.body);
            let tag = format!("\"{}\"", digest[..12].iter().map(|b| format!("{b:02x}")).collect::<String>());
            HeaderValue::from_str(&tag).expect("hex is a valid header value")
        })
        .collect()
});

/// The dashboard's routes (`/`, `/dashboard/sign-in.json` and `/dashboard/{file}`), to merge
/// into the API router.
pub fn routes() -> Router<RegistryState> {
    Router::new()
        .route("/", get(index))
        .route("/dashboard/sign-in.json", get(sign_in))
        .route("/dashboard/{file}", get(file))
}

/// The page. With an OIDC issuer, its discovery document is read first (on first need), so
/// the policy can admit the token endpoint; if it cannot be read, the page still loads and
/// shows why when it asks for `sign-in.json`.
async fn index(State(state): State<RegistryState>, headers: HeaderMap) -> Response {
    if let Some(oidc) = &state.sign_in.oidc {
        let _ = oidc.discovery().await;
    }
    let policy = match state.sign_in.token_origin() {
        Some(origin) => HeaderValue::from_str(&policy_connecting_to(&origin)),
        None => Ok(HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
    };
    serve(0, &headers, policy.unwrap_or(HeaderValue::from_static(CONTENT_SECURITY_POLICY)))
}

/// How the page signs in; 502 naming the issuer when its discovery document cannot be read.
async fn sign_in(State(state): State<RegistryState>) -> Result<Json<SignInDocument>, ApiError> {
    state
        .sign_in
        .document()
        .await
        .map(Json)
        .map_err(|e| ApiError::Upstream(format!("{e}. The dashboard cannot offer OIDC sign-in until it can be read.")))
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().position(|a| a.name == name) {
        Some(i) => serve(i, &headers, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
        None => ApiError::UnknownRoute(format!("/dashboard/{name}")).into_response(),
    }
}

fn serve(i: usize, request: &HeaderMap, policy: HeaderValue) -> Response {
    let asset = &ASSETS[i];
    let etag = ETAGS[i].clone();
    let headers = [
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::ETAG, etag.clone()),
    ];
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes().split(|b| *b == b',').any(|t| t.trim_ascii() == etag.as_bytes()));
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, [(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))], asset.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        let names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(asset.body).unwrap();
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let target = line.rsplit_once("from").map_or(line, |(_, t)| t);
                let target = target.trim().trim_end_matches(';').trim_matches(['\'', '"']);
                let target = target.strip_prefix("./").unwrap_or(target);
                assert!(names.contains(&target), "{} imports {target}, which is not embedded", asset.name);
            }
        }
    }
}
