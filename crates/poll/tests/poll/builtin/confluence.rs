//! Confluence Data Center: `GET /rest/api/content/search` with a bearer PAT, `cql`, `expand`,
//! `start` / `limit` (results, `size`, `_links.next` while more follow). CQL dates are
//! `yyyy-MM-dd HH:mm` (or with `/`, or a bare date), read in the user's time zone; anything else
//! is a 400, as from Confluence.

use std::sync::{Arc, Mutex};

use crate::support::check;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;

const PAT: &str = "confluence-pat";
const EXPAND: &str = "version,space,history,container,metadata.labels";

/// A site's content, searched as Confluence does for a user in `zone`.
#[derive(Clone)]
struct Confluence {
    content: Arc<Mutex<Vec<Value>>>,
    zone: Tz,
    base: String,
}

fn modified(content: &Value) -> DateTime<Utc> {
    at(content["version"]["when"].as_str().unwrap())
}

fn cql_error(message: &str) -> ResponseTemplate {
    error(400, json!({"statusCode": 400, "message": format!("Could not parse cql : {message}")}))
}

/// Parses a CQL date as Confluence accepts them, in the user's zone.
fn cql_date(text: &str, zone: Tz) -> Option<DateTime<Utc>> {
    let text = text.replace('/', "-");
    let local = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    local.and_local_timezone(zone).earliest().map(|t| t.with_timezone(&Utc))
}

impl Respond for Confluence {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let cql = param(request, "cql").unwrap_or_default();
        let shape = regex::Regex::new(
            r#"^\((?P<restriction>.+)\) and lastmodified > "(?P<date>[^"]*)" order by lastmodified asc$"#,
        )
        .unwrap();
        let Some(parts) = shape.captures(&cql) else { return cql_error(&cql) };
        if &parts["restriction"] != "type in (page, comment)" {
            return cql_error("this fake knows only the default restriction");
        }
        let Some(since) = cql_date(&parts["date"], self.zone) else { return cql_error(&parts["date"]) };
        let start: usize = param(request, "start").map_or(0, |s| s.parse().unwrap());
        let limit: usize = param(request, "limit").map_or(25, |l| l.parse().unwrap()).min(100);
        let mut matching: Vec<Value> =
            self.content.lock().unwrap().iter().filter(|c| modified(c) > since).cloned().collect();
        matching.sort_by_key(|c| (modified(c), c["id"].as_str().unwrap().to_owned()));
        let results: Vec<Value> = matching.iter().skip(start).take(limit).cloned().collect();
        let mut links =
            json!({"base": self.base, "context": "", "self": format!("{}/rest/api/content/search", self.base)});
        if start + results.len() < matching.len() {
            let mut next = url::Url::parse("http://x/rest/api/content/search").unwrap();
            next.query_pairs_mut()
                .append_pair("cql", &cql)
                .append_pair("expand", EXPAND)
                .append_pair("start", &(start + limit).to_string())
                .append_pair("limit", &limit.to_string());
            links["next"] = json!(format!("{}?{}", next.path(), next.query().unwrap()));
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "results": results, "start": start, "limit": limit, "size": results.len(), "_links": links
        }))
    }
}

/// The fixture's page, comment and new page, and 100 older edits ten minutes apart: pages of
/// 50, 50 and 3.
fn site(server: &MockServer, zone: Tz) -> Confluence {
    let mut content: Vec<Value> =
        fixture("confluence", "content_search.page1.json")["results"].as_array().unwrap().clone();
    let template = content[0].clone();
    for i in 0..100i64 {
        let when = at("2024-03-10T12:00:00Z") - TimeDelta::minutes(10 * i);
        content.push(with(
            &template,
            &[("/id", json!(format!("{}", 900000 + i))), ("/version/when", json!(iso_millis(when)))],
        ));
    }
    content.sort_by_key(|c| (modified(c), c["id"].as_str().unwrap().to_owned()));
    Confluence { content: Arc::new(Mutex::new(content)), zone, base: server.uri() }
}

async fn mount(server: &MockServer, fake: &Confluence) {
    Mock::given(method("GET"))
        .and(path("/rest/api/content/search"))
        .and(header("authorization", format!("Bearer {PAT}").as_str()))
        .and(query_param("expand", EXPAND))
        .and(query_param("limit", "50"))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

/// A first run from the epoch, then a run from its checkpoint after a comment and an edit, for
/// a user whose profile is in `zone`; returns the CQL dates sent (first run, second run).
async fn polls_for_a_user_in(zone: &str) -> (String, String) {
    let server = MockServer::start().await;
    let fake = site(&server, zone.parse().unwrap());
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("confluence");
    let config = config(&[("baseUrl", &server.uri()), ("timeZone", zone)]);
    let credentials = credentials(&[("token", PAT)]);
    let all = ids(&descriptor, &fake.content.lock().unwrap());
    let date_sent = |request: &Request| {
        let cql = param(request, "cql").unwrap();
        cql.split('"').nth(1).unwrap().to_owned()
    };

    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    let starts: Vec<Option<String>> = sent.iter().map(|r| param(r, "start")).collect();
    assert_eq!(starts, [None, Some("50".to_owned()), Some("100".to_owned())]);
    assert_delivered(&descriptor, &first, 3, &all);
    assert_checkpoint(&first, "2024-03-11T15:45:10Z", &["1802401"]);
    let fixture_items: Vec<Value> =
        first.items.iter().filter(|i| i["id"].as_str().unwrap().starts_with("1802")).cloned().collect();
    assert_eq!(
        signal_types(&descriptor, &fixture_items),
        [Some("page_updated"), Some("page_commented"), Some("page_updated")].map(|t| t.map(str::to_owned))
    );
    let comment = map(&descriptor, &fixture_items[1]).unwrap();
    assert_eq!(comment.related_items, ["1802254"]);

    // Two minutes after the checkpoint the release checklist gets a comment, then an edit.
    let last = at("2024-03-11T15:45:10Z");
    {
        let mut content = fake.content.lock().unwrap();
        let page = content.iter().position(|c| c["id"] == "1802254").unwrap();
        let comment = content.iter().position(|c| c["id"] == "1802311").unwrap();
        let new_comment = with(
            &content[comment],
            &[("/id", json!("1802500")), ("/version/when", json!(iso_millis(last + TimeDelta::minutes(2))))],
        );
        let edit = with(
            &content[page],
            &[("/version/when", json!(iso_millis(last + TimeDelta::minutes(3)))), ("/version/number", json!(8))],
        );
        content[page] = edit;
        content.push(new_comment);
    }
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent_again = requests_after(&server, before).await;
    assert_eq!(sent_again.len(), 1);
    // The page at the checkpoint comes back (the date is rounded down to the minute) and is
    // dropped as seen.
    assert_delivered(&descriptor, &second, 1, &["1802500".to_owned(), "1802254".to_owned()]);
    assert_eq!(
        signal_types(&descriptor, &second.items),
        [Some("page_commented"), Some("page_updated")].map(|t| t.map(str::to_owned))
    );
    assert_checkpoint(&second, "2024-03-11T15:48:10Z", &["1802254"]);
    (date_sent(&sent[0]), date_sent(&sent_again[0]))
}

#[tokio::test]
async fn confluence_sends_cql_dates_in_the_users_time_zone() {
    // Berlin is UTC+1 in March (and was in 1970): the epoch minus the 120 s lookback is
    // 00:58, the checkpoint minus the lookback 16:43.
    assert_eq!(
        polls_for_a_user_in("Europe/Berlin").await,
        ("1970-01-01 00:58".to_owned(), "2024-03-11 16:43".to_owned())
    );
}

#[tokio::test]
async fn confluence_skips_nothing_for_a_user_behind_utc() {
    // New York is UTC-4 on 11 March 2024 (summer time began the day before): a UTC date would
    // be read four hours late and skip the comment and the edit.
    assert_eq!(
        polls_for_a_user_in("America/New_York").await,
        ("1969-12-31 18:58".to_owned(), "2024-03-11 11:43".to_owned())
    );
}

#[tokio::test]
async fn confluence_health_check_lists_a_space_with_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/space"))
        .and(query_param("limit", "1"))
        .and(header("authorization", format!("Bearer {PAT}").as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": [], "start": 0, "limit": 1, "size": 0})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let report =
        check(&descriptor("confluence"), &config(&[("baseUrl", &server.uri())]), &credentials(&[("token", PAT)])).await;
    assert!(report.healthy, "{report:?}");
}
