//! One isolated deployment per test: a table, queues and secret prefix of its own on the local
//! moto server (as `infra/local/moto.sh --bootstrap` creates for stage `local`), and the
//! function binaries started against it, each under its own RIE (AWS's Runtime Interface Emulator).

use std::time::Duration;

use aws_sdk_sqs::types::{Message, QueueAttributeName};
use serde_json::{Value, json};
use switchboard_aws::AwsClients;
use switchboard_aws::resources::{Bootstrapped, ResourceNames, bootstrap};
use wiremock::MockServer;

use crate::binaries::binary;
use crate::events::{self, HttpReply};
use crate::function::Function;
use crate::github::{OWNER, REPO, fake_issues_api};

/// The functions' timeouts in `template.yaml` (each invocation's deadline).
const GATEWAY_TIMEOUT: Duration = Duration::from_secs(10);
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(30);
const NORMALISER_TIMEOUT: Duration = Duration::from_secs(30);
const POLLER_TIMEOUT: Duration = Duration::from_secs(900);

/// A deployment on moto with the registry API, webhook gateway and normaliser running.
pub struct World {
    /// SDK clients for arranging and inspecting state.
    pub clients: AwsClients,
    /// The table, queues and secret prefix of this world.
    pub stack: Bootstrapped,
    /// `RegistryApiFunction`.
    pub registry: Function,
    /// `WebhookGatewayFunction`.
    pub gateway: Function,
    /// `NormaliserFunction`.
    pub normaliser: Function,
}

impl World {
    /// Creates this world's resources on moto and starts three functions (the poller starts on
    /// demand: it polls every due instance of the table).
    pub async fn start() -> Self {
        let clients = moto_clients().await;
        let stage = format!("e2e-{}", uuid::Uuid::new_v4().simple());
        let stack = bootstrap(&clients, &ResourceNames::new(stage)).await.unwrap();
        let registry = start("registry-api", &stack, REGISTRY_TIMEOUT, &[]).await;
        let gateway = start("webhook-gateway", &stack, GATEWAY_TIMEOUT, &[]).await;
        let normaliser = start("normaliser", &stack, NORMALISER_TIMEOUT, &[]).await;
        let world = Self { clients, stack, registry, gateway, normaliser };
        // The registry's first request registers the built-in descriptors the other functions
        // read: so it is invoked first.
        let health = world.registry.invoke(events::http_request("GET", "/health", &[], "", None)).await;
        let health = HttpReply::from_response(&health);
        assert_eq!(health.status, 200, "the registry's first request: {}", health.body);
        world
    }

    /// Starts `PollerFunction`, with `env` overriding the deployment's environment.
    pub async fn start_poller(&self, env: &[(&str, String)]) -> Function {
        start("poller", &self.stack, POLLER_TIMEOUT, env).await
    }

    /// Calls the registry API as a caller with `claims`.
    pub async fn registry(&self, method: &str, path: &str, body: &str, claims: Value) -> HttpReply {
        let headers = [("content-type", "application/json"), ("authorization", "Bearer e2e.jwt.token")];
        let event = events::http_request(method, path, &headers, body, Some(claims));
        HttpReply::from_response(&self.registry.invoke(event).await)
    }

    /// A fake GitHub issues API answering `token`, and a `github-issues` instance of `project`
    /// polling it, created through the registry API.
    pub async fn github_issues_instance(&self, project: &str, token: &str) -> MockServer {
        let github = fake_issues_api(token).await;
        let body = json!({
            "config": {"baseUrl": github.uri(), "owner": OWNER, "repo": REPO},
            "credentials": {"token": token}
        });
        let path = format!("/projects/{project}/connectors/github-issues");
        let created = self.registry("POST", &path, &body.to_string(), events::claims("alice", project, false)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        github
    }

    /// Posts a webhook delivery through the gateway.
    pub async fn deliver(&self, path: &str, headers: &[(&str, &str)], body: &str) -> HttpReply {
        let event = events::http_request("POST", path, headers, body, None);
        HttpReply::from_response(&self.gateway.invoke(event).await)
    }

    /// Everything currently on the ingest queue (received, so invisible for its visibility
    /// timeout, as the event source mapping would hold it).
    pub async fn take_ingest(&self) -> Vec<Message> {
        receive_all(&self.clients, &self.stack.ingest.url).await
    }

    /// Everything currently on the poll-now queue (received, as the poller's event source
    /// mapping would hold it).
    pub async fn take_poll_now(&self) -> Vec<Message> {
        receive_all(&self.clients, &self.stack.poll_now.url).await
    }

    /// The SQS event the poll-now queue's event source mapping would send for `messages`.
    pub async fn poll_now_event(&self, messages: &[Message]) -> Value {
        events::sqs_event(&self.queue_arn(&self.stack.poll_now.url).await, messages)
    }

    /// Everything currently on the ingest queue, removed from it.
    pub async fn drain_ingest(&self) -> Vec<Message> {
        let messages = receive_all(&self.clients, &self.stack.ingest.url).await;
        delete_all(&self.clients, &self.stack.ingest.url, &messages).await;
        messages
    }

    /// Runs the normaliser on `messages` as the SQS event source mapping does: one event per
    /// batch of up to 10, successful messages deleted afterwards. Returns the failed message
    /// ids of every batch.
    pub async fn normalise(&self, messages: &[Message]) -> Vec<String> {
        let arn = self.queue_arn(&self.stack.ingest.url).await;
        let mut failed = Vec::new();
        for batch in messages.chunks(10) {
            let response = self.normaliser.invoke(events::sqs_event(&arn, batch)).await;
            let failures: Vec<String> = response["batchItemFailures"]
                .as_array()
                .unwrap_or_else(|| panic!("no batchItemFailures in {response}"))
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
                .collect();
            for message in batch.iter().filter(|m| !failures.iter().any(|id| Some(id.as_str()) == m.message_id())) {
                let handle = message.receipt_handle().unwrap();
                self.clients
                    .sqs
                    .delete_message()
                    .queue_url(&self.stack.ingest.url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .unwrap();
            }
            failed.extend(failures);
        }
        failed
    }

    /// The signals on the signals queue, as JSON, in the order received (and removed from it).
    pub async fn take_signals(&self) -> Vec<Value> {
        let messages = receive_all(&self.clients, &self.stack.signals.url).await;
        delete_all(&self.clients, &self.stack.signals.url, &messages).await;
        messages.iter().map(|m| serde_json::from_str(m.body().unwrap()).unwrap()).collect()
    }

    /// Every log line every running function of this world has written.
    pub fn logs(&self) -> Vec<String> {
        [&self.registry, &self.gateway, &self.normaliser].iter().flat_map(|f| f.logs()).collect()
    }

    async fn queue_arn(&self, url: &str) -> String {
        let out = self
            .clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        out.attributes().unwrap()[&QueueAttributeName::QueueArn].clone()
    }
}

/// Clients for the local moto server; fails (never skips) without one, and refuses any
/// endpoint that is not on this machine, since the test creates resources.
pub async fn moto_clients() -> AwsClients {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is not set. The end-to-end test needs a local AWS-compatible server; \
             run it with `infra/local/moto.sh cargo test -p switchboard-e2e`, which installs and starts moto."
        )
    });
    assert!(
        endpoint.contains("127.0.0.1") || endpoint.contains("localhost"),
        "AWS_ENDPOINT_URL={endpoint} is not a local server; the end-to-end test only runs against moto on this machine"
    );
    AwsClients::from_env().await
}

async fn start(name: &str, stack: &Bootstrapped, timeout: Duration, overrides: &[(&str, String)]) -> Function {
    let mut env: Vec<(String, String)> = stack.env().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    // The fake provider APIs listen on 127.0.0.1, which the egress guard refuses unless allowed.
    env.push(("SWITCHBOARD_EGRESS_ALLOW".to_owned(), "127.0.0.1".to_owned()));
    env.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    Function::start(name, binary(name), timeout, &env).await
}

/// Deletes received `messages` from the queue at `url`.
async fn delete_all(clients: &AwsClients, url: &str, messages: &[Message]) {
    for message in messages {
        let handle = message.receipt_handle().unwrap();
        clients.sqs.delete_message().queue_url(url).receipt_handle(handle).send().await.unwrap();
    }
}

/// Receives until the queue answers empty.
async fn receive_all(clients: &AwsClients, url: &str) -> Vec<Message> {
    let mut all = Vec::new();
    loop {
        let out = clients
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .set_message_system_attribute_names(Some(events::sqs_system_attributes()))
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        all.extend(messages);
    }
}
