use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_core::Descriptor;

use crate::support::{ACME, ADMIN, fixture, spawn};

#[tokio::test]
async fn an_invalid_descriptor_is_refused_with_every_problem_and_its_pointer() {
    let world = spawn().await;
    let body = fixture("invalid-descriptor.json");
    let expected = Descriptor::from_value(&body, "request body").unwrap_err().issues;
    assert!(expected.len() >= 4);

    let reply = world.send(Method::POST, "/connectors", Some(ADMIN), Some(body)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(reply.code(), "invalid_descriptor");
    let details = reply.json()["error"]["details"].clone();
    let pointers: Vec<&str> = details.as_array().unwrap().iter().map(|d| d["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, expected.iter().map(|i| i.pointer.as_str()).collect::<Vec<_>>());
    for pointer in ["/id", "/auth/config/credentialFields", "/fieldMapping/idPath", "/healthCheck/endpoint"] {
        assert!(pointers.contains(&pointer), "{pointer} missing from {pointers:?}");
    }
}

#[tokio::test]
async fn a_registered_descriptor_can_be_read_searched_replaced_and_deleted() {
    let world = spawn().await;
    let mut descriptor = fixture("acme-oauth.json");
    let created = world.send(Method::POST, "/connectors", Some(ADMIN), Some(descriptor.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.json()["builtIn"], false);
    assert_eq!(
        world.send(Method::POST, "/connectors", Some(ADMIN), Some(descriptor.clone())).await.status,
        StatusCode::CONFLICT
    );

    // The category filter lists the registered descriptor beside the built-ins of its category.
    let custom = world.get("/connectors?category=custom", Some(ACME)).await.json();
    let cards = custom["connectors"].as_array().unwrap();
    assert!(cards.iter().all(|c| c["category"] == "custom"), "{custom}");
    let registered: Vec<&Value> = cards.iter().filter(|c| c["builtIn"] == false).collect();
    assert_eq!(registered.iter().map(|c| c["id"].as_str().unwrap()).collect::<Vec<_>>(), ["acme-oauth"]);
    let card = registered[0];
    assert_eq!((card["authMethod"].as_str(), card["ingestion"].as_str()), (Some("oauth2"), Some("polling")));
    let found = world.get("/connectors?q=ACME%20events", Some(ACME)).await.json();
    assert_eq!(found["connectors"].as_array().unwrap().len(), 1);

    descriptor["name"] = json!("Acme Events v2");
    descriptor["version"] = json!("1.1.0");
    let replaced = world.send(Method::PUT, "/connectors/acme-oauth", Some(ADMIN), Some(descriptor.clone())).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    assert_eq!(world.get("/connectors/acme-oauth", Some(ACME)).await.json()["descriptor"]["name"], "Acme Events v2");

    let mismatch = world.send(Method::PUT, "/connectors/linear-copy", Some(ADMIN), Some(descriptor)).await;
    assert_eq!(mismatch.status, StatusCode::NOT_FOUND);

    let deleted = world.send(Method::DELETE, "/connectors/acme-oauth", Some(ADMIN), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(world.get("/connectors/acme-oauth", Some(ACME)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_descriptor_whose_id_differs_from_the_url_is_refused() {
    let world = spawn().await;
    let reply = world.send(Method::POST, "/connectors/other-id", Some(ADMIN), Some(fixture("acme-oauth.json"))).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["error"]["details"][0]["pointer"], "/id");
    let at_its_id =
        world.send(Method::POST, "/connectors/acme-oauth", Some(ADMIN), Some(fixture("acme-oauth.json"))).await;
    assert_eq!(at_its_id.status, StatusCode::CREATED);
}

#[tokio::test]
async fn built_in_descriptors_can_be_neither_deleted_nor_replaced() {
    let world = spawn().await;
    let deleted = world.send(Method::DELETE, "/connectors/github-issues", Some(ADMIN), None).await;
    assert_eq!(deleted.status, StatusCode::CONFLICT);
    assert!(deleted.json()["error"]["message"].as_str().unwrap().contains("built in"));

    let mut replacement = world.get("/connectors/github-issues", Some(ADMIN)).await.json()["descriptor"].clone();
    replacement["name"] = json!("My GitHub");
    let replaced = world.send(Method::PUT, "/connectors/github-issues", Some(ADMIN), Some(replacement)).await;
    assert_eq!(replaced.status, StatusCode::CONFLICT);
    assert!(replaced.json()["error"]["message"].as_str().unwrap().contains("register a copy"));

    let still = world.get("/connectors/github-issues", Some(ACME)).await.json();
    assert_eq!(still["builtIn"], true);
    assert_eq!(still["descriptor"]["name"], "GitHub Issues");
}

#[tokio::test]
async fn a_descriptor_in_use_cannot_be_deleted() {
    let world = spawn().await;
    world.send(Method::POST, "/connectors", Some(ADMIN), Some(fixture("acme-oauth.json"))).await;
    let body = json!({"credentials": {"clientId": "cid", "clientSecret": "cs"}});
    let created = world.send(Method::POST, "/projects/acme/connectors/acme-oauth", Some(ACME), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let refused = world.send(Method::DELETE, "/connectors/acme-oauth", Some(ADMIN), None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.json()["error"]["message"].as_str().unwrap().contains("1 instance"));
}

#[tokio::test]
async fn the_catalogue_lists_built_ins_and_rejects_unknown_categories() {
    let world = spawn().await;
    let all = world.get("/connectors", Some(ACME)).await.json();
    assert_eq!(all["connectors"].as_array().unwrap().len(), switchboard_core::builtin::BUILT_IN.len());
    let devops = world.get("/connectors?category=code_and_devops", Some(ACME)).await.json();
    assert!(devops["connectors"].as_array().unwrap().iter().all(|c| c["category"] == "code_and_devops"));
    assert!(devops["connectors"].as_array().unwrap().iter().any(|c| c["id"] == "github-prs"));
    let reply = world.get("/connectors?category=toys", Some(ACME)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text.contains("project_management"));
}

#[tokio::test]
async fn the_native_jira_connector_registers_and_is_listed_as_native_with_its_forms() {
    let world = spawn().await;
    let descriptor: serde_json::Value = serde_json::from_str(switchboard_natives::jira::DESCRIPTOR_JSON).unwrap();
    let created = world.send(Method::POST, "/connectors", Some(ADMIN), Some(descriptor)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let all = world.get("/connectors", Some(ACME)).await.json();
    let jira =
        all["connectors"].as_array().unwrap().iter().find(|c| c["id"] == "jira").expect("jira is listed").clone();
    assert_eq!(jira["kind"], "native", "{jira}");
    let one = world.get("/connectors/jira", Some(ACME)).await.json();
    let text = one.to_string();
    for field in ["\"email\"", "\"apiToken\"", "\"webhookSecret\"", "\"baseUrl\"", "\"projects\"", "\"timeZone\""] {
        assert!(text.contains(field), "{field} missing from {text}");
    }
}
