//! Bounded work per request: a page larger than the body limit (8 MiB by default) is refused as
//! too large while it streams in, a page with more items than the cap fails naming the cap, and
//! a server that never answers is cut off by the request timeout.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_core::polling::{PollError, PollRequest};
use switchboard_poll::engine::DEFAULT_MAX_RESPONSE_BYTES;
use switchboard_poll::{Credentials, PollEngine, PollOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn items_descriptor() -> switchboard_core::Descriptor {
    descriptor(
        no_auth(),
        json!({"endpoint": "{{baseUrl}}/items", "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since"}}),
        "$",
    )
}

async fn poll_at(engine: &PollEngine, base_url: &str) -> Result<Delta, PollError> {
    let config = BTreeMap::from([("baseUrl".to_owned(), base_url.to_owned())]);
    fetch_delta(engine, &items_descriptor(), PollRequest::new(&config, &Credentials::new())).await
}

#[tokio::test]
async fn a_33_mib_page_is_refused_as_too_large() {
    assert_eq!(DEFAULT_MAX_RESPONSE_BYTES, 8 * 1024 * 1024);
    let server = MockServer::start().await;
    let body = format!("[\"{}\"]", "x".repeat(33 * 1024 * 1024));
    Mock::given(path("/items")).respond_with(ResponseTemplate::new(200).set_body_string(body)).mount(&server).await;
    let (engine, _) = engine();
    let err = poll_at(&engine, &server.uri()).await.unwrap_err();
    assert!(matches!(err, PollError::TooLarge { limit: DEFAULT_MAX_RESPONSE_BYTES, .. }), "{err:?}");
    assert!(err.to_string().contains("more than 8388608 bytes"), "{err}");
    assert_eq!(err.class(), switchboard_core::polling::FailureClass::Config, "the same page would be as large again");
}

/// A server that streams a chunked JSON array of `total` bytes (no Content-Length) and
/// reports how many bytes it managed to write.
async fn chunked_server(total: usize) -> (String, tokio::task::JoinHandle<usize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return 0;
        }
        let chunk = vec![b' '; 64 * 1024];
        let mut written = 0;
        let mut first = true;
        while written < total {
            let mut data = chunk.clone();
            if first {
                data[0] = b'[';
                first = false;
            }
            let frame = [format!("{:x}\r\n", data.len()).into_bytes(), data, b"\r\n".to_vec()].concat();
            if socket.write_all(&frame).await.is_err() {
                break;
            }
            written += chunk.len();
        }
        let _ = socket.write_all(b"1\r\n]\r\n0\r\n\r\n").await;
        written
    });
    (base, task)
}

#[tokio::test]
async fn a_streamed_page_without_a_length_is_cut_off_at_the_limit() {
    let limit = 1024 * 1024;
    let (base, server) = chunked_server(64 * 1024 * 1024).await;
    let (engine, _) = engine_with(|options| options.max_response_bytes = limit);
    let err = poll_at(&engine, &base).await.unwrap_err();
    assert!(matches!(err, PollError::TooLarge { .. }), "{err:?}");
    drop(engine);
    let written = server.await.unwrap();
    assert!(written < 64 * 1024 * 1024, "the whole body was read: {written} bytes");
}

#[tokio::test]
async fn a_page_with_more_items_than_the_cap_fails_naming_the_cap() {
    let server = MockServer::start().await;
    let items: Vec<_> =
        (1..=5).map(|id| json!({"id": id, "title": "t", "updated_at": "2024-05-01T00:00:00Z"})).collect();
    Mock::given(path("/items")).respond_with(ResponseTemplate::new(200).set_body_json(items)).mount(&server).await;
    let (engine, _) = engine_with(|options| options.max_items_per_page = 3);
    let err = poll_at(&engine, &server.uri()).await.unwrap_err();
    assert!(err.to_string().contains("5 items; at most 3 items per page"), "{err}");
    let (engine, _) = engine_with(|options| options.max_items_per_page = 5);
    assert_eq!(poll_at(&engine, &server.uri()).await.unwrap().items.len(), 5);
    assert_eq!(PollOptions::default().max_items_per_page, 10_000);
}

#[tokio::test]
async fn a_request_through_the_engine_client_times_out_by_default() {
    // The client's own timeout also bounds requests that set none (OAuth2 token requests).
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let options =
        PollOptions { request_timeout: Duration::from_millis(300), egress: loopback_fakes(), ..PollOptions::default() };
    let engine = PollEngine::new(options).unwrap();
    let started = Instant::now();
    let err = engine.http().unwrap().get(format!("{}/slow", server.uri())).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
