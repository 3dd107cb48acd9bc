//! The poller: on every scheduled run it finds the connector instances that are due, polls each
//! one page by page through its connector ([`switchboard_core::Connector::pages`]: the HTTP
//! polling engine for generic connectors, Rust code for native ones), and puts every new item on
//! the ingest queue as its own envelope (DESIGN.md §1).
//!
//! Nothing fetched is lost: a page's checkpoint is advanced (conditionally, with its version)
//! only after all of the page's items are on the queue, so a crash in between re-sends them on
//! the next run and the normaliser's dedup drops the repeats. Runs stop cleanly before the Lambda
//! deadline and the next run resumes from the stored resume point.
//!
//! After each instance's run it sends the `connector_health` notice the instance's health calls
//! for, if any (`switchboard_core::health_notice`). [`Poller::poll_now`] polls given instances
//! at once, whatever their schedule (a new or re-enabled instance; `serve` asks through
//! [`poll_now_channel`]).
//!
//! A run finds the due instances through the schedule index, so it reads about as many
//! instance records as are due rather than the whole registry ([`due_instances`]; the summary
//! says how many it read and which connectors it swept).
//!
//! Each run also renews the managed webhook subscriptions about to expire
//! ([`Poller::renew_subscriptions`]).
//!
//! [`Poller::run_due`] is the entry point. It knows nothing of where it runs: the Lambda
//! function (`switchboard-lambda`) calls it on each scheduled event and `switchboard serve` on a
//! timer; `switchboard-app` builds it.

mod due;
mod enqueue;
mod error;
mod lease;
mod poll_now;
mod poller;
mod renew;
mod summary;
mod sync;

pub use due::{DEFAULT_INTERVAL, DEFAULT_SWEEP_INTERVAL, DueInstance, DueListing, REAUTH_NEEDED, due_instances};
pub use error::{PollerError, RetryClass};
pub use poll_now::{
    POLL_NOW_CAPACITY, PollNowMessageError, PollNowReceiver, PollNowRequest, PollNowSender, QueuePollTrigger,
    poll_now_channel,
};
pub use poller::{DEFAULT_INSTANCE_BUDGET, Poller, PollerSettings};
pub use renew::RenewalSummary;
pub use summary::{InstanceOutcome, InstanceReport, PollRunSummary};
