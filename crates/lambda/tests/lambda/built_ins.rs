//! The registry function registers the built-in connectors on its first request, not at its
//! cold start: a fresh registry has none until a request arrives; a registration that fails is
//! answered 500 and tried again by the next request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use axum::http::StatusCode;
use serde_json::Value;
use switchboard_app::{App, Settings};
use switchboard_core::model::ConnectorDescriptor;
use switchboard_core::ports::{DescriptorRecord, DescriptorRegistry, StoreError, Stores};
use switchboard_lambda::api_gateway;
use switchboard_lambda::built_ins::{BuiltInRegistration, after_built_ins};
use switchboard_registry_api::ClaimsResolver;
use tower::ServiceExt;

use crate::support::{World, read};

/// A descriptor store that fails every call while `down` is set, as DynamoDB out of reach.
struct Flaky {
    inner: Arc<dyn DescriptorRegistry>,
    down: AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::backend("reading a descriptor", "the table cannot be reached"));
        }
        Ok(())
    }
}

#[async_trait]
impl DescriptorRegistry for Flaky {
    async fn list_descriptors(&self) -> Result<Vec<DescriptorRecord>, StoreError> {
        self.check()?;
        self.inner.list_descriptors().await
    }
    async fn get_descriptor(&self, id: &str) -> Result<Option<DescriptorRecord>, StoreError> {
        self.check()?;
        self.inner.get_descriptor(id).await
    }
    async fn register_descriptor(
        &self,
        d: &ConnectorDescriptor,
        built_in: bool,
    ) -> Result<DescriptorRecord, StoreError> {
        self.check()?;
        self.inner.register_descriptor(d, built_in).await
    }
    async fn update_descriptor(&self, d: &ConnectorDescriptor) -> Result<DescriptorRecord, StoreError> {
        self.check()?;
        self.inner.update_descriptor(d).await
    }
    async fn upsert_built_in(&self, d: &ConnectorDescriptor) -> Result<DescriptorRecord, StoreError> {
        self.check()?;
        self.inner.upsert_built_in(d).await
    }
    async fn delete_descriptor(&self, id: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.delete_descriptor(id).await
    }
}

/// The registration of a registry function over `stores`, as the binary builds it.
fn registration(stores: &Stores) -> Arc<BuiltInRegistration> {
    Arc::new(BuiltInRegistration::new(Arc::new(App::assemble(stores.clone(), Settings::default()))))
}

/// The sample event `name` of `events/registry-api/`.
fn event(name: &str) -> lambda_http::Request {
    lambda_http::request::from_str(&read(&format!("events/registry-api/{name}"))).expect("a valid event")
}

/// `request` through the registry function's service behind `registration`.
async fn send(
    registration: &Arc<BuiltInRegistration>,
    stores: &Stores,
    request: lambda_http::Request,
) -> (StatusCode, Value) {
    let app = App::assemble(stores.clone(), Settings::default());
    let service = api_gateway::registry_service(app.registry(Arc::new(ClaimsResolver)));
    let response = after_built_ins(service, registration.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn the_built_ins_are_registered_by_the_first_request_not_before() {
    let world = World::new(Settings::default());
    let stores = world.app.stores().clone();
    let registration = registration(&stores);
    assert!(stores.descriptors.get_descriptor("github-prs").await.unwrap().is_none(), "nothing at the cold start");
    assert!(!registration.is_done());

    let (status, body) = send(&registration, &stores, event("list-connectors.json")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(registration.is_done());
    let stored = stores.descriptors.get_descriptor("github-prs").await.unwrap().expect("registered");
    assert!(stored.built_in);
    let listed = body["connectors"].as_array().expect("a list of connectors");
    assert!(listed.iter().any(|c| c["id"] == "github-prs"), "the first request already sees them: {body}");
}

#[tokio::test]
async fn a_failed_registration_answers_500_and_the_next_request_tries_again() {
    let world = World::new(Settings::default());
    let flaky = Arc::new(Flaky { inner: world.app.stores().descriptors.clone(), down: AtomicBool::new(true) });
    let stores = Stores { descriptors: flaky.clone(), ..world.app.stores().clone() };
    let registration = registration(&stores);

    let (status, body) = send(&registration, &stores, event("health.json")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["error"]["code"], "internal");
    assert!(!body.to_string().contains("cannot be reached"), "the cause is logged, not answered: {body}");
    assert!(!registration.is_done());

    flaky.down.store(false, Ordering::SeqCst);
    let (status, body) = send(&registration, &stores, event("health.json")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(registration.is_done());
    assert!(world.app.stores().descriptors.get_descriptor("github-prs").await.unwrap().is_some());
}
