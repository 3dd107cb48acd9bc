//! The connector trait shared by the generic runtime and native (Rust) connectors, and the
//! registry that dispatches on a descriptor's `kind`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::descriptor::Descriptor;
use crate::descriptor::model::ConnectorKind;
use crate::mapping::{MapContext, MapError, MapReport};
use crate::webhook::{VerifyError, WebhookRequest};

/// What every connector can do, whether driven by a descriptor or written in Rust.
pub trait Connector: Send + Sync {
    /// The connector id this implementation serves.
    fn id(&self) -> &str;

    /// Verifies a webhook delivery against the instance's secrets (current first, then
    /// previous, so rotation never drops deliveries).
    fn verify_webhook(&self, request: &WebhookRequest<'_>, secrets: &[&str]) -> Result<(), VerifyError>;

    /// Maps a webhook payload or a polled page into signals.
    fn map(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError>;

    /// Maps one polled item, already extracted from its page.
    fn map_item(&self, item: &Value, ctx: &MapContext<'_>) -> MapReport;
}

/// The generic, descriptor-driven connector.
#[derive(Debug, Clone)]
pub struct GenericConnector {
    descriptor: Arc<Descriptor>,
}

impl GenericConnector {
    /// Wraps a validated descriptor.
    pub fn new(descriptor: Arc<Descriptor>) -> Self {
        Self { descriptor }
    }

    /// The descriptor this connector runs.
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

impl Connector for GenericConnector {
    fn id(&self) -> &str {
        self.descriptor.id()
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>, secrets: &[&str]) -> Result<(), VerifyError> {
        match self.descriptor.webhook() {
            None => Err(VerifyError::NotAWebhookConnector),
            Some(webhook) => match &webhook.verifier {
                None => Ok(()),
                Some(verifier) => verifier.verify(request, secrets, chrono::Utc::now()),
            },
        }
    }

    fn map(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        self.descriptor.map(payload, ctx)
    }

    fn map_item(&self, item: &Value, ctx: &MapContext<'_>) -> MapReport {
        self.descriptor.map_item(item, ctx)
    }
}

/// Factory for a native connector, given its (validated) descriptor.
pub type NativeFactory = fn(Arc<Descriptor>) -> Arc<dyn Connector>;

/// Native connector implementations, registered by connector id.
#[derive(Default, Clone)]
pub struct NativeRegistry {
    factories: HashMap<String, NativeFactory>,
}

/// Why a connector could not be resolved for a descriptor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// A `native` descriptor whose id has no registered implementation.
    #[error("connector {0:?} is native, but no native implementation is registered under that id")]
    NativeNotRegistered(String),
}

impl NativeRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a native implementation under a connector id.
    pub fn register(&mut self, connector_id: &str, factory: NativeFactory) -> &mut Self {
        self.factories.insert(connector_id.to_owned(), factory);
        self
    }

    /// Whether an implementation is registered for this id.
    pub fn contains(&self, connector_id: &str) -> bool {
        self.factories.contains_key(connector_id)
    }

    /// The connector for a descriptor: the generic runtime for `generic`, the registered Rust
    /// implementation for `native`.
    pub fn resolve(&self, descriptor: Arc<Descriptor>) -> Result<Arc<dyn Connector>, ResolveError> {
        match descriptor.model().kind {
            ConnectorKind::Generic => Ok(Arc::new(GenericConnector::new(descriptor))),
            ConnectorKind::Native => match self.factories.get(descriptor.id()) {
                Some(factory) => Ok(factory(descriptor)),
                None => Err(ResolveError::NativeNotRegistered(descriptor.id().to_owned())),
            },
        }
    }
}

impl std::fmt::Debug for NativeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeRegistry").field("ids", &self.factories.keys().collect::<Vec<_>>()).finish()
    }
}
