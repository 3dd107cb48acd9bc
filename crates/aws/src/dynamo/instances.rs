//! Instances: `PK=PROJECT#{p}, SK=CONNECTOR_INSTANCE#{c}`, listed per connector through
//! `GSI2PK=CONNECTOR#{c}, GSI2SK=PROJECT#{p}`.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::ReturnValue;
use switchboard_core::ports::{
    HealthUpdate, InstanceHealth, InstanceKey, InstanceRecord, InstanceRegistry, InstanceUpdate, NewInstance,
    StoreError, SubscriptionState, store_now,
};

use super::DynamoStore;
use crate::error::backend;
use crate::item::{
    Item, b, get_bool, get_n, get_s, get_string_map, get_ts, n, opt_n, opt_s, opt_ts, s, string_map, ts,
};
use crate::keys::{GSI2, GSI2PK, GSI2SK, INSTANCE_SK_PREFIX, PK, SK, connector, instance_sk, project};

fn to_record(item: &Item) -> Result<InstanceRecord, StoreError> {
    // The managed webhook subscription is kept as its JSON text (absent: none).
    let subscription = opt_s(item, "subscription")
        .as_deref()
        .map(SubscriptionState::from_json)
        .transpose()
        .map_err(StoreError::Corrupt)?;
    Ok(InstanceRecord {
        project_id: get_s(item, "projectId")?,
        connector_id: get_s(item, "connectorId")?,
        enabled: get_bool(item, "enabled")?,
        credential_secret_ref: opt_s(item, "credentialSecretArn"),
        config: get_string_map(item, "config")?,
        health: InstanceHealth {
            last_health_check: opt_ts(item, "lastHealthCheck")?,
            healthy: get_bool(item, "healthy")?,
            consecutive_failures: get_n(item, "consecutiveFailures")?,
            last_error: opt_s(item, "lastError"),
            last_sync_at: opt_ts(item, "lastSyncAt")?,
            last_latency_ms: opt_n(item, "lastLatencyMs")?,
        },
        subscription,
        created_at: get_ts(item, "createdAt")?,
        updated_at: get_ts(item, "updatedAt")?,
    })
}

impl DynamoStore {
    /// An update of one existing instance (fails with `ConditionalCheckFailed` when it is missing).
    fn update_existing(&self, key: &InstanceKey) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(project(&key.project_id)))
            .key(SK, s(instance_sk(&key.connector_id)))
            .condition_expression("attribute_exists(PK)")
            .return_values(ReturnValue::AllNew)
    }

    /// Sends an update built by [`Self::update_existing`] and reads the new record back.
    async fn send_update(
        &self,
        key: &InstanceKey,
        action: &str,
        update: UpdateItemFluentBuilder,
    ) -> Result<InstanceRecord, StoreError> {
        match update.send().await {
            Ok(out) => to_record(&out.attributes.unwrap_or_default()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::instance_not_found(key))
            }
            Err(e) => Err(backend(action, e)),
        }
    }
}

#[async_trait]
impl InstanceRegistry for DynamoStore {
    async fn list_instances_by_project(&self, project_id: &str) -> Result<Vec<InstanceRecord>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(project(project_id)))
            .expression_attribute_values(":prefix", s(INSTANCE_SK_PREFIX))
            .consistent_read(true);
        self.query_all("listing a project's instances", query).await?.iter().map(to_record).collect()
    }

    async fn list_instances_by_connector(&self, connector_id: &str) -> Result<Vec<InstanceRecord>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI2)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", GSI2PK)
            .expression_attribute_names("#sk", GSI2SK)
            .expression_attribute_values(":pk", s(connector(connector_id)))
            .expression_attribute_values(":prefix", s("PROJECT#"));
        self.query_all("listing a connector's instances", query).await?.iter().map(to_record).collect()
    }

    async fn get_instance(&self, key: &InstanceKey) -> Result<Option<InstanceRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(project(&key.project_id)))
            .key(SK, s(instance_sk(&key.connector_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("reading an instance", e))?;
        out.item.as_ref().map(to_record).transpose()
    }

    async fn create_instance(&self, new: &NewInstance) -> Result<InstanceRecord, StoreError> {
        let now = store_now();
        let key = &new.key;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(project(&key.project_id)))
            .item(SK, s(instance_sk(&key.connector_id)))
            .item(GSI2PK, s(connector(&key.connector_id)))
            .item(GSI2SK, s(project(&key.project_id)))
            .item("type", s("instance"))
            .item("projectId", s(&key.project_id))
            .item("connectorId", s(&key.connector_id))
            .item("enabled", b(new.enabled))
            .item("config", string_map(&new.config))
            .item("healthy", b(false))
            .item("consecutiveFailures", n(0))
            .item("createdAt", s(ts(now)))
            .item("updatedAt", s(ts(now)))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(InstanceRecord::created(new, now)),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::instance_exists(key))
            }
            Err(e) => Err(backend("creating an instance", e)),
        }
    }

    async fn update_instance(&self, key: &InstanceKey, update: &InstanceUpdate) -> Result<InstanceRecord, StoreError> {
        let mut set = vec!["updatedAt = :now"];
        let mut remove = Vec::new();
        let mut request = self.update_existing(key).expression_attribute_values(":now", s(ts(store_now())));
        if let Some(config) = &update.config {
            set.push("config = :config");
            request = request.expression_attribute_values(":config", string_map(config));
        }
        if let Some(enabled) = update.enabled {
            set.push("enabled = :enabled");
            request = request.expression_attribute_values(":enabled", b(enabled));
        }
        match &update.credential_secret_ref {
            Some(Some(arn)) => {
                set.push("credentialSecretArn = :arn");
                request = request.expression_attribute_values(":arn", s(arn));
            }
            Some(None) => remove.push("credentialSecretArn"),
            None => {}
        }
        match &update.subscription {
            Some(Some(subscription)) => {
                set.push("subscription = :subscription");
                request = request.expression_attribute_values(":subscription", s(subscription.to_json()));
            }
            Some(None) => remove.push("subscription"),
            None => {}
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        self.send_update(key, "updating an instance", request.update_expression(expression)).await
    }

    async fn record_health(&self, key: &InstanceKey, update: &HealthUpdate) -> Result<InstanceHealth, StoreError> {
        // Atomic update expressions, so concurrent health checks and syncs never lose a count.
        let request = self.update_existing(key);
        let request = match update {
            HealthUpdate::Checked { at, healthy: true, latency_ms, .. } => request
                .update_expression(
                    "SET lastHealthCheck = :at, healthy = :true, lastLatencyMs = :latency, consecutiveFailures = :zero \
                     REMOVE lastError",
                )
                .expression_attribute_values(":at", s(ts(*at)))
                .expression_attribute_values(":true", b(true))
                .expression_attribute_values(":latency", n(latency_ms))
                .expression_attribute_values(":zero", n(0)),
            HealthUpdate::Checked { at, healthy: false, latency_ms, error } => {
                let request = request
                    .expression_attribute_values(":at", s(ts(*at)))
                    .expression_attribute_values(":false", b(false))
                    .expression_attribute_values(":latency", n(latency_ms))
                    .expression_attribute_values(":one", n(1));
                let base = "SET lastHealthCheck = :at, healthy = :false, lastLatencyMs = :latency";
                match error {
                    Some(error) => request
                        .update_expression(format!("{base}, lastError = :error ADD consecutiveFailures :one"))
                        .expression_attribute_values(":error", s(error)),
                    None => request.update_expression(format!("{base} REMOVE lastError ADD consecutiveFailures :one")),
                }
            }
            HealthUpdate::Synced { at } => request
                .update_expression("SET lastSyncAt = :at, consecutiveFailures = :zero REMOVE lastError")
                .expression_attribute_values(":at", s(ts(*at)))
                .expression_attribute_values(":zero", n(0)),
            HealthUpdate::SyncFailed { error } => request
                .update_expression("SET lastError = :error ADD consecutiveFailures :one")
                .expression_attribute_values(":error", s(error))
                .expression_attribute_values(":one", n(1)),
        };
        Ok(self.send_update(key, "recording instance health", request).await?.health)
    }

    async fn delete_instance(&self, key: &InstanceKey) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(project(&key.project_id)))
            .key(SK, s(instance_sk(&key.connector_id)))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::instance_not_found(key))
            }
            Err(e) => Err(backend("deleting an instance", e)),
        }
    }
}
