//! Health notices: when an instance starts failing (a number of consecutive failures, 3 by
//! default), needs re-authorising, or works again, one `connector_health` signal (source
//! `switchboard`) goes to the signals queue.
//!
//! # Exactly one notice per transition
//!
//! The notified state is stored on the instance ([`InstanceHealth::alert`]). After recording a
//! run's health, the poller compares the state the health calls for ([`wanted_alert`]) with the
//! notified one; when they differ it moves the notified state with a compare-and-set on
//! `alertChangedAt` ([`InstanceRegistry::set_health_alert`]): of two writers that notice the same
//! transition, exactly one wins and sends the notice. The notice travels as an envelope on the
//! ingest queue ([`Envelope::notice`]), so the normaliser deduplicates it by its id (derived from
//! the instance and the transition's time) and sends it to the signals queue with every other
//! signal. If the envelope cannot be queued the notified state is moved back, so the next run
//! notices the transition again.
//!
//! The check is level-triggered: a failure recorded elsewhere (a test connection run from the
//! dashboard) counts too, and is notified at the instance's next poll.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use crate::envelope::Envelope;
use crate::ids::IdError;
use crate::model::Priority;
use crate::ports::{
    HealthAlert, InstanceHealth, InstanceKey, InstanceRegistry, QueueMessage, QueueSender, RetryPolicy, StoreError,
    send_batch, store_now,
};
use crate::signal::{IngestionKind, NormalisedSignal, rfc3339, signal_id};

/// Consecutive failures after which an instance is notified as failing.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;

/// The `source` of health notices.
pub const SOURCE: &str = "switchboard";

/// The `signalType` of health notices.
pub const SIGNAL_TYPE: &str = "connector_health";

/// Characters of the last error a notice's summary quotes.
const ERROR_EXCERPT_CHARS: usize = 300;

/// The health state `health` calls for, given the one last notified: re-auth needed before
/// failing; failing from `threshold` consecutive failures (at least 1); working again (`None`)
/// once a check or sync succeeded; between 1 and `threshold - 1` failures, whatever was notified
/// last (a single failure neither raises nor clears a notice).
pub fn wanted_alert(health: &InstanceHealth, threshold: u32) -> Option<HealthAlert> {
    if health.reauth_needed {
        Some(HealthAlert::ReauthNeeded)
    } else if health.consecutive_failures >= threshold.max(1) {
        Some(HealthAlert::Failing)
    } else if health.consecutive_failures == 0 {
        None
    } else {
        health.alert
    }
}

/// One transition of an instance's notified health state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTransition {
    /// Which instance.
    pub key: InstanceKey,
    /// The state notified before.
    pub from: Option<HealthAlert>,
    /// The state notified now (`None`: works again).
    pub to: Option<HealthAlert>,
    /// When the transition was recorded.
    pub at: DateTime<Utc>,
    /// Failures in a row when it was recorded.
    pub consecutive_failures: u32,
    /// The last failure's message.
    pub last_error: Option<String>,
}

impl HealthTransition {
    /// The transition `health` calls for, to be recorded at `at`; `None` when the notified
    /// state is already right.
    pub fn due(key: &InstanceKey, health: &InstanceHealth, threshold: u32, at: DateTime<Utc>) -> Option<Self> {
        let to = wanted_alert(health, threshold);
        (to != health.alert).then(|| Self {
            key: key.clone(),
            from: health.alert,
            to,
            at,
            consecutive_failures: health.consecutive_failures,
            last_error: health.last_error.clone(),
        })
    }

    /// What the notice says happened: `failing`, `reauth_needed` or `recovered`.
    pub fn state(&self) -> &'static str {
        self.to.map_or("recovered", HealthAlert::as_str)
    }

    /// The notice's priority by severity: nothing syncs until someone re-authorises
    /// (`critical`); syncs keep failing (`high`); it works again (`low`).
    pub fn priority(&self) -> Priority {
        match self.to {
            Some(HealthAlert::ReauthNeeded) => Priority::Critical,
            Some(HealthAlert::Failing) => Priority::High,
            None => Priority::Low,
        }
    }

    /// What happened and what to do next.
    pub fn summary(&self) -> String {
        let InstanceKey { project_id, connector_id } = &self.key;
        let error = self.last_error.as_deref().map(excerpt).unwrap_or_else(|| "no error message".to_owned());
        match self.to {
            Some(HealthAlert::ReauthNeeded) => format!(
                "{connector_id} in project {project_id} needs re-authorisation ({error}); polling is paused \
                 until new credentials are saved: reconnect it (OAuth2) or update its credentials"
            ),
            Some(HealthAlert::Failing) => format!(
                "{connector_id} in project {project_id} failed {} times in a row ({error}); it is retried \
                 every polling interval: check the service and the instance's configuration",
                self.consecutive_failures
            ),
            None => {
                let was = match self.from {
                    Some(HealthAlert::ReauthNeeded) => "re-authorisation",
                    _ => "repeated failures",
                };
                format!("{connector_id} in project {project_id} works again after {was}; nothing to do")
            }
        }
    }

    /// The `connector_health` signal, with a deterministic id per transition (the instance, the
    /// state and the transition's time), the instance as its related item.
    pub fn signal(&self, received_at: DateTime<Utc>) -> NormalisedSignal {
        let InstanceKey { project_id, connector_id } = &self.key;
        let timestamp = rfc3339(self.at);
        let state = self.state();
        let mut raw = Map::new();
        raw.insert("connectorId".into(), json!(connector_id));
        raw.insert("state".into(), json!(state));
        raw.insert("previousState".into(), json!(self.from.map_or("working", HealthAlert::as_str)));
        raw.insert("consecutiveFailures".into(), json!(self.consecutive_failures));
        raw.insert("lastError".into(), self.last_error.as_deref().map_or(Value::Null, |e| json!(excerpt(e))));
        NormalisedSignal {
            id: signal_id(SOURCE, project_id, connector_id, &format!("{timestamp}/{state}"), SIGNAL_TYPE),
            source: SOURCE.to_owned(),
            project_id: project_id.clone(),
            external_id: connector_id.clone(),
            signal_type: SIGNAL_TYPE.to_owned(),
            timestamp,
            received_at: rfc3339(received_at),
            summary: self.summary(),
            priority: Some(self.priority()),
            participants: Vec::new(),
            tags: vec![SIGNAL_TYPE.to_owned(), state.to_owned()],
            related_items: vec![format!("{project_id}/{connector_id}")],
            url: None,
            ingestion: IngestionKind::Polling,
            event_type: Some(state.to_owned()),
            raw,
        }
    }
}

/// The first [`ERROR_EXCERPT_CHARS`] characters of an error message.
fn excerpt(error: &str) -> String {
    match error.char_indices().nth(ERROR_EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &error[..end]),
        None => error.to_owned(),
    }
}

/// Why a health notice could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    /// The instance's ids break the id rules (an envelope needs valid ones).
    #[error("the instance's ids are invalid: {0}")]
    Ids(#[source] IdError),
    /// The notified state could not be read or moved.
    #[error("the notified health state could not be changed: {0}")]
    Store(#[source] StoreError),
    /// The ingest queue did not take the notice; the notified state was moved back.
    #[error("the health notice could not be queued: {0}")]
    Enqueue(#[source] StoreError),
}

/// Notifies the transition `health` calls for, if any: moves the notified state (compare-and-set)
/// and, if this caller won, puts the notice on `ingest`. Returns the transition sent, `None` when
/// there was nothing to send or another writer sent it. A rejected send is retried by `retry`,
/// waiting with `pause` (`tokio::time::sleep`).
pub async fn notify<P, F>(
    instances: &dyn InstanceRegistry,
    ingest: &dyn QueueSender,
    key: &InstanceKey,
    health: &InstanceHealth,
    threshold: u32,
    retry: RetryPolicy,
    pause: P,
) -> Result<Option<HealthTransition>, NoticeError>
where
    P: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    // Later than the last transition, so each transition has its own time (and signal id).
    let after_last = health.alert_changed_at.map(|t| t + TimeDelta::milliseconds(1));
    let at = after_last.map_or_else(store_now, |t| t.max(store_now()));
    let Some(transition) = HealthTransition::due(key, health, threshold, at) else { return Ok(None) };
    let (connector_id, project_id) = key.ids().map_err(NoticeError::Ids)?;
    let won = instances
        .set_health_alert(key, health.alert_changed_at, transition.to, at)
        .await
        .map_err(NoticeError::Store)?;
    if !won {
        return Ok(None);
    }
    let received_at = store_now();
    let envelope = Envelope::notice(connector_id, project_id, received_at, transition.signal(received_at));
    let message = QueueMessage::for_instance(envelope.to_json(), key);
    if let Err(error) = send_batch(ingest, &[message], retry, pause).await {
        // Moved back, so the next run notices the transition again.
        if let Err(undo) = instances.set_health_alert(key, Some(at), transition.from, store_now()).await {
            tracing::error!(instance = %key, error = %undo, "the notified health state could not be moved back; this transition is not notified");
        }
        return Err(NoticeError::Enqueue(error));
    }
    tracing::info!(instance = %key, state = transition.state(), "health notice queued");
    Ok(Some(transition))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(failures: u32, reauth: bool, alert: Option<HealthAlert>) -> InstanceHealth {
        InstanceHealth { consecutive_failures: failures, reauth_needed: reauth, alert, ..InstanceHealth::default() }
    }

    #[test]
    fn the_wanted_state_follows_failures_reauth_and_the_last_notice() {
        assert_eq!(wanted_alert(&health(0, false, None), 3), None);
        assert_eq!(wanted_alert(&health(2, false, None), 3), None);
        assert_eq!(wanted_alert(&health(3, false, None), 3), Some(HealthAlert::Failing));
        assert_eq!(wanted_alert(&health(1, true, None), 3), Some(HealthAlert::ReauthNeeded));
        // Between one failure and the threshold, the last notice stands.
        assert_eq!(wanted_alert(&health(1, false, Some(HealthAlert::Failing)), 3), Some(HealthAlert::Failing));
        assert_eq!(wanted_alert(&health(0, false, Some(HealthAlert::Failing)), 3), None);
        // A threshold of 0 means 1.
        assert_eq!(wanted_alert(&health(1, false, None), 0), Some(HealthAlert::Failing));
    }

    #[test]
    fn a_transition_is_due_only_when_the_notified_state_differs() {
        let key = InstanceKey::new("p1", "github-prs");
        let at = "2024-05-01T10:00:00Z".parse().unwrap();
        assert_eq!(HealthTransition::due(&key, &health(3, false, Some(HealthAlert::Failing)), 3, at), None);
        let failing = HealthTransition::due(&key, &health(3, false, None), 3, at).unwrap();
        assert_eq!((failing.from, failing.to, failing.state()), (None, Some(HealthAlert::Failing), "failing"));
        let recovered = HealthTransition::due(&key, &health(0, false, Some(HealthAlert::ReauthNeeded)), 3, at).unwrap();
        assert_eq!((recovered.state(), recovered.priority()), ("recovered", Priority::Low));
        assert!(recovered.summary().contains("works again after re-authorisation"), "{}", recovered.summary());
    }

    #[test]
    fn the_signal_names_the_instance_and_its_id_is_one_per_transition() {
        let key = InstanceKey::new("p1", "github-prs");
        let mut reauth = health(1, true, None);
        reauth.last_error = Some("re-auth needed: invalid_grant".into());
        let at = "2024-05-01T10:00:00Z".parse().unwrap();
        let transition = HealthTransition::due(&key, &reauth, 3, at).unwrap();
        let signal = transition.signal(at);
        assert_eq!((signal.source.as_str(), signal.signal_type.as_str()), (SOURCE, SIGNAL_TYPE));
        assert_eq!(signal.priority, Some(Priority::Critical));
        assert_eq!(signal.related_items, vec!["p1/github-prs".to_owned()]);
        assert!(
            signal.summary.contains("needs re-authorisation (re-auth needed: invalid_grant)"),
            "{}",
            signal.summary
        );
        // The same transition gives the same id whenever it is built; another time, another id.
        assert_eq!(transition.signal(store_now()).id, signal.id);
        let later = HealthTransition::due(&key, &reauth, 3, "2024-05-01T10:00:01Z".parse().unwrap()).unwrap();
        assert_ne!(later.signal(at).id, signal.id);
    }

    #[test]
    fn long_errors_are_cut_in_the_summary() {
        let long = "é".repeat(ERROR_EXCERPT_CHARS + 10);
        assert_eq!(excerpt(&long).chars().count(), ERROR_EXCERPT_CHARS + 1);
        assert_eq!(excerpt("short"), "short");
    }
}
