//! Renewing managed webhook subscriptions: every scheduled run renews the subscriptions that
//! expire within their descriptor's `renewBeforeSeconds` (Microsoft Graph's expire within
//! days), through the connector, and stores the new expiry
//! ([`switchboard_core::subscriptions::renew_if_due`]). A failed renewal is on the instance's
//! health and is tried again on the next run.

use chrono::{DateTime, Utc};

use crate::poller::Poller;

/// What one run's renewals came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenewalSummary {
    /// Subscriptions renewed.
    pub renewed: usize,
    /// Renewals that failed (each on its instance's health).
    pub failed: usize,
}

impl Poller {
    /// Renews every enabled instance's managed webhook subscription that is due at `now`.
    /// Connectors or instances that cannot be read are logged and skipped.
    pub async fn renew_subscriptions(&self, now: DateTime<Utc>) -> RenewalSummary {
        let mut summary = RenewalSummary::default();
        let descriptors = match self.stores.descriptors.list_descriptors().await {
            Ok(descriptors) => descriptors,
            Err(error) => {
                tracing::error!(%error, "cannot list descriptors; no webhook subscription is renewed this run");
                return summary;
            }
        };
        let renewing = descriptors.iter().filter(|record| {
            record
                .descriptor
                .ingestion
                .webhook()
                .and_then(|w| w.subscription.as_ref())
                .is_some_and(|s| s.variants().iter().any(|v| v.renew.is_some()))
        });
        for record in renewing {
            let connector_id = record.connector_id();
            let loaded = match self.catalog.get(connector_id).await {
                Ok(Some(loaded)) => loaded,
                Ok(None) => continue,
                Err(error) => {
                    tracing::error!(connector_id, %error, "cannot load the connector; its subscriptions are not renewed this run");
                    continue;
                }
            };
            let instances = match self.stores.instances.list_instances_by_connector(connector_id).await {
                Ok(instances) => instances,
                Err(error) => {
                    tracing::error!(connector_id, %error, "cannot list the connector's instances; their subscriptions are not renewed this run");
                    continue;
                }
            };
            for instance in &instances {
                match switchboard_core::subscriptions::renew_if_due(&self.stores, &loaded, instance, now).await {
                    Some(Ok(_)) => summary.renewed += 1,
                    Some(Err(_)) => summary.failed += 1,
                    None => {}
                }
            }
        }
        if summary != RenewalSummary::default() {
            tracing::info!(renewed = summary.renewed, failed = summary.failed, "webhook subscriptions renewed");
        }
        summary
    }
}
