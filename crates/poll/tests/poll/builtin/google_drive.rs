//! Google Drive: `GET /drive/v3/files` with the OAuth2 access token as `Authorization: Bearer`,
//! a search query `q` (`modifiedTime >= '<RFC 3339>' and trashed = false`),
//! `orderBy=modifiedTime` (oldest first), the fields asked for in `fields`, `pageSize` (at most
//! 1000) and an opaque `pageToken` from `nextPageToken`, absent on the last page.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;
use crate::support::{check, oauth_credentials};

const TOKEN: &str = "ya29.a0AfB_byC-drive-access-token";

/// A drive's files, served as `files.list` does.
#[derive(Clone)]
struct Drive(Arc<Mutex<Vec<Value>>>);

fn modified(file: &Value) -> DateTime<Utc> {
    at(file["modifiedTime"].as_str().unwrap())
}

fn page_token(index: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("~!!~index:{index}"))
}

fn bad_request(message: &str) -> ResponseTemplate {
    error(
        400,
        json!({"error": {"code": 400, "message": message, "errors": [{"domain": "global", "reason": "invalid", "message": message, "locationType": "parameter", "location": "q"}]}}),
    )
}

/// The time of a `modifiedTime >= '…' and trashed = false` query.
fn since(q: &str) -> Option<DateTime<Utc>> {
    let rest = q.strip_prefix("modifiedTime >= '")?;
    let (time, tail) = rest.split_once('\'')?;
    (tail == " and trashed = false").then_some(())?;
    DateTime::parse_from_rfc3339(time).ok().map(|t| t.with_timezone(&Utc))
}

impl Respond for Drive {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let size: usize = match param(request, "pageSize").map(|m| m.parse::<usize>()) {
            None => 100,
            Some(Ok(n)) if (1..=1000).contains(&n) => n,
            _ => return bad_request("Invalid pageSize"),
        };
        let Some(since) = param(request, "q").as_deref().and_then(since) else {
            return bad_request("Invalid Value");
        };
        let start = match param(request, "pageToken") {
            None => 0,
            Some(token) => match base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .and_then(|s| s.strip_prefix("~!!~index:").and_then(|n| n.parse::<usize>().ok()))
            {
                Some(n) => n,
                None => return bad_request("Invalid pageToken"),
            },
        };
        let mut files: Vec<Value> = self.0.lock().unwrap().iter().filter(|f| modified(f) >= since).cloned().collect();
        files.sort_by_key(modified);
        let page: Vec<Value> = files.iter().skip(start).take(size).cloned().collect();
        let mut body = json!({"files": page});
        if start + size < files.len() {
            body["nextPageToken"] = json!(page_token(start + size));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// A file like the fixture's, created at `created` and modified at `time`.
fn file(template: &Value, id: &str, created: DateTime<Utc>, time: DateTime<Utc>) -> Value {
    with(
        template,
        &[
            ("/id", json!(id)),
            ("/name", json!(format!("Runbook OPS-{}", id.trim_start_matches("f")))),
            ("/createdTime", json!(iso_millis(created))),
            ("/modifiedTime", json!(iso_millis(time))),
            ("/webViewLink", json!(format!("https://docs.google.com/document/d/{id}/edit?usp=drivesdk"))),
        ],
    )
}

/// The fixture's "Test Document 2" (modified 2026-03-12 07:29:10.062) and 150 more, modified
/// every minute from 2026-03-13 00:00; every third one new (created when modified).
fn drive() -> Drive {
    let template = fixture("google-drive", "files.page.json")["files"][1].clone();
    let mut files = vec![template.clone()];
    for i in 0..150usize {
        let time = at("2026-03-13T00:00:00Z") + TimeDelta::minutes(i as i64);
        let created = if i % 3 == 0 { time } else { at("2026-01-05T09:00:00Z") };
        files.push(file(&template, &format!("f{i:04}"), created, time));
    }
    Drive(Arc::new(Mutex::new(files)))
}

async fn mount(server: &MockServer, fake: &Drive) {
    Mock::given(method("GET"))
        .and(path("/drive/v3/files"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("orderBy", "modifiedTime"))
        .and(query_param("corpora", "allDrives"))
        .and(query_param("includeItemsFromAllDrives", "true"))
        .and(query_param("supportsAllDrives", "true"))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

fn instance(server: &MockServer) -> std::collections::BTreeMap<String, String> {
    config(&[("baseUrl", &server.uri()), ("startDate", "2026-03-01")])
}

fn tokens() -> switchboard_poll::credentials::Credentials {
    oauth_credentials(TOKEN, "1//refresh-token", at("2030-01-01T00:00:00Z"))
}

#[tokio::test]
async fn google_drive_pages_by_token_then_asks_for_files_modified_since_the_checkpoint() {
    let server = MockServer::start().await;
    let fake = drive();
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("google-drive");
    let config = instance(&server);
    let credentials = tokens();

    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    // 100, then 51 without a nextPageToken.
    assert_eq!(sent.len(), 2);
    assert_eq!(param(&sent[0], "q").as_deref(), Some("modifiedTime >= '2026-02-28T23:59:00Z' and trashed = false"));
    assert_eq!(param(&sent[0], "pageSize").as_deref(), Some("100"));
    assert!(param(&sent[0], "fields").is_some_and(|f| f.starts_with("nextPageToken,files(id,name,")));
    assert_eq!(param(&sent[0], "pageToken"), None);
    assert_eq!(param(&sent[1], "pageToken"), Some(page_token(100)));
    let expected: Vec<String> = std::iter::once("1X2oaJnzevQ5j9dsKKwxzGZV3TT7Dn6UDIeNJGZfROhs".to_owned())
        .chain((0..150).map(|i| format!("f{i:04}")))
        .collect();
    assert_delivered(&descriptor, &first, 2, &expected);
    assert_checkpoint(&first, "2026-03-13T02:29:00Z", &["f0149"]);
    assert_eq!(
        signal_types(&descriptor, &first.items[..4]),
        [Some("document_updated"), Some("document_created"), Some("document_updated"), Some("document_updated")]
            .map(|t| t.map(str::to_owned))
    );
    assert_eq!(map(&descriptor, &first.items[1]).unwrap().related_items, ["OPS-0000"]);

    // After the run: a new file at 03:00, and f0010 edited at 03:10.
    {
        let mut files = fake.0.lock().unwrap();
        let template = files[0].clone();
        files.push(file(&template, "f9001", at("2026-03-13T03:00:00Z"), at("2026-03-13T03:00:00Z")));
        let edited = files.iter_mut().find(|f| f["id"] == "f0010").unwrap();
        *edited = file(&edited.clone(), "f0010", at("2026-01-05T09:00:00Z"), at("2026-03-13T03:10:00Z"));
    }
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(param(&sent[0], "q").as_deref(), Some("modifiedTime >= '2026-03-13T02:28:00Z' and trashed = false"));
    // f0148 (02:28) comes again within the lookback as a signal already produced; f0149, at the
    // checkpoint, is dropped as seen.
    let (fresh, repeats) = split_repeats(&descriptor, &first, &second, TimeDelta::seconds(60));
    assert_eq!(ids(&descriptor, &repeats), ["f0148"]);
    assert_eq!(ids(&descriptor, &fresh), ["f9001", "f0010"]);
    assert_eq!(
        signal_types(&descriptor, &fresh),
        [Some("document_created"), Some("document_updated")].map(|t| t.map(str::to_owned))
    );
    assert_checkpoint(&second, "2026-03-13T03:10:00Z", &["f0010"]);
}

#[tokio::test]
async fn google_drive_health_check_reads_the_user_with_the_access_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/drive/v3/about"))
        .and(query_param("fields", "user"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "user": {"kind": "drive#user", "displayName": "Nango API", "emailAddress": "api@nango.dev", "me": true}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let report = check(&descriptor("google-drive"), &instance(&server), &tokens()).await;
    assert!(report.healthy, "{report:?}");
}
