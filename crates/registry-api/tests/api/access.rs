use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_core::ports::InstanceKey;

use crate::support::{ACME, GLOBEX, fixture, spawn};

/// Every project-scoped route, with a body where it takes one.
fn project_routes(project: &str) -> Vec<(Method, String, Option<Value>)> {
    let instance = format!("/projects/{project}/connectors/linear");
    vec![
        (Method::GET, format!("/projects/{project}/connectors"), None),
        (Method::GET, instance.clone(), None),
        (Method::POST, instance.clone(), Some(json!({"credentials": {"apiKey": "lin_api_intruder"}}))),
        (Method::PATCH, instance.clone(), Some(json!({"enabled": false}))),
        (Method::POST, format!("{instance}/enable"), Some(json!({"enabled": false}))),
        (Method::POST, format!("{instance}/test"), None),
        (Method::GET, format!("{instance}/health"), None),
        (Method::GET, format!("{instance}/oauth/start"), None),
        (Method::GET, format!("/projects/{project}/signals"), None),
        (Method::DELETE, instance, None),
    ]
}

#[tokio::test]
async fn a_caller_of_project_a_can_neither_read_nor_change_project_b() {
    let world = spawn().await;
    let body = json!({"credentials": {"apiKey": "lin_api_globex_owned"}});
    let created = world.send(Method::POST, "/projects/globex/connectors/linear", Some(GLOBEX), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED);

    for (method, path, body) in project_routes("globex") {
        let reply = world.send(method.clone(), &path, Some(ACME), body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}: {}", reply.text);
        assert_eq!(reply.code(), "not_found", "{method} {path}");
    }
    let instance = world.stores.instances.get_instance(&InstanceKey::new("globex", "linear")).await.unwrap().unwrap();
    assert!(instance.enabled, "project B's instance was changed");
    assert!(world.stores.secrets.get_credentials(&instance.key()).await.unwrap().is_some());
}

#[tokio::test]
async fn another_projects_instance_looks_exactly_like_a_missing_one() {
    let world = spawn().await;
    let body = json!({"credentials": {"apiKey": "lin_api_globex_owned"}});
    world.send(Method::POST, "/projects/globex/connectors/linear", Some(GLOBEX), Some(body)).await;
    let hidden = world.get("/projects/globex/connectors", Some(ACME)).await;
    let missing = world.get("/projects/nowhere/connectors", Some(ACME)).await;
    assert_eq!(hidden.status, missing.status);
    assert_eq!(hidden.text.replace("globex", "X"), missing.text.replace("nowhere", "X"));
}

#[tokio::test]
async fn only_admins_write_descriptors() {
    let world = spawn().await;
    let descriptor = fixture("acme-oauth.json");
    let writes = [
        (Method::POST, "/connectors".to_owned(), Some(descriptor.clone())),
        (Method::POST, "/connectors/acme-oauth".to_owned(), Some(descriptor.clone())),
        (Method::PUT, "/connectors/linear".to_owned(), Some(descriptor.clone())),
        (Method::DELETE, "/connectors/linear".to_owned(), None),
    ];
    for (method, path, body) in writes {
        let reply = world.send(method.clone(), &path, Some(ACME), body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}: {}", reply.text);
        assert_eq!(reply.code(), "forbidden");
    }
    assert!(world.stores.descriptors.get_descriptor("acme-oauth").await.unwrap().is_none());
    // Members still read the catalogue.
    assert_eq!(world.get("/connectors", Some(ACME)).await.status, StatusCode::OK);
    assert_eq!(world.get("/connectors/linear", Some(ACME)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn requests_without_a_valid_bearer_are_unauthenticated_except_open_routes() {
    let world = spawn().await;
    let mut routes = project_routes("acme");
    routes.push((Method::GET, "/connectors".to_owned(), None));
    routes.push((Method::GET, "/connectors/linear".to_owned(), None));
    routes.push((Method::POST, "/connectors".to_owned(), Some(fixture("acme-oauth.json"))));
    for token in [None, Some("not-a-known-token")] {
        for (method, path, body) in &routes {
            let reply = world.send(method.clone(), path, token, body.clone()).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path} with {token:?}");
            assert_eq!(reply.code(), "unauthenticated");
            assert_eq!(reply.headers["www-authenticate"], "Bearer");
        }
    }
    assert_eq!(world.get("/health", None).await.status, StatusCode::OK);
    assert_eq!(world.get("/openapi.json", None).await.status, StatusCode::OK);
    // The callback is open too: it answers on its own terms (no state → 400, not 401).
    assert_eq!(world.get("/oauth/callback?code=x", None).await.status, StatusCode::BAD_REQUEST);
}
