//! The polling engine (spec §6.1–6.2): the auth provider (API keys, PATs, Basic, OAuth2 with
//! single-flight refresh), request templating, pagination with guards, delta strategies, rate
//! limits, retries, failure classification and health checks — all driven by the descriptor.
//!
//! ```no_run
//! # async fn demo(descriptor: &switchboard_core::Descriptor) -> Result<(), switchboard_core::poll::PollError> {
//! use std::collections::BTreeMap;
//! use switchboard_core::poll::{Credentials, PollEngine, PollOptions, PollRequest};
//!
//! let engine = PollEngine::new(reqwest::Client::new(), PollOptions::default());
//! let config = BTreeMap::from([("repo".to_owned(), "octocat/hello-world".to_owned())]);
//! let credentials: Credentials = [("token", "ghp_…")].into_iter().collect();
//! let mut pages = engine.pages(PollRequest::new(descriptor, &config, &credentials))?;
//! while let Some(page) = pages.next_page().await? {
//!     // enqueue page.items, then store page.checkpoint_after
//! }
//! # Ok(()) }
//! ```

pub mod auth;
pub mod checkpoint;
pub mod credentials;
pub mod delta;
pub mod engine;
pub mod error;
pub mod health;
pub mod oauth;
pub mod pagination;
pub mod ratelimit;
pub mod request;
pub mod retry;
mod session;
pub mod timer;

pub use checkpoint::{Checkpoint, PageCursor, Resume};
pub use credentials::Credentials;
pub use engine::{Delta, Page, PageStream, PollEngine, PollOptions, PollRequest, RunSummary, StopReason};
pub use error::{FailureClass, PollError};
pub use health::{HealthReport, check};
pub use oauth::{AccessToken, OAuthError, TokenRefresher, exchange_code};
pub use pagination::GuardTrip;
pub use retry::RetryPolicy;
pub use timer::{ManualTimer, Timer, TokioTimer};
