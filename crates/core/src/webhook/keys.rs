//! Verification keys that live behind a URL (an SNS signing certificate, a JWKS): the
//! [`WebhookFetcher`] port that fetches a document by GET (implemented outside the core, through
//! the polling engine's guarded HTTP client), and [`KeyCache`], which keeps fetched keys for a
//! while so a burst of deliveries costs one fetch.
//!
//! The core links no HTTP client: the webhook gateway is handed a fetcher by the assembly, and
//! `switchboard verify` serves a local file instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a fetched key document is reused.
pub const DEFAULT_KEY_TTL: Duration = Duration::from_secs(60 * 60);

/// Most key documents kept at once; the oldest is dropped first.
pub const MAX_CACHED_KEYS: usize = 64;

/// Why a document could not be fetched. The text names the host and what failed, never a query
/// string (which may carry a token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// Fetches a document by GET: a certificate, a JWKS, or a subscription confirmation URL. The
/// URL has already passed the descriptor's host patterns; the implementation adds the egress
/// guard, timeouts and a size limit.
#[async_trait::async_trait]
pub trait WebhookFetcher: Send + Sync + std::fmt::Debug {
    /// The body of a 2xx answer to `GET url`.
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError>;
}

/// Key documents by URL, as verification asks for them.
#[async_trait::async_trait]
pub trait KeySource: Send + Sync {
    /// The document at `url` (already checked against the descriptor's host patterns).
    async fn key_document(&self, url: &str) -> Result<Arc<Vec<u8>>, FetchError>;
}

/// Fetched documents by URL, with when each was fetched.
type Entries = HashMap<String, (Instant, Arc<Vec<u8>>)>;

/// A [`KeySource`] over a fetcher, keeping each document for a time-to-live.
#[derive(Debug)]
pub struct KeyCache {
    fetcher: Arc<dyn WebhookFetcher>,
    ttl: Duration,
    entries: Mutex<Entries>,
}

impl KeyCache {
    /// A cache keeping documents fetched through `fetcher` for `ttl`.
    pub fn new(fetcher: Arc<dyn WebhookFetcher>, ttl: Duration) -> Self {
        Self { fetcher, ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// The fetcher behind the cache (also used, uncached, to confirm subscriptions).
    pub fn fetcher(&self) -> &Arc<dyn WebhookFetcher> {
        &self.fetcher
    }

    fn cached(&self, url: &str) -> Option<Arc<Vec<u8>>> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(url).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, document)| document.clone())
    }

    fn store(&self, url: &str, document: Arc<Vec<u8>>) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
        if entries.len() >= MAX_CACHED_KEYS
            && let Some(oldest) = entries.iter().min_by_key(|(_, (at, _))| *at).map(|(url, _)| url.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(url.to_owned(), (Instant::now(), document));
    }
}

#[async_trait::async_trait]
impl KeySource for KeyCache {
    async fn key_document(&self, url: &str) -> Result<Arc<Vec<u8>>, FetchError> {
        if let Some(document) = self.cached(url) {
            return Ok(document);
        }
        let document = Arc::new(self.fetcher.get(url).await?);
        self.store(url, document.clone());
        Ok(document)
    }
}

/// A [`KeySource`] that answers every URL with the same document (a file given to
/// `switchboard verify`, or a test's key).
#[derive(Debug, Clone)]
pub struct FixedKey(pub Arc<Vec<u8>>);

#[async_trait::async_trait]
impl KeySource for FixedKey {
    async fn key_document(&self, _url: &str) -> Result<Arc<Vec<u8>>, FetchError> {
        Ok(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl WebhookFetcher for Counting {
        async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(url.as_bytes().to_vec())
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
    }

    #[test]
    fn a_document_is_fetched_once_within_its_ttl_and_again_after() {
        let fetcher = Arc::new(Counting::default());
        let cache = KeyCache::new(fetcher.clone(), Duration::from_secs(60));
        block_on(async {
            assert_eq!(*cache.key_document("https://a/x").await.unwrap(), b"https://a/x");
            cache.key_document("https://a/x").await.unwrap();
        });
        assert_eq!(fetcher.0.load(Ordering::SeqCst), 1);
        let expired = KeyCache::new(fetcher.clone(), Duration::ZERO);
        block_on(async {
            expired.key_document("https://a/x").await.unwrap();
            expired.key_document("https://a/x").await.unwrap();
        });
        assert_eq!(fetcher.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_cache_holds_a_bounded_number_of_documents() {
        let cache = KeyCache::new(Arc::new(Counting::default()), Duration::from_secs(60));
        block_on(async {
            for i in 0..MAX_CACHED_KEYS + 10 {
                cache.key_document(&format!("https://a/{i}")).await.unwrap();
            }
        });
        assert_eq!(cache.entries.lock().unwrap().len(), MAX_CACHED_KEYS);
    }
}
