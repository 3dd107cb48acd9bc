//! AWS adapters of Switchboard's storage ports: a DynamoDB single table ([`DynamoStore`]), SQS
//! queues ([`SqsQueue`]) and Secrets Manager ([`SecretsManagerStore`]), plus the [`resources`]
//! they need and the bootstrap that creates them.
//!
//! Build the SDK clients once per process with [`AwsClients::from_env`] (it honours
//! `AWS_ENDPOINT_URL`, so the same code talks to AWS or to a local moto server) and lend them to
//! every invocation. Which table, prefix and queues to use is the caller's business: the Lambda
//! functions (`switchboard-lambda`) read them from their environment.

mod dynamo;
mod error;
mod item;
pub mod keys;
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

impl AwsSettings {
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
