//! Descriptors: `PK=CONNECTOR#{id}, SK=DESCRIPTOR`, listed through `GSI2PK=DESCRIPTORS`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use switchboard_core::model::ConnectorDescriptor;
use switchboard_core::ports::{DescriptorRecord, DescriptorRegistry, StoreError, store_now};

use super::DynamoStore;
use crate::error::backend;
use crate::item::{Item, b, get_bool, get_s, get_ts, s, ts};
use crate::keys::{DESCRIPTOR_SK, DESCRIPTORS_GSI2PK, GSI2, GSI2PK, GSI2SK, PK, SK, connector};

fn to_record(item: &Item) -> Result<DescriptorRecord, StoreError> {
    let json = get_s(item, "descriptor")?;
    let descriptor = serde_json::from_str(&json)
        .map_err(|err| StoreError::Corrupt(format!("stored connector descriptor does not parse: {err}")))?;
    Ok(DescriptorRecord {
        descriptor,
        built_in: get_bool(item, "builtIn")?,
        created_at: get_ts(item, "createdAt")?,
        updated_at: get_ts(item, "updatedAt")?,
    })
}

fn to_json(descriptor: &ConnectorDescriptor) -> Result<String, StoreError> {
    serde_json::to_string(descriptor)
        .map_err(|err| StoreError::Invalid(format!("descriptor does not serialise: {err}")))
}

#[async_trait]
impl DescriptorRegistry for DynamoStore {
    async fn list_descriptors(&self) -> Result<Vec<DescriptorRecord>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI2)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI2PK)
            .expression_attribute_values(":pk", s(DESCRIPTORS_GSI2PK));
        self.query_all("listing connector descriptors", query).await?.iter().map(to_record).collect()
    }

    async fn get_descriptor(&self, connector_id: &str) -> Result<Option<DescriptorRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(connector(connector_id)))
            .key(SK, s(DESCRIPTOR_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("reading a connector descriptor", e))?;
        out.item.as_ref().map(to_record).transpose()
    }

    async fn register_descriptor(
        &self,
        descriptor: &ConnectorDescriptor,
        built_in: bool,
    ) -> Result<DescriptorRecord, StoreError> {
        let now = store_now();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(connector(&descriptor.id)))
            .item(SK, s(DESCRIPTOR_SK))
            .item(GSI2PK, s(DESCRIPTORS_GSI2PK))
            .item(GSI2SK, s(connector(&descriptor.id)))
            .item("type", s("descriptor"))
            .item("connectorId", s(&descriptor.id))
            .item("descriptor", s(to_json(descriptor)?))
            .item("builtIn", b(built_in))
            .item("createdAt", s(ts(now)))
            .item("updatedAt", s(ts(now)))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => {
                Ok(DescriptorRecord { descriptor: descriptor.clone(), built_in, created_at: now, updated_at: now })
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::descriptor_exists(&descriptor.id))
            }
            Err(e) => Err(backend("registering a connector descriptor", e)),
        }
    }

    async fn update_descriptor(&self, descriptor: &ConnectorDescriptor) -> Result<DescriptorRecord, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(connector(&descriptor.id)))
            .key(SK, s(DESCRIPTOR_SK))
            .update_expression("SET #descriptor = :d, updatedAt = :now")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#descriptor", "descriptor")
            .expression_attribute_values(":d", s(to_json(descriptor)?))
            .expression_attribute_values(":now", s(ts(store_now())))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => to_record(&out.attributes.unwrap_or_default()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::descriptor_not_found(&descriptor.id))
            }
            Err(e) => Err(backend("updating a connector descriptor", e)),
        }
    }

    async fn upsert_built_in(&self, descriptor: &ConnectorDescriptor) -> Result<DescriptorRecord, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(connector(&descriptor.id)))
            .key(SK, s(DESCRIPTOR_SK))
            .update_expression(
                "SET #descriptor = :d, builtIn = :true, updatedAt = :now, createdAt = if_not_exists(createdAt, :now), \
                 connectorId = :id, #type = :type, #gpk = :gpk, #gsk = :gsk",
            )
            .expression_attribute_names("#descriptor", "descriptor")
            .expression_attribute_names("#type", "type")
            .expression_attribute_names("#gpk", GSI2PK)
            .expression_attribute_names("#gsk", GSI2SK)
            .expression_attribute_values(":d", s(to_json(descriptor)?))
            .expression_attribute_values(":true", b(true))
            .expression_attribute_values(":now", s(ts(store_now())))
            .expression_attribute_values(":id", s(&descriptor.id))
            .expression_attribute_values(":type", s("descriptor"))
            .expression_attribute_values(":gpk", s(DESCRIPTORS_GSI2PK))
            .expression_attribute_values(":gsk", s(connector(&descriptor.id)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| backend("writing a built-in connector descriptor", e))?;
        to_record(&out.attributes.unwrap_or_default())
    }

    async fn delete_descriptor(&self, connector_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(connector(connector_id)))
            .key(SK, s(DESCRIPTOR_SK))
            .condition_expression("attribute_exists(PK) AND builtIn = :false")
            .expression_attribute_values(":false", b(false))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(err) if err.is_conditional_check_failed_exception() => {
                    let existed = match err {
                        aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(
                            c,
                        ) => c.item().is_some_and(|item| !item.is_empty()),
                        _ => false,
                    };
                    Err(if existed {
                        StoreError::BuiltInProtected { connector_id: connector_id.to_owned() }
                    } else {
                        StoreError::descriptor_not_found(connector_id)
                    })
                }
                _ => Err(backend("deleting a connector descriptor", e)),
            },
        }
    }
}
