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
    path.replace("{projectId}", "acme").replace("{connectorId}", "linear").replace("{key}", "PROJ-1")
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
        "POST /examples".to_owned(),
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
        "GET /projects/{projectId}/context/{key}".to_owned(),
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

#[tokio::test]
async fn the_served_document_is_the_one_generated_from_the_routes() {
    let world = spawn().await;
    let reply = world.get("/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.json(), serde_json::to_value(openapi()).unwrap());
}

#[test]
fn the_committed_document_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let committed = std::fs::read_to_string(path).expect("crates/registry-api/openapi.json exists");
    assert!(
        committed == switchboard_registry_api::generated_openapi_text().unwrap(),
        "crates/registry-api/openapi.json is stale: run `cargo run -p switchboard-cli -- openapi > crates/registry-api/openapi.json`"
    );
}

/// The operations of the document, as `(method, path, operation)` in JSON.
fn json_operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    out
}

fn is_error_body(response: &serde_json::Value) -> bool {
    response["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorBody"
}

#[tokio::test]
async fn every_authenticated_route_documents_401_and_its_error_statuses_with_the_error_body() {
    let world = spawn().await;
    let doc = world.get("/openapi.json", None).await.json();
    let open = ["GET /health", "GET /openapi.json", "GET /oauth/callback"];
    let mut authenticated = 0;
    for (method, path, operation) in json_operations(&doc) {
        let name = format!("{method} {path}");
        let responses = operation["responses"].as_object().unwrap();
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert!(is_error_body(response), "{name}: {status} is not documented with ErrorBody");
            }
        }
        if open.contains(&name.as_str()) {
            assert_eq!(operation["security"], json!([{}]), "{name} is open");
            continue;
        }
        authenticated += 1;
        assert!(responses.contains_key("401"), "{name} does not document 401");
        assert!(responses.contains_key("500"), "{name} does not document 500");
        assert!(responses.contains_key("400"), "{name} does not document 400");
        if operation.get("requestBody").is_some() {
            assert!(responses.contains_key("413"), "{name} reads a body but does not document 413");
        }
        // The route really answers 401 without a token, with the error body.
        let reply = world.send(Method::from_bytes(method.as_bytes()).unwrap(), &concrete(&path), None, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(reply.json()["error"]["code"], "unauthenticated", "{name}");
    }
    assert_eq!(authenticated, 18);
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], json!(["error"]), "{error}");
}

#[tokio::test]
async fn path_ids_carry_the_patterns_the_code_enforces() {
    let world = spawn().await;
    let doc = world.get("/openapi.json", None).await.json();
    for (method, path, operation) in json_operations(&doc) {
        for param in operation["parameters"].as_array().into_iter().flatten() {
            let pattern = match param["name"].as_str().unwrap() {
                "projectId" => "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$",
                "connectorId" => "^[a-z0-9]+(-[a-z0-9]+)*$",
                _ => continue,
            };
            assert_eq!(param["schema"]["pattern"], pattern, "{method} {path} {}", param["name"]);
            assert_eq!(param["schema"]["maxLength"], 64, "{method} {path} {}", param["name"]);
        }
    }
    let category = doc["paths"]["/connectors"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "category")
        .unwrap()
        .clone();
    assert_eq!(
        category["schema"]["enum"],
        json!(["", "project_management", "communication", "code_and_devops", "documents", "custom"])
    );
    // Ids outside the patterns are refused at the path, with the error body.
    for path in ["/projects/.hidden/connectors", "/projects/acme/connectors/Not_Kebab", "/connectors/UPPER"] {
        let reply = world.get(path, Some(ADMIN)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}: {}", reply.text);
        assert_eq!(reply.json()["error"]["code"], "bad_request", "{path}");
    }
    let reply = world.get("/connectors?category=nope", Some(ADMIN)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_with_the_error_body() {
    let world = spawn().await;
    let big = json!({ "config": { "x": "a".repeat(3 * 1024 * 1024) } });
    let reply = world.send(Method::POST, "/projects/acme/connectors/linear", Some(ADMIN), Some(big)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", reply.text);
    assert_eq!(reply.json()["error"]["code"], "payload_too_large");
}

/// Every JSON request body has an example, and each example is what the API accepts: sent in
/// order on a fresh registry, each succeeds.
#[tokio::test]
async fn every_request_body_has_an_example_the_api_accepts() {
    let world = spawn().await;
    let doc = world.get("/openapi.json", None).await.json();
    let mut examples = std::collections::BTreeMap::new();
    for (method, path, operation) in json_operations(&doc) {
        let body = &operation["requestBody"]["content"]["application/json"];
        if body.is_object() {
            assert!(body["example"].is_object(), "{method} {path} has no request example");
            examples.insert((method, path), body["example"].clone());
        }
    }
    let id = openapi::EXAMPLE_CONNECTOR;
    let instance = "/projects/{projectId}/connectors/{connectorId}";
    let calls = [
        ("POST", "/connectors", "/connectors".to_owned(), StatusCode::CREATED),
        ("DELETE", "", format!("/connectors/{id}"), StatusCode::NO_CONTENT),
        ("POST", "/connectors/{connectorId}", format!("/connectors/{id}"), StatusCode::CREATED),
        ("POST", "/examples", "/examples".to_owned(), StatusCode::OK),
        ("PUT", "/connectors/{connectorId}", format!("/connectors/{id}"), StatusCode::OK),
        ("POST", instance, "/projects/demo/connectors/github-issues".to_owned(), StatusCode::CREATED),
        ("PATCH", instance, "/projects/demo/connectors/github-issues".to_owned(), StatusCode::OK),
        (
            "POST",
            "/projects/{projectId}/connectors/{connectorId}/enable",
            "/projects/demo/connectors/github-issues/enable".to_owned(),
            StatusCode::OK,
        ),
    ];
    for (method, documented, concrete, expected) in calls {
        let example = match documented {
            "" => None,
            _ => Some(
                examples
                    .remove(&(method.to_owned(), documented.to_owned()))
                    .unwrap_or_else(|| panic!("{method} {documented}")),
            ),
        };
        let reply = world.send(method.parse().unwrap(), &concrete, Some(ADMIN), example).await;
        assert_eq!(reply.status, expected, "{method} {concrete}: {}", reply.text);
        if documented == "/examples" {
            assert_eq!(reply.json()["failed"], 0, "{}", reply.text);
        }
    }
    assert!(examples.is_empty(), "request examples not sent: {:?}", examples.keys().collect::<Vec<_>>());
}
