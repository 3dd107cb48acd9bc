//! The AWS resources Switchboard uses, in one place: names per stage, queue settings, and the
//! bootstrap that creates them on a local server (moto) or an empty account. `template.yaml`
//! must declare the same table, GSI, TTL attribute and queue settings (see `infra/README.md`).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;

use switchboard_core::ports::{INGEST_QUEUE, SIGNALS_QUEUE};

use crate::error::backend;
use crate::keys::{GSI2, GSI2PK, GSI2SK, GSI3, GSI3PK, GSI3SK, PK, SK, TTL_ATTRIBUTE};

/// Receives before a message moves to its dead-letter queue (`maxReceiveCount`).
pub const MAX_RECEIVE_COUNT: u32 = switchboard_core::ports::DEFAULT_MAX_RECEIVES;
/// Ingest queue visibility timeout: six times the normaliser's 30 s timeout, as AWS advises.
pub const INGEST_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(180);
/// Signals queue visibility timeout.
pub const SIGNALS_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(60);
/// Poll-now queue visibility timeout: a little more than the poller's 900 s timeout, as an SQS
/// event source requires.
pub const POLL_NOW_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(960);
/// Receives before a poll-now request moves to the poller's dead-letter queue.
pub const POLL_NOW_MAX_RECEIVES: u32 = 3;
/// How long the main queues keep a message (4 days, SQS's default).
pub const QUEUE_RETENTION: Duration = Duration::from_secs(4 * 24 * 3600);
/// How long dead-letter queues keep a message (14 days, SQS's maximum).
pub const DLQ_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);

/// Resource names for one stage (`local`, `dev`, `prod`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceNames {
    stage: String,
}

impl ResourceNames {
    /// Names for `stage`.
    pub fn new(stage: impl Into<String>) -> Self {
        Self { stage: stage.into() }
    }

    /// `switchboard-{stage}`.
    pub fn table(&self) -> String {
        format!("switchboard-{}", self.stage)
    }

    /// `switchboard-{stage}-ingest`.
    pub fn ingest_queue(&self) -> String {
        format!("switchboard-{}-{INGEST_QUEUE}", self.stage)
    }

    /// `switchboard-{stage}-signals`.
    pub fn signals_queue(&self) -> String {
        format!("switchboard-{}-{SIGNALS_QUEUE}", self.stage)
    }

    /// `switchboard-{stage}-poll-now`: poll-now requests from the registry API to the poller.
    pub fn poll_now_queue(&self) -> String {
        format!("switchboard-{}-poll-now", self.stage)
    }

    /// `switchboard-{stage}-poller-dlq`: failed poll runs and poll-now requests.
    pub fn poller_dead_letter_queue(&self) -> String {
        format!("switchboard-{}-poller-dlq", self.stage)
    }

    /// `{queue}-dlq`.
    pub fn dead_letter_queue(queue: &str) -> String {
        format!("{queue}-dlq")
    }

    /// `switchboard/{stage}`: secrets are `switchboard/{stage}/{project}/{connector}`.
    pub fn secret_prefix(&self) -> String {
        format!("switchboard/{}", self.stage)
    }
}

/// A bootstrap step failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BootstrapError(String);

impl From<switchboard_core::ports::StoreError> for BootstrapError {
    fn from(err: switchboard_core::ports::StoreError) -> Self {
        Self(err.to_string())
    }
}

fn invalid(what: &str, err: impl std::fmt::Display) -> BootstrapError {
    BootstrapError(format!("building {what}: {err}"))
}

/// Creates the single table (keys `PK`/`SK`, `GSI2` on `GSI2PK`/`GSI2SK` and the sparse schedule
/// index `GSI3` on `GSI3PK`/`GSI3SK`, both projecting all, on-demand billing) if it does not
/// exist, adds `GSI3` to a table created before it had one, waits until it is active and enables
/// TTL on `expiresAt`.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), BootstrapError> {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| invalid("an attribute definition", e))
    };
    let key = |name: &str, key_type| {
        KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(|e| invalid("a key", e))
    };
    let all = || Projection::builder().projection_type(ProjectionType::All).build();
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(GSI2)
        .key_schema(key(GSI2PK, KeyType::Hash)?)
        .key_schema(key(GSI2SK, KeyType::Range)?)
        .projection(all())
        .build()
        .map_err(|e| invalid("the GSI", e))?;
    let schedule = GlobalSecondaryIndex::builder()
        .index_name(GSI3)
        .key_schema(key(GSI3PK, KeyType::Hash)?)
        .key_schema(key(GSI3SK, KeyType::Range)?)
        .projection(all())
        .build()
        .map_err(|e| invalid("the schedule index", e))?;
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(PK)?)
        .attribute_definitions(attribute(SK)?)
        .attribute_definitions(attribute(GSI2PK)?)
        .attribute_definitions(attribute(GSI2SK)?)
        .attribute_definitions(attribute(GSI3PK)?)
        .attribute_definitions(attribute(GSI3SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(gsi)
        .global_secondary_indexes(schedule.clone())
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
            let described =
                client.describe_table().table_name(table).send().await.map_err(|e| backend("reading the table", e))?;
            let indexes = described.table().map(|t| t.global_secondary_indexes()).unwrap_or_default();
            if !indexes.iter().any(|index| index.index_name() == Some(GSI3)) {
                let create = CreateGlobalSecondaryIndexAction::builder()
                    .index_name(GSI3)
                    .set_key_schema(Some(schedule.key_schema().to_vec()))
                    .projection(all())
                    .build()
                    .map_err(|e| invalid("the schedule index", e))?;
                client
                    .update_table()
                    .table_name(table)
                    .attribute_definitions(attribute(GSI3PK)?)
                    .attribute_definitions(attribute(GSI3SK)?)
                    .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build())
                    .send()
                    .await
                    .map_err(|e| backend("adding the schedule index", e))?;
            }
        }
        Err(e) => return Err(backend("creating the table", e).into()),
    }
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(120))
        .await
        .map_err(|e| BootstrapError(format!("waiting for table {table}: {}", DisplayErrorContext(&e))))?;
    let status = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| backend("reading the table's TTL", e))?
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status().cloned());
    if matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
        return Ok(());
    }
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(|e| invalid("the TTL specification", e))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| backend("enabling TTL", e))?;
    Ok(())
}

/// URLs of a queue and its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    /// The queue.
    pub url: String,
    /// Its dead-letter queue.
    pub dead_letter_url: String,
}

/// Creates (or reuses) `name` and `{name}-dlq`, with a redrive policy moving a message to the DLQ
/// after `max_receives` receives.
pub async fn create_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    name: &str,
    visibility_timeout: Duration,
    max_receives: u32,
) -> Result<QueueUrls, BootstrapError> {
    let dlq_name = ResourceNames::dead_letter_queue(name);
    create_queue_redriving_to(client, name, &dlq_name, visibility_timeout, max_receives).await
}

/// Creates (or reuses) `name` and the dead-letter queue `dlq_name`, with a redrive policy moving
/// a message to it after `max_receives` receives.
pub async fn create_queue_redriving_to(
    client: &aws_sdk_sqs::Client,
    name: &str,
    dlq_name: &str,
    visibility_timeout: Duration,
    max_receives: u32,
) -> Result<QueueUrls, BootstrapError> {
    let dead_letter_url = create_queue(
        client,
        dlq_name,
        HashMap::from([(QueueAttributeName::MessageRetentionPeriod, DLQ_RETENTION.as_secs().to_string())]),
    )
    .await?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dead_letter_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| backend("reading the dead-letter queue's ARN", e))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| BootstrapError(format!("queue {dlq_name} has no ARN")))?;
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives.to_string()});
    let url = create_queue(
        client,
        name,
        HashMap::from([
            (QueueAttributeName::VisibilityTimeout, visibility_timeout.as_secs().to_string()),
            (QueueAttributeName::MessageRetentionPeriod, QUEUE_RETENTION.as_secs().to_string()),
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        ]),
    )
    .await?;
    Ok(QueueUrls { url, dead_letter_url })
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, BootstrapError> {
    let out = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|e| backend(&format!("creating queue {name}"), e))?;
    out.queue_url().map(str::to_owned).ok_or_else(|| BootstrapError(format!("queue {name} has no URL")))
}

/// What [`bootstrap`] created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrapped {
    /// The table's name.
    pub table: String,
    /// The ingest queue and its DLQ.
    pub ingest: QueueUrls,
    /// The signals queue and its DLQ.
    pub signals: QueueUrls,
    /// The poll-now queue and its DLQ (the poller's).
    pub poll_now: QueueUrls,
    /// Prefix of secret names.
    pub secret_prefix: String,
}

impl Bootstrapped {
    /// The environment variables the Lambda functions read to find these resources (the names
    /// `switchboard-lambda`'s settings read; a test there keeps the two lists in step).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SWITCHBOARD_TABLE_NAME", self.table.clone()),
            ("SWITCHBOARD_SECRET_PREFIX", self.secret_prefix.clone()),
            ("SWITCHBOARD_INGEST_QUEUE_URL", self.ingest.url.clone()),
            ("SWITCHBOARD_INGEST_DLQ_URL", self.ingest.dead_letter_url.clone()),
            ("SWITCHBOARD_SIGNALS_QUEUE_URL", self.signals.url.clone()),
            ("SWITCHBOARD_SIGNALS_DLQ_URL", self.signals.dead_letter_url.clone()),
            ("SWITCHBOARD_POLL_NOW_QUEUE_URL", self.poll_now.url.clone()),
        ]
    }
}

/// Creates the table, the ingest, signals and poll-now queues and their DLQs for `names`; safe
/// to run again.
pub async fn bootstrap(clients: &crate::AwsClients, names: &ResourceNames) -> Result<Bootstrapped, BootstrapError> {
    create_table(&clients.dynamodb, &names.table()).await?;
    let ingest =
        create_queue_with_dlq(&clients.sqs, &names.ingest_queue(), INGEST_VISIBILITY_TIMEOUT, MAX_RECEIVE_COUNT)
            .await?;
    let signals =
        create_queue_with_dlq(&clients.sqs, &names.signals_queue(), SIGNALS_VISIBILITY_TIMEOUT, MAX_RECEIVE_COUNT)
            .await?;
    let poll_now = create_queue_redriving_to(
        &clients.sqs,
        &names.poll_now_queue(),
        &names.poller_dead_letter_queue(),
        POLL_NOW_VISIBILITY_TIMEOUT,
        POLL_NOW_MAX_RECEIVES,
    )
    .await?;
    Ok(Bootstrapped { table: names.table(), ingest, signals, poll_now, secret_prefix: names.secret_prefix() })
}
