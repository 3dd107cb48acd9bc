//! The scheduled run renews managed webhook subscriptions before they expire: a fake shaped
//! like Microsoft Graph (`POST /subscriptions` answering `{id, expirationDateTime}`, `PATCH
//! /subscriptions/{id}`) is asked to extend a subscription due within `renewBeforeSeconds`, and
//! the new expiry is stored.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};
use switchboard_core::Descriptor;
use switchboard_core::ports::{
    Credentials, InstanceKey, InstanceUpdate, NewInstance, Stores, SubscriptionState, SubscriptionStatus,
};
use switchboard_embedded::Embedded;
use switchboard_poller::{Poller, PollerSettings};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::poller;

const SUBSCRIPTION_ID: &str = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07";
const TOKEN: &str = "graph-access-token";

/// A webhook-only connector whose subscription renews like Microsoft Graph's.
fn graphish(server: &MockServer) -> Value {
    json!({
        "id": "graphish", "name": "Graphish", "description": "d", "category": "communication", "icon": "mail",
        "kind": "generic",
        "auth": {"method": "pat", "config": {"delivery": "bearer", "paramName": "Authorization", "credentialFields": [
            {"key": "token", "label": "Token", "type": "password", "required": true},
            {"key": "clientState", "label": "Client state", "type": "password", "required": false}]}},
        "configFields": [{"key": "baseUrl", "label": "API", "type": "url", "required": false, "default": server.uri()}],
        "ingestion": {"mode": "webhook", "eventTypes": [], "eventTypePath": "$.changeType",
            "verification": {"scheme": "token", "signatureHeader": "X-Client-State", "secretField": "clientState"},
            "subscription": {
                "create": {"method": "POST", "url": "{{baseUrl}}/subscriptions",
                    "body": {"changeType": "created", "notificationUrl": "{{webhookUrl}}", "resource": "me/messages",
                        "expirationDateTime": "{{expiresAt}}", "clientState": "{{webhookSecret}}"},
                    "idPath": "$.id", "expiresAtPath": "$.expirationDateTime"},
                "renew": {"method": "PATCH", "url": "{{baseUrl}}/subscriptions/{{subscriptionId}}",
                    "body": {"expirationDateTime": "{{expiresAt}}"}, "expiresAtPath": "$.expirationDateTime",
                    "renewBeforeSeconds": 86400},
                "delete": {"method": "DELETE", "url": "{{baseUrl}}/subscriptions/{{subscriptionId}}"},
                "lifetimeSeconds": 250000}},
        "fieldMapping": {"itemsPath": "$", "idPath": "$.id", "timestampPath": "$.t", "summaryTemplate": "x",
            "signalTypeRules": [{"then": "changed"}]},
        "version": "1.0.0"
    })
}

struct World {
    _dir: tempfile::TempDir,
    stores: Stores,
    poller: Poller,
    server: MockServer,
    key: InstanceKey,
}

/// An instance whose active subscription expires at `expires_at`.
async fn world(expires_at: DateTime<Utc>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = Embedded::open(&dir.path().join("switchboard.db")).unwrap();
    let stores = db.stores();
    let server = MockServer::start().await;
    let descriptor = Descriptor::from_value(&graphish(&server), "test").unwrap();
    stores.descriptors.register_descriptor(descriptor.model(), false).await.unwrap();
    let key = InstanceKey::new("p1", "graphish");
    let credentials: Credentials = [("token", TOKEN), ("clientState", "state-secret")].into_iter().collect();
    stores
        .create_instance(&NewInstance { key: key.clone(), config: BTreeMap::new(), enabled: true }, &credentials)
        .await
        .unwrap();
    let state = SubscriptionState {
        status: SubscriptionStatus::Active,
        id: Some(SUBSCRIPTION_ID.to_owned()),
        expires_at: Some(expires_at),
        webhook_url: "https://sb.example/webhooks/graphish/p1".to_owned(),
        variant: 0,
        message: None,
        updated_at: Utc::now(),
    };
    let update = InstanceUpdate { subscription: Some(Some(state)), ..InstanceUpdate::default() };
    stores.instances.update_instance(&key, &update).await.unwrap();
    let settings = PollerSettings { safety_margin: Duration::ZERO, ..PollerSettings::default() };
    let poller = poller(&stores, db.ingest_queue(), settings);
    World { _dir: dir, stores, poller, server, key }
}

impl World {
    async fn run_at(&self, now: DateTime<Utc>) {
        self.poller.run_due(now, Instant::now() + Duration::from_secs(60)).await.unwrap();
    }

    async fn subscription(&self) -> SubscriptionState {
        self.stores.instances.get_instance(&self.key).await.unwrap().unwrap().subscription.unwrap()
    }
}

#[tokio::test]
async fn the_scheduled_run_renews_a_subscription_before_it_expires_and_stores_the_new_expiry() {
    let now = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    let world = world(now + TimeDelta::hours(20)).await;
    // Graph answers the PATCH with the subscription and its new expirationDateTime.
    Mock::given(method("PATCH"))
        .and(path(format!("/subscriptions/{SUBSCRIPTION_ID}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_partial_json(json!({"expirationDateTime": "2024-05-04T09:26:40.000Z"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": SUBSCRIPTION_ID, "resource": "me/messages", "changeType": "created",
            "expirationDateTime": "2024-05-04T09:26:40.0000000Z"})))
        .expect(1)
        .mount(&world.server)
        .await;

    world.run_at(now).await;
    let renewed = world.subscription().await;
    assert_eq!(renewed.status, SubscriptionStatus::Active);
    assert_eq!(renewed.expires_at, Some(Utc.with_ymd_and_hms(2024, 5, 4, 9, 26, 40).unwrap()));
    assert_eq!(renewed.id.as_deref(), Some(SUBSCRIPTION_ID));

    // Renewed: the next run, an hour later, has nothing to do (the mock expects one PATCH).
    world.run_at(now + TimeDelta::hours(1)).await;
    world.server.verify().await;
}

#[tokio::test]
async fn a_subscription_far_from_its_expiry_is_left_alone() {
    let now = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    let world = world(now + TimeDelta::hours(30)).await;
    Mock::given(method("PATCH")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&world.server).await;
    world.run_at(now).await;
    assert_eq!(world.subscription().await.expires_at, Some(now + TimeDelta::hours(30)));
    world.server.verify().await;
}

#[tokio::test]
async fn a_failed_renewal_is_on_the_instance_health_and_tried_again() {
    let now = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    let world = world(now + TimeDelta::hours(2)).await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "ResourceNotFound"}})))
        .expect(2)
        .mount(&world.server)
        .await;
    world.run_at(now).await;
    let state = world.subscription().await;
    assert_eq!(state.status, SubscriptionStatus::Failed);
    assert!(state.message.as_deref().unwrap().contains("renewing the webhook subscription"), "{state:?}");
    let health = world.stores.instances.get_instance(&world.key).await.unwrap().unwrap().health;
    assert!(health.last_error.as_deref().unwrap().starts_with("webhook subscription: renewing"), "{health:?}");
    assert_eq!(health.consecutive_failures, 1);
    world.run_at(now + TimeDelta::minutes(5)).await;
    world.server.verify().await;
}
