//! Instances: `PK=PROJECT#{p}, SK=CONNECTOR_INSTANCE#{c}`, listed per connector through
//! `GSI2PK=CONNECTOR#{c}, GSI2SK=PROJECT#{p}`, and the due ones through the sparse schedule
//! index `GSI3PK=SCHEDULE#{c}, GSI3SK={nextPollAt}#{p}`. Each connector's last schedule sweep
//! is its own item (`PK=SCHEDULE_SWEEP#{c}`).

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use switchboard_core::ports::{
    BackfillProgress, HealthAlert, HealthUpdate, InstanceHealth, InstanceKey, InstanceRecord, InstanceRegistry,
    InstanceUpdate, NewInstance, PollRecord, ScheduleSweep, StoreError, SubscriptionState, SyncState, store_now,
};

use super::DynamoStore;
use crate::error::backend;
use crate::item::{
    Item, b, get_bool, get_n, get_s, get_string_map, get_ts, n, opt_bool, opt_n, opt_s, opt_ts, s, string_map, ts,
};
use crate::keys::{
    GSI2, GSI2PK, GSI2SK, GSI3, GSI3PK, GSI3SK, INSTANCE_SK_PREFIX, PK, SCHEDULE_SWEEP_SK, SK, connector, instance_sk,
    project, schedule_pk, schedule_sk, schedule_sweep_pk, schedule_until,
};

fn to_record(item: &Item) -> Result<InstanceRecord, StoreError> {
    // The managed webhook subscription is kept as its JSON text (absent: none).
    let subscription = opt_s(item, "subscription")
        .as_deref()
        .map(SubscriptionState::from_json)
        .transpose()
        .map_err(StoreError::Corrupt)?;
    let backfill: Option<BackfillProgress> =
        opt_s(item, "backfill")
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|err| StoreError::Corrupt(format!("stored backfill progress does not parse: {err}")))?;
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
            reauth_needed: opt_bool(item, "reauthNeeded")?.unwrap_or(false),
            alert: opt_s(item, "healthAlert").as_deref().map(HealthAlert::parse).transpose()?,
            alert_changed_at: opt_ts(item, "healthAlertChangedAt")?,
        },
        polling_interval_seconds: opt_n(item, "pollingIntervalSeconds")?,
        sync: SyncState {
            last_polled_at: opt_ts(item, "lastPolledAt")?,
            last_poll_failed: opt_bool(item, "lastPollFailed")?.unwrap_or(false),
            change_count: opt_n(item, "changeCount")?.unwrap_or(0),
            error_count: opt_n(item, "errorCount")?.unwrap_or(0),
            backfill,
        },
        subscription,
        next_poll_at: opt_ts(item, "nextPollAt")?,
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

    async fn list_due_instances(
        &self,
        connector_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI3)
            .key_condition_expression("#pk = :pk AND #sk < :until")
            .expression_attribute_names("#pk", GSI3PK)
            .expression_attribute_names("#sk", GSI3SK)
            .expression_attribute_values(":pk", s(schedule_pk(connector_id)))
            .expression_attribute_values(":until", s(schedule_until(now)));
        let mut due: Vec<InstanceRecord> = self
            .query_all("listing a connector's due instances", query)
            .await?
            .iter()
            .map(to_record)
            .collect::<Result<_, _>>()?;
        due.sort_by(|a, b| a.project_id.cmp(&b.project_id));
        Ok(due)
    }

    async fn set_next_poll_at(&self, key: &InstanceKey, at: Option<DateTime<Utc>>) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        expr.schedule(key, at);
        self.send_update(key, "storing an instance's next poll time", expr.build(self.update_existing(key))).await?;
        Ok(())
    }

    async fn schedule_sweep(&self, connector_id: &str) -> Result<Option<ScheduleSweep>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(schedule_sweep_pk(connector_id)))
            .key(SK, s(SCHEDULE_SWEEP_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("reading a connector's schedule sweep", e))?;
        out.item
            .as_ref()
            .map(|item| Ok(ScheduleSweep { bounds: get_s(item, "bounds")?, swept_at: get_ts(item, "sweptAt")? }))
            .transpose()
    }

    async fn record_schedule_sweep(&self, connector_id: &str, sweep: &ScheduleSweep) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(schedule_sweep_pk(connector_id)))
            .item(SK, s(SCHEDULE_SWEEP_SK))
            .item("type", s("schedule_sweep"))
            .item("connectorId", s(connector_id))
            .item("bounds", s(&sweep.bounds))
            .item("sweptAt", s(ts(sweep.swept_at)))
            .send()
            .await
            .map_err(|e| backend("recording a connector's schedule sweep", e))?;
        Ok(())
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
        let record = InstanceRecord::created(new, now);
        let mut put = self.client.put_item();
        if let Some(at) = record.next_poll_at {
            put = put
                .item("nextPollAt", s(ts(at)))
                .item(GSI3PK, s(schedule_pk(&key.connector_id)))
                .item(GSI3SK, s(schedule_sk(at, &key.project_id)));
        }
        let result = put
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
            Ok(_) => Ok(record),
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
        match update.polling_interval_seconds {
            Some(Some(seconds)) => {
                set.push("pollingIntervalSeconds = :interval");
                request = request.expression_attribute_values(":interval", n(seconds));
            }
            Some(None) => remove.push("pollingIntervalSeconds"),
            None => {}
        }
        if let Some(reauth_needed) = update.reauth_needed {
            set.push("reauthNeeded = :reauth");
            request = request.expression_attribute_values(":reauth", b(reauth_needed));
        }
        // Disabled or waiting for re-authorisation: out of the schedule index at once, whatever
        // its interval (the other changes are rescheduled by the caller, who knows it).
        if update.enabled == Some(false) || update.reauth_needed == Some(true) {
            remove.extend(["nextPollAt", GSI3PK, GSI3SK]);
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        self.send_update(key, "updating an instance", request.update_expression(expression)).await
    }

    async fn record_health(&self, key: &InstanceKey, update: &HealthUpdate) -> Result<InstanceHealth, StoreError> {
        // Atomic update expressions, so concurrent health checks and syncs never lose a count.
        let mut expr = Expr::default();
        expr.health(update);
        Ok(self.send_update(key, "recording instance health", expr.build(self.update_existing(key))).await?.health)
    }

    async fn record_poll(&self, key: &InstanceKey, poll: &PollRecord) -> Result<InstanceRecord, StoreError> {
        let mut expr = Expr::default();
        expr.set("lastPolledAt", s(ts(poll.started_at)));
        expr.set("lastPollFailed", b(poll.failed));
        expr.add("changeCount", n(poll.items));
        if poll.failed {
            expr.add("errorCount", n(1));
        }
        match &poll.backfill {
            Some(Some(progress)) => {
                let json = serde_json::to_string(progress)
                    .map_err(|err| StoreError::Invalid(format!("backfill progress does not serialise: {err}")))?;
                expr.set("backfill", s(json));
            }
            Some(None) => expr.remove("backfill"),
            None => {}
        }
        if let Some(update) = &poll.health {
            expr.health(update);
        }
        expr.schedule(key, poll.next_poll_at);
        self.send_update(key, "recording a poll run", expr.build(self.update_existing(key))).await
    }

    async fn set_health_alert(
        &self,
        key: &InstanceKey,
        expected_at: Option<DateTime<Utc>>,
        alert: Option<HealthAlert>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(project(&key.project_id)))
            .key(SK, s(instance_sk(&key.connector_id)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .expression_attribute_values(":at", s(ts(at)));
        request = match expected_at {
            Some(expected) => request
                .condition_expression("attribute_exists(PK) AND healthAlertChangedAt = :expected")
                .expression_attribute_values(":expected", s(ts(expected))),
            None => request.condition_expression("attribute_exists(PK) AND attribute_not_exists(healthAlertChangedAt)"),
        };
        request = match alert {
            Some(alert) => request
                .update_expression("SET healthAlert = :alert, healthAlertChangedAt = :at")
                .expression_attribute_values(":alert", s(alert.as_str())),
            None => request.update_expression("SET healthAlertChangedAt = :at REMOVE healthAlert"),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    if failed.item.as_ref().is_some_and(|item| !item.is_empty()) {
                        Ok(false)
                    } else {
                        Err(StoreError::instance_not_found(key))
                    }
                }
                _ => Err(backend("setting the notified health state", e)),
            },
        }
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

/// An update expression built clause by clause (`SET`, `REMOVE`, `ADD`), so one write can carry
/// a poll run's counts and its health together.
#[derive(Default)]
struct Expr {
    set: Vec<String>,
    remove: Vec<&'static str>,
    add: Vec<String>,
    values: Vec<(String, AttributeValue)>,
}

impl Expr {
    fn placeholder(&mut self, value: AttributeValue) -> String {
        let name = format!(":v{}", self.values.len());
        self.values.push((name.clone(), value));
        name
    }

    fn set(&mut self, attribute: &'static str, value: AttributeValue) {
        let placeholder = self.placeholder(value);
        self.set.push(format!("{attribute} = {placeholder}"));
    }

    fn remove(&mut self, attribute: &'static str) {
        self.remove.push(attribute);
    }

    fn add(&mut self, attribute: &'static str, value: AttributeValue) {
        let placeholder = self.placeholder(value);
        self.add.push(format!("{attribute} {placeholder}"));
    }

    /// The clauses of one health event ([`InstanceHealth::apply`] in expression form).
    fn health(&mut self, update: &HealthUpdate) {
        match update {
            HealthUpdate::Checked { at, healthy, latency_ms, error } => {
                self.set("lastHealthCheck", s(ts(*at)));
                self.set("healthy", b(*healthy));
                self.set("lastLatencyMs", n(latency_ms));
                match (healthy, error) {
                    (true, _) => {
                        self.set("consecutiveFailures", n(0));
                        self.remove("lastError");
                    }
                    (false, Some(error)) => {
                        self.set("lastError", s(error));
                        self.add("consecutiveFailures", n(1));
                    }
                    (false, None) => {
                        self.remove("lastError");
                        self.add("consecutiveFailures", n(1));
                    }
                }
            }
            HealthUpdate::Synced { at } => {
                self.set("lastSyncAt", s(ts(*at)));
                self.set("consecutiveFailures", n(0));
                self.set("reauthNeeded", b(false));
                self.remove("lastError");
            }
            HealthUpdate::SyncFailed { error, reauth } => {
                self.set("lastError", s(error));
                if *reauth {
                    self.set("reauthNeeded", b(true));
                }
                self.add("consecutiveFailures", n(1));
            }
        }
    }

    /// The clauses of a stored schedule: the time and the schedule index's keys, or none of
    /// them (out of the index) when the instance cannot be scheduled.
    fn schedule(&mut self, key: &InstanceKey, at: Option<DateTime<Utc>>) {
        match at {
            Some(at) => {
                self.set("nextPollAt", s(ts(at)));
                self.set(GSI3PK, s(schedule_pk(&key.connector_id)));
                self.set(GSI3SK, s(schedule_sk(at, &key.project_id)));
            }
            None => {
                self.remove("nextPollAt");
                self.remove(GSI3PK);
                self.remove(GSI3SK);
            }
        }
    }

    /// The request with this expression and its values.
    fn build(self, request: UpdateItemFluentBuilder) -> UpdateItemFluentBuilder {
        let mut expression = String::new();
        for (keyword, clauses) in
            [("SET", self.set.join(", ")), ("REMOVE", self.remove.join(", ")), ("ADD", self.add.join(", "))]
        {
            if !clauses.is_empty() {
                expression.push_str(&format!("{keyword} {clauses} "));
            }
        }
        self.values.into_iter().fold(request.update_expression(expression.trim_end()), |request, (name, value)| {
            request.expression_attribute_values(name, value)
        })
    }
}
