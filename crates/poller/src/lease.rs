//! Keeping an instance's lease while it is polled: renewed in the background every third of its
//! duration, so a page that takes longer than the lease cannot let a second poller in.

use std::time::Duration;

use switchboard_core::ports::{InstanceKey, LeaseStore, StoreError};
use tokio::sync::watch;
use tokio::time::Instant;

/// Renews `holder`'s lease on `key` every `ttl / 3` until dropped. Returns only when the lease
/// is lost: another holder has it, or renewals kept failing until the lease would lapse before
/// the next attempt. Then `lost` becomes `true` first, so the instance's work stops.
pub(crate) async fn keep_lease(
    leases: &dyn LeaseStore,
    key: &InstanceKey,
    holder: &str,
    ttl: Duration,
    lost: watch::Sender<bool>,
) -> StoreError {
    let every = (ttl / 3).max(Duration::from_millis(1));
    // Taken just before this started: counted from now, it lapses no later than this.
    let mut held_until = Instant::now() + ttl;
    loop {
        tokio::time::sleep(every).await;
        let asked = Instant::now();
        let renewed = tokio::time::timeout(every, leases.renew_lease(key, holder, ttl)).await;
        let error = match renewed {
            Ok(Ok(_)) => {
                held_until = asked + ttl;
                continue;
            }
            Ok(Err(error)) => error,
            Err(_) => StoreError::backend("renewing the lease", format!("no answer within {every:?}")),
        };
        let taken = matches!(error, StoreError::ConditionFailed(_));
        if !taken && Instant::now() + every < held_until {
            tracing::warn!(%error, "cannot renew the lease; trying again before it lapses");
            continue;
        }
        tracing::warn!(%error, "the lease is lost; this instance's work stops");
        lost.send_replace(true);
        return error;
    }
}
