//! The connector catalogue as the functions see it: descriptors from the registry, validated,
//! resolved to their runtime (generic or native) and cached per warm process for a short time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::connector::{Connector, NativeRegistry, ResolveError};
use crate::descriptor::{Descriptor, DescriptorError};
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
    /// A stored descriptor no longer validates (e.g. written by an older build).
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
    ttl: Duration,
    cache: Mutex<HashMap<String, Entry>>,
}

impl ConnectorCatalog {
    /// A catalogue over `registry` resolving native connectors with `natives`.
    pub fn new(registry: Arc<dyn DescriptorRegistry>, natives: NativeRegistry, ttl: Duration) -> Self {
        Self { registry, natives, ttl, cache: Mutex::new(HashMap::new()) }
    }

    /// The connector with this id, or `None` when no descriptor is registered under it.
    pub async fn get(&self, connector_id: &str) -> Result<Option<LoadedConnector>, CatalogError> {
        if let Some(hit) = self.cached(connector_id) {
            return Ok(hit);
        }
        let loaded = match self.registry.get_descriptor(connector_id).await? {
            None => None,
            Some(record) => {
                let descriptor = Arc::new(Descriptor::from_model(record.descriptor, connector_id)?);
                let connector = self.natives.resolve(Arc::clone(&descriptor))?;
                Some(LoadedConnector { descriptor, connector })
            }
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(connector_id.to_owned(), (Instant::now(), loaded.clone()));
        }
        Ok(loaded)
    }

    /// Forgets a cached entry (after the registry API changed the descriptor in this process).
    pub fn invalidate(&self, connector_id: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(connector_id);
        }
    }

    fn cached(&self, connector_id: &str) -> Option<Option<LoadedConnector>> {
        let cache = self.cache.lock().ok()?;
        let (at, entry) = cache.get(connector_id)?;
        (at.elapsed() < self.ttl).then(|| entry.clone())
    }
}
