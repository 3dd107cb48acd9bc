//! Start-up registration of the built-in descriptors never downgrades a newer stored built-in
//! and never overwrites a descriptor a user registered under an id that later became built in;
//! the catalogue marks such a descriptor.

use axum::http::StatusCode;
use serde_json::json;
use switchboard_core::builtin::register_built_ins;
use switchboard_core::model::ConnectorDescriptor;

use crate::support::{ACME, fixture, open_stores, spawn, world_over};

#[tokio::test]
async fn a_stored_built_in_newer_than_the_shipped_one_is_kept() {
    let world = spawn().await;
    let registry = world.stores.descriptors.as_ref();
    let mut newer = registry.get_descriptor("github-prs").await.unwrap().unwrap().descriptor;
    let shipped = newer.version.clone();
    newer.version = "99.0.0".to_owned();
    newer.name = "GitHub pull requests (from a newer deployment)".to_owned();
    registry.update_descriptor(&newer).await.unwrap();

    let sync = register_built_ins(registry).await.unwrap();
    assert_eq!(sync.newer_kept, ["github-prs"]);
    assert!(sync.updated.is_empty(), "{sync:?}");
    let stored = registry.get_descriptor("github-prs").await.unwrap().unwrap();
    assert!(stored.built_in);
    assert_eq!((stored.descriptor.version.as_str(), stored.descriptor.name.as_str()), ("99.0.0", newer.name.as_str()));

    // An older stored copy is still upgraded.
    let mut older = stored.descriptor;
    older.version = "0.9.0".to_owned();
    registry.update_descriptor(&older).await.unwrap();
    let sync = register_built_ins(registry).await.unwrap();
    assert_eq!(sync.updated, ["github-prs"]);
    assert_eq!(registry.get_descriptor("github-prs").await.unwrap().unwrap().descriptor.version, shipped);
}

#[tokio::test]
async fn a_user_descriptor_whose_id_became_built_in_is_kept_and_marked_in_the_catalogue() {
    let (dir, stores) = open_stores();
    // Registered by a user before this release shipped `linear` as a built-in.
    let mut own: ConnectorDescriptor = serde_json::from_value(fixture("acme-oauth.json")).unwrap();
    own.id = "linear".to_owned();
    own.name = "Our own Linear".to_owned();
    own.version = "0.1.0".to_owned();
    stores.descriptors.register_descriptor(&own, false).await.unwrap();

    let world = world_over(dir, stores, |state| state).await;
    let sync = register_built_ins(world.stores.descriptors.as_ref()).await.unwrap();
    assert_eq!(sync.user_kept, ["linear"]);
    assert!(!sync.updated.contains(&"linear".to_owned()) && !sync.added.contains(&"linear".to_owned()));
    let stored = world.stores.descriptors.get_descriptor("linear").await.unwrap().unwrap();
    assert!(!stored.built_in);
    assert_eq!(stored.descriptor.name, "Our own Linear");

    let view = world.get("/connectors/linear", Some(ACME)).await;
    assert_eq!(view.status, StatusCode::OK);
    assert_eq!((view.json()["builtIn"].clone(), view.json()["shadowsBuiltIn"].clone()), (json!(false), json!(true)));
    let catalogue = world.get("/connectors", Some(ACME)).await.json();
    let cards = catalogue["connectors"].as_array().unwrap();
    let card = |id: &str| cards.iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(card("linear")["shadowsBuiltIn"], true);
    assert_eq!(card("github-prs")["shadowsBuiltIn"], false);
}
