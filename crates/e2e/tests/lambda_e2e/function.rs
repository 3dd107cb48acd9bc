//! One function binary running under AWS's Runtime Interface Emulator, the way `sam local invoke`
//! runs a `provided.al2023` function: the RIE starts the binary as the function's `bootstrap`
//! on the first invocation, hands it the RIE's own environment, serves it the Lambda Runtime API,
//! and turns each POST to its invocations endpoint into one event.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

use crate::rie;

/// Where the RIE takes invocations (what `aws lambda invoke` calls on the Lambda service).
const INVOCATIONS: &str = "/2015-03-31/functions/function/invocations";
/// How long the test waits for one invocation beyond the function's own timeout.
const GRACE: Duration = Duration::from_secs(30);
/// How long the RIE may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Starts tried before giving up: a free port found here can be taken before the RIE binds it.
const START_ATTEMPTS: u32 = 5;

/// What the function answered one event with.
#[derive(Debug)]
pub enum Reply {
    /// The handler's result.
    Response(Value),
    /// The handler failed: the error document the runtime posted (`errorType`, `errorMessage`),
    /// which the RIE answers with, like `aws lambda invoke`, as the invocation's payload.
    Error(Value),
}

/// A running RIE with its function. Dropping it kills both.
pub struct Function {
    name: String,
    timeout: Duration,
    address: SocketAddr,
    client: reqwest::Client,
    rie_pid: u32,
    logs: Arc<Mutex<Vec<String>>>,
    exited: watch::Receiver<Option<ExitStatus>>,
}

impl Function {
    /// Starts `binary` under the RIE as function `name` with `timeout` (its Lambda timeout: the
    /// deadline each invocation gets) and `env` on top of this process's environment (which
    /// carries `AWS_ENDPOINT_URL` and the test credentials from `infra/local/moto.sh`).
    pub async fn start(name: &str, binary: &Path, timeout: Duration, env: &[(String, String)]) -> Self {
        let mut problems = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let function = Self::spawn(name, binary, timeout, env);
            match function.wait_until_listening().await {
                Ok(()) => return function,
                Err(problem) => problems.push(format!("{problem}\n{}", function.log_tail())),
            }
        }
        panic!("the RIE did not start {name} from {}:\n{}", binary.display(), problems.join("\n"))
    }

    fn spawn(name: &str, binary: &Path, timeout: Duration, env: &[(String, String)]) -> Self {
        let [emulator, runtime_api] = free_ports();
        let mut command = Command::new(rie::path());
        command
            .arg("--log-level")
            .arg("info")
            .arg("--runtime-interface-emulator-address")
            .arg(emulator.to_string())
            .arg("--runtime-api-address")
            .arg(runtime_api.to_string())
            .arg(binary)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_TIMEOUT", timeout.as_secs().to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "e2e")
            .env("AWS_LAMBDA_LOG_LEVEL", "debug")
            .env("_HANDLER", "bootstrap")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start the RIE for {name}: {e}"));
        let rie_pid = child.id().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take().unwrap(), logs.clone());
        collect(child.stderr.take().unwrap(), logs.clone());
        let (exit_tx, exited) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = exit_tx.send(status.ok());
        });
        Self {
            name: name.to_owned(),
            timeout,
            address: emulator,
            client: reqwest::Client::new(),
            rie_pid,
            logs,
            exited,
        }
    }

    /// Waits until the RIE accepts connections (it starts the function on the first invocation).
    async fn wait_until_listening(&self) -> Result<(), String> {
        let address = self.address;
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Some(status) = *self.exited.borrow() {
                return Err(format!("the RIE exited with {status}"));
            }
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                // A RIE that lost its ports to another process exits at once; make sure it lives.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return match *self.exited.borrow() {
                    Some(status) => Err(format!("the RIE exited with {status}")),
                    None => Ok(()),
                };
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("the RIE did not listen on {address} within {START_TIMEOUT:?}"))
    }

    /// Invokes the function with `event` and returns its response; panics, showing the
    /// function's log, if it reports an error, exits or does not answer in time.
    pub async fn invoke(&self, event: Value) -> Value {
        match self.try_invoke(event).await {
            Ok(Reply::Response(value)) => value,
            Ok(Reply::Error(error)) => panic!("{} reported an error: {error}\n{}", self.name, self.log_tail()),
            Err(problem) => panic!("{}: {problem}\n{}", self.name, self.log_tail()),
        }
    }

    /// Invokes the function with `event`; `Err` says why no reply came.
    pub async fn try_invoke(&self, event: Value) -> Result<Reply, String> {
        let mut exited = self.exited.clone();
        let answer = async {
            let response = self
                .client
                .post(format!("http://{}{INVOCATIONS}", self.address))
                .body(event.to_string())
                .send()
                .await
                .map_err(|e| format!("the RIE did not answer: {e}"))?;
            let status = response.status();
            let body = response.bytes().await.map_err(|e| format!("the RIE's answer broke off: {e}"))?;
            reply(status, &body)
        };
        tokio::select! {
            reply = answer => reply,
            status = exited.wait_for(Option::is_some) => {
                Err(format!("the RIE exited with {:?}", status.ok().and_then(|s| *s)))
            }
            () = tokio::time::sleep(self.timeout + GRACE) => Err("no reply in time".to_owned()),
        }
    }

    /// Kills the function and its RIE at once (SIGKILL), as a crash or a Lambda timeout would.
    pub async fn crash(&mut self) {
        self.kill();
        let _ = self.exited.wait_for(Option::is_some).await;
    }

    /// Every line the function and its RIE have written so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    fn log_tail(&self) -> String {
        let logs = self.logs();
        let tail = &logs[logs.len().saturating_sub(40)..];
        format!("--- last {} log lines of {} ---\n{}", tail.len(), self.name, tail.join("\n"))
    }

    /// SIGKILLs the function process (the RIE runs it in a process group of its own, so it
    /// would outlive the RIE) and the RIE, unless the RIE has already exited.
    fn kill(&self) {
        if self.exited.borrow().is_some() {
            return;
        }
        let mut pids = children_of(self.rie_pid);
        pids.push(self.rie_pid);
        let _ = std::process::Command::new("kill")
            .arg("-KILL")
            .args(pids.iter().map(u32::to_string))
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads the RIE's answer: 200 with the function's response, or with the error document of a
/// failed invocation; anything else (a timeout's text, a 502 of a crashed runtime) is `Err`.
fn reply(status: reqwest::StatusCode, body: &[u8]) -> Result<Reply, String> {
    let text = String::from_utf8_lossy(body);
    if status != reqwest::StatusCode::OK {
        return Err(format!("the RIE answered {status}: {text}"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| format!("the RIE answered: {text}"))?;
    let is_error = value.as_object().is_some_and(|fields| {
        fields.contains_key("errorType")
            && fields.contains_key("errorMessage")
            && fields.keys().all(|k| ["errorType", "errorMessage", "stackTrace", "requestId"].contains(&k.as_str()))
    });
    Ok(if is_error { Reply::Error(value) } else { Reply::Response(value) })
}

/// Two distinct free ports of 127.0.0.1: the RIE's invocations endpoint and its Runtime API.
fn free_ports() -> [SocketAddr; 2] {
    let first = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let second = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    [first.local_addr().unwrap(), second.local_addr().unwrap()]
}

/// The processes whose parent is `pid`, from `/proc/<pid>/stat` (`pid (comm) state ppid …`).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| {
            let child: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
            let ppid: u32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == pid).then_some(child)
        })
        .collect()
}

fn collect(stream: impl AsyncRead + Unpin + Send + 'static, logs: Arc<Mutex<Vec<String>>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            logs.lock().unwrap().push(line);
        }
    });
}
