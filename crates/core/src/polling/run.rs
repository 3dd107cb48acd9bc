//! A polling run as every connector runs it, generic or native: the request
//! ([`PollRequest`]), the pages it yields ([`PageStream`], [`Page`]) each with the checkpoint to
//! store once its items are handed on, and how it ended ([`RunSummary`]); plus the outcome of a
//! health check ([`HealthReport`]).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::checkpoint::Checkpoint;
use super::error::{FailureClass, PollError};
use crate::ports::Credentials;

/// What to poll: one instance of the connector.
#[derive(Debug, Clone)]
pub struct PollRequest<'a> {
    /// The instance's config (`baseUrl`, `projectKey`, ...); descriptor defaults fill the gaps.
    pub config: &'a BTreeMap<String, String>,
    /// The instance's credentials.
    pub credentials: &'a Credentials,
    /// Where the last run stopped; `None` polls from the beginning.
    pub checkpoint: Option<Checkpoint>,
    /// Page limit for this run (overrides the descriptor's `maxPages`).
    pub max_pages: Option<u32>,
    /// Stop starting new requests once this much time has passed; the last page's checkpoint
    /// then resumes the next run where this one stopped.
    pub time_budget: Option<Duration>,
}

impl<'a> PollRequest<'a> {
    /// A request from the start, with no limits beyond the descriptor's.
    pub fn new(config: &'a BTreeMap<String, String>, credentials: &'a Credentials) -> Self {
        Self { config, credentials, checkpoint: None, max_pages: None, time_budget: None }
    }
}

/// One fetched page.
#[derive(Debug, Clone)]
pub struct Page {
    /// Index of the page in this run (0-based).
    pub index: u32,
    /// The raw items (extracted with the descriptor's `itemsPath`), minus items already
    /// delivered at the checkpoint.
    pub items: Vec<Value>,
    /// The checkpoint to store once this page's items are safely handed on.
    pub checkpoint_after: Checkpoint,
    /// Whether this is the run's last page.
    pub is_last: bool,
    /// The key of the partition the page belongs to, in a partitioned stream.
    pub partition: Option<String>,
    /// Credentials refreshed while fetching this page, to persist now (rotation may have
    /// invalidated the old refresh token).
    pub refreshed_credentials: Option<Credentials>,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The API had no more pages.
    Complete,
    /// A pagination guard tripped (see the run's guard).
    Guard,
    /// The time budget ran out; the checkpoint resumes the next run.
    TimeBudget,
    /// The credential's rate budget (announced in response headers) was spent and does not
    /// reset within the run's time; the checkpoint resumes the next run (see the run's notes).
    RateBudget,
    /// A request failed.
    Failed,
}

/// A run so far (or, once the stream has ended, the whole run).
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Pages fetched.
    pub pages: u32,
    /// Items delivered.
    pub items: u64,
    /// The checkpoint after the last delivered page (the input checkpoint before any).
    pub checkpoint: Checkpoint,
    /// The guard that tripped, if any.
    pub guard: Option<GuardTrip>,
    /// Why the run ended; `None` while it is still going.
    pub stop: Option<StopReason>,
    /// The newest refreshed credentials of the run: persist them even when the run failed.
    pub refreshed_credentials: Option<Credentials>,
    /// What else the run's record should say (a checkpoint reset, a rate budget spent).
    pub notes: Vec<RunNote>,
}

/// Something a run did that its record should mention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum RunNote {
    /// A response rule declared the checkpoint invalid (an expired sync token): the run started
    /// over from no checkpoint, a full resync whose repeated items are removed downstream by
    /// their deterministic signal ids.
    CheckpointReset {
        /// The HTTP status of the response.
        status: u16,
        /// The rule, as `responseRules[i]` with its message.
        rule: String,
    },
    /// The partitions listed at the start of the run, with those new since the last run (they
    /// start from the backfill start) and those gone (their checkpoints are dropped).
    Partitions {
        /// How many partitions the run covers.
        listed: usize,
        /// Keys of partitions without a checkpoint yet.
        new: Vec<String>,
        /// Keys of partitions that had a checkpoint and were not listed again.
        retired: Vec<String>,
    },
    /// The run waited for the credential's rate budget to reset.
    RateBudgetWaited {
        /// How long, in whole seconds.
        seconds: u64,
    },
    /// The credential's rate budget was spent and does not reset within the run's time: the
    /// run stopped, keeping its checkpoint.
    RateBudgetSpent {
        /// Seconds until the API said the budget resets, when it said.
        reset_in_seconds: Option<u64>,
    },
}

impl fmt::Display for RunNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CheckpointReset { status, rule } => {
                write!(f, "HTTP {status} matched {rule}: the checkpoint was reset and the run resynced from the start")
            }
            Self::Partitions { listed, new, retired } => {
                write!(f, "{listed} partition(s)")?;
                if !new.is_empty() {
                    write!(f, "; new (from the backfill start): {}", new.join(", "))?;
                }
                if !retired.is_empty() {
                    write!(f, "; retired (no longer listed): {}", retired.join(", "))?;
                }
                Ok(())
            }
            Self::RateBudgetWaited { seconds } => {
                write!(f, "waited {seconds} s for the credential's rate budget to reset")
            }
            Self::RateBudgetSpent { reset_in_seconds: Some(s) } => write!(
                f,
                "the credential's rate budget is spent and resets in {s} s, after this run's time; stopped, the next run continues from the checkpoint"
            ),
            Self::RateBudgetSpent { reset_in_seconds: None } => write!(
                f,
                "the credential's rate budget is spent and the API did not say when it resets; stopped, the next run continues from the checkpoint"
            ),
        }
    }
}

/// A run in progress: call [`PageStream::next_page`] until it returns `Ok(None)`.
///
/// An error ends the stream; every page delivered before it stays valid, and its
/// `checkpoint_after` is where the next run continues. Persist
/// [`RunSummary::refreshed_credentials`] even after an error.
#[async_trait::async_trait]
pub trait PageStream: Send {
    /// The next page, or `None` when the run is over (see [`PageStream::summary`] for why).
    async fn next_page(&mut self) -> Result<Option<Page>, PollError>;

    /// The run so far.
    fn summary(&self) -> RunSummary;
}

/// The outcome of a health check.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// Whether the endpoint answered with the expected status.
    pub healthy: bool,
    /// The HTTP status received, if a response arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Time from sending the request to its answer (or failure), in milliseconds.
    pub latency_ms: u64,
    /// Why the check failed, in words for a dashboard; `None` when healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The failure class, when unhealthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<FailureClass>,
    /// OAuth2 credentials refreshed during the check, to persist.
    #[serde(skip)]
    pub refreshed_credentials: Option<Credentials>,
}

impl HealthReport {
    /// An unhealthy report for a check that could not run at all.
    pub fn failed(error: &PollError) -> Self {
        Self {
            healthy: false,
            status: None,
            latency_ms: 0,
            reason: Some(error.to_string()),
            class: Some(error.class()),
            refreshed_credentials: None,
        }
    }
}

/// A pagination guard that stopped a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "guard", rename_all = "snake_case")]
pub enum GuardTrip {
    /// The run fetched its maximum number of pages; the checkpoint resumes at the next one.
    MaxPages {
        /// The limit.
        limit: u32,
    },
    /// The API handed out a page token this run had already fetched.
    RepeatedPageToken {
        /// The token.
        token: String,
    },
    /// The API pointed at a page URL this run had already fetched.
    RepeatedUrl {
        /// The URL without its query string.
        url: String,
    },
    /// A page came back empty although the API said more would follow.
    EmptyPage {
        /// Index of the empty page in this run (0-based).
        page: u32,
    },
}

impl fmt::Display for GuardTrip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MaxPages { limit } => {
                write!(f, "stopped after the maximum of {limit} pages per run; the next run continues")
            }
            Self::RepeatedPageToken { token } => {
                write!(f, "the API repeated page token {token:?}; stopped instead of looping")
            }
            Self::RepeatedUrl { url } => write!(f, "the API repeated page URL {url}; stopped instead of looping"),
            Self::EmptyPage { page } => write!(f, "page {page} was empty although more pages were announced; stopped"),
        }
    }
}
