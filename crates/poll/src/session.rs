//! One run's HTTP conversation with an API: pacing (`rateLimitRpm`), the credential's rate
//! budget from response headers ([`crate::budget`]), auth (refreshing OAuth2 tokens when needed
//! and once after a 401), the egress guard and redirects followed by hand
//! ([`Session::exchange`]), the descriptor's response rules, retries with backoff or the API's
//! requested wait, and classification of every failure.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, USER_AGENT};
use secrecy::SecretString;
use url::Url;

use serde_json::Value;
use switchboard_core::hosts::HostAllowlist;
use switchboard_core::polling::rules::first_match;
use switchboard_core::polling::{
    AuthPlan, FailureClass, PollError, RateBudgetPlan, ResponseRulePlan, RuleAction, RuleInput, RunNote,
};

use crate::auth::{self, HttpRequest};
use crate::budget::{Admission, BudgetBook};
use crate::client::{self, LazyHttp};
use crate::credentials::{Credentials, redact};
use crate::egress::{self, EgressDenied, EgressGuard};
use crate::oauth::TokenRefresher;
use crate::ratelimit::Limiter;
use crate::redirect::{HOST_NOT_ALLOWED, MAX_REDIRECTS, next_hop};
use crate::request::display_url;
use crate::retry::{RetryPolicy, is_rate_limit_403, rate_limit_wait};
use crate::timer::Timer;
use crate::token;

/// The `User-Agent` sent when the descriptor sets none (some APIs, e.g. GitHub, require one).
const DEFAULT_USER_AGENT: &str = concat!("switchboard/", env!("CARGO_PKG_VERSION"));
/// How much of an error body is quoted in an error.
const DETAIL_LIMIT: usize = 300;
/// How much of an error (non-2xx) body is read for a response rule's body condition.
const RULE_BODY_LIMIT: usize = 64 * 1024;

/// A successful (2xx) response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The URL fetched.
    pub url: Url,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Vec<u8>,
    /// The body as JSON, when a response rule already parsed it.
    pub json: Option<Value>,
}

/// What a request came to.
#[derive(Debug)]
pub enum Outcome {
    /// A 2xx answer no response rule claimed.
    Response(Box<HttpResponse>),
    /// A response rule said to ignore the answer.
    Ignored {
        /// Its status.
        status: u16,
    },
    /// A response rule said the checkpoint is no longer valid.
    Reset {
        /// Its status.
        status: u16,
        /// The rule, described.
        rule: String,
    },
}

/// Why [`Session::send`] gave up.
#[derive(Debug)]
pub enum SendError {
    /// Waiting for our own rate limit would pass the run's deadline: stop cleanly.
    Deadline,
    /// The credential's rate budget is spent past the run's time (resetting after the
    /// duration, when the API said): stop cleanly.
    Budget(Option<Duration>),
    /// The request failed.
    Failed(PollError),
}

impl From<PollError> for SendError {
    fn from(e: PollError) -> Self {
        Self::Failed(e)
    }
}

/// Why [`Session::exchange`] got no answer.
#[derive(Debug)]
pub enum ExchangeError {
    /// The engine refused to send (egress guard, host allowlist, redirect rules).
    Refused(PollError),
    /// The request failed on the way.
    Failed(reqwest::Error),
}

/// What one attempt produced.
enum Attempt<'r> {
    Done(HttpResponse),
    Rule { rule: &'r ResponseRulePlan, status: u16 },
    Unauthorized,
    RateLimited(Option<Duration>),
    Server(u16),
    Network { message: String, timeout: bool },
    Fatal(PollError),
}

/// What a session borrows from the engine.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'e> {
    pub(crate) http: &'e LazyHttp,
    pub(crate) guard: &'e EgressGuard,
    pub(crate) timer: &'e Arc<dyn Timer>,
    pub(crate) refresher: &'e TokenRefresher,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_body: usize,
}

/// The HTTP side of one run (or one health check).
#[derive(Debug)]
pub struct Session<'e> {
    pub(crate) http: &'e LazyHttp,
    pub(crate) guard: &'e EgressGuard,
    /// The descriptor's `allowedHosts`, which every redirect hop to another host must match.
    pub(crate) hosts: &'e HostAllowlist,
    pub(crate) timer: &'e Arc<dyn Timer>,
    pub(crate) refresher: &'e TokenRefresher,
    pub(crate) auth: &'e AuthPlan,
    pub(crate) config: BTreeMap<String, String>,
    pub(crate) credentials: Credentials,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) max_body: usize,
    pub(crate) limiter: Option<Arc<Limiter>>,
    pub(crate) deadline: Option<Instant>,
    /// The descriptor's response rules (none for a health check).
    pub(crate) rules: &'e [ResponseRulePlan],
    /// The engine's budgets and how this API announces its own, when the descriptor reads it.
    pub(crate) budget: Option<(&'e BudgetBook, &'e RateBudgetPlan)>,
    /// What the run's record should mention (rate budget waits).
    pub(crate) notes: Vec<RunNote>,
    refreshed_pending: Option<Credentials>,
    refreshed_latest: Option<Credentials>,
}

impl<'e> Session<'e> {
    /// A session over the engine's parts, for a descriptor with `auth` and `hosts`; each
    /// request times out after `timeout`.
    pub(crate) fn new(
        parts: Parts<'e>,
        auth: &'e AuthPlan,
        hosts: &'e HostAllowlist,
        config: BTreeMap<String, String>,
        credentials: Credentials,
        timeout: Duration,
    ) -> Self {
        Self {
            http: parts.http,
            guard: parts.guard,
            hosts,
            timer: parts.timer,
            refresher: parts.refresher,
            auth,
            config,
            credentials,
            retry: parts.retry,
            timeout,
            max_body: parts.max_body,
            limiter: None,
            deadline: None,
            rules: &[],
            budget: None,
            notes: Vec::new(),
            refreshed_pending: None,
            refreshed_latest: None,
        }
    }

    /// A session for a request sent beside this session's own (a detail request of a
    /// hydration, in flight with others): the same instance, credentials, limiter, rate budget,
    /// deadline and token cache, answering by `rules`. Hand it back to [`Session::rejoin`].
    pub(crate) fn fork(&self, rules: &'e [ResponseRulePlan]) -> Self {
        Self {
            http: self.http,
            guard: self.guard,
            hosts: self.hosts,
            timer: self.timer,
            refresher: self.refresher,
            auth: self.auth,
            config: self.config.clone(),
            credentials: self.credentials.clone(),
            retry: self.retry,
            timeout: self.timeout,
            max_body: self.max_body,
            limiter: self.limiter.clone(),
            deadline: self.deadline,
            rules,
            budget: self.budget,
            notes: Vec::new(),
            refreshed_pending: None,
            refreshed_latest: None,
        }
    }

    /// Takes back what a [`Session::fork`] learnt: its notes and refreshed credentials.
    pub(crate) fn rejoin(&mut self, mut fork: Self) {
        self.notes.append(&mut fork.notes);
        self.adopt(fork.refreshed_latest.take());
    }

    /// Credentials refreshed since the last call, to persist.
    pub(crate) fn take_refreshed(&mut self) -> Option<Credentials> {
        self.refreshed_pending.take()
    }

    /// The latest refreshed credentials of the whole session.
    pub(crate) fn refreshed(&self) -> Option<&Credentials> {
        self.refreshed_latest.as_ref()
    }

    /// Sends `base` (auth is added here) until it succeeds, a response rule decides, it fails
    /// for good, or retries run out.
    pub(crate) async fn send(&mut self, base: &HttpRequest) -> Result<Outcome, SendError> {
        let endpoint = display_url(&base.url, &self.credentials);
        let mut attempt = 0u32;
        let mut refreshed_after_401 = false;
        let mut refreshed_by_rule = false;
        loop {
            attempt += 1;
            self.pace().await?;
            let (request, bearer) = self.authorise(base).await?;
            let budget_key = self.spend_budget(&request).await?;
            let mut limit = self.retry.max_attempts;
            let (error, wait) = match self.attempt(&request, &endpoint, budget_key.as_deref()).await {
                Attempt::Done(response) => return Ok(Outcome::Response(Box::new(response))),
                Attempt::Rule { rule, status } => {
                    let declared = |class, what: &str| PollError::Declared {
                        endpoint: endpoint.clone(),
                        status,
                        class,
                        rule: format!("{}{what}", rule.describe()),
                    };
                    match rule.action {
                        RuleAction::Ignore => return Ok(Outcome::Ignored { status }),
                        RuleAction::ResetCheckpoint => return Ok(Outcome::Reset { status, rule: rule.describe() }),
                        RuleAction::Fail(class) => return Err(declared(class, "").into()),
                        RuleAction::RefreshTokenThenRetry => match bearer {
                            Some(rejected) if !refreshed_by_rule => {
                                refreshed_by_rule = true;
                                attempt -= 1;
                                self.refresh_after_rejection(&rejected).await?;
                                continue;
                            }
                            Some(_) => {
                                return Err(
                                    declared(FailureClass::Auth, "; still so after refreshing the token").into()
                                );
                            }
                            None => return Err(declared(FailureClass::Auth, "; there is no token to refresh").into()),
                        },
                        RuleAction::Retry { max_attempts } => {
                            limit = max_attempts;
                            let what = format!("; still so after {attempt} attempt(s)");
                            (declared(FailureClass::Transient, &what), self.retry.backoff(attempt))
                        }
                    }
                }
                Attempt::Unauthorized => match bearer {
                    Some(rejected) if !refreshed_after_401 => {
                        refreshed_after_401 = true;
                        attempt -= 1;
                        self.refresh_after_rejection(&rejected).await?;
                        continue;
                    }
                    _ => return Err(PollError::Unauthorized { endpoint, status: 401 }.into()),
                },
                Attempt::Fatal(e) => return Err(e.into()),
                Attempt::RateLimited(asked) => {
                    let error = PollError::RateLimited { endpoint: endpoint.clone(), retry_after: asked };
                    match asked {
                        Some(wait) if wait > self.retry.max_rate_limit_wait => return Err(error.into()),
                        Some(wait) => (error, wait),
                        None => (error, self.retry.backoff(attempt)),
                    }
                }
                Attempt::Server(status) => (
                    PollError::Server { endpoint: endpoint.clone(), status, attempts: attempt },
                    self.retry.backoff(attempt),
                ),
                Attempt::Network { message, timeout } => (
                    PollError::Network { endpoint: endpoint.clone(), message, timeout, attempts: attempt },
                    self.retry.backoff(attempt),
                ),
            };
            let past_deadline = self.deadline.is_some_and(|d| self.timer.now() + wait >= d);
            if attempt >= limit || past_deadline {
                return Err(error.into());
            }
            tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, %error, "retrying");
            self.timer.sleep(wait).await;
        }
    }

    /// Takes a slot of the credential's rate budget for `request` (auth applied), waiting for
    /// the budget's reset when it comes within the run's time (without a deadline: within the
    /// longest rate-limit wait of the retry policy). The budget's key, when there is a budget.
    async fn spend_budget(&mut self, request: &HttpRequest) -> Result<Option<String>, SendError> {
        let Some((book, plan)) = self.budget else { return Ok(None) };
        let key = BudgetBook::key(request);
        loop {
            let wait = match book.admit(&key, plan, self.timer.utc_now()) {
                Admission::Go => return Ok(Some(key)),
                Admission::SpentUnknown => return Err(SendError::Budget(None)),
                Admission::SpentFor(wait) => wait,
            };
            let fits = match self.deadline {
                Some(deadline) => self.timer.now() + wait < deadline,
                None => wait <= self.retry.max_rate_limit_wait,
            };
            if !fits {
                return Err(SendError::Budget(Some(wait)));
            }
            tracing::info!(wait_s = wait.as_secs(), "the credential's rate budget is spent; waiting for its reset");
            // Rounded up: a wait of 0.4 s is reported as 1 s.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            self.notes.push(RunNote::RateBudgetWaited { seconds });
            self.timer.sleep(wait).await;
        }
    }

    /// Waits for the instance's rate limit.
    async fn pace(&self) -> Result<(), SendError> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        while let Some(wait) = limiter.check() {
            if self.deadline.is_some_and(|d| self.timer.now() + wait >= d) {
                return Err(SendError::Deadline);
            }
            self.timer.sleep(wait).await;
        }
        Ok(())
    }

    /// `base` with auth applied; for OAuth2 also the bearer token used.
    pub(crate) async fn authorise(
        &mut self,
        base: &HttpRequest,
    ) -> Result<(HttpRequest, Option<SecretString>), PollError> {
        let mut request = base.clone();
        if !request.headers.contains_key(USER_AGENT) {
            request.headers.insert(USER_AGENT, HeaderValue::from_static(DEFAULT_USER_AGENT));
        }
        if !request.headers.contains_key(ACCEPT) {
            request.headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        let bearer = match self.auth {
            AuthPlan::OAuth2(oauth) => {
                token::admit_token_url(self.guard, oauth, &self.config, &self.credentials)?;
                let token = match self.refresher.access_token(oauth, &self.config, &self.credentials).await {
                    Ok(token) => token,
                    Err(e) => return Err(token::explain(self.guard, oauth, &self.config, &self.credentials, e).await),
                };
                self.adopt(token.refreshed);
                Some(token.token)
            }
            other => self.refresher.issued_token(self.guard, other, &self.config, &mut self.credentials, None).await?,
        };
        auth::apply(self.auth, &self.credentials, bearer.as_ref(), &mut request)?;
        Ok((request, bearer))
    }

    /// Replaces a token the API rejected.
    pub(crate) async fn refresh_after_rejection(&mut self, rejected: &SecretString) -> Result<(), PollError> {
        if let AuthPlan::OAuth2(oauth) = self.auth {
            let token = match self.refresher.after_rejection(oauth, &self.config, &self.credentials, rejected).await {
                Ok(token) => token,
                Err(e) => return Err(token::explain(self.guard, oauth, &self.config, &self.credentials, e).await),
            };
            self.adopt(token.refreshed);
        } else {
            let credentials = &mut self.credentials;
            self.refresher.issued_token(self.guard, self.auth, &self.config, credentials, Some(rejected)).await?;
        }
        Ok(())
    }

    fn adopt(&mut self, refreshed: Option<Credentials>) {
        if let Some(credentials) = refreshed {
            self.credentials = credentials.clone();
            self.refreshed_pending = Some(credentials.clone());
            self.refreshed_latest = Some(credentials);
        }
    }

    /// Whether the engine may send `url`: the egress guard (IP-literal hosts; host names are
    /// judged when they are resolved).
    pub(crate) fn admit(&self, url: &url::Url) -> Result<(), PollError> {
        self.guard.check_url(url).map_err(|denied| PollError::Config(denied.to_string()))
    }

    /// Whether a redirect hop from `first` (the request as the instance configured it, whose
    /// host was checked when the instance was saved) may go to `hop`: another host must be
    /// among the descriptor's `allowedHosts`.
    fn admit_hop(&self, first: &url::Url, hop: &url::Url) -> Result<(), PollError> {
        let host = hop.host_str().unwrap_or_default();
        if host == first.host_str().unwrap_or_default() || self.hosts.permits(host) {
            return Ok(());
        }
        Err(PollError::Config(format!(
            "{HOST_NOT_ALLOWED}: {} redirected to {host}, which is not among the connector's allowedHosts ({})",
            display_url(first, &self.credentials),
            self.hosts
        )))
    }

    /// Sends `request` with the session's timeout, following up to [`MAX_REDIRECTS`]
    /// redirects; each hop is admitted first (egress guard, `allowedHosts`), and a hop to
    /// another origin carries no credentials. The answer is the first that is not a redirect.
    pub(crate) async fn exchange(&self, request: &HttpRequest) -> Result<reqwest::Response, ExchangeError> {
        let mut current = request.clone();
        for _ in 0..=MAX_REDIRECTS {
            self.admit(&current.url).map_err(ExchangeError::Refused)?;
            self.admit_hop(&request.url, &current.url).map_err(ExchangeError::Refused)?;
            let port = current.url.port_or_known_default().unwrap_or(0);
            let http = self.http.get().map_err(|e| ExchangeError::Refused(client::build_error(e)))?;
            let sending = current.build(http).timeout(self.timeout).send();
            let response = egress::to_port(port, sending).await.map_err(ExchangeError::Failed)?;
            match next_hop(&current, response.status(), response.headers(), &self.credentials) {
                Ok(None) => return Ok(response),
                Ok(Some(next)) => current = next,
                Err(e) => return Err(ExchangeError::Refused(e)),
            }
        }
        Err(ExchangeError::Refused(PollError::Config(format!(
            "{} redirected more than {MAX_REDIRECTS} times",
            display_url(&request.url, &self.credentials)
        ))))
    }

    async fn attempt(&self, request: &HttpRequest, endpoint: &str, budget_key: Option<&str>) -> Attempt<'e> {
        let exchanged = self.exchange(request).await;
        if exchanged.is_err()
            && let (Some(key), Some((book, _))) = (budget_key, self.budget)
        {
            book.release(key);
        }
        let response = match exchanged {
            Ok(response) => response,
            Err(ExchangeError::Refused(e)) => return Attempt::Fatal(e),
            Err(ExchangeError::Failed(e)) => return network(e, &self.credentials),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let url = response.url().clone();
        if let (Some(key), Some((book, plan))) = (budget_key, self.budget) {
            book.observe(key, plan, &headers, self.timer.utc_now());
        }
        let rules_read_body = self.rules.iter().any(ResponseRulePlan::reads_body);
        let body = if (200..=299).contains(&status) {
            match read_body(response, self.max_body).await {
                Ok(body) => body,
                Err(BodyError::TooLarge) => {
                    return Attempt::Fatal(PollError::TooLarge { endpoint: endpoint.to_owned(), limit: self.max_body });
                }
                Err(BodyError::Read(e)) => return network(e, &self.credentials),
            }
        } else if rules_read_body {
            read_body(response, RULE_BODY_LIMIT).await.unwrap_or_default()
        } else {
            read_body(response, DETAIL_LIMIT * 4).await.unwrap_or_default()
        };
        let json = if rules_read_body { serde_json::from_slice::<Value>(&body).ok() } else { None };
        let values = |name: &str| -> Vec<String> {
            headers.get_all(name).iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect()
        };
        let input = RuleInput { status, header: &values, body: json.as_ref() };
        if let Some(rule) = first_match(self.rules, input) {
            tracing::debug!(status, rule = %rule.describe(), "a response rule matched");
            return Attempt::Rule { rule, status };
        }
        match status {
            200..=299 => Attempt::Done(HttpResponse { url, headers, body, json }),
            401 => Attempt::Unauthorized,
            403 if is_rate_limit_403(&headers) => Attempt::RateLimited(rate_limit_wait(&headers, self.timer.utc_now())),
            403 => Attempt::Fatal(PollError::Unauthorized { endpoint: endpoint.to_owned(), status }),
            429 => Attempt::RateLimited(rate_limit_wait(&headers, self.timer.utc_now())),
            503 if headers.contains_key(reqwest::header::RETRY_AFTER) => {
                Attempt::RateLimited(rate_limit_wait(&headers, self.timer.utc_now()))
            }
            500..=599 => Attempt::Server(status),
            _ => {
                let text = String::from_utf8_lossy(&body[..body.len().min(DETAIL_LIMIT * 4)]);
                let detail: String = redact(text.trim(), &self.credentials).chars().take(DETAIL_LIMIT).collect();
                Attempt::Fatal(PollError::Rejected { endpoint: endpoint.to_owned(), status, detail })
            }
        }
    }
}

fn network(error: reqwest::Error, credentials: &Credentials) -> Attempt<'static> {
    // The guard refused the connection: a configuration error naming the host, not a network
    // detail, and not worth retrying.
    if let Some(denied) = EgressDenied::find(&error) {
        return Attempt::Fatal(PollError::Config(denied.to_string()));
    }
    let timeout = error.is_timeout();
    let message = if timeout { "timed out".to_owned() } else { redact(&describe(&error.without_url()), credentials) };
    Attempt::Network { message, timeout }
}

/// A failed request as a [`PollError`] (for callers outside the retry loop): a refusal of the
/// egress guard as such, anything else as [`PollError::Network`].
pub(crate) fn network_error(endpoint: String, error: reqwest::Error, credentials: &Credentials) -> PollError {
    match network(error, credentials) {
        Attempt::Network { message, timeout } => PollError::Network { endpoint, message, timeout, attempts: 1 },
        Attempt::Fatal(e) => e,
        _ => PollError::Network { endpoint, message: "request failed".to_owned(), timeout: false, attempts: 1 },
    }
}

/// The error and its causes (`without_url` first: the URL may carry an API key).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
