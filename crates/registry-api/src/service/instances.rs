//! Connector instances' rules: a caller sees only its projects' instances; project ids keep to
//! a safe alphabet; config and credentials must fit the descriptor's fields; every URL the
//! instance's config produces must name a host the descriptor's `allowedHosts` permits (or the
//! operator admits). Credentials are write-only: they go to the secret store and only their keys
//! come back. An update merges the credentials it carries into the stored ones (so one key can
//! be rotated, and OAuth2 tokens survive a client-secret change) and replaces the whole config
//! map when it carries one — except that credentials are bound to their destination: an update
//! that changes where requests go (`baseUrl`, or any config that feeds a URL's host) must carry
//! the credentials again, and they replace the stored ones (OAuth2 tokens included).
//!
//! A connector that manages its webhook subscription has it registered at the provider when an
//! instance is created enabled, enabled, or given the config it lacked (a webhook secret is
//! generated when none is set), and removed when the instance is disabled or deleted
//! ([`switchboard_core::subscriptions`]); neither outcome fails the request.

use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use switchboard_core::ProjectId;
use switchboard_core::catalog::LoadedConnector;
use switchboard_core::ports::{
    CredentialChange, Credentials, InstanceKey, InstanceRecord, InstanceUpdate, NewInstance, SubscriptionStatus,
    store_now,
};
use switchboard_core::subscriptions::{self, Decision};

use crate::auth::Caller;
use crate::service::destinations::Destinations;
use crate::service::error::ServiceError;
use crate::service::fields::FieldCheck;
use crate::service::schedule::{self, Schedule};
use crate::service::{access, connectors};
use crate::state::RegistryState;

/// An instance with the keys of its stored credentials (never their values).
#[derive(Debug, Clone)]
pub struct InstanceDetails {
    /// The stored instance.
    pub record: InstanceRecord,
    /// Keys of the stored credentials.
    pub credentials_set: Vec<String>,
    /// Its polling schedule (`None` when its connector does not poll).
    pub schedule: Option<Schedule>,
}

/// A new instance's values, as sent (checked against the descriptor by [`create`]).
#[derive(Debug, Clone, Default)]
pub struct InstanceValues {
    /// Values for the descriptor's `configFields`.
    pub config: Map<String, Value>,
    /// Values for the descriptor's credential fields.
    pub credentials: Map<String, Value>,
    /// Whether it starts enabled.
    pub enabled: bool,
}

/// Changes to an instance; `None` leaves a part as it is.
#[derive(Debug, Clone, Default)]
pub struct InstanceChanges {
    /// Replaces the whole config map.
    pub config: Option<Map<String, Value>>,
    /// Merged into the stored credentials; replaces them when the config change moves where
    /// requests go.
    pub credentials: Option<Map<String, Value>>,
    /// Enables or disables.
    pub enabled: Option<bool>,
    /// The instance's own polling interval, within the descriptor's bounds.
    pub polling_interval_seconds: Option<u32>,
}

/// A project the caller may create instances in, with a valid id (from [`new_instance_project`]).
#[derive(Debug, Clone, Copy)]
pub struct NewInstanceProject<'a> {
    caller: &'a Caller,
    project_id: &'a str,
}

/// The instance, after checking the caller may see its project; `NotFound` otherwise.
pub async fn find(
    state: &RegistryState,
    caller: &Caller,
    project_id: &str,
    connector_id: &str,
) -> Result<InstanceRecord, ServiceError> {
    access::project(caller, project_id)?;
    state.stores.instances.get_instance(&InstanceKey::new(project_id, connector_id)).await?.ok_or_else(|| {
        ServiceError::NotFound(format!("connector `{connector_id}` is not connected to project `{project_id}`"))
    })
}

/// A project's instances, ordered by connector id.
pub async fn list(
    state: &RegistryState,
    caller: &Caller,
    project_id: &str,
) -> Result<Vec<InstanceDetails>, ServiceError> {
    access::project(caller, project_id)?;
    let records = state.stores.instances.list_instances_by_project(project_id).await?;
    let mut instances = Vec::with_capacity(records.len());
    for record in records {
        instances.push(details(state, record).await?);
    }
    Ok(instances)
}

/// The instance's current credentials, if any were stored.
pub async fn stored_credentials(state: &RegistryState, key: &InstanceKey) -> Result<Option<Credentials>, ServiceError> {
    Ok(state.stores.secrets.get_credentials(key).await?.map(|versions| versions.current))
}

/// The instance with the keys of its stored credentials.
pub async fn details(state: &RegistryState, record: InstanceRecord) -> Result<InstanceDetails, ServiceError> {
    let credentials_set = match record.credential_secret_ref {
        None => Vec::new(),
        Some(_) => stored_credentials(state, &record.key()).await?.map(|c| keys(&c)).unwrap_or_default(),
    };
    let schedule = schedule::load(state, &record).await?;
    Ok(InstanceDetails { record, credentials_set, schedule })
}

/// Checks that the caller may use `project_id` and that the id fits storage keys and secret
/// names (1 to 64 letters, digits, `-`, `_` or `.`, not starting with `.`).
pub fn new_instance_project<'a>(
    caller: &'a Caller,
    project_id: &'a str,
) -> Result<NewInstanceProject<'a>, ServiceError> {
    access::project(caller, project_id)?;
    ProjectId::parse(project_id).map_err(|error| ServiceError::Invalid(error.to_string()))?;
    Ok(NewInstanceProject { caller, project_id })
}

/// Connects `connector_id` to the project: checks the values against the descriptor and its
/// allowed hosts, stores the credentials and the instance.
pub async fn create(
    state: &RegistryState,
    project: NewInstanceProject<'_>,
    connector_id: &str,
    values: InstanceValues,
) -> Result<InstanceDetails, ServiceError> {
    let NewInstanceProject { caller, project_id } = project;
    let loaded = connectors::compiled(state, connector_id).await?;
    let compiled = loaded.descriptor.clone();
    let descriptor = compiled.model();
    let key = InstanceKey::new(project_id, connector_id);
    let mut check = FieldCheck::new();
    let config = check.config(descriptor, &values.config);
    let mut credentials = check.credentials(descriptor, &values.credentials);
    // May generate the webhook secret, which then counts as given.
    let decision = if values.enabled {
        subscriptions::prepare(&loaded, &key, &config, &mut credentials, state.public_url.as_deref())
    } else {
        Decision::None
    };
    check.required_credentials(descriptor, credentials.keys());
    check.finish(connector_id)?;

    let mut check = FieldCheck::new();
    let destinations = Destinations::of(&compiled);
    let effective = compiled.effective_config(&config);
    check.extend(destinations.check(&compiled, &effective, &credentials, state.operator_admits_host.as_ref()));
    check.finish(connector_id)?;

    let new = NewInstance { key, config, enabled: values.enabled };
    let record = state.stores.create_instance(&new, &credentials).await?;
    tracing::info!(project_id, connector_id, subject = %caller.subject, "instance created");
    let record = subscriptions::activate(&state.stores, &loaded, record, decision, store_now()).await;
    // Its first sync (a backfill from its start date) starts now, not at the next scheduled run.
    schedule::poll_now(state, descriptor, &record).await;
    Ok(InstanceDetails { schedule: schedule::of(descriptor, &record), record, credentials_set: keys(&credentials) })
}

/// Registers the instance's webhook at the provider when its connector manages one and it is
/// not registered yet (after an enable, or a config change that supplies what it lacked). A
/// generated webhook secret is stored with the credentials first.
async fn subscribe(
    state: &RegistryState,
    loaded: &LoadedConnector,
    record: InstanceRecord,
) -> Result<InstanceRecord, ServiceError> {
    let active = record.subscription.as_ref().is_some_and(|s| s.status == SubscriptionStatus::Active);
    if loaded.connector.subscription().is_none() || !record.enabled || active {
        return Ok(record);
    }
    let key = record.key();
    let stored = stored_credentials(state, &key).await?.unwrap_or_default();
    let mut credentials = stored.clone();
    let decision = subscriptions::prepare(loaded, &key, &record.config, &mut credentials, state.public_url.as_deref());
    let generated: Credentials = credentials
        .keys()
        .filter(|k| stored.get(k).is_none())
        .filter_map(|k| credentials.get(k).map(|v| (k.to_owned(), v.expose_secret().to_owned())))
        .collect();
    if !generated.is_empty() {
        state.stores.update_credentials(&key, &CredentialChange::merge(&generated)).await?;
    }
    Ok(subscriptions::activate(&state.stores, loaded, record, decision, store_now()).await)
}

/// Applies `changes` to an instance found with [`find`]. A change of config that moves where
/// requests go must carry the credentials again (they then replace the stored ones); a change
/// of config or credentials is checked against the descriptor's allowed hosts.
pub async fn update(
    state: &RegistryState,
    caller: &Caller,
    record: InstanceRecord,
    changes: InstanceChanges,
) -> Result<InstanceDetails, ServiceError> {
    let key = record.key();
    let loaded = connectors::compiled(state, &key.connector_id).await?;
    let compiled = loaded.descriptor.clone();
    let descriptor = compiled.model();
    let destinations = Destinations::of(&compiled);
    let was_enabled = record.enabled;

    let mut check = FieldCheck::new();
    let config = changes.config.as_ref().map(|config| check.config(descriptor, config));
    let sent = changes.credentials.as_ref().map(|sent| check.credentials(descriptor, sent));
    let before = compiled.effective_config(&record.config);
    let after = compiled.effective_config(config.as_ref().unwrap_or(&record.config));
    let moved = destinations.changed_keys(&before, &after);
    // Checked against the latest stored version; the write re-applies the change to whatever
    // is current then (a token refresh may land in between: both survive a merge).
    let latest = if sent.is_some() || !moved.is_empty() || destinations.read_credentials() {
        state.stores.secrets.read_latest_credentials(&key).await?.map(|v| v.current)
    } else {
        None
    };
    let change = if moved.is_empty() {
        sent.as_ref().map(|sent| {
            let change = CredentialChange::merge(sent);
            check.required_credentials(descriptor, change.apply(latest.as_ref()).keys());
            change
        })
    } else {
        let stored = latest.as_ref().is_some_and(|c| !c.is_empty());
        check.credentials_resent(descriptor, &moved, sent.as_ref(), stored);
        sent.as_ref().map(CredentialChange::replace_all)
    };
    check.finish(&key.connector_id)?;
    let interval = changes.polling_interval_seconds.map(|s| schedule::check_interval(descriptor, s)).transpose()?;

    if config.is_some() || change.is_some() {
        let credentials = match &change {
            Some(change) => change.apply(latest.as_ref()),
            None => latest.clone().unwrap_or_default(),
        };
        let mut check = FieldCheck::new();
        check.extend(destinations.check(&compiled, &after, &credentials, state.operator_admits_host.as_ref()));
        check.finish(&key.connector_id)?;
    }

    // Credentials first: requests never carry the old credentials to the new destination.
    if let Some(change) = &change {
        state.stores.update_credentials(&key, change).await?;
    }
    // New credentials end a wait for re-authorisation.
    let reauthorised = change.is_some() && record.health.reauth_needed;
    let update = InstanceUpdate {
        config,
        enabled: changes.enabled,
        polling_interval_seconds: interval.map(Some),
        reauth_needed: reauthorised.then_some(false),
        ..InstanceUpdate::default()
    };
    let record = state.stores.instances.update_instance(&key, &update).await?;
    let record = schedule::store(state, descriptor, record).await;
    if (!was_enabled && record.enabled) || reauthorised {
        schedule::poll_now(state, descriptor, &record).await;
    }
    let record = if was_enabled && !record.enabled {
        // The outcome is on the instance's subscription state; the disable goes on regardless.
        let _ = subscriptions::remove(&state.stores, &loaded, &record, true, store_now()).await;
        state.stores.instances.get_instance(&key).await?.unwrap_or(record)
    } else {
        subscribe(state, &loaded, record).await?
    };
    tracing::info!(
        project_id = key.project_id.as_str(),
        connector_id = key.connector_id.as_str(),
        subject = %caller.subject,
        credentials_changed = change.is_some(),
        destination_changed = !moved.is_empty(),
        "instance updated"
    );
    details(state, record).await
}

/// Enables or disables an instance found with [`find`].
pub async fn set_enabled(
    state: &RegistryState,
    caller: &Caller,
    record: InstanceRecord,
    enabled: bool,
) -> Result<InstanceDetails, ServiceError> {
    let key = record.key();
    let loaded = connectors::compiled(state, &key.connector_id).await?;
    let was_enabled = record.enabled;
    let update = InstanceUpdate { enabled: Some(enabled), ..InstanceUpdate::default() };
    let record = state.stores.instances.update_instance(&key, &update).await?;
    let record = schedule::store(state, loaded.descriptor.model(), record).await;
    if !was_enabled && enabled {
        schedule::poll_now(state, loaded.descriptor.model(), &record).await;
    }
    let record = if was_enabled && !enabled {
        // The outcome is on the instance's subscription state; the disable goes on regardless.
        let _ = subscriptions::remove(&state.stores, &loaded, &record, true, store_now()).await;
        state.stores.instances.get_instance(&key).await?.unwrap_or(record)
    } else {
        subscribe(state, &loaded, record).await?
    };
    tracing::info!(
        project_id = key.project_id.as_str(),
        connector_id = key.connector_id.as_str(),
        enabled,
        subject = %caller.subject,
        "instance enabled flag set"
    );
    details(state, record).await
}

/// Disconnects: removes the instance's managed webhook at the provider, then deletes the
/// instance, its credentials and its poll checkpoint. A webhook that could not be removed does
/// not stop the delete: the reason is logged and returned.
pub async fn delete(
    state: &RegistryState,
    caller: &Caller,
    record: &InstanceRecord,
) -> Result<Option<String>, ServiceError> {
    let warning = match connectors::compiled(state, &record.connector_id).await {
        Ok(loaded) => subscriptions::remove(&state.stores, &loaded, record, false, store_now()).await.err(),
        Err(error) => record.subscription.as_ref().and_then(|s| s.id.as_ref()).map(|id| {
            format!("the webhook (subscription {id}) was not deleted at the provider: the connector cannot be loaded ({error}); delete it there by hand")
        }),
    };
    state.stores.delete_instance(&record.key()).await?;
    tracing::info!(
        project_id = record.project_id.as_str(),
        connector_id = record.connector_id.as_str(),
        subject = %caller.subject,
        "instance deleted"
    );
    Ok(warning)
}

fn keys(credentials: &Credentials) -> Vec<String> {
    credentials.keys().map(str::to_owned).collect()
}
