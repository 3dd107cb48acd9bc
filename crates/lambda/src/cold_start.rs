//! [`ColdStart`]: what every function builds once per cold start and lends to every
//! invocation: the SDK configuration, the settings from the environment, the stores and queues
//! on AWS. Nothing here goes over the network, and each SDK client is built on its first use
//! (`switchboard_aws::clients`): the normaliser never builds a Secrets Manager client, the
//! registry API never an SQS one.

use std::sync::Arc;

use switchboard_app::{App, Settings};
use switchboard_aws::{AwsClients, SqsQueue};

use crate::settings::{Environment, SettingsError};

/// The SDK clients and the environment of this process.
pub struct ColdStart {
    /// The SDK clients (region, credentials and `AWS_ENDPOINT_URL` from the environment), each
    /// built on its first use.
    pub clients: AwsClients,
    /// The function's settings.
    pub env: Environment,
}

impl ColdStart {
    /// Reads the SDK configuration and the settings from the process environment.
    pub async fn new() -> Self {
        Self { clients: AwsClients::from_env().await, env: Environment::from_process() }
    }

    /// The applications over DynamoDB and Secrets Manager (table and prefix from
    /// [`Environment::aws_settings`]), tuned by `settings`.
    pub fn app(&self, settings: Settings) -> Result<App, SettingsError> {
        Ok(App::assemble(self.env.aws_settings()?.stores(&self.clients), settings))
    }

    /// The SQS queue whose URL is in variable `url_variable` (required).
    pub fn queue(&self, url_variable: &'static str) -> Result<Arc<SqsQueue>, SettingsError> {
        Ok(Arc::new(SqsQueue::new(self.clients.sqs.clone(), self.env.required(url_variable)?)))
    }

    /// The SQS queue whose URL is in variable `url_variable`, if it is set.
    pub fn optional_queue(&self, url_variable: &'static str) -> Option<Arc<SqsQueue>> {
        self.queue(url_variable).ok()
    }
}
