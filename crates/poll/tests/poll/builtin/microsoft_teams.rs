//! Microsoft Teams: `GET /v1.0/teams/{team}/channels/{channel}/messages/delta` with the OAuth2
//! access token as `Authorization: Bearer` and `$top` (at most 50) on the first request; every
//! page but the last carries an absolute `@odata.nextLink` (a `$skiptoken`), the last an
//! `@odata.deltaLink` (a `$deltatoken`) that the next round starts from and that lists only the
//! messages posted or changed since. Deleted posts come back with `deletedDateTime` set.

use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;
use crate::support::{check, oauth_credentials};

const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJub25jZSI6-teams-access-token";
const TEAM: &str = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b";
const CHANNEL: &str = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2";
const CHANNEL_IN_PATH: &str = "19%3A4a95f7d8db4c4e7fae857bcebe0623e6%40thread.tacv2";

/// A channel's posts in the order Graph records their changes, and the server's address for
/// the links it hands out.
#[derive(Clone)]
struct Channel {
    changes: Arc<Mutex<Vec<Value>>>,
    uri: String,
}

fn graph_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    error(status, json!({"error": {"code": code, "message": message}}))
}

impl Respond for Channel {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let changes = self.changes.lock().unwrap();
        let link = format!("{}/v1.0/teams/{TEAM}/channels/{CHANNEL_IN_PATH}/messages/delta", self.uri);
        // The position in the change list, and the page size, as the tokens encode them.
        let (start, top) = match (param(request, "$skiptoken"), param(request, "$deltatoken")) {
            (Some(skip), None) => {
                match skip.split_once('.').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?))) {
                    Some(pair) => pair,
                    None => return graph_error(400, "BadRequest", "Invalid skip token"),
                }
            }
            (None, Some(delta)) => match delta.strip_prefix("d").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => (n, 50),
                None => return graph_error(410, "resyncRequired", "The delta token is no longer valid"),
            },
            (None, None) => match param(request, "$top").map(|t| t.parse::<usize>()) {
                None => (0, 50),
                Some(Ok(n)) if (1..=50).contains(&n) => (0, n),
                _ => return graph_error(400, "BadRequest", "$top must be between 1 and 50"),
            },
            (Some(_), Some(_)) => return graph_error(400, "BadRequest", "Both tokens"),
        };
        let page: Vec<Value> = changes.iter().skip(start).take(top).cloned().collect();
        let mut body = json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(chatMessage)",
            "value": page,
        });
        if start + top < changes.len() {
            body["@odata.nextLink"] = json!(format!("{link}?$skiptoken={}.{top}", start + top));
        } else {
            body["@odata.deltaLink"] = json!(format!("{link}?$deltatoken=d{}", changes.len()));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// A post like the fixture's, with id `n` (a Teams message id is its creation time in ms).
fn post(template: &Value, n: i64, text: &str) -> Value {
    let created = at("2021-01-22T21:39:42Z") + TimeDelta::minutes(n);
    let id = created.timestamp_millis().to_string();
    with(
        template,
        &[
            ("/id", json!(id)),
            ("/etag", json!(id)),
            ("/createdDateTime", json!(iso_millis(created))),
            ("/lastModifiedDateTime", json!(iso_millis(created))),
            ("/body/content", json!(text)),
            ("/webUrl", json!(format!("https://teams.microsoft.com/l/message/{CHANNEL_IN_PATH}/{id}?groupId={TEAM}"))),
        ],
    )
}

fn template() -> Value {
    fixture("microsoft-teams", "delta.initial.page1.json")["value"][0].clone()
}

fn post_id(n: i64) -> String {
    (at("2021-01-22T21:39:42Z") + TimeDelta::minutes(n)).timestamp_millis().to_string()
}

async fn mount(server: &MockServer, fake: &Channel) {
    Mock::given(method("GET"))
        .and(path_regex(format!(r"^/v1.0/teams/{TEAM}/channels/{CHANNEL_IN_PATH}/messages/delta$")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

fn instance(server: &MockServer) -> std::collections::BTreeMap<String, String> {
    config(&[("baseUrl", &server.uri()), ("teamId", TEAM), ("channelIds", CHANNEL)])
}

fn tokens() -> switchboard_poll::credentials::Credentials {
    oauth_credentials(TOKEN, "0.AXoA-refresh-token", at("2030-01-01T00:00:00Z"))
}

fn position(delta: &crate::support::Delta) -> Option<String> {
    delta.new_checkpoint.partitions.get(CHANNEL).and_then(|c| c.position.clone())
}

#[tokio::test]
async fn microsoft_teams_follows_next_links_then_starts_the_next_round_from_the_delta_link() {
    let server = MockServer::start().await;
    let template = template();
    // 120 posts, one a system event (not a message).
    let mut posts: Vec<Value> = (0..120).map(|n| post(&template, n, &format!("Deploy of OPS-{n} done"))).collect();
    posts[7]["messageType"] = json!("systemEventMessage");
    let fake = Channel { changes: Arc::new(Mutex::new(posts)), uri: server.uri() };
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("microsoft-teams");
    let config = instance(&server);
    let credentials = tokens();

    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    // 50, 50, then 20 with the delta link.
    assert_eq!(sent.len(), 3);
    assert_eq!(param(&sent[0], "$top").as_deref(), Some("50"));
    assert_eq!(param(&sent[1], "$skiptoken").as_deref(), Some("50.50"));
    assert_eq!(param(&sent[2], "$skiptoken").as_deref(), Some("100.50"));
    let expected: Vec<String> = (0..120).filter(|n| *n != 7).map(post_id).collect();
    assert_delivered(&descriptor, &first, 3, &expected);
    let link = format!("{}/v1.0/teams/{TEAM}/channels/{CHANNEL_IN_PATH}/messages/delta?$deltatoken=d120", server.uri());
    assert_eq!(position(&first).as_deref(), Some(link.as_str()));
    assert_eq!(
        signal_types(&descriptor, &first.items[..2]),
        [Some("message_received"), Some("message_received")].map(|t| t.map(str::to_owned))
    );
    assert_eq!(map(&descriptor, &first.items[3]).unwrap().related_items, ["OPS-3"]);

    // After the round: a new post, post 10 edited, post 11 deleted.
    {
        let mut changes = fake.changes.lock().unwrap();
        changes.push(post(&template, 500, "Incident INC-42 opened"));
        let mut edited = changes[10].clone();
        edited["lastEditedDateTime"] = json!("2021-01-23T08:00:00.000Z");
        edited["lastModifiedDateTime"] = json!("2021-01-23T08:00:00.000Z");
        edited["body"]["content"] = json!("Deploy of OPS-10 rolled back");
        changes.push(edited);
        let mut deleted = changes[11].clone();
        deleted["deletedDateTime"] = json!("2021-01-23T08:05:00.000Z");
        changes.push(deleted);
    }
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(param(&sent[0], "$deltatoken").as_deref(), Some("d120"));
    assert_eq!(ids(&descriptor, &second.items), [post_id(500), post_id(10)]);
    assert_eq!(
        signal_types(&descriptor, &second.items),
        [Some("message_received"), Some("message_edited")].map(|t| t.map(str::to_owned))
    );
    // The edit is a new signal: it carries the edit time.
    assert_ne!(signal_ids(&descriptor, &second.items[1..]), signal_ids(&descriptor, &first.items[10..11]));
    assert!(position(&second).is_some_and(|p| p.ends_with("$deltatoken=d123")));
}

#[tokio::test]
async fn microsoft_teams_health_check_lists_the_team_channels_with_the_access_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/teams/{TEAM}/channels")))
        .and(query_param("$select", "id"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#teams('fbe2bf47-16c8-47cf-b4a5-4b9b187c508b')/channels(id)",
            "value": [{"id": CHANNEL}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let report = check(&descriptor("microsoft-teams"), &instance(&server), &tokens()).await;
    assert!(report.healthy, "{report:?}");
}
