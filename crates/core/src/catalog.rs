//! The connector catalogue as the functions see it: descriptors from the registry, compiled,
//! resolved to their runtime (generic or native) and cached per warm process for a short time.
//!
//! This is the one place where stored descriptors are compiled: every function (and the
//! registry API's health checks and OAuth2 flow) gets its connectors from here. A stored
//! descriptor was checked against the schema when it was registered, so it is compiled without
//! that check ([`Descriptor::from_registered`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::connector::{Connector, NativeRegistry, PollDriver, ResolveError};
use crate::descriptor::Descriptor;
use crate::model::DescriptorError;
use crate::ports::{DescriptorRegistry, StoreError};

/// How long a looked-up descriptor is reused before the registry is asked again.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);

/// A descriptor ready to run.
#[derive(Clone)]
pub struct LoadedConnector {
    /// The validated descriptor.
    pub descriptor: Arc<Descriptor>,
    /// Its runtime: the generic engine or a registered native implementation.
    pub connector: Arc<dyn Connector>,
}

impl std::fmt::Debug for LoadedConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedConnector").field("id", &self.descriptor.id()).finish()
    }
}

/// Why a connector could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The registry could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored descriptor no longer compiles (e.g. written by an older build).
    #[error(transparent)]
    Invalid(#[from] DescriptorError),
    /// A native descriptor has no implementation in this build.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
}

type Entry = (Instant, Option<LoadedConnector>);

/// Loads connectors by id through a short-lived cache (absent ids are cached too, so a flood of
/// webhooks for an unknown connector does not hammer the registry).
pub struct ConnectorCatalog {
    registry: Arc<dyn DescriptorRegistry>,
    natives: NativeRegistry,
    driver: Option<Arc<dyn PollDriver>>,
    ttl: Duration,
    cache: Mutex<HashMap<String, Entry>>,
}

impl ConnectorCatalog {
    /// A catalogue over `registry` resolving native connectors with `natives`. Its generic
    /// connectors cannot poll until [`Self::with_poll_driver`] gives them a driver.
    pub fn new(registry: Arc<dyn DescriptorRegistry>, natives: NativeRegistry, ttl: Duration) -> Self {
        Self { registry, natives, driver: None, ttl, cache: Mutex::new(HashMap::new()) }
    }

    /// Lets generic connectors poll (and run health checks) through `driver`.
    #[must_use]
    pub fn with_poll_driver(mut self, driver: Arc<dyn PollDriver>) -> Self {
        self.driver = Some(driver);
        self
    }

    /// The connector with this id, or `None` when no descriptor is registered under it.
    pub async fn get(&self, connector_id: &str) -> Result<Option<LoadedConnector>, CatalogError> {
        if let Some(hit) = self.cached(connector_id) {
            return Ok(hit);
        }
        let loaded = match self.registry.get_descriptor(connector_id).await? {
            None => None,
            Some(record) => {
                let descriptor = Arc::new(Descriptor::from_registered(record.descriptor, connector_id)?);
                let connector = self.natives.resolve(Arc::clone(&descriptor), self.driver.clone())?;
                Some(LoadedConnector { descriptor, connector })
            }
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(connector_id.to_owned(), (Instant::now(), loaded.clone()));
        }
        Ok(loaded)
    }

    fn cached(&self, connector_id: &str) -> Option<Option<LoadedConnector>> {
        let cache = self.cache.lock().ok()?;
        let (at, entry) = cache.get(connector_id)?;
        (at.elapsed() < self.ttl).then(|| entry.clone())
    }
}
