//! Polling as data: the compiled polling plan ([`PollingPlan`]: requests, auth, pagination,
//! delta, health check) that the HTTP engine in `switchboard-poll` executes, and the types of a
//! run every connector shares, generic or native: [`PollRequest`], [`PageStream`], [`Page`],
//! [`Checkpoint`], [`PollError`], [`HealthReport`].
//!
//! Nothing here sends a request: the core links no HTTP client.

pub mod auth;
pub mod budget;
pub mod checkpoint;
pub mod error;
pub mod filter;
pub mod health;
pub mod hydration;
pub mod paging;
pub mod partitions;
pub mod plan;
pub mod rules;
pub mod run;
pub mod scope;
pub mod stream;
pub mod token_auth;

pub use auth::{AuthPlan, OAuth2Plan};
pub use budget::RateBudgetPlan;
pub use checkpoint::{Checkpoint, PageCursor, Resume};
pub use error::{FailureClass, OAuthError, PollError};
pub use filter::RecordFilterPlan;
pub use health::HealthCheckPlan;
pub use hydration::HydrationPlan;
pub use paging::{PageRule, PaginationPlan, TokenSource};
pub use partitions::{PartitionPlan, PartitionSourcePlan};
pub use plan::{BackfillPlan, DeltaPlan, ItemPlan, RequestPlan, TimeZonePlan, TimestampFilter, WindowPlan};
pub use rules::{ResponseRulePlan, RuleAction, RuleInput};
pub use run::{GuardTrip, HealthReport, Page, PageStream, PollRequest, RunNote, RunSummary, StopReason};
pub use stream::PollingPlan;
pub use token_auth::{
    ClientCredentialsPlan, ExpiryLocation, JwtExchangePlan, JwtPlan, SessionTokenPlan, TokenAnswerPlan, TokenLocation,
    TokenRequestPlan,
};
