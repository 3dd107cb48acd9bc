//! The one HTTP client of the polling engine, used for every request made on a tenant's behalf
//! (poll pages, health checks, OAuth2 token requests): the egress guard at connect time, no
//! automatic redirects (the engine follows them itself, checking each hop), no proxy (a proxy
//! would resolve names where the guard cannot see them), a connect timeout and an overall
//! timeout on every request.
//!
//! Building it loads and parses the platform's root certificates (reqwest's platform
//! verifier), a few milliseconds a Lambda function would otherwise spend at every cold start
//! whether or not it ever makes a request. [`LazyHttp`] holds the client and builds it the first
//! time a request needs it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use once_cell::sync::OnceCell;
use reqwest::redirect;
use switchboard_core::polling::PollError;

use crate::egress::{EgressGuard, GuardLayer, GuardedResolver};

/// Builds the guarded client. `timeout` bounds a whole request (connect, answer and body) that
/// sets no shorter timeout of its own.
pub fn build(
    guard: &EgressGuard,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .no_proxy()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .dns_resolver(GuardedResolver::new(guard.clone()))
        .connector_layer(GuardLayer::new(guard.clone()))
        .build()
}

/// How a [`LazyHttp`] makes its client.
type Builder = Box<dyn Fn() -> Result<reqwest::Client, reqwest::Error> + Send + Sync>;

/// An HTTP client built the first time it is asked for ([`LazyHttp::get`]), then shared: clones
/// share one client, and concurrent first calls build it once. A build that fails is retried
/// by the next call.
#[derive(Clone)]
pub struct LazyHttp(Arc<Inner>);

struct Inner {
    client: OnceCell<reqwest::Client>,
    build: Builder,
    builds: AtomicUsize,
}

impl LazyHttp {
    /// The guarded client of [`build`], built on first use.
    pub fn guarded(guard: &EgressGuard, connect_timeout: Duration, timeout: Duration) -> Self {
        let guard = guard.clone();
        Self::from_builder(Box::new(move || build(&guard, connect_timeout, timeout)))
    }

    /// A client that `build` makes the first time it is asked for (a client of another
    /// purpose than polling, with its own settings).
    pub fn new(build: impl Fn() -> Result<reqwest::Client, reqwest::Error> + Send + Sync + 'static) -> Self {
        Self::from_builder(Box::new(build))
    }

    fn from_builder(build: Builder) -> Self {
        Self(Arc::new(Inner { client: OnceCell::new(), build, builds: AtomicUsize::new(0) }))
    }

    /// The client, built now if this is the first call.
    pub fn get(&self) -> Result<&reqwest::Client, reqwest::Error> {
        self.0.client.get_or_try_init(|| {
            let client = (self.0.build)()?;
            self.0.builds.fetch_add(1, Ordering::Relaxed);
            Ok(client)
        })
    }

    /// Whether the client has been built yet.
    pub fn is_built(&self) -> bool {
        self.0.client.get().is_some()
    }

    /// How many times a client was built by [`LazyHttp::get`] (0 or 1; a client handed in
    /// already built counts 0).
    pub fn builds(&self) -> usize {
        self.0.builds.load(Ordering::Relaxed)
    }
}

/// A client that could not be built, as the configuration error the engine reports.
pub(crate) fn build_error(error: reqwest::Error) -> PollError {
    PollError::Config(format!("cannot build the HTTP client: {error}"))
}

impl From<reqwest::Client> for LazyHttp {
    /// A client already built.
    fn from(client: reqwest::Client) -> Self {
        let lazy = Self::from_builder(Box::new(|| reqwest::Client::builder().build()));
        let _ = lazy.0.client.set(client);
        lazy
    }
}

impl fmt::Debug for LazyHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Looking does not build it.
        f.debug_struct("LazyHttp").field("built", &self.is_built()).finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::egress::EgressAllow;

    use super::*;

    fn lazy() -> LazyHttp {
        LazyHttp::guarded(&EgressGuard::new(EgressAllow::none()), Duration::from_secs(1), Duration::from_secs(2))
    }

    #[test]
    fn the_client_is_built_on_the_first_call_only() {
        let http = lazy();
        assert!(!http.is_built(), "not built by construction");
        assert_eq!(format!("{http:?}"), "LazyHttp { built: false }", "looking builds nothing");
        let first: *const reqwest::Client = http.get().unwrap();
        assert!(http.is_built());
        let clone = http.clone();
        let again: *const reqwest::Client = clone.get().unwrap();
        assert_eq!(first, again, "clones share the one client");
        assert_eq!(http.builds(), 1, "built once");
    }

    #[test]
    fn concurrent_first_calls_build_one_client() {
        let http = lazy();
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| http.get().map(|_| ()).unwrap());
            }
        });
        assert_eq!(http.builds(), 1);
    }

    #[test]
    fn a_client_handed_in_is_used_as_it_is() {
        let client = reqwest::Client::new();
        let http = LazyHttp::from(client);
        assert!(http.is_built());
        http.get().unwrap();
        assert_eq!(http.builds(), 0, "nothing built");
    }
}
