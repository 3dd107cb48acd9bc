//! GitHub as the functions meet it: signed `pull_request` webhook deliveries, and a local fake
//! of the REST API's issue list for the poller.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A real `pull_request` `opened` delivery body (`tests/fixtures/github-prs/`).
pub const PULL_REQUEST_OPENED: &str = include_str!("../../../../tests/fixtures/github-prs/pull_request.opened.json");
/// A real issue list page (`tests/fixtures/github-issues/`): one pull request and four issues.
pub const ISSUES_PAGE: &str = include_str!("../../../../tests/fixtures/github-issues/issues.page1.json");

/// The repository the fake API serves.
pub const OWNER: &str = "octo";
/// See [`OWNER`].
pub const REPO: &str = "hello";

/// The headers GitHub sends with a `pull_request` delivery, signed with `secret`.
pub fn delivery_headers(delivery_id: &str, secret: &str, body: &str) -> Vec<(&'static str, String)> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    vec![
        ("content-type", "application/json".to_owned()),
        ("user-agent", "GitHub-Hookshot/044aadd".to_owned()),
        ("x-github-event", "pull_request".to_owned()),
        ("x-github-delivery", delivery_id.to_owned()),
        ("x-github-hook-id", "292430182".to_owned()),
        ("x-hub-signature-256", format!("sha256={}", hex::encode(mac.finalize().into_bytes()))),
    ]
}

/// A fake GitHub API answering `GET /repos/octo/hello/issues` with [`ISSUES_PAGE`] to requests
/// that carry `token`.
pub async fn fake_issues_api(token: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{OWNER}/{REPO}/issues")))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(ISSUES_PAGE, "application/json"))
        .mount(&server)
        .await;
    server
}
