//! The polling engine: fetches an instance's delta page by page, as its descriptor's compiled
//! polling plan says.
//!
//! [`PollEngine::pages`] streams pages ([`Run`]) so a caller can enqueue each one and stop at a
//! deadline; every page carries the checkpoint to store once its items are safely enqueued. The
//! engine holds what runs share: the HTTP client, the OAuth2 refresher, the per-instance rate
//! limiters and the per-credential rate budgets.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use switchboard_core::mapping::FieldMapper;
use switchboard_core::mapping::projection::Projection;
use switchboard_core::polling::{OAuth2Plan, PollError, PollRequest};
use switchboard_core::{Descriptor, IngestionKind};

use crate::budget::BudgetBook;
use crate::client::{self, LazyHttp};
use crate::credentials::{self, Credentials};
use crate::delta;
use crate::egress::{EgressAllow, EgressGuard};
use crate::oauth::{self, TokenRefresher};
use crate::ratelimit::Limiter;
use crate::request::{PageVars, Vars, render_url};
use crate::retry::RetryPolicy;
use crate::run::{Run, RunSetup};
use crate::session::{Parts, Session};
use crate::timer::{Timer, TokioTimer};
use crate::token;

/// Largest response body accepted by default, in bytes (8 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Most items accepted in one page by default.
pub const DEFAULT_MAX_ITEMS_PER_PAGE: usize = 10_000;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// Timeout of one HTTP request (connect, answer and body), OAuth2 token requests included;
    /// a health check uses its own, shorter one.
    pub request_timeout: Duration,
    /// Timeout of establishing a connection.
    pub connect_timeout: Duration,
    /// The operator's exceptions to the egress guard (none by default: only public addresses
    /// are reachable).
    pub egress: EgressAllow,
    /// Retry limits.
    pub retry: RetryPolicy,
    /// OAuth2 access tokens are refreshed this long before they expire.
    pub refresh_buffer: Duration,
    /// Page limit per run when neither the request nor the descriptor (`maxPages`) sets one.
    pub default_max_pages: u32,
    /// Largest response body accepted, in bytes: a larger one is refused as too large while
    /// it streams in, never buffered whole.
    pub max_response_bytes: usize,
    /// Most items accepted in one page; a larger page fails the run with an error naming the
    /// limit.
    pub max_items_per_page: usize,
    /// The clock (a [`crate::ManualTimer`] in tests).
    pub timer: Arc<dyn Timer>,
    /// Whether the consumer only maps the items with the descriptor's polling mapping (as
    /// `switchboard poll` does) instead of forwarding them whole (as the poller does). Each
    /// page is then parsed building only what that mapping and the run read
    /// (`switchboard_core::mapping::projection`), and [`Page::items`](switchboard_core::polling::Page)
    /// hold only those parts. Off by default.
    pub mapped_items_only: bool,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            egress: EgressAllow::none(),
            retry: RetryPolicy::default(),
            refresh_buffer: Duration::from_secs(60),
            default_max_pages: 100,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_items_per_page: DEFAULT_MAX_ITEMS_PER_PAGE,
            timer: Arc::new(TokioTimer),
            mapped_items_only: false,
        }
    }
}

/// Polls APIs as descriptors say. Build one per process and share it: it holds the HTTP client
/// (behind the egress guard), the OAuth2 refresher (single-flight per credential) and the
/// per-instance rate limiters.
#[derive(Debug)]
pub struct PollEngine {
    pub(crate) http: LazyHttp,
    pub(crate) guard: EgressGuard,
    pub(crate) options: PollOptions,
    pub(crate) refresher: TokenRefresher,
    limiters: Mutex<HashMap<String, Arc<Limiter>>>,
    /// Rate budgets announced by APIs, per credential, shared by every run of this engine.
    budgets: BudgetBook,
}

impl PollEngine {
    /// An engine with its own HTTP client ([`crate::client::build`]), built now: every request
    /// it makes passes the egress guard with `options.egress`'s exceptions, follows no redirect
    /// by itself, and times out (`options.connect_timeout`, `options.request_timeout`). Fails
    /// when the client cannot be built (its TLS setup).
    pub fn new(options: PollOptions) -> Result<Self, PollError> {
        let engine = Self::lazy(options);
        engine.http()?;
        Ok(engine)
    }

    /// The same engine as [`PollEngine::new`], whose HTTP client is built by the first request
    /// that needs it ([`LazyHttp`]): a process that never polls never loads the root
    /// certificates. A client that cannot be built fails that request with a configuration
    /// error.
    pub fn lazy(options: PollOptions) -> Self {
        let guard = EgressGuard::new(options.egress.clone());
        let http = LazyHttp::guarded(&guard, options.connect_timeout, options.request_timeout);
        let refresher =
            TokenRefresher::new(http.clone(), options.timer.clone(), options.refresh_buffer).with_retry(options.retry);
        Self { http, guard, options, refresher, limiters: Mutex::new(HashMap::new()), budgets: BudgetBook::default() }
    }

    /// The engine's guarded HTTP client, for requests made on a tenant's behalf outside a poll
    /// (prefer [`PollEngine::exchange_code`] for the OAuth2 code exchange); built now if no
    /// request has needed it yet.
    pub fn http(&self) -> Result<&reqwest::Client, PollError> {
        self.http.get().map_err(client::build_error)
    }

    /// Whether the engine's HTTP client has been built yet.
    pub fn http_is_built(&self) -> bool {
        self.http.is_built()
    }

    /// The engine's egress guard.
    pub fn guard(&self) -> &EgressGuard {
        &self.guard
    }

    /// The engine's settings.
    pub fn options(&self) -> &PollOptions {
        &self.options
    }

    /// The shared OAuth2 refresher.
    pub fn refresher(&self) -> &TokenRefresher {
        &self.refresher
    }

    /// The same as [`PollEngine::new`].
    pub fn with_default_client(options: PollOptions) -> Result<Self, PollError> {
        Self::new(options)
    }

    /// Starts a run of `descriptor` for one instance; pages come from [`Run::next_page`].
    pub fn pages<'a>(&'a self, descriptor: &'a Descriptor, request: PollRequest<'a>) -> Result<Run<'a>, PollError> {
        let plan = descriptor.polling().ok_or_else(|| PollError::NotPolling(descriptor.id().to_owned()))?;
        let requests = &plan.requests;
        let checkpoint = request.checkpoint.unwrap_or_default();

        let config = descriptor.effective_config(request.config);
        // The endpoint's origin does not depend on the partition: placeholders stand in for its values.
        let probe_partition: Option<BTreeMap<String, String>> = plan.partitions.as_ref().map(|p| {
            p.sources.iter().flat_map(|s| s.field_names()).map(|f| (f.to_owned(), "partition".to_owned())).collect()
        });
        let probe = PageVars {
            vars: Vars::instance(&config, request.credentials),
            page_size: requests.pagination.as_ref().map(|p| p.page_size),
            partition: probe_partition.as_ref(),
            window_end: None,
        };
        let zone = delta::time_zone(&requests.delta, &probe.vars)?;
        let origin = render_url(&requests.endpoint, &probe)?.origin();
        let max_pages = request
            .max_pages
            .or_else(|| requests.pagination.as_ref().and_then(|p| p.max_pages))
            .unwrap_or(self.options.default_max_pages)
            .max(1);

        let timer = &self.options.timer;
        let mut session = Session::new(
            self.parts(),
            descriptor.auth(),
            descriptor.allowed_hosts(),
            config,
            request.credentials.clone(),
            self.options.request_timeout,
        );
        session.limiter =
            Some(self.limiter(descriptor.id(), &session.config, request.credentials, requests.rate_limit_rpm));
        session.deadline = request.time_budget.map(|budget| timer.now() + budget);
        session.rules = &requests.responses;
        session.budget = requests.rate_budget.as_ref().map(|budget| (&self.budgets, budget));
        let projection = if self.options.mapped_items_only {
            let mapping = descriptor.mapper(IngestionKind::Polling).map(FieldMapper::item_projection);
            plan.items.page_projection(requests, mapping.unwrap_or(&Projection::All))
        } else {
            Projection::All
        };
        Run::start(RunSetup {
            session,
            requests,
            items: &plan.items,
            projection,
            partitions: plan.partitions.as_ref(),
            checkpoint,
            zone,
            origin,
            max_pages,
            max_items: self.options.max_items_per_page,
        })
    }

    /// The instance's limiter, shared by every run of that instance in this process.
    fn limiter(
        &self,
        connector_id: &str,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
        rpm: u32,
    ) -> Arc<Limiter> {
        // OAuth2 tokens change on every refresh; the instance stays the same.
        let token_keys = [oauth::ACCESS_TOKEN, oauth::REFRESH_TOKEN, oauth::EXPIRES_AT];
        let stable = credentials
            .keys()
            .filter(|k| !token_keys.contains(k))
            .map(|k| (k, credentials::expose(credentials, k).unwrap_or_default()));
        let mut hash = Sha256::new();
        for (k, v) in config.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(stable) {
            hash.update(k.as_bytes());
            hash.update([0]);
            hash.update(v.as_bytes());
            hash.update([0]);
        }
        let key = format!("{connector_id}/{rpm}/{}", hex::encode(&hash.finalize()[..12]));
        let mut limiters = self.limiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        limiters.entry(key).or_insert_with(|| Arc::new(Limiter::per_minute(rpm, self.options.timer.clone()))).clone()
    }
}

impl PollEngine {
    /// Exchanges an OAuth2 authorisation code for tokens ([`crate::oauth::exchange_code`])
    /// with this engine's guarded client. A token URL the egress guard refuses is an
    /// `egress_denied` configuration error.
    pub async fn exchange_code(
        &self,
        oauth: &OAuth2Plan,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
        grant: crate::oauth::CodeGrant<'_>,
        limits: crate::oauth::TokenLimits,
    ) -> Result<Credentials, PollError> {
        token::admit_token_url(&self.guard, oauth, config, credentials)?;
        match crate::oauth::exchange_code(self.http()?, oauth, config, credentials, grant, limits).await {
            Ok(credentials) => Ok(credentials),
            Err(e) => Err(token::explain(&self.guard, oauth, config, credentials, e).await),
        }
    }

    /// What a session borrows from the engine.
    pub(crate) fn parts(&self) -> Parts<'_> {
        Parts {
            http: &self.http,
            guard: &self.guard,
            timer: &self.options.timer,
            refresher: &self.refresher,
            retry: self.options.retry,
            max_body: self.options.max_response_bytes,
        }
    }
}
