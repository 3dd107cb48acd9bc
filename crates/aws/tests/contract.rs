//! The storage contract suite against AWS APIs, served locally by moto.
//!
//! Run with `infra/local/moto.sh cargo test -p switchboard-aws`. Without `AWS_ENDPOINT_URL` every
//! test fails with instructions: these tests never skip, and never run against real AWS.

// Test setup helpers unwrap too: a broken setup is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use switchboard_aws::resources::{ResourceNames, create_queue_with_dlq, create_table};
use switchboard_aws::{AwsClients, AwsSettings, SqsQueue};
use switchboard_contract_tests::{Backend, QueuePair, contract_tests};
use switchboard_core::ports::Stores;

/// A moto-backed world: every table, queue and secret prefix is unique to one test.
struct Moto {
    clients: AwsClients,
    run: String,
}

impl Moto {
    async fn new() -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
            panic!(
                "AWS_ENDPOINT_URL is not set. The AWS contract tests need a local AWS-compatible server; \
                 run them with `infra/local/moto.sh cargo test -p switchboard-aws`, which installs and starts moto."
            )
        });
        assert!(
            endpoint.contains("127.0.0.1") || endpoint.contains("localhost"),
            "AWS_ENDPOINT_URL={endpoint} is not a local server; the contract tests create and delete resources \
             and only run against moto on this machine"
        );
        Self { clients: AwsClients::from_env().await, run: uuid::Uuid::new_v4().simple().to_string() }
    }
}

#[async_trait]
impl Backend for Moto {
    async fn stores(&self) -> Stores {
        let names = ResourceNames::new(format!("test-{}", self.run));
        create_table(&self.clients.dynamodb, &names.table()).await.unwrap();
        let settings = AwsSettings {
            table_name: names.table(),
            secret_prefix: names.secret_prefix(),
            secret_cache_ttl: Duration::from_secs(60),
        };
        settings.stores(&self.clients)
    }

    async fn queue_pair(&self, max_receives: u32) -> QueuePair {
        let name = format!("switchboard-test-{}", self.run);
        let urls =
            create_queue_with_dlq(&self.clients.sqs, &name, Duration::from_secs(30), max_receives).await.unwrap();
        QueuePair {
            queue: Arc::new(SqsQueue::new(self.clients.sqs.clone(), urls.url)),
            dead_letters: Arc::new(SqsQueue::new(self.clients.sqs.clone(), urls.dead_letter_url)),
            max_receives,
        }
    }
}

contract_tests!(Moto::new().await);

#[tokio::test]
async fn bootstrap_creates_the_table_and_queues_and_can_run_twice() {
    let moto = Moto::new().await;
    let names = ResourceNames::new(format!("boot-{}", moto.run));
    let first = switchboard_aws::resources::bootstrap(&moto.clients, &names).await.unwrap();
    let second = switchboard_aws::resources::bootstrap(&moto.clients, &names).await.unwrap();
    assert_eq!(first, second);
    assert!(first.ingest.url.ends_with(&format!("switchboard-boot-{}-ingest", moto.run)));
    assert!(first.signals.dead_letter_url.ends_with("-signals-dlq"));
    let table = moto.clients.dynamodb.describe_table().table_name(&first.table).send().await.unwrap();
    let mut gsis: Vec<_> =
        table.table().unwrap().global_secondary_indexes().iter().filter_map(|g| g.index_name()).collect();
    gsis.sort_unstable();
    assert_eq!(gsis, ["GSI2", "GSI3"]);
    let ttl = moto.clients.dynamodb.describe_time_to_live().table_name(&first.table).send().await.unwrap();
    assert_eq!(ttl.time_to_live_description().unwrap().attribute_name(), Some("expiresAt"));
    let redrive = moto
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(&first.ingest.url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    let policy = redrive.attributes().unwrap().values().next().unwrap();
    assert!(policy.contains("-ingest-dlq") && policy.contains('5'), "{policy}");
}

/// A table created before the schedule index existed gets it from the bootstrap.
#[tokio::test]
async fn bootstrap_adds_the_schedule_index_to_a_table_made_before_it() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
        ScalarAttributeType,
    };
    let moto = Moto::new().await;
    let table = format!("switchboard-old-{}", moto.run);
    let attribute = |name: &str| {
        AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().unwrap()
    };
    let key =
        |name: &str, key_type| KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().unwrap();
    let gsi2 = GlobalSecondaryIndex::builder()
        .index_name("GSI2")
        .key_schema(key("GSI2PK", KeyType::Hash))
        .key_schema(key("GSI2SK", KeyType::Range))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .unwrap();
    moto.clients
        .dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(["PK", "SK", "GSI2PK", "GSI2SK"].map(attribute).to_vec()))
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .global_secondary_indexes(gsi2)
        .send()
        .await
        .unwrap();

    switchboard_aws::resources::create_table(&moto.clients.dynamodb, &table).await.unwrap();

    let described = moto.clients.dynamodb.describe_table().table_name(&table).send().await.unwrap();
    let mut gsis: Vec<_> =
        described.table().unwrap().global_secondary_indexes().iter().filter_map(|g| g.index_name()).collect();
    gsis.sort_unstable();
    assert_eq!(gsis, ["GSI2", "GSI3"]);
}
