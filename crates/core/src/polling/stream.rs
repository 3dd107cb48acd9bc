//! A connector's whole polling plan: its requests, what it reads back, and the partitions it
//! runs over.

use super::partitions::PartitionPlan;
use super::plan::{ItemPlan, RequestPlan};
use crate::mapping::FieldMapper;

/// How a connector polls: the requests it sends and what it reads back.
#[derive(Debug, Clone)]
pub struct PollingPlan {
    /// How to ask.
    pub requests: RequestPlan,
    /// What comes back.
    pub items: ItemPlan,
    /// The partitions the stream runs over, each with its own checkpoint.
    pub partitions: Option<PartitionPlan>,
}

impl PollingPlan {
    /// The plan of requests reading items as the polling mapping says, over `partitions`.
    pub fn new(requests: RequestPlan, mapper: &FieldMapper, partitions: Option<PartitionPlan>) -> Self {
        let items = ItemPlan {
            items: mapper.items_path().clone(),
            id: mapper.id_path().clone(),
            timestamp: mapper.timestamp().clone(),
        };
        Self { requests, items, partitions }
    }
}
