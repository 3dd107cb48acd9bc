//! One function binary running as a process against its own [`RuntimeApi`], the way Lambda
//! runs a `provided.al2023` function: the binary is the `bootstrap`, configured by environment.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{oneshot, watch};

use crate::runtime_api::{Reply, RuntimeApi};

/// How long the test waits for one invocation beyond the function's own timeout.
const GRACE: Duration = Duration::from_secs(30);

/// A running function process. Dropping it kills the process.
pub struct Function {
    name: String,
    timeout: Duration,
    runtime: RuntimeApi,
    logs: Arc<Mutex<Vec<String>>>,
    exited: watch::Receiver<Option<ExitStatus>>,
    kill: Option<oneshot::Sender<()>>,
}

impl Function {
    /// Starts `binary` as function `name` with `timeout` (its Lambda timeout: the deadline each
    /// invocation gets) and `env` on top of this process's environment (which carries
    /// `AWS_ENDPOINT_URL` and the test credentials from `infra/local/moto.sh`).
    pub async fn start(name: &str, binary: &Path, timeout: Duration, env: &[(String, String)]) -> Self {
        let runtime = RuntimeApi::start().await;
        let mut command = Command::new(binary);
        command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
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
        let mut child =
            command.spawn().unwrap_or_else(|e| panic!("cannot start {name} from {}: {e}", binary.display()));
        let logs = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take().unwrap(), logs.clone());
        collect(child.stderr.take().unwrap(), logs.clone());
        let (exit_tx, exited) = watch::channel(None);
        let (kill, killed) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                _ = killed => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            let _ = exit_tx.send(status.ok());
        });
        Self { name: name.to_owned(), timeout, runtime, logs, exited, kill: Some(kill) }
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
        tokio::select! {
            reply = self.runtime.invoke(event, self.timeout) => Ok(reply),
            status = exited.wait_for(Option::is_some) => Err(match self.runtime.init_error() {
                Some(init) => format!("failed to start: {init}"),
                None => format!("exited with {:?}", status.ok().and_then(|s| *s)),
            }),
            () = tokio::time::sleep(self.timeout + GRACE) => Err("no reply in time".to_owned()),
        }
    }

    /// Kills the process at once (SIGKILL), as a crash or a Lambda timeout would.
    pub async fn crash(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        let _ = self.exited.wait_for(Option::is_some).await;
    }

    /// Every line the function has written so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    fn log_tail(&self) -> String {
        let logs = self.logs();
        let tail = &logs[logs.len().saturating_sub(40)..];
        format!("--- last {} log lines of {} ---\n{}", tail.len(), self.name, tail.join("\n"))
    }
}

fn collect(stream: impl AsyncRead + Unpin + Send + 'static, logs: Arc<Mutex<Vec<String>>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            logs.lock().unwrap().push(line);
        }
    });
}
