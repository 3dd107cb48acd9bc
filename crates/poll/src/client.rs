//! The one HTTP client of the polling engine, used for every request made on a tenant's behalf
//! (poll pages, health checks, OAuth2 token requests): the egress guard at connect time, no
//! automatic redirects (the engine follows them itself, checking each hop), no proxy (a proxy
//! would resolve names where the guard cannot see them), a connect timeout and an overall
//! timeout on every request.

use std::time::Duration;

use reqwest::redirect;

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
