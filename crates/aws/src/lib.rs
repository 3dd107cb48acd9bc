//! AWS adapters of Switchboard's storage ports: a DynamoDB single table ([`DynamoStore`]), SQS
//! queues ([`SqsQueue`]) and Secrets Manager ([`SecretsManagerStore`]), plus the [`resources`]
//! they need and the bootstrap that creates them.
//!
//! Build the SDK clients once per process with [`AwsClients::from_env`] (it honours
//! `AWS_ENDPOINT_URL`, so the same code talks to AWS or to a local moto server) and lend them to
//! every invocation; each client is built on its first use ([`clients`]), so a function builds
//! only the clients it calls. Which table, prefix and queues to use is the caller's business:
//! the Lambda functions (`switchboard-lambda`) read them from their environment.

pub mod clients;
mod dynamo;
mod error;
mod item;
pub mod keys;
pub mod resources;
mod secrets;
mod sqs;

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::ports::Stores;

pub use clients::{AwsClients, LazyClient};
pub use dynamo::DynamoStore;
pub use secrets::SecretsManagerStore;
pub use sqs::SqsQueue;

/// Default secret cache TTL: short, so a rotation reaches every warm Lambda within a minute.
pub const DEFAULT_SECRET_CACHE_TTL: Duration = Duration::from_secs(60);

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
