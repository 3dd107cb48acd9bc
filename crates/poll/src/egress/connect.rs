//! [`GuardLayer`]: wraps the HTTP client's connector and checks the peer of every new
//! connection. A host name was already filtered by the resolver; here only the port of an
//! address allowed on some ports is left to check. An IP-literal host never meets the resolver,
//! so its peer is judged here in full: this is what protects requests made with the engine's
//! client outside the engine (the registry's OAuth2 code exchange).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connection, HttpInfo};
use tower::{Layer, Service};

use super::allow::Ports;
use super::guard::{EgressDenied, EgressGuard};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

tokio::task_local! {
    /// The connection being made, for the resolver to report to.
    static SCOPE: Arc<ConnectScope>;
}

/// Addresses approved for a connection, each with the ports it may use.
pub(crate) type Approved = Vec<(IpAddr, Ports)>;

/// What the resolver approved for one connection: the host name and its addresses.
#[derive(Debug, Default)]
pub(crate) struct ConnectScope {
    resolved: Mutex<Option<(String, Approved)>>,
}

impl ConnectScope {
    /// The connection being made on this task, if any.
    pub(crate) fn current() -> Option<Arc<ConnectScope>> {
        SCOPE.try_with(Arc::clone).ok()
    }

    /// Records the addresses approved for host `name`.
    pub(crate) fn resolved(&self, name: String, approved: Approved) {
        *self.resolved.lock().unwrap_or_else(PoisonError::into_inner) = Some((name, approved));
    }

    /// Whether a connection to `peer` (unknown when the transport does not say) may be used.
    fn admit(&self, guard: &EgressGuard, peer: Option<SocketAddr>) -> Result<(), EgressDenied> {
        let resolved = self.resolved.lock().unwrap_or_else(PoisonError::into_inner);
        match (resolved.as_ref(), peer) {
            (Some((name, approved)), Some(peer)) => match approved.iter().find(|(ip, _)| *ip == peer.ip()) {
                Some((_, ports)) if ports.contains(peer.port()) => Ok(()),
                Some(_) => Err(EgressDenied::new(name, format!("is not allowed on port {}", peer.port()))),
                None => Err(EgressDenied::new(name, "connected to an address it did not resolve to")),
            },
            (Some((name, approved)), None) => match approved.iter().all(|(_, ports)| *ports == Ports::Any) {
                true => Ok(()),
                false => Err(EgressDenied::new(name, "cannot be checked: the connection's port is unknown")),
            },
            (None, Some(peer)) => guard.check_literal(peer.ip(), peer.port()),
            (None, None) => Err(EgressDenied::new("the server", "cannot be checked: the connection's peer is unknown")),
        }
    }
}

/// Checks the peer of each new connection of the client it wraps.
#[derive(Debug, Clone)]
pub(crate) struct GuardLayer {
    guard: EgressGuard,
}

impl GuardLayer {
    /// A layer judging with `guard`.
    pub(crate) fn new(guard: EgressGuard) -> Self {
        Self { guard }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService { inner, guard: self.guard.clone() }
    }
}

/// The connector wrapped by [`GuardLayer`].
#[derive(Debug, Clone)]
pub(crate) struct GuardService<S> {
    inner: S,
    guard: EgressGuard,
}

impl<S, R> Service<R> for GuardService<S>
where
    S: Service<R, Error = BoxError>,
    S::Response: Connection + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let scope = Arc::new(ConnectScope::default());
        let guard = self.guard.clone();
        // The inner connector resolves lazily, while this future is polled: inside the scope.
        let connecting = self.inner.call(request);
        Box::pin(SCOPE.scope(scope.clone(), async move {
            let connection = connecting.await?;
            let mut extensions = http::Extensions::new();
            connection.connected().get_extras(&mut extensions);
            let peer = extensions.get::<HttpInfo>().map(HttpInfo::remote_addr);
            scope.admit(&guard, peer)?;
            Ok(connection)
        }))
    }
}
