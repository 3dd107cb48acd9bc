//! Deliveries that are refused, and what is (not) touched on the way.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use switchboard_core::ports::InstanceKey;

use crate::support::*;

#[tokio::test]
async fn bad_signature_is_rejected_with_401_and_nothing_is_enqueued() {
    let world = World::new().await.with_github().await;
    let body = fixture("github-prs/pull_request.opened.json");

    let answer = world.send(github_delivery("p1", "pull_request", &body, "not-the-secret", "d-1")).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "unauthorized");
    assert_eq!(
        answer.json()["error"]["details"][0],
        serde_json::json!({"pointer": "", "message": "no signature matched"})
    );
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn one_changed_byte_after_signing_is_rejected() {
    let world = World::new().await.with_github().await;
    let body = fixture("github-prs/pull_request.opened.json");
    let mut request = github_delivery("p1", "pull_request", &body, GITHUB_SECRET, "d-1");
    let mut tampered = body.clone();
    tampered[10] ^= 0x01;
    *request.body_mut() = Body::from(tampered);

    assert_eq!(world.send(request).await.status, StatusCode::UNAUTHORIZED);
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn missing_signature_header_is_named_in_the_401() {
    let world = World::new().await.with_github().await;
    let request = Request::post("/webhooks/github-prs/p1")
        .header("x-github-event", "pull_request")
        .body(Body::from(fixture("github-prs/pull_request.opened.json")))
        .unwrap();

    let answer = world.send(request).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.json()["error"]["details"][0]["message"].as_str().unwrap().contains("X-Hub-Signature-256"));
}

#[tokio::test]
async fn unknown_project_is_404_and_the_secret_store_is_never_read() {
    let world = World::new().await.with_github().await;

    let answer = world.send(signed_pr_opened_to("someone-elses-project")).await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.error_code(), "not_found");
    assert_eq!(world.secrets_read(), 0);
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn disabled_instance_is_404_and_the_secret_store_is_never_read() {
    let world = World::new().await.with_github().await;
    world.stores.instances.enable_instance(&InstanceKey::new("p1", "github-prs"), false).await.unwrap();

    let answer = world.send(signed_pr_opened("d-1")).await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(world.secrets_read(), 0);
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn unknown_connector_and_polling_only_connector_are_404() {
    let world = World::new().await;
    world.add_instance("github-issues", "p1", &[("token", "ghp_x")], true).await;
    let body = fixture("github-prs/pull_request.opened.json");
    let to =
        |connector: &str| Request::post(format!("/webhooks/{connector}/p1")).body(Body::from(body.clone())).unwrap();

    assert_eq!(world.send(to("no-such-connector")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(world.send(to("github-issues")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(world.secrets_read(), 0);
}

#[tokio::test]
async fn ids_no_instance_could_have_are_the_same_404_as_an_unknown_instance() {
    let world = World::new().await.with_github().await;
    let body = fixture("github-prs/pull_request.opened.json");
    let post = |path: &str| Request::post(path).body(Body::from(body.clone())).unwrap();

    for path in ["/webhooks/GitHub-PRs/p1", "/webhooks/github-prs/.p1", "/webhooks/github_prs/p1"] {
        let answer = world.send(post(path)).await;
        assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::NOT_FOUND, "not_found"), "{path}");
    }
    let probe = world.send(Request::head("/webhooks/github-prs/.p1").body(Body::empty()).unwrap()).await;
    assert_eq!(probe.status, StatusCode::NOT_FOUND);
    assert_eq!(world.secrets_read(), 0);
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn instance_without_a_webhook_secret_is_401_without_saying_why() {
    let world = World::new().await;
    world.add_instance("github-prs", "p1", &[("token", "ghp_x")], true).await;

    let answer = world.send(signed_pr_opened("d-1")).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json()["error"]["details"], serde_json::json!([]));
    assert!(!answer.text.contains("secret"));
}

#[tokio::test]
async fn authenticated_body_that_is_not_json_is_400_and_unauthenticated_garbage_is_401() {
    let world = World::new().await.with_github().await;

    let signed = world.send(github_delivery("p1", "pull_request", b"not json", GITHUB_SECRET, "d-1")).await;
    let unsigned = world.send(github_delivery("p1", "pull_request", b"not json", "wrong", "d-2")).await;

    assert_eq!((signed.status, signed.error_code().as_str()), (StatusCode::BAD_REQUEST, "invalid_json"));
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn ingest_queue_failure_is_a_503_with_retry_after_so_the_provider_retries() {
    let mut world = World::new().await.with_github().await;
    world.state.ingest = Arc::new(BrokenQueue);

    let answer = world.send(signed_pr_opened("d-1")).await;

    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.error_code(), "unavailable");
    assert!(answer.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert!(!answer.text.contains("connection refused"), "internal cause leaked: {}", answer.text);
}

#[tokio::test]
async fn other_paths_and_methods_get_the_json_error_body() {
    let world = World::new().await.with_github().await;

    let path = world.send(Request::post("/hooks/github-prs/p1").body(Body::empty()).unwrap()).await;
    let method = world.send(Request::put("/webhooks/github-prs/p1").body(Body::empty()).unwrap()).await;

    assert_eq!((path.status, path.error_code().as_str()), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!((method.status, method.error_code().as_str()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
}

fn signed_pr_opened_to(project: &str) -> Request<Body> {
    github_delivery(project, "pull_request", &fixture("github-prs/pull_request.opened.json"), GITHUB_SECRET, "d-1")
}

#[tokio::test]
async fn unknown_and_disabled_instances_answer_exactly_alike() {
    let disabled = World::new().await.with_github().await;
    disabled.stores.instances.enable_instance(&InstanceKey::new("p1", "github-prs"), false).await.unwrap();
    let unknown = World::new().await;
    let body = fixture("github-prs/pull_request.opened.json");
    let requests = || {
        [
            signed_pr_opened("d-1"),
            github_delivery("p1", "pull_request", &body, "wrong", "d-2"),
            Request::post("/webhooks/github-prs/p1").body(Body::empty()).unwrap(),
            Request::get("/webhooks/github-prs/p1").body(Body::empty()).unwrap(),
        ]
    };

    for (to_disabled, to_unknown) in requests().into_iter().zip(requests()) {
        let what = format!("{} {}", to_disabled.method(), to_disabled.uri());
        let (a, b) = (disabled.send(to_disabled).await, unknown.send(to_unknown).await);
        assert_eq!((a.status, &a.text), (b.status, &b.text), "{what}");
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{what}");
    }
}
