//! The OpenAPI document and the router describe the same API: every documented operation is
//! routed, and no method or path outside the document is.

use axum::http::{Method, StatusCode};
use serde_json::json;
use switchboard_registry_api::openapi;
use utoipa::openapi::path::PathItem;

use crate::support::{ADMIN, World, spawn};

const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

fn operations(item: &PathItem) -> Vec<Method> {
    let present = [
        (Method::GET, item.get.is_some()),
        (Method::POST, item.post.is_some()),
        (Method::PUT, item.put.is_some()),
        (Method::PATCH, item.patch.is_some()),
        (Method::DELETE, item.delete.is_some()),
        (Method::HEAD, item.head.is_some()),
        (Method::OPTIONS, item.options.is_some()),
        (Method::TRACE, item.trace.is_some()),
    ];
    present.into_iter().filter(|(_, yes)| *yes).map(|(m, _)| m).collect()
}

fn documented() -> Vec<(String, Vec<Method>)> {
    openapi().paths.paths.iter().map(|(path, item)| (path.clone(), operations(item))).collect()
}

fn concrete(path: &str) -> String {
    path.replace("{projectId}", "acme").replace("{connectorId}", "linear")
}

async fn probe(world: &World, method: &Method, path: &str) -> (StatusCode, String) {
    let body = [Method::POST, Method::PUT, Method::PATCH].contains(method).then(|| json!({}));
    let reply = world.send(method.clone(), path, Some(ADMIN), body).await;
    let code = serde_json::from_str::<serde_json::Value>(&reply.text)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (reply.status, code)
}

#[test]
fn the_document_lists_the_registry_routes() {
    let mut listed: Vec<String> = documented()
        .into_iter()
        .flat_map(|(path, methods)| methods.into_iter().map(move |m| format!("{m} {path}")))
        .collect();
    listed.sort();
    let instance = "/projects/{projectId}/connectors/{connectorId}";
    let mut expected = vec![
        "GET /health".to_owned(),
        "GET /openapi.json".to_owned(),
        "GET /connectors".to_owned(),
        "POST /connectors".to_owned(),
        "GET /connectors/{connectorId}".to_owned(),
        "POST /connectors/{connectorId}".to_owned(),
        "PUT /connectors/{connectorId}".to_owned(),
        "DELETE /connectors/{connectorId}".to_owned(),
        "GET /projects/{projectId}/connectors".to_owned(),
        format!("GET {instance}"),
        format!("POST {instance}"),
        format!("PATCH {instance}"),
        format!("DELETE {instance}"),
        format!("POST {instance}/enable"),
        format!("POST {instance}/test"),
        format!("GET {instance}/health"),
        format!("GET {instance}/oauth/start"),
        "GET /oauth/callback".to_owned(),
        "GET /projects/{projectId}/signals".to_owned(),
    ];
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let world = spawn().await;
    for (path, methods) in documented() {
        for method in methods {
            let (status, code) = probe(&world, &method, &concrete(&path)).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(code, "unknown_route", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn every_routed_operation_is_documented() {
    let world = spawn().await;
    // Methods the document does not list on a documented path are not routed...
    for (path, methods) in documented() {
        for method in METHODS.iter().filter(|m| !methods.contains(m)) {
            let (status, code) = probe(&world, method, &concrete(&path)).await;
            assert_eq!(
                (status, code.as_str()),
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
                "{method} {path}"
            );
        }
    }
    // ...and neither are paths around the documented ones (`/` is the dashboard: tests/api/dashboard.rs).
    for path in [
        "/projects",
        "/projects/acme",
        "/connectors/linear/extra",
        "/projects/acme/connectors/linear/sync",
        "/oauth",
        "/webhooks/x/y",
    ] {
        for method in &METHODS {
            let (status, code) = probe(&world, method, path).await;
            assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "unknown_route"), "{method} {path}");
        }
    }
}

#[tokio::test]
async fn the_document_is_served_and_declares_bearer_security() {
    let world = spawn().await;
    let reply = world.get("/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(doc["paths"]["/oauth/callback"]["get"]["security"], json!([{}]));
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}
