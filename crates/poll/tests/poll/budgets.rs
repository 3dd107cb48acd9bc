//! Rate budgets announced in response headers, shared per credential: a GitHub-shaped fake
//! counts every request against its token's hourly budget (`X-RateLimit-Remaining`,
//! `X-RateLimit-Reset` as a unix time; or IETF `RateLimit-Remaining` / `RateLimit-Reset` in
//! seconds) and answers 403 past it. Two instances sharing a token share the budget, the engine
//! never goes past it, waits for a reset within the run's time, and otherwise stops cleanly with
//! its checkpoint kept.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{Value, json};
use switchboard_core::Descriptor;
use switchboard_core::polling::{Checkpoint, PollRequest, RunNote, StopReason};
use switchboard_poll::{Credentials, ManualTimer, PollEngine, Timer};
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::*;

/// GitHub's per-token hourly budget of `limit` requests, in windows of the engine's clock.
#[derive(Clone)]
struct BudgetFake {
    timer: ManualTimer,
    limit: u64,
    ietf: bool,
    repos: Arc<Mutex<HashMap<String, Dataset>>>,
    used: Arc<Mutex<HashMap<(String, i64), u64>>>,
    /// Requests answered 403 because the budget was spent.
    violations: Arc<AtomicUsize>,
    /// Requests per token.
    per_token: Arc<Mutex<HashMap<String, usize>>>,
}

impl BudgetFake {
    fn new(timer: &ManualTimer, limit: u64, ietf: bool) -> Self {
        Self {
            timer: timer.clone(),
            limit,
            ietf,
            repos: Arc::default(),
            used: Arc::default(),
            violations: Arc::default(),
            per_token: Arc::default(),
        }
    }

    fn repo(&self, name: &str, items: u64) -> Dataset {
        let data = Dataset::with(items);
        self.repos.lock().unwrap().insert(name.to_owned(), data.clone());
        data
    }

    fn sent_with(&self, token: &str) -> usize {
        self.per_token.lock().unwrap().get(token).copied().unwrap_or(0)
    }
}

impl Respond for BudgetFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let token =
            request.headers.get("authorization").unwrap().to_str().unwrap().trim_start_matches("Bearer ").to_owned();
        *self.per_token.lock().unwrap().entry(token.clone()).or_default() += 1;
        let now = self.timer.utc_now();
        let window = (now - t0()).num_seconds().div_euclid(3600);
        let reset_at = t0() + TimeDelta::hours(window + 1);
        let used = {
            let mut used = self.used.lock().unwrap();
            let count = used.entry((token, window)).or_default();
            *count += 1;
            *count
        };
        let remaining = self.limit.saturating_sub(used);
        let headers = |response: ResponseTemplate| {
            if self.ietf {
                response
                    .insert_header("RateLimit-Limit", self.limit.to_string())
                    .insert_header("RateLimit-Remaining", remaining.to_string())
                    .insert_header("RateLimit-Reset", (reset_at - now).num_seconds().to_string())
            } else {
                response
                    .insert_header("X-RateLimit-Limit", self.limit.to_string())
                    .insert_header("X-RateLimit-Remaining", remaining.to_string())
                    .insert_header("X-RateLimit-Reset", reset_at.timestamp().to_string())
            }
        };
        if used > self.limit {
            self.violations.fetch_add(1, Ordering::SeqCst);
            return headers(ResponseTemplate::new(403).set_body_json(json!({"message": "API rate limit exceeded"})));
        }
        let repo = request.url.path().split('/').nth(3).unwrap().to_owned();
        let data = self.repos.lock().unwrap()[&repo].clone();
        headers(GitHubFake(data).respond(request))
    }
}

fn budget_descriptor() -> Descriptor {
    compile(&budget_doc(true))
}

fn budget_doc(with_budget: bool) -> Value {
    let mut doc = descriptor_doc(
        pat_auth(),
        json!({
            "endpoint": "{{baseUrl}}/repos/{{config.owner}}/{{config.repo}}/issues?state=all&sort=updated&direction=asc",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "pagination": {"type": "link_header", "pageSize": 2, "pageSizeParam": "per_page"},
            "rateBudget": {}
        }),
        "$",
    );
    let fields = doc["configFields"].as_array_mut().unwrap();
    fields.push(json!({"key": "owner", "label": "Owner", "type": "text", "required": true}));
    fields.push(json!({"key": "repo", "label": "Repository", "type": "text", "required": true}));
    if !with_budget {
        doc["ingestion"].as_object_mut().unwrap().remove("rateBudget");
    }
    doc
}

async fn start(fake: &BudgetFake) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path_regex("^/repos/octo/[a-z]+/issues$")).respond_with(fake.clone()).mount(&server).await;
    server
}

struct Instance {
    config: BTreeMap<String, String>,
    credentials: Credentials,
}

fn instance(server: &MockServer, repo: &str, token: &str) -> Instance {
    let mut config = config(server);
    config.insert("owner".into(), "octo".into());
    config.insert("repo".into(), repo.into());
    Instance { config, credentials: [("token", token)].into_iter().collect() }
}

async fn poll(
    engine: &PollEngine,
    descriptor: &Descriptor,
    at: &Instance,
    checkpoint: Option<&Checkpoint>,
    time_budget: Option<Duration>,
) -> (Delta, Vec<RunNote>) {
    let request = PollRequest {
        checkpoint: checkpoint.map(|c| Checkpoint::parse(&c.to_string()).unwrap()),
        time_budget,
        ..PollRequest::new(&at.config, &at.credentials)
    };
    let mut run = engine.pages(descriptor, request).unwrap();
    let mut items: Vec<Value> = Vec::new();
    while let Some(page) = run.next_page().await.unwrap_or_else(|e| panic!("{e}")) {
        items.extend(page.items);
    }
    let summary = run.summary();
    let delta = Delta {
        items,
        new_checkpoint: summary.checkpoint,
        pages: summary.pages,
        refreshed_credentials: summary.refreshed_credentials,
        guard: summary.guard,
        stop: summary.stop.unwrap(),
    };
    (delta, summary.notes)
}

#[tokio::test]
async fn two_instances_sharing_a_token_share_one_budget_and_never_pass_it() {
    let (engine, timer) = engine();
    let fake = BudgetFake::new(&timer, 5, false);
    let (a_data, _, _) = (fake.repo("alpha", 6), fake.repo("beta", 6), fake.repo("gamma", 6));
    let server = start(&fake).await;
    let descriptor = budget_descriptor();
    let alpha = instance(&server, "alpha", "ghp_shared");
    let beta = instance(&server, "beta", "ghp_shared");
    let gamma = instance(&server, "gamma", "ghp_other");

    // Alpha spends three of the token's five requests.
    let (first_alpha, _) = poll(&engine, &descriptor, &alpha, None, None).await;
    assert_eq!((ids(&first_alpha.items), first_alpha.stop), ((1..=6).collect::<Vec<_>>(), StopReason::Complete));

    // Beta, another instance with the same token, gets the two left, then stops cleanly: the
    // reset is an hour away, beyond this run.
    let (first_beta, notes) = poll(&engine, &descriptor, &beta, None, None).await;
    assert_eq!(ids(&first_beta.items), vec![1, 2, 3, 4]);
    assert_eq!(first_beta.stop, StopReason::RateBudget);
    assert!(first_beta.new_checkpoint.is_resuming(), "the checkpoint resumes at the third page");
    // The reset an hour away, plus the second of margin for whole-second reset headers.
    assert_eq!(notes, [RunNote::RateBudgetSpent { reset_in_seconds: Some(3601) }]);
    assert!(notes[0].to_string().contains("resets in 3601 s"), "{}", notes[0]);

    // Another token has its own budget.
    let (first_gamma, _) = poll(&engine, &descriptor, &gamma, None, None).await;
    assert_eq!((first_gamma.items.len(), first_gamma.stop), (6, StopReason::Complete));

    assert_eq!(fake.sent_with("ghp_shared"), 5, "exactly the budget");
    assert_eq!(fake.violations.load(Ordering::SeqCst), 0, "never past it");

    // An hour later beta continues where it stopped, and alpha gets only what is new.
    timer.advance(Duration::from_secs(3600));
    let (second_beta, _) = poll(&engine, &descriptor, &beta, Some(&first_beta.new_checkpoint), None).await;
    assert_eq!((ids(&second_beta.items), second_beta.stop), (vec![5, 6], StopReason::Complete));
    a_data.add(2);
    let (second_alpha, _) = poll(&engine, &descriptor, &alpha, Some(&first_alpha.new_checkpoint), None).await;
    assert_eq!(ids(&second_alpha.items), vec![7, 8]);
    assert_eq!(second_alpha.new_checkpoint.position.as_deref(), Some("2024-05-01T00:07:00Z"));
    assert_eq!(fake.violations.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_reset_within_the_run_is_waited_for_with_ietf_headers() {
    let (engine, timer) = engine();
    let fake = BudgetFake::new(&timer, 2, true);
    fake.repo("alpha", 6);
    let server = start(&fake).await;
    let descriptor = budget_descriptor();
    let alpha = instance(&server, "alpha", "ghp_token");

    let (delta, notes) = poll(&engine, &descriptor, &alpha, None, Some(Duration::from_secs(2 * 3600))).await;
    assert_eq!((ids(&delta.items), delta.stop), ((1..=6).collect::<Vec<_>>(), StopReason::Complete));
    assert_eq!(notes, [RunNote::RateBudgetWaited { seconds: 3600 }]);
    let waits: Vec<Duration> = timer.sleeps().into_iter().filter(|d| *d > Duration::from_secs(1)).collect();
    assert_eq!(waits.len(), 1, "one wait for the reset: {waits:?}");
    assert!(waits[0] > Duration::from_secs(3599), "{waits:?}");
    assert_eq!(fake.violations.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn without_a_declared_budget_the_headers_are_not_followed() {
    let (engine, timer) = engine();
    let fake = BudgetFake::new(&timer, 2, false);
    fake.repo("alpha", 6);
    let server = start(&fake).await;
    let doc = budget_doc(false);
    let descriptor = compile(&doc);
    let alpha = instance(&server, "alpha", "ghp_token");
    let config = alpha.config.clone();
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &alpha.credentials)).await.unwrap_err();
    // The third request went out and met GitHub's 403.
    assert!(fake.violations.load(Ordering::SeqCst) >= 1, "{err}");
}
