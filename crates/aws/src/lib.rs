//! AWS adapters of Switchboard's storage ports: a DynamoDB single table ([`DynamoStore`]), SQS
//! queues ([`SqsQueue`]) and Secrets Manager ([`SecretsManagerStore`]), plus the [`resources`]
//! they need and the bootstrap that creates them.
//!
//! Build the SDK clients once per process with [`AwsClients::from_env`] (it honours
//! `AWS_ENDPOINT_URL`, so the same code talks to AWS or to a local moto server) and lend them to
//! every invocation.

mod dynamo;
mod error;
mod item;
pub mod keys;
pub mod logging;
pub mod resources;
mod secrets;
mod sqs;

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use switchboard_core::ports::Stores;

pub use dynamo::DynamoStore;
pub use secrets::SecretsManagerStore;
pub use sqs::SqsQueue;

/// Table name variable.
pub const ENV_TABLE_NAME: &str = "SWITCHBOARD_TABLE_NAME";
/// Secret name prefix variable.
pub const ENV_SECRET_PREFIX: &str = "SWITCHBOARD_SECRET_PREFIX";
/// Secret cache TTL variable (seconds).
pub const ENV_SECRET_CACHE_SECONDS: &str = "SWITCHBOARD_SECRET_CACHE_SECONDS";
/// Ingest queue URL variable.
pub const ENV_INGEST_QUEUE_URL: &str = "SWITCHBOARD_INGEST_QUEUE_URL";
/// Ingest dead-letter queue URL variable.
pub const ENV_INGEST_DLQ_URL: &str = "SWITCHBOARD_INGEST_DLQ_URL";
/// Signals queue URL variable.
pub const ENV_SIGNALS_QUEUE_URL: &str = "SWITCHBOARD_SIGNALS_QUEUE_URL";
/// Signals dead-letter queue URL variable.
pub const ENV_SIGNALS_DLQ_URL: &str = "SWITCHBOARD_SIGNALS_DLQ_URL";

/// Default secret cache TTL: short, so a rotation reaches every warm Lambda within a minute.
pub const DEFAULT_SECRET_CACHE_TTL: Duration = Duration::from_secs(60);

/// The SDK clients, built once per process. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AwsClients {
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    /// Loads region, credentials and endpoint (`AWS_ENDPOINT_URL`) from the environment.
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
        }
    }
}

/// Where the stores live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// The single table.
    pub table_name: String,
    /// Secrets are named `{secret_prefix}/{project}/{connector}`.
    pub secret_prefix: String,
    /// How long a warm process reuses a secret it read.
    pub secret_cache_ttl: Duration,
}

/// A required setting is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name} {problem}")]
pub struct SettingsError {
    name: &'static str,
    problem: &'static str,
}

impl AwsSettings {
    /// Reads `SWITCHBOARD_TABLE_NAME` and `SWITCHBOARD_SECRET_PREFIX` (both required) and
    /// `SWITCHBOARD_SECRET_CACHE_SECONDS` (default 60).
    pub fn from_env() -> Result<Self, SettingsError> {
        let required = |name: &'static str| {
            std::env::var(name).ok().filter(|v| !v.is_empty()).ok_or(SettingsError { name, problem: "is not set" })
        };
        let secret_cache_ttl = match std::env::var(ENV_SECRET_CACHE_SECONDS) {
            Ok(text) => Duration::from_secs(text.trim().parse().map_err(|_| SettingsError {
                name: ENV_SECRET_CACHE_SECONDS,
                problem: "must be a whole number of seconds",
            })?),
            Err(_) => DEFAULT_SECRET_CACHE_TTL,
        };
        Ok(Self {
            table_name: required(ENV_TABLE_NAME)?,
            secret_prefix: required(ENV_SECRET_PREFIX)?,
            secret_cache_ttl,
        })
    }

    /// Every storage port on AWS, sharing `clients`.
    pub fn stores(&self, clients: &AwsClients) -> Stores {
        let table = Arc::new(DynamoStore::new(clients.dynamodb.clone(), &self.table_name));
        let secrets =
            Arc::new(SecretsManagerStore::new(clients.secrets.clone(), &self.secret_prefix, self.secret_cache_ttl));
        Stores {
            descriptors: table.clone(),
            instances: table.clone(),
            checkpoints: table.clone(),
            leases: table.clone(),
            secrets,
            dedup: table.clone(),
            stats: table.clone(),
            signals: table.clone(),
            rate_limits: table.clone(),
            oauth_states: table,
        }
    }
}
