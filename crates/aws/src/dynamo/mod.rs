//! The DynamoDB single-table adapter: registry, checkpoints, leases, dedup, stats, recent
//! signals, rate limit counters and OAuth states all live in one table (see [`crate::keys`] for
//! the key scheme). Every write that must not clobber is a conditional write.

mod checkpoints;
mod dedup;
mod descriptors;
mod instances;
mod leases;
mod oauth_state;
mod rate_limit;
mod signals;
mod stats;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use switchboard_core::ports::StoreError;

use crate::LazyClient;
use crate::error::backend;
use crate::item::Item;

/// DynamoDB adapter of the registry, checkpoint, lease, dedup, stats, signal, rate limit and
/// OAuth state ports.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: LazyClient<Client>,
    table: String,
}

impl DynamoStore {
    /// Uses `table` through `client` (built already, or on its first use).
    pub fn new(client: impl Into<LazyClient<Client>>, table: impl Into<String>) -> Self {
        Self { client: client.into(), table: table.into() }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Runs a query to the end, following `LastEvaluatedKey`.
    async fn query_all(&self, action: &str, query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = query.clone().set_exclusive_start_key(start).send().await.map_err(|e| backend(action, e))?;
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}
