//! The HTTP polling engine: runs a connector descriptor's compiled polling plan
//! ([`switchboard_core::polling::PollingPlan`]) — the auth provider (API keys, PATs, Basic,
//! OAuth2 with single-flight refresh, client credentials, JWT assertions and session logins
//! with cached, single-flight tokens), request templating, pagination with guards, delta
//! strategies, rate limits, retries, failure classification and health checks.
//!
//! This is the only crate of the connector runtime that links an HTTP client (`reqwest`), a
//! rate limiter (`governor`) and timers. Every request it makes for a tenant passes the egress
//! guard ([`egress`]) at connect time and follows redirects only by hand ([`redirect`]). The core reaches it through the
//! [`switchboard_core::PollDriver`] port, which [`PollEngine`] implements: the processes that
//! poll hand an engine to their connector catalogue, and connectors poll through it.
//!
//! ```no_run
//! # async fn demo(descriptor: &switchboard_core::Descriptor) -> Result<(), switchboard_core::PollError> {
//! use std::collections::BTreeMap;
//! use switchboard_core::polling::PollRequest;
//! use switchboard_poll::{Credentials, PollEngine, PollOptions};
//!
//! let engine = PollEngine::with_default_client(PollOptions::default())?;
//! let config = BTreeMap::from([("repo".to_owned(), "octocat/hello-world".to_owned())]);
//! let credentials: Credentials = [("token", "ghp_…")].into_iter().collect();
//! let mut pages = engine.pages(descriptor, PollRequest::new(&config, &credentials))?;
//! while let Some(page) = pages.next_page().await? {
//!     // enqueue page.items, then store page.checkpoint_after
//! }
//! # Ok(()) }
//! ```

pub mod auth;
pub mod budget;
pub mod client;
mod client_credentials;
pub mod credentials;
pub mod delta;
pub mod egress;
pub mod engine;
mod health;
mod hydrate;
mod issued;
mod issued_cache;
mod jwt;
pub mod oauth;
mod page_request;
pub mod pagination;
mod partition;
pub mod ratelimit;
pub mod redirect;
pub mod request;
pub mod retry;
pub mod run;
mod session;
mod subscription;
pub mod timer;
mod token;
mod token_answer;
mod token_http;
pub mod webhook_fetch;

use std::collections::BTreeMap;

use switchboard_core::polling::{HealthReport, PageStream, PollError, PollRequest};
use switchboard_core::webhook::{SubscriptionAnswer, SubscriptionCall};
use switchboard_core::{Descriptor, PollDriver};

pub use credentials::Credentials;
pub use egress::{AllowParseError, EgressAllow, EgressDenied, EgressGuard};
pub use engine::{PollEngine, PollOptions};
pub use oauth::{AccessToken, TokenRefresher, exchange_code};
pub use retry::RetryPolicy;
pub use run::Run;
pub use timer::{ManualTimer, Timer, TokioTimer};
pub use webhook_fetch::GuardedFetcher;

#[async_trait::async_trait]
impl PollDriver for PollEngine {
    fn pages<'a>(
        &'a self,
        descriptor: &'a Descriptor,
        request: PollRequest<'a>,
    ) -> Result<Box<dyn PageStream + 'a>, PollError> {
        Ok(Box::new(PollEngine::pages(self, descriptor, request)?))
    }

    async fn check_health(
        &self,
        descriptor: &Descriptor,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
    ) -> HealthReport {
        self.check(descriptor, config, credentials).await
    }

    async fn subscription(
        &self,
        descriptor: &Descriptor,
        call: SubscriptionCall<'_>,
    ) -> Result<SubscriptionAnswer, PollError> {
        PollEngine::subscription(self, descriptor, call).await
    }
}
