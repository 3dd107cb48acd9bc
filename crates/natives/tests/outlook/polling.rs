//! The inbox delta against a wiremock Graph: every message once over `@odata.nextLink` pages,
//! the `@odata.deltaLink` as the checkpoint, a second poll with only what changed, flags, and a
//! full resync on 410 / `syncStateNotFound` that adds no duplicate signal.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use switchboard_core::polling::Checkpoint;
use switchboard_core::ports::Credentials;
use switchboard_core::{Connector, IngestionKind, PollRequest};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ctx, fixture_at, polling_connector};

const DELTA: &str = "/v1.0/me/mailFolders/inbox/messages/delta";

fn credentials() -> Credentials {
    [("clientId", "app"), ("clientSecret", "not-a-secret"), ("accessToken", "token-1")].into_iter().collect()
}

struct Run {
    /// `(signal type, message id, signal id)` of every signal, in order.
    signals: Vec<(String, String, String)>,
    checkpoint: Checkpoint,
}

async fn poll(connector: &dyn Connector, server: &MockServer, checkpoint: Option<&Checkpoint>) -> Run {
    let config = BTreeMap::from([("baseUrl".to_owned(), server.uri())]);
    let credentials = credentials();
    let request = PollRequest { checkpoint: checkpoint.cloned(), ..PollRequest::new(&config, &credentials) };
    let mut pages = connector.pages(request).expect("starts");
    let mut signals = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap_or_else(|e| panic!("{e}")) {
        for item in &page.items {
            let report = connector.map_item(item, &ctx(IngestionKind::Polling));
            assert!(report.errors.is_empty() && report.ignored.is_empty(), "{report:?}");
            signals.extend(report.signals.into_iter().map(|s| (s.signal_type, s.external_id, s.id)));
        }
    }
    Run { signals, checkpoint: pages.summary().checkpoint }
}

/// The documented first round: three pages, the first without a token.
async fn first_round(server: &MockServer, expected_calls: u64) {
    let base = server.uri();
    for (page, token) in
        [("delta-page-2.json", "GwcBoTmPuoTQWfcsAbkYM"), ("delta-page-3.json", "GwcBoTmPKILK4jLH7mAd1lLU")]
    {
        Mock::given(method("GET"))
            .and(path(DELTA))
            .and(query_param("$skiptoken", token))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture_at(page, &base)))
            .expect(expected_calls)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(DELTA))
        .and(query_param_is_missing("$skiptoken"))
        .and(query_param_is_missing("$deltatoken"))
        .and(query_param("$select", "subject,from,sender,toRecipients,ccRecipients,receivedDateTime,lastModifiedDateTime,flag,importance,isRead,webLink,conversationId,internetMessageId,categories"))
        .and(header("authorization", "Bearer token-1"))
        .and(header("prefer", "odata.maxpagesize=50"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture_at("delta-page-1.json", &base)))
        .expect(expected_calls)
        .mount(server)
        .await;
}

fn ids(run: &Run) -> Vec<(&str, &str)> {
    run.signals.iter().map(|(kind, id, _)| (kind.as_str(), id.as_str())).collect()
}

const FIRST_ROUND: [(&str, &str); 5] = [
    ("email_received", "AAMkADNkNAAASq35xAAA="),
    ("email_received", "AQMkADNkNAAAVRMKAAAAA=="),
    ("email_received", "AQMkADNkNAAAgWkAAAA"),
    ("email_received", "AQMkADNkNAAAgWJAAAA"),
    ("email_received", "AAMkADk0MGFkODE3LWEAAA="),
];

/// A message that arrives flagged, in Graph's `message` shape.
fn flagged_message() -> Value {
    json!({
        "@odata.type": "#microsoft.graph.message",
        "id": "AAMkAGNewFlagged=",
        "subject": "Contract renewal",
        "receivedDateTime": "2024-05-01T10:00:00Z",
        "lastModifiedDateTime": "2024-05-01T10:05:00Z",
        "from": {"emailAddress": {"name": "Adele Vance", "address": "adelev@contoso.com"}},
        "toRecipients": [{"emailAddress": {"name": "Megan Bowen", "address": "meganb@contoso.com"}}],
        "importance": "high",
        "isRead": false,
        "webLink": "https://outlook.office365.com/owa/?ItemID=AAMkAGNewFlagged%3D",
        "flag": {"flagStatus": "flagged", "startDateTime": {"dateTime": "2024-05-01T10:05:00.0000000", "timeZone": "UTC"}}
    })
}

#[tokio::test]
async fn every_message_once_the_delta_link_as_checkpoint_and_a_second_poll_with_only_changes() {
    let server = MockServer::start().await;
    first_round(&server, 1).await;
    let connector = polling_connector();
    let first = poll(connector.as_ref(), &server, None).await;
    assert_eq!(ids(&first), FIRST_ROUND);
    let link = format!("{}{DELTA}?$deltatoken=GwcBoTmPuoGNlgXgF1nyUNMXY", server.uri());
    assert_eq!(first.checkpoint, Checkpoint::at(link));
    server.verify().await;

    // The next round: the documented one (a removal, a read mark) plus a new flagged message.
    server.reset().await;
    let mut next = fixture_at("delta-next-round.json", &server.uri());
    next["value"].as_array_mut().expect("value").push(flagged_message());
    next["@odata.deltaLink"] = json!(format!("{}{DELTA}?$deltatoken=round-2", server.uri()));
    Mock::given(method("GET"))
        .and(path(DELTA))
        .and(query_param("$deltatoken", "GwcBoTmPuoGNlgXgF1nyUNMXY"))
        .respond_with(ResponseTemplate::new(200).set_body_json(next))
        .expect(1)
        .mount(&server)
        .await;
    let second = poll(connector.as_ref(), &server, Some(&first.checkpoint)).await;
    assert_eq!(
        ids(&second),
        [
            ("email_received", "AAMkADNkNAAASq35xAAA="),
            ("email_received", "AAMkAGNewFlagged="),
            ("email_flagged", "AAMkAGNewFlagged="),
        ]
    );
    // The message marked read comes back under the signal id it had: nothing new downstream.
    assert_eq!(second.signals[0].2, first.signals[0].2);
    assert_eq!(second.checkpoint, Checkpoint::at(format!("{}{DELTA}?$deltatoken=round-2", server.uri())));
    server.verify().await;
}

#[tokio::test]
async fn an_expired_delta_link_resyncs_from_the_start_without_duplicate_signals() {
    for expired in [
        ResponseTemplate::new(410)
            .set_body_json(json!({"error": {"code": "syncStateNotFound", "message": "The sync state is gone."}})),
        ResponseTemplate::new(400)
            .set_body_json(json!({"error": {"code": "syncStateNotFound", "message": "The sync state is gone."}})),
        ResponseTemplate::new(410),
    ] {
        let server = MockServer::start().await;
        first_round(&server, 2).await;
        let connector = polling_connector();
        let first = poll(connector.as_ref(), &server, None).await;
        Mock::given(method("GET"))
            .and(path(DELTA))
            .and(query_param("$deltatoken", "GwcBoTmPuoGNlgXgF1nyUNMXY"))
            .respond_with(expired)
            .expect(1)
            .mount(&server)
            .await;
        let resync = poll(connector.as_ref(), &server, Some(&first.checkpoint)).await;
        assert_eq!(ids(&resync), FIRST_ROUND, "the whole inbox again");
        let before: BTreeSet<&String> = first.signals.iter().map(|(_, _, id)| id).collect();
        let after: BTreeSet<&String> = resync.signals.iter().map(|(_, _, id)| id).collect();
        assert_eq!(before, after, "no signal id is new: the normaliser drops every one");
        assert_eq!(resync.checkpoint, first.checkpoint);
        server.verify().await;
    }
}
