//! Admin webhooks: `X-Hub-Signature: sha256=<hex>` verification, mapping, and the same change
//! by webhook and by polling giving one signal id.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard_core::webhook::{Headers, WebhookRequest};
use switchboard_core::{Connector, IngestionKind};

use crate::support::{comment, ctx, fixture_text, history, issue, user, webhook_connector};

const SECRET: &str = "It's a Secret to Everybody";

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn verify(connector: &dyn Connector, body: &[u8], header: &str) -> bool {
    let headers = Headers::new([("X-Hub-Signature", header)]);
    connector.verify_webhook(&WebhookRequest { headers: &headers, body, url: None }, &[SECRET]).is_ok()
}

#[test]
fn deliveries_signed_with_the_instance_secret_are_accepted_and_any_other_is_refused() {
    let connector = webhook_connector();
    assert!(connector.receives_webhooks());
    assert_eq!(connector.webhook_secret_field(), Some("webhookSecret"));
    let body = fixture_text("issue_updated.status_changed.json").into_bytes();
    let good = signature(SECRET, &body);
    assert!(verify(connector.as_ref(), &body, &good));
    let mut flipped = body.clone();
    flipped[10] ^= 0x01;
    assert!(!verify(connector.as_ref(), &flipped, &good), "one flipped bit");
    assert!(!verify(connector.as_ref(), &body, &signature("another secret", &body)), "wrong secret");
    assert!(!verify(connector.as_ref(), &body, good.trim_start_matches("sha256=")), "no sha256= prefix");
}

#[test]
fn a_comment_delivery_is_one_issue_commented_signal_and_other_events_are_ignored() {
    let connector = webhook_connector();
    let payload = json!({
        "timestamp": 1714558320000_i64,
        "webhookEvent": "comment_created",
        "comment": comment("700", "2024-05-01T10:12:00.000+0000", "Blocked by OPS-7"),
        "issue": {"id": "10001", "key": "PROJ-1", "self": "https://example.atlassian.net/rest/api/3/issue/10001",
                  "fields": {"summary": "Checkout fails", "status": {"name": "In Progress"}, "priority": {"name": "Highest"}}}
    });
    let report = connector.map(&payload, &ctx(IngestionKind::Webhook, Some("comment_created"), None)).expect("maps");
    assert_eq!(report.signals.len(), 1, "{report:?}");
    let signal = &report.signals[0];
    assert_eq!(signal.signal_type, "issue_commented");
    assert_eq!(signal.external_id, "PROJ-1#comment-700");
    assert_eq!(signal.summary, "PROJ-1 Checkout fails (In Progress)");
    assert_eq!(signal.related_items, ["PROJ-1", "OPS-7"]);
    assert_eq!(signal.participants, ["Cora Commenter"]);
    assert_eq!(signal.url.as_deref(), Some("https://example.atlassian.net/browse/PROJ-1"));
    assert_eq!(signal.priority, Some(switchboard_core::model::Priority::Critical));

    let deleted = json!({"webhookEvent": "jira:issue_deleted", "issue": {"key": "PROJ-1"}});
    let report = connector.map(&deleted, &ctx(IngestionKind::Webhook, Some("jira:issue_deleted"), None)).expect("maps");
    assert!(report.signals.is_empty() && report.ignored.len() == 1, "{report:?}");
}

#[test]
fn the_same_change_by_webhook_and_by_polling_is_the_same_signal() {
    let connector = webhook_connector();
    let polled = issue(
        "10001",
        "PROJ-1",
        "2024-05-01T09:00:00.000+0000",
        "2024-05-01T10:00:00.000+0000",
        json!([history("100", "2024-05-01T10:00:00.000+0000", "status", "To Do", "In Progress")]),
        json!([comment("500", "2024-05-01T10:00:00.000+0000", "On it")]),
    );
    let page = json!({"issues": [polled.clone()], "isLast": true});
    let by_polling = connector.map(&page, &ctx(IngestionKind::Polling, None, None)).expect("maps").signals;

    let mut delivered_issue = polled.clone();
    delivered_issue.as_object_mut().expect("issue").remove("changelog");
    let transition: Value = json!({
        "timestamp": 1714557600123_i64,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": user("Carl Changer"),
        "issue": delivered_issue,
        "changelog": {"id": "100", "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                      "from": "10000", "fromString": "To Do", "to": "3", "toString": "In Progress"}]}
    });
    let commented = json!({"timestamp": 1714557600456_i64, "webhookEvent": "comment_created",
                           "issue": polled, "comment": comment("500", "2024-05-01T10:00:00.000+0000", "On it")});
    let mut by_webhook = Vec::new();
    for (payload, event) in [(&transition, "jira:issue_updated"), (&commented, "comment_created")] {
        by_webhook
            .extend(connector.map(payload, &ctx(IngestionKind::Webhook, Some(event), None)).expect("maps").signals);
    }
    let ids = |signals: &[switchboard_core::NormalisedSignal], kind: &str| -> Vec<String> {
        signals.iter().filter(|s| s.signal_type == kind).map(|s| s.id.clone()).collect()
    };
    for kind in ["issue_transitioned", "issue_commented"] {
        assert_eq!(ids(&by_webhook, kind).len(), 1, "{kind}: {by_webhook:?}");
        assert_eq!(ids(&by_webhook, kind), ids(&by_polling, kind), "{kind}");
    }
}
