//! `switchboard serve`: the whole system in one process on the embedded (SQLite) default — the
//! webhook gateway and registry API on one port, the normaliser as a worker on the durable ingest
//! queue, the poller on a timer — running the same handler libraries as the Lambda functions.

mod admin_token;
mod banner;
mod logging;
mod oidc;
mod workers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::response::IntoResponse as _;
use switchboard_app::{
    App, ENV_BODY_LIMIT_BYTES, ENV_DASHBOARD_ORIGIN, ENV_EGRESS_ALLOW, ENV_HEALTH_FAILURE_THRESHOLD, ENV_PUBLIC_URL,
    ENV_RATE_LIMIT_PER_MINUTE, ENV_SECRET_GRACE_SECONDS, EgressAllow, Settings,
};
use switchboard_core::health_notice::DEFAULT_FAILURE_THRESHOLD;
use switchboard_embedded::Embedded;
use switchboard_http_error::ErrorBody;
use switchboard_normaliser::NormaliserSettings;
use switchboard_poller::PollerSettings;
use switchboard_registry_api::auth::{BearerTokenResolver, CallerResolver};
use switchboard_registry_api::jwt_resolver::FirstOf;
use switchboard_registry_api::{OAuthSettings, SignIn};
use switchboard_webhook_gateway::{
    DEFAULT_BODY_LIMIT_BYTES, DEFAULT_RATE_LIMIT, DEFAULT_SECRET_ROTATION_GRACE, GatewaySettings,
};
use tokio::sync::watch;
use tower::ServiceExt;

pub use logging::LogFormat;

/// Arguments of `switchboard serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address of the HTTP server (webhooks and registry API on one port).
    #[arg(long, env = "SWITCHBOARD_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory holding the SQLite database, its secret key file and the admin token hash.
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", default_value = ".switchboard")]
    data_dir: PathBuf,
    /// Also write every new signal as one JSON line to this file (`-` for stdout). Without it,
    /// signals stay on the local signals queue for a downstream reader.
    #[arg(long)]
    signals_out: Option<PathBuf>,
    /// Log format: `human` (the default; coloured only on a terminal) or `json` (one object per
    /// line).
    #[arg(long, value_enum, env = "SWITCHBOARD_LOG_FORMAT")]
    log_format: Option<LogFormat>,
    /// How often the poller looks for instances that are due, in seconds (each instance keeps
    /// its own interval; a new or re-enabled instance is polled at once).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    poll_tick_seconds: u64,
    /// Consecutive failures after which an instance's `connector_health` notice says it is
    /// failing.
    #[arg(long, value_name = "COUNT", env = ENV_HEALTH_FAILURE_THRESHOLD, default_value_t = DEFAULT_FAILURE_THRESHOLD,
        value_parser = clap::value_parser!(u32).range(1..))]
    health_failure_threshold: u32,
    /// Public base URL of this server, used for the OAuth2 redirect URI (default
    /// `http://<addr>`) and, when given, for the webhooks Switchboard registers at providers
    /// (`<URL>/webhooks/{connectorId}/{projectId}`; without it they are registered by hand).
    #[arg(long, env = ENV_PUBLIC_URL, value_parser = switchboard_registry_api::parse_public_url)]
    public_url: Option<String>,
    /// Webhook deliveries accepted per connector instance per minute; more are answered 429.
    #[arg(long, value_name = "PER_MINUTE", env = ENV_RATE_LIMIT_PER_MINUTE, default_value_t = DEFAULT_RATE_LIMIT,
        value_parser = clap::value_parser!(u32).range(1..))]
    webhook_rate_limit: u32,
    /// Largest webhook body accepted, in bytes; larger ones are answered 413.
    #[arg(long, value_name = "BYTES", env = ENV_BODY_LIMIT_BYTES, default_value_t = DEFAULT_BODY_LIMIT_BYTES,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    webhook_body_limit: usize,
    /// Seconds a webhook signed with an instance's previous secret is still accepted after the
    /// secret is rotated (default one day).
    #[arg(long, value_name = "SECONDS", env = ENV_SECRET_GRACE_SECONDS,
        default_value_t = DEFAULT_SECRET_ROTATION_GRACE.as_secs())]
    webhook_secret_grace: u64,
    /// The only origin (`https://host[:port]`) the OAuth2 callback sends browsers back to
    /// (`returnTo`); default: the origin of the public URL.
    #[arg(long, value_name = "ORIGIN", env = ENV_DASHBOARD_ORIGIN, value_parser = OAuthSettings::parse_dashboard_origin)]
    dashboard_origin: Option<url::Origin>,
    /// Internal addresses that polls, health checks and OAuth2 token requests may reach:
    /// comma-separated hosts, `host:port`s, IP addresses or CIDR blocks (e.g.
    /// `localhost:9000,10.20.0.0/16`). Without it only public addresses are reachable.
    #[arg(long, value_name = "LIST", env = ENV_EGRESS_ALLOW, value_parser = EgressAllow::parse)]
    egress_allow: Option<EgressAllow>,
    /// Forget the generated admin token and print a new one.
    #[arg(long)]
    reset_admin_token: bool,
    /// Dashboard sign-in with an OIDC issuer.
    #[command(flatten)]
    oidc: oidc::OidcArgs,
}

impl Args {
    /// The applications' settings: the Lambda defaults, with these flags (or their environment
    /// variables) and `callback_url` as the OAuth2 redirect URI.
    fn settings(&self, callback_url: url::Url) -> Settings {
        let gateway = GatewaySettings {
            rate_limit: self.webhook_rate_limit,
            body_limit_bytes: self.webhook_body_limit,
            secret_rotation_grace: Duration::from_secs(self.webhook_secret_grace),
            ..GatewaySettings::default()
        };
        let normaliser = NormaliserSettings {
            claim_ttl: workers::DEDUP_CLAIM,
            concurrency: workers::NORMALISER_CONCURRENCY,
            ..NormaliserSettings::default()
        };
        let oauth = OAuthSettings {
            callback_url: Some(callback_url),
            dashboard_origin: self.dashboard_origin.clone(),
            ..OAuthSettings::default()
        };
        let egress = self.egress_allow.clone().unwrap_or_default();
        let public_url = self.public_url.clone();
        let poller = PollerSettings { failure_threshold: self.health_failure_threshold, ..PollerSettings::default() };
        Settings { gateway, normaliser, oauth, egress, public_url, poller, ..Settings::default() }
    }
}

/// Runs until SIGINT or SIGTERM, then stops accepting, finishes in-flight requests and the
/// current batch, and exits.
pub fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    logging::init(args.log_format);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn serve(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    let database = args.data_dir.join("switchboard.db");
    let db = Embedded::open(&database).with_context(|| format!("opening {}", database.display()))?;
    let admin = admin_token::load_or_create(&args.data_dir, args.reset_admin_token)?;

    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{}", args.addr));
    let callback = url::Url::parse(&format!("{}/oauth/callback", public_url.trim_end_matches('/')))
        .with_context(|| format!("--public-url {public_url:?} is not a URL"))?;
    let oidc = args.oidc.connect().await?;
    let sign_in = SignIn { admin_token: true, oidc: oidc.as_ref().map(|o| o.sign_in.clone()) };
    let app = App::assemble(db.stores(), Settings { sign_in, ..args.settings(callback) });
    app.register_built_ins().await.context("registering built-in connectors")?;
    let ingest = Arc::new(db.ingest_queue());
    let signals = Arc::new(db.signals_queue());

    // One write per delivery: the envelope and its replay record go in together.
    let gateway = switchboard_webhook_gateway::router(app.gateway(ingest.clone()).with_send_once(ingest.clone()));
    let mut resolver: Arc<dyn CallerResolver> = Arc::new(BearerTokenResolver::admin_from_hash(admin.hash));
    if let Some(oidc) = &oidc {
        resolver = Arc::new(FirstOf(vec![resolver, oidc.resolver.clone()]));
    }
    // The registry asks the poller worker to poll new and re-enabled instances at once.
    let (poll_now, poll_requests) = switchboard_poller::poll_now_channel();
    let registry = switchboard_registry_api::router(app.registry(resolver).with_poll_trigger(Arc::new(poll_now)));
    // The gateway owns /webhooks/…; everything else is the registry API (with its own 404s).
    // Each router sees the request untouched, exactly as behind API Gateway.
    // A delivery runs in its own task, to its end even when the client goes away (as a Lambda
    // invocation does): an envelope that reached the queue is always recorded as accepted.
    let routes = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let webhook = request.uri().path().starts_with("/webhooks/");
        let target = if webhook { gateway.clone() } else { registry.clone() };
        async move {
            let answer =
                if webhook { tokio::spawn(target.oneshot(request)).await } else { Ok(target.oneshot(request).await) };
            match answer {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(error) => {
                    tracing::error!(%error, "a webhook delivery task ended abnormally");
                    let body = ErrorBody::new("internal", "the delivery failed inside the server", Vec::new());
                    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
                }
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("binding {}", args.addr))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    // One write per signal sent: the signal and its dedup record go in together.
    let normaliser = Arc::new(app.normaliser(signals.clone()).with_send_once(signals.clone()));
    let poller = app.poller(ingest.clone()).with_stop(stop_rx.clone());
    let mut tasks = vec![tokio::spawn(workers::poll(
        poller,
        Duration::from_secs(args.poll_tick_seconds),
        poll_requests,
        stop_rx.clone(),
    ))];
    for _ in 0..workers::NORMALISER_WORKERS {
        tasks.push(tokio::spawn(workers::normalise(normaliser.clone(), ingest.clone(), stop_rx.clone())));
    }
    let oidc_issuer = oidc.as_ref().map(|o| o.sign_in.settings().issuer.clone());
    if let Some(oidc) = oidc {
        tasks.push(tokio::spawn(oidc::refresh_keys(oidc, stop_rx.clone())));
    }
    if let Some(out) = &args.signals_out {
        let sink = workers::SignalSink::open(out)?;
        tasks.push(tokio::spawn(workers::write_signals(sink, signals.clone(), stop_rx.clone())));
    }

    banner::print(&banner::Banner {
        addr: args.addr,
        data_dir: &args.data_dir,
        admin: &admin.token,
        signals_out: args.signals_out.as_deref(),
        oidc_issuer: oidc_issuer.as_deref(),
    });
    // The peer address feeds the gateway's per-source limit on unverified requests.
    let routes = routes.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, routes).with_graceful_shutdown(shutdown_signal()).await.context("serving HTTP")?;
    tracing::info!("stopped accepting requests; finishing the current batch");
    let _ = stop_tx.send(true);
    for task in tasks {
        if let Err(error) = task.await {
            tracing::error!(%error, "a worker ended abnormally");
        }
    }
    let writes = db.writer_stats();
    tracing::info!(
        writes = writes.jobs,
        commits = writes.batches,
        failed_commits = writes.failed_batches,
        "database writer totals"
    );
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
