//! [`GuardedResolver`]: the HTTP client's DNS resolver. It resolves a host name and hands the
//! connector only the addresses the guard accepts, so the address checked is the address
//! connected to.

use std::future::Future;
use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::connect::ConnectScope;
use super::guard::EgressGuard;

tokio::task_local! {
    /// The port of the request being sent on this task, for the resolver.
    static TARGET_PORT: u16;
}

/// Runs `request`, a request to a URL on `port`, telling the resolver that port: an address
/// allowed only on some ports is then judged before any connection is attempted.
pub(crate) async fn to_port<F: Future>(port: u16, request: F) -> F::Output {
    TARGET_PORT.scope(port, request).await
}

/// The port set by [`to_port`] on this task.
pub(crate) fn target_port() -> Option<u16> {
    TARGET_PORT.try_with(|port| *port).ok()
}

/// Resolves host names through the system resolver, keeping only permitted addresses.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    guard: EgressGuard,
}

impl GuardedResolver {
    /// A resolver judging with `guard`.
    pub(crate) fn new(guard: EgressGuard) -> Self {
        Self { guard }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        // The port of the request (set by the engine, `to_port`) and the connection this
        // resolution is for (set by `GuardLayer`, which checks the port once connected).
        let port = target_port();
        let scope = ConnectScope::current();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let approved = guard.judge_resolved(&host, addresses.map(|a| a.ip()), port, scope.is_some())?;
            let connect_to: Vec<SocketAddr> = approved.iter().map(|(ip, _)| SocketAddr::new(*ip, 0)).collect();
            if let Some(scope) = scope {
                scope.resolved(host, approved);
            }
            Ok(Box::new(connect_to.into_iter()) as Addrs)
        })
    }
}
