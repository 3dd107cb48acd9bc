//! Starting and stopping the real `switchboard serve`, and talking to it over HTTP.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The admin token the tests start serve with.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef-serve";
/// The webhook secret of every GitHub PRs instance the tests create.
pub const WEBHOOK_SECRET: &str = "s3cret";
/// How long serve may take to answer `/health` after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The repository root (README, fixtures).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// How to start a serve process.
#[derive(Clone)]
pub struct Launch {
    data_dir: PathBuf,
    admin_token: Option<String>,
    args: Vec<String>,
}

impl Launch {
    /// Serve on `data_dir` with [`ADMIN_TOKEN`], a one-second poll tick, no practical
    /// webhook rate limit (tests send bursts) and the egress guard open to 127.0.0.1, where the
    /// fake APIs listen.
    pub fn new(data_dir: &Path) -> Self {
        let args = ["--poll-tick-seconds", "1", "--webhook-rate-limit", "1000000", "--egress-allow", "127.0.0.1"];
        Self {
            data_dir: data_dir.to_owned(),
            admin_token: Some(ADMIN_TOKEN.to_owned()),
            args: args.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Adds command-line arguments.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|s| (*s).to_owned()));
        self
    }

    /// Looks for due instances every `seconds` instead of every second.
    pub fn poll_tick(mut self, seconds: u64) -> Self {
        if let Some(at) = self.args.iter().position(|arg| arg == "--poll-tick-seconds") {
            self.args[at + 1] = seconds.to_string();
        }
        self
    }

    /// Starts with no egress exception: the fakes on 127.0.0.1 are out of reach.
    pub fn without_egress_allowance(mut self) -> Self {
        if let Some(at) = self.args.iter().position(|arg| arg == "--egress-allow") {
            self.args.drain(at..at + 2);
        }
        self
    }

    /// Uses this admin token (`SWITCHBOARD_ADMIN_TOKEN`).
    pub fn admin_token(mut self, token: &str) -> Self {
        self.admin_token = Some(token.to_owned());
        self
    }

    /// Starts without `SWITCHBOARD_ADMIN_TOKEN`, so serve generates or reuses its own.
    pub fn without_admin_token(mut self) -> Self {
        self.admin_token = None;
        self
    }

    /// Starts serve on a free loopback port and waits until `GET /health` answers 200.
    pub async fn start(&self) -> Serve {
        for _ in 0..3 {
            let mut serve = self.spawn(free_port());
            match serve.wait_healthy().await {
                Ok(()) => return serve,
                // Another process took the port between our probe and serve's bind: try another.
                Err(stderr) if stderr.contains("binding") => continue,
                Err(stderr) => panic!("serve did not start:\n{stderr}"),
            }
        }
        panic!("serve could not bind a free port in three tries");
    }

    fn spawn(&self, port: u16) -> Serve {
        let addr = format!("127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command
            .args(["serve", "--addr", &addr, "--data-dir"])
            .arg(&self.data_dir)
            .args(&self.args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in [
            "SWITCHBOARD_ADDR",
            "SWITCHBOARD_DATA_DIR",
            "SWITCHBOARD_LOG_FORMAT",
            "SWITCHBOARD_PUBLIC_URL",
            "SWITCHBOARD_EGRESS_ALLOW",
        ] {
            command.env_remove(name);
        }
        match &self.admin_token {
            Some(token) => command.env("SWITCHBOARD_ADMIN_TOKEN", token),
            None => command.env_remove("SWITCHBOARD_ADMIN_TOKEN"),
        };
        let mut child = command.spawn().expect("the switchboard binary starts");
        let stdout = collect_lines(child.stdout.take().unwrap());
        let stderr = collect_lines(child.stderr.take().unwrap());
        Serve { child, base: format!("http://{addr}"), addr, stdout, stderr, exit: None }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Reads a pipe line by line on a thread, so the child never blocks on a full pipe.
fn collect_lines(pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// A running (or stopped) `switchboard serve` process. Dropping it kills the process.
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    exit: Option<ExitStatus>,
}

impl Serve {
    /// The registry API as the admin with `token`.
    pub fn api(&self, token: &str) -> Api {
        Api::new(&self.base, token)
    }

    /// The registry API as the admin with [`ADMIN_TOKEN`].
    pub fn admin(&self) -> Api {
        self.api(ADMIN_TOKEN)
    }

    /// Everything serve wrote on standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Everything serve wrote on standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    /// Sends a signal by name (`TERM`, `INT`) with `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").args(["-s", name, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Kills the process with SIGKILL: no chance to clean up.
    pub fn kill_hard(&mut self) {
        self.child.kill().unwrap();
        self.exit = Some(self.child.wait().unwrap());
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.exit.is_none() && self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the process to exit; panics with its output after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit {
                return status;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                self.exit = Some(status);
                // Let the reader threads take the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not exit within {timeout:?}:\n{}", self.stderr());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then the exit status.
    pub async fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(20)).await
    }

    /// Waits until `/health` answers 200; the error is serve's output if it exited or timed out.
    async fn wait_healthy(&mut self) -> Result<(), String> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if !self.is_running() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(self.stderr());
            }
            if let Ok(response) = http.get(format!("{}/health", self.base)).send().await
                && response.status() == 200
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("no answer on /health within {START_TIMEOUT:?}:\n{}", self.stderr()))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.exit.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A registry API client with a bearer token.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    /// A client of `base` sending `token`.
    pub fn new(base: &str, token: &str) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        Self { http, base: base.to_owned(), token: token.to_owned() }
    }

    /// `GET path`: status and JSON body (`null` when the body is not JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let request = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token);
        into_json(request.send().await.unwrap()).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Content-Type", "application/json")
            .body(body.to_string());
        into_json(request.send().await.unwrap()).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        let request = self
            .http
            .patch(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Content-Type", "application/json")
            .body(body.to_string());
        into_json(request.send().await.unwrap()).await
    }

    /// Connects the built-in GitHub PRs connector to `project` with [`WEBHOOK_SECRET`].
    pub async fn connect_github_prs(&self, project: &str) {
        let body = json!({"config": {}, "credentials": {"token": "ghp_test", "webhookSecret": WEBHOOK_SECRET}});
        let (status, answer) = self.post(&format!("/projects/{project}/connectors/github-prs"), &body).await;
        assert_eq!(status, 201, "{answer}");
    }

    /// Every stored signal of `project`, following `nextToken`.
    pub async fn signals(&self, project: &str) -> Vec<Value> {
        let mut signals = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let token = next.as_deref().map(|t| format!("&nextToken={t}")).unwrap_or_default();
            let (status, page) = self.get(&format!("/projects/{project}/signals?limit=100{token}")).await;
            assert_eq!(status, 200, "{page}");
            signals.extend(page["signals"].as_array().unwrap().iter().cloned());
            match page["nextToken"].as_str() {
                Some(token) => next = Some(token.to_owned()),
                None => return signals,
            }
        }
    }

    /// How many signals of `project` carry each external id.
    pub async fn external_ids(&self, project: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for signal in self.signals(project).await {
            *counts.entry(signal["externalId"].as_str().unwrap().to_owned()).or_default() += 1;
        }
        counts
    }

    /// The instance's signal counts of the last 24 hours (`signals`, `ignored`, `duplicates`,
    /// `failed`).
    pub async fn counts(&self, project: &str, connector: &str) -> Value {
        let (status, health) = self.get(&format!("/projects/{project}/connectors/{connector}/health")).await;
        assert_eq!(status, 200, "{health}");
        health["signals"]["last24h"].clone()
    }
}

async fn into_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A GitHub `pull_request` delivery, signed as GitHub signs it.
#[derive(Clone)]
pub struct Delivery {
    /// `X-GitHub-Delivery`.
    pub id: String,
    /// The raw body.
    pub body: Vec<u8>,
    /// `X-Hub-Signature-256` (not sent when empty).
    pub signature: String,
}

impl Delivery {
    /// Pull request `pr_id` opened (the documented payload with its id and number replaced),
    /// signed with `secret`.
    pub fn pull_request_opened(delivery_id: &str, pr_id: u64, secret: &str) -> Self {
        let fixture = repo_root().join("tests/fixtures/github-prs/pull_request.opened.json");
        let mut payload: Value = serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
        payload["number"] = json!(pr_id);
        payload["pull_request"]["id"] = json!(pr_id);
        payload["pull_request"]["number"] = json!(pr_id);
        let body = serde_json::to_vec(&payload).unwrap();
        Self { id: delivery_id.to_owned(), signature: sign(secret, &body), body }
    }

    /// Posts it to `/webhooks/github-prs/{project}`; the status, or the transport error.
    pub async fn send(&self, http: &reqwest::Client, base: &str, project: &str) -> reqwest::Result<u16> {
        let mut request = http
            .post(format!("{base}/webhooks/github-prs/{project}"))
            .header("X-GitHub-Event", "pull_request")
            .header("X-GitHub-Delivery", &self.id)
            .header("Content-Type", "application/json")
            .body(self.body.clone());
        if !self.signature.is_empty() {
            request = request.header("X-Hub-Signature-256", &self.signature);
        }
        let response = request.send().await?;
        Ok(response.status().as_u16())
    }
}

/// GitHub's `X-Hub-Signature-256` value of `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Calls `probe` every 100 ms until it gives a value; panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Messages on any queue of the data directory's database (ingest, signals and their DLQs)
/// whose body contains `needle`, read straight from SQLite.
pub fn queued_messages_containing(data_dir: &Path, needle: &str) -> u64 {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let db = rusqlite::Connection::open_with_flags(data_dir.join("switchboard.db"), flags).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.query_row("SELECT COUNT(*) FROM queue_messages WHERE instr(body, ?1) > 0", [needle], |row| row.get(0)).unwrap()
}

/// Messages on a dead-letter queue.
pub fn dead_letters(data_dir: &Path) -> u64 {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let db = rusqlite::Connection::open_with_flags(data_dir.join("switchboard.db"), flags).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.query_row("SELECT COUNT(*) FROM queue_messages WHERE queue LIKE '%-dlq'", [], |row| row.get(0)).unwrap()
}
