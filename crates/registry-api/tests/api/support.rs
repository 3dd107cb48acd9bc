//! Each test gets its own world: a temporary SQLite database with the built-in descriptors, the
//! registry router over it with bearer tokens for an admin and two project members, and a
//! transcript of every response body (to grep for secrets).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine as _;
use secrecy::SecretString;
use serde_json::Value;
use switchboard_core::builtin::register_built_ins;
use switchboard_core::ports::Stores;
use switchboard_embedded::{Embedded, SecretCipher};
use switchboard_registry_api::auth::token_hash;
use switchboard_registry_api::{BearerTokenResolver, Caller, ProjectAccess, RegistryState, router};
use tempfile::TempDir;
use tower::ServiceExt;

/// Admin of everything.
pub const ADMIN: &str = "admin-token-0123456789";
/// Member of project `acme` only.
pub const ACME: &str = "acme-member-token-abcdef";
/// Member of project `globex` only.
pub const GLOBEX: &str = "globex-member-token-ghijk";

/// The OAuth2 redirect URI the worlds are configured with.
pub const CALLBACK_URL: &str = "https://registry.example/oauth/callback";

/// One isolated registry.
pub struct World {
    /// The stores behind the router, for arranging and inspecting state.
    pub stores: Stores,
    router: Router,
    transcript: Mutex<Vec<String>>,
    _dir: TempDir,
}

/// An answer.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body text.
    pub text: String,
}

impl Reply {
    /// The body as JSON (panics when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The error code of an error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }
}

/// A world with default settings.
pub async fn spawn() -> World {
    spawn_with(|state| state).await
}

/// A world whose operator allowance admits the loopback address the tests' fake providers
/// listen on (as `SWITCHBOARD_EGRESS_ALLOW=127.0.0.1` does), so built-in connectors can be
/// pointed at them.
pub async fn spawn_admitting_loopback() -> World {
    spawn_with(admit_loopback).await
}

/// Admits `127.0.0.1` on any port, for every descriptor.
pub fn admit_loopback(state: RegistryState) -> RegistryState {
    state.with_operator_admits_host(|host, _port| host == "127.0.0.1")
}

/// A world whose state `configure` may adjust.
pub async fn spawn_with(configure: impl FnOnce(RegistryState) -> RegistryState) -> World {
    let (dir, stores) = open_stores();
    world_over(dir, stores, configure).await
}

/// Empty stores in a new temporary directory, before any descriptor is registered.
pub fn open_stores() -> (TempDir, Stores) {
    let dir = tempfile::tempdir().unwrap();
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let cipher = SecretCipher::from_base64(&SecretString::from(key), "test key").unwrap();
    let stores = Embedded::open_with_cipher(&dir.path().join("switchboard.db"), cipher).unwrap().stores();
    (dir, stores)
}

/// A world over `stores` (in `dir`): the built-ins are registered as at start-up, then the
/// router is built over the state `configure` returns.
pub async fn world_over(dir: TempDir, stores: Stores, configure: impl FnOnce(RegistryState) -> RegistryState) -> World {
    register_built_ins(stores.descriptors.as_ref()).await.unwrap();
    let member = |subject: &str, project: &str| Caller {
        subject: subject.to_owned(),
        admin: false,
        projects: ProjectAccess::Only([project.to_owned()].into()),
    };
    let resolver = BearerTokenResolver::admin(&SecretString::from(ADMIN))
        .with_token_hash(token_hash(ACME), member("alice", "acme"))
        .with_token_hash(token_hash(GLOBEX), member("bob", "globex"));
    // The fake providers listen on 127.0.0.1, which the egress guard refuses unless allowed.
    let egress = switchboard_poll::EgressAllow::parse("127.0.0.1").unwrap();
    let engine =
        switchboard_poll::PollEngine::new(switchboard_poll::PollOptions { egress, ..Default::default() }).unwrap();
    // The engine may reach the fakes, but instance URLs are held to each descriptor's
    // allowedHosts unless a test admits a host (production admits the egress allowance's).
    let state = RegistryState::new(stores.clone(), Arc::new(resolver), switchboard_core::NativeRegistry::new(), engine)
        .with_callback_url(CALLBACK_URL.parse().unwrap())
        .with_operator_admits_host(|_, _| false);
    World { router: router(configure(state)), stores, transcript: Mutex::new(Vec::new()), _dir: dir }
}

impl World {
    /// `GET path` as the holder of `token`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None).await
    }

    /// A request with an optional JSON body.
    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = Request::builder().method(method).uri(path).header(header::HOST, "registry.test");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.request(request.body(body).unwrap()).await
    }

    /// Any request.
    pub async fn request(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        self.transcript.lock().unwrap().push(text.clone());
        Reply { status, headers, text }
    }

    /// Every response body so far.
    pub fn transcript(&self) -> Vec<String> {
        self.transcript.lock().unwrap().clone()
    }
}

/// Reads a fixture under `tests/api/fixtures`.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/api/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}
