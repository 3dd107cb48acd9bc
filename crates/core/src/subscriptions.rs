//! The life of a managed webhook subscription, the same for every process that touches it:
//! registered when an instance is created or enabled ([`activate`]), renewed by the poller's
//! scheduled run before it expires ([`renew_if_due`]), removed when the instance is disabled
//! or deleted ([`remove`]).
//!
//! Requests go through the connector ([`crate::Connector::call_subscription`]: the polling
//! engine for a generic connector) with the instance's stored credentials. Their outcome is
//! stored on the instance ([`SubscriptionState`]); a failure is also recorded on the instance's
//! health with its reason. Nothing here fails the operation that triggered it: an instance
//! whose webhook could not be registered is still created, and a delete that could not remove
//! the webhook still deletes the instance.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::catalog::LoadedConnector;
use crate::ports::{
    CredentialChange, Credentials, HealthUpdate, InstanceKey, InstanceRecord, InstanceUpdate, Stores,
    SubscriptionState, SubscriptionStatus,
};
use crate::webhook::{SubscriptionAction, SubscriptionAnswer, SubscriptionCall};

/// How a failed subscription request starts on the instance's health (`lastError`).
pub const HEALTH_PREFIX: &str = "webhook subscription";

/// Bytes of a generated webhook secret (hex-encoded: 64 characters).
const SECRET_BYTES: usize = 32;

/// The gateway URL of an instance under `public_url` (`SWITCHBOARD_PUBLIC_URL`).
pub fn webhook_url(public_url: &str, key: &InstanceKey) -> String {
    format!("{}{}", public_url.trim_end_matches('/'), webhook_path(key))
}

/// The gateway path of an instance: `/webhooks/{connectorId}/{projectId}`.
pub fn webhook_path(key: &InstanceKey) -> String {
    format!("/webhooks/{}/{}", key.connector_id, key.project_id)
}

/// What creating or enabling an instance will do about its subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The connector manages no subscription.
    None,
    /// Switchboard cannot register the webhook; the message says why and what to do by hand.
    Manual {
        /// Why, and what to do by hand.
        message: String,
        /// The gateway URL to register (`<public URL>/webhooks/...` when none is configured).
        webhook_url: String,
    },
    /// Switchboard registers the webhook at this URL.
    Create {
        /// The instance's gateway URL.
        webhook_url: String,
        /// Which of the connector's alternative subscriptions (the first whose config is set).
        variant: usize,
    },
}

/// Decides what to do for an instance with `config` (as set; the descriptor's defaults are
/// filled in here) and `credentials`, under `public_url`. When Switchboard will register the
/// webhook and the credentials hold no webhook secret, one is generated into `credentials`
/// (the caller stores them with the instance).
pub fn prepare(
    loaded: &LoadedConnector,
    key: &InstanceKey,
    config: &BTreeMap<String, String>,
    credentials: &mut Credentials,
    public_url: Option<&str>,
) -> Decision {
    let Some(plans) = loaded.connector.subscription() else { return Decision::None };
    let effective = loaded.descriptor.effective_config(config);
    let chosen = plans.choose(&effective);
    let Some(plan) = plans.variant(*chosen.as_ref().unwrap_or(&0)) else { return Decision::None };
    let secret_missing = plan.secret_field.as_deref().filter(|f| credentials.get(f).is_none());
    let by_hand = |why: String| {
        let url = public_url.map_or_else(|| format!("<public URL>{}", webhook_path(key)), |p| webhook_url(p, key));
        let secret =
            secret_missing.map(|f| format!(", with a secret you also set as the `{f}` credential")).unwrap_or_default();
        Decision::Manual { message: format!("{why}: register the webhook by hand: {url}{secret}"), webhook_url: url }
    };
    let Some(public_url) = public_url else {
        return by_hand("no public URL (SWITCHBOARD_PUBLIC_URL / serve --public-url)".to_owned());
    };
    let variant = match chosen {
        Ok(variant) => variant,
        Err(missing) => {
            let names = missing.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            return by_hand(format!("config {names} not set (Switchboard registers the webhook once they are)"));
        }
    };
    if let Some(field) = secret_missing {
        match generate_secret() {
            Some(secret) => credentials.insert(field, secret),
            None => {
                return by_hand(
                    "no webhook secret could be generated (the system's random generator failed)".to_owned(),
                );
            }
        }
    }
    Decision::Create { webhook_url: webhook_url(public_url, key), variant }
}

/// A new random webhook secret: 32 bytes from the system's secure generator, hex; `None` when
/// the generator fails (never a guessable secret).
pub fn generate_secret() -> Option<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    // aws-lc-rs is already the core's crypto library; its generator is the OS's CSPRNG.
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

/// Registers the instance's webhook at the provider when `decision` says so (after [`prepare`]
/// and once the instance and its credentials are stored), and records the outcome on the
/// instance. Returns the stored record.
pub async fn activate(
    stores: &Stores,
    loaded: &LoadedConnector,
    record: InstanceRecord,
    decision: Decision,
    now: DateTime<Utc>,
) -> InstanceRecord {
    let key = record.key();
    let state = match decision {
        Decision::None => return record,
        Decision::Manual { message, webhook_url } => SubscriptionState {
            status: SubscriptionStatus::Manual,
            id: None,
            expires_at: None,
            webhook_url,
            variant: 0,
            message: Some(message),
            updated_at: now,
        },
        Decision::Create { webhook_url, variant } => {
            if record.subscription.as_ref().is_some_and(|s| s.status == SubscriptionStatus::Active && s.id.is_some()) {
                return record;
            }
            let Some(plan) = loaded.connector.subscription().and_then(|p| p.variant(variant)) else { return record };
            let target = Target { webhook_url: &webhook_url, variant, subscription_id: None };
            match call(stores, loaded, &key, &record.config, SubscriptionAction::Create, target, now).await {
                Ok(answer) => {
                    tracing::info!(project_id = %key.project_id, connector_id = %key.connector_id, "webhook registered at the provider");
                    SubscriptionState {
                        status: SubscriptionStatus::Active,
                        id: answer.id,
                        expires_at: answer.expires_at.or_else(|| plan.requested_expiry(now)),
                        webhook_url,
                        variant,
                        message: None,
                        updated_at: now,
                    }
                }
                Err(error) => {
                    let message = format!("registering the webhook at the provider failed: {error}");
                    fail(stores, &key, &message).await;
                    SubscriptionState {
                        status: SubscriptionStatus::Failed,
                        id: None,
                        expires_at: None,
                        webhook_url,
                        variant,
                        message: Some(message),
                        updated_at: now,
                    }
                }
            }
        }
    };
    store_state(stores, &key, Some(state), record).await
}

/// Renews the instance's subscription when it expires within the descriptor's
/// `renewBeforeSeconds` of `now`, and stores the new expiry. `None` when nothing was due;
/// otherwise whether the renewal succeeded (a failure is on the instance's health).
pub async fn renew_if_due(
    stores: &Stores,
    loaded: &LoadedConnector,
    record: &InstanceRecord,
    now: DateTime<Utc>,
) -> Option<Result<DateTime<Utc>, String>> {
    let state = record.subscription.as_ref()?;
    let plan = loaded.connector.subscription()?.variant(state.variant)?;
    let renewable = matches!(state.status, SubscriptionStatus::Active | SubscriptionStatus::Failed);
    let (id, expires_at) = (state.id.as_deref()?, state.expires_at?);
    if !record.enabled || !renewable || !plan.renewal_due(expires_at, now) {
        return None;
    }
    let key = record.key();
    let target = Target { webhook_url: &state.webhook_url, variant: state.variant, subscription_id: Some(id) };
    let result =
        call(stores, loaded, &key, &record.config, SubscriptionAction::Renew, target, now).await.and_then(|answer| {
            answer.expires_at.or_else(|| plan.requested_expiry(now)).ok_or_else(|| "the renewal gave no expiry".into())
        });
    let next = match &result {
        Ok(new_expiry) => {
            tracing::info!(project_id = %key.project_id, connector_id = %key.connector_id, expires_at = %new_expiry, "webhook subscription renewed");
            SubscriptionState {
                status: SubscriptionStatus::Active,
                expires_at: Some(*new_expiry),
                message: None,
                updated_at: now,
                ..state.clone()
            }
        }
        Err(error) => {
            let message = format!("renewing the webhook subscription (expiring {expires_at}) failed: {error}");
            fail(stores, &key, &message).await;
            SubscriptionState {
                status: SubscriptionStatus::Failed,
                message: Some(message),
                updated_at: now,
                ..state.clone()
            }
        }
    };
    store_state(stores, &key, Some(next), record.clone()).await;
    Some(result)
}

/// Removes the instance's webhook at the provider (on disable and before a delete). A failure
/// is logged and returned (with `keep` the instance's state says so too), never raised: the
/// disable or delete goes on. `keep`: the instance stays (disable) and its state is updated.
pub async fn remove(
    stores: &Stores,
    loaded: &LoadedConnector,
    record: &InstanceRecord,
    keep: bool,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let Some(plans) = loaded.connector.subscription() else { return Ok(()) };
    let Some(state) = record.subscription.as_ref() else { return Ok(()) };
    let plan = plans.variant(state.variant);
    let Some(id) = state.id.as_deref().filter(|_| state.status != SubscriptionStatus::Deleted) else { return Ok(()) };
    let key = record.key();
    if plan.is_none_or(|p| p.delete.is_none()) {
        let message =
            format!("the connector cannot delete its webhook: remove subscription {id} at the provider by hand");
        tracing::warn!(project_id = %key.project_id, connector_id = %key.connector_id, "{message}");
        return Err(message);
    }
    let target = Target { webhook_url: &state.webhook_url, variant: state.variant, subscription_id: Some(id) };
    let result = call(stores, loaded, &key, &record.config, SubscriptionAction::Delete, target, now).await;
    let next = match &result {
        Ok(_) => {
            tracing::info!(project_id = %key.project_id, connector_id = %key.connector_id, "webhook deleted at the provider");
            SubscriptionState {
                status: SubscriptionStatus::Deleted,
                id: None,
                expires_at: None,
                message: None,
                updated_at: now,
                ..state.clone()
            }
        }
        Err(error) => {
            tracing::warn!(project_id = %key.project_id, connector_id = %key.connector_id, %error, "could not delete the webhook at the provider");
            SubscriptionState {
                status: SubscriptionStatus::Failed,
                message: Some(format!("deleting the webhook at the provider failed: {error}; delete it there by hand")),
                updated_at: now,
                ..state.clone()
            }
        }
    };
    if keep {
        store_state(stores, &key, Some(next), record.clone()).await;
    }
    result.map(|_| ()).map_err(|error| format!("deleting the webhook at the provider failed: {error}"))
}

/// Which subscription a request is about: where it delivers, which alternative, and its id once
/// created.
#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    webhook_url: &'a str,
    variant: usize,
    subscription_id: Option<&'a str>,
}

/// Sends one subscription request with the instance's stored credentials and keeps credentials
/// the request refreshed.
async fn call(
    stores: &Stores,
    loaded: &LoadedConnector,
    key: &InstanceKey,
    config: &BTreeMap<String, String>,
    action: SubscriptionAction,
    target: Target<'_>,
    now: DateTime<Utc>,
) -> Result<SubscriptionAnswer, String> {
    let credentials = match stores.secrets.get_credentials(key).await {
        Ok(versions) => versions.map(|v| v.current).unwrap_or_default(),
        Err(error) => return Err(format!("the instance's credentials cannot be read: {error}")),
    };
    let Target { webhook_url, variant, subscription_id } = target;
    let call =
        SubscriptionCall { action, variant, config, credentials: &credentials, webhook_url, subscription_id, now };
    let answer = loaded.connector.call_subscription(call).await.map_err(|e| e.to_string())?;
    if let Some(refreshed) = &answer.refreshed_credentials
        && let Err(error) = stores.update_credentials(key, &CredentialChange::oauth_tokens(refreshed)).await
    {
        tracing::error!(project_id = %key.project_id, connector_id = %key.connector_id, %error, "could not store refreshed OAuth2 tokens");
    }
    Ok(answer)
}

/// Records a failed subscription request on the instance's health.
async fn fail(stores: &Stores, key: &InstanceKey, message: &str) {
    tracing::warn!(project_id = %key.project_id, connector_id = %key.connector_id, error = message, "webhook subscription failed");
    let update = HealthUpdate::SyncFailed { error: format!("{HEALTH_PREFIX}: {message}"), reauth: false };
    if let Err(error) = stores.instances.record_health(key, &update).await {
        tracing::error!(project_id = %key.project_id, connector_id = %key.connector_id, %error, "could not record the subscription failure");
    }
}

/// Stores the subscription state; on failure logs it and returns `record` with the state set.
async fn store_state(
    stores: &Stores,
    key: &InstanceKey,
    state: Option<SubscriptionState>,
    mut record: InstanceRecord,
) -> InstanceRecord {
    let update = InstanceUpdate { subscription: Some(state.clone()), ..InstanceUpdate::default() };
    match stores.instances.update_instance(key, &update).await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::error!(project_id = %key.project_id, connector_id = %key.connector_id, %error, "could not store the webhook subscription");
            record.subscription = state;
            record
        }
    }
}
