//! Helpers of `bench/gateway.sh`.
//!
//! - `gateway_bench handler [REQUESTS]`: in-process latency of signed GitHub `pull_request`
//!   deliveries through the gateway router over SQLite stores; the same with a no-op queue and
//!   rate limiter (what the gateway costs besides its two writes); and a bare axum handler that
//!   reads the body and answers 202. Prints one JSON object.
//! - `gateway_bench seed-aws`: registers the GitHub descriptor and the `demo-project` instance
//!   (secret "It's a Secret to Everybody", as in `events/webhook-gateway/`) on the AWS-compatible
//!   server of `AWS_ENDPOINT_URL`, for the cold-start run.
//! - `gateway_bench seed-embedded DB`: the same in the SQLite database `DB`.
//! - `gateway_bench lambda-embedded DB`: the webhook gateway function as the `webhook-gateway`
//!   binary runs it (same logging, same `lambda_http` service) but over the SQLite stores of
//!   `DB`, for `bench/coldstart.sh`'s first response without a local AWS server in the way.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use switchboard_app::{App, Settings};
use switchboard_core::Descriptor;
use switchboard_core::ports::{
    Credentials, EntryFailure, InstanceKey, NewInstance, QueueMessage, QueueSender, RateDecision, RateLimiter,
    StoreError, Stores,
};
use switchboard_embedded::Embedded;
use switchboard_lambda::{ColdStart, api_gateway, logging};
use switchboard_webhook_gateway::{GatewaySettings, GatewayState, router};

const SECRET: &str = "It's a Secret to Everybody";
const PROJECT: &str = "demo-project";
const WARM_UP: usize = 200;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("handler") => {
            let requests = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(5000);
            handler(requests).await
        }
        Some("seed-aws") => seed_aws().await,
        Some("seed-embedded") => seed(&Embedded::open(&database(&args)?)?.stores()).await,
        Some("lambda-embedded") => lambda_embedded(&database(&args)?).await,
        _ => bail!(
            "usage: gateway_bench handler [REQUESTS] | gateway_bench seed-aws | gateway_bench seed-embedded DB \
             | gateway_bench lambda-embedded DB"
        ),
    }
}

/// The database argument of the embedded subcommands.
fn database(args: &[String]) -> anyhow::Result<PathBuf> {
    args.get(1).map(PathBuf::from).context("give the SQLite database's path")
}

/// Runs the gateway function over the SQLite stores of `database` (seeded beforehand).
async fn lambda_embedded(database: &std::path::Path) -> anyhow::Result<()> {
    logging::init();
    let embedded = Embedded::open(database)?;
    let gateway = GatewaySettings { rate_limit: u32::MAX, ..GatewaySettings::default() };
    let ingest = Arc::new(embedded.ingest_queue());
    let state = App::assemble(embedded.stores(), Settings { gateway, ..Settings::default() })
        .gateway(ingest.clone())
        .with_send_once(ingest);
    lambda_http::run(api_gateway::gateway_service(state)).await.map_err(|e| anyhow::anyhow!(e))
}

/// Times `requests` deliveries through the gateway and through the bare peer.
async fn handler(requests: usize) -> anyhow::Result<()> {
    let dir = tempfile::TempDir::new()?;
    let embedded = Embedded::open(&dir.path().join("bench.db"))?;
    let stores = embedded.stores();
    seed(&stores).await?;
    let gateway = GatewaySettings { rate_limit: u32::MAX, ..GatewaySettings::default() };
    let ingest = Arc::new(embedded.ingest_queue());
    let state = App::assemble(stores, Settings { gateway, ..Settings::default() })
        .gateway(ingest.clone())
        .with_send_once(ingest);
    let gateway = router(state.clone());
    let no_writes = router(GatewayState {
        ingest: Arc::new(NoopQueue),
        ingest_once: None,
        rate_limiter: Arc::new(AllowAll),
        ..state
    });
    let bare = Router::new()
        .route("/webhooks/{connector_id}/{project_id}", post(|_body: Bytes| async { StatusCode::ACCEPTED }));

    let body = Bytes::from(std::fs::read(repo_path("tests/fixtures/github-prs/pull_request.opened.json"))?);
    let gateway_times = time_requests(gateway, &body, requests).await?;
    let no_write_times = time_requests(no_writes, &body, requests).await?;
    let bare_times = time_requests(bare, &body, requests).await?;
    let queued = embedded.ingest_queue().depth().await?;
    let summary = json!({
        "requests": requests,
        "gateway": percentiles(gateway_times),
        "gateway_no_writes": percentiles(no_write_times),
        "bare": percentiles(bare_times),
        "enqueued": queued,
    });
    println!("{summary}");
    Ok(())
}

/// Sends warm-up plus `requests` signed deliveries one after the other; returns the timed ones.
async fn time_requests(mut service: Router, body: &Bytes, requests: usize) -> anyhow::Result<Vec<Duration>> {
    let signature = format!("sha256={}", hmac_hex(body));
    let mut times = Vec::with_capacity(requests);
    for n in 0..WARM_UP + requests {
        let request = Request::post(format!("/webhooks/github-prs/{PROJECT}"))
            .header("content-type", "application/json")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", format!("bench-{n}"))
            .header("x-hub-signature-256", &signature)
            .body(Body::from(body.clone()))?;
        let started = Instant::now();
        // A Router is always ready, so `call` needs no `poll_ready` first.
        let response = tower::Service::<Request<Body>>::call(&mut service, request).await?;
        let elapsed = started.elapsed();
        if response.status() != StatusCode::ACCEPTED {
            bail!("delivery {n} answered {}", response.status());
        }
        if n >= WARM_UP {
            times.push(elapsed);
        }
    }
    Ok(times)
}

/// Accepts every message and stores nothing.
struct NoopQueue;

#[async_trait]
impl QueueSender for NoopQueue {
    async fn send_entries(&self, _: &[QueueMessage]) -> Result<Vec<EntryFailure>, StoreError> {
        Ok(Vec::new())
    }
}

/// Allows every request and counts nothing.
struct AllowAll;

#[async_trait]
impl RateLimiter for AllowAll {
    async fn acquire(&self, _: &str, limit: u32, _: Duration) -> Result<RateDecision, StoreError> {
        Ok(RateDecision::Allowed { remaining: limit })
    }
}

fn percentiles(mut times: Vec<Duration>) -> serde_json::Value {
    times.sort();
    let at = |q: f64| {
        let index = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
        times[index].as_secs_f64() * 1e6
    };
    let mean = times.iter().map(Duration::as_secs_f64).sum::<f64>() / times.len() as f64 * 1e6;
    json!({"p50_us": at(0.50), "p99_us": at(0.99), "mean_us": mean})
}

/// Registers the GitHub descriptor and the demo instance on the AWS-compatible server.
async fn seed_aws() -> anyhow::Result<()> {
    let start = ColdStart::new().await;
    let stores = start.env.aws_settings()?.stores(&start.clients);
    seed(&stores).await.context("seeding the AWS stores")?;
    eprintln!("seeded github-prs and instance {PROJECT}");
    Ok(())
}

async fn seed(stores: &Stores) -> anyhow::Result<()> {
    let descriptor = Descriptor::from_file(&repo_path("descriptors/github-prs.json"))?;
    stores.descriptors.upsert_built_in(descriptor.model()).await?;
    let new = NewInstance { key: InstanceKey::new(PROJECT, "github-prs"), config: Default::default(), enabled: true };
    let credentials: Credentials = [("webhookSecret", SECRET)].into_iter().collect();
    match stores.create_instance(&new, &credentials).await {
        Ok(_) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

fn hmac_hex(body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}
