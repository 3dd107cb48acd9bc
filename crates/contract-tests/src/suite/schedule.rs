//! The schedule index: each instance's stored next poll time
//! (`InstanceRecord::next_poll_at`), listed per connector up to a time
//! (`InstanceRegistry::list_due_instances`), and each connector's last schedule sweep.

use chrono::{DateTime, TimeDelta, Utc};
use switchboard_core::ports::{
    InstanceKey, InstanceUpdate, NewInstance, PollRecord, ScheduleSweep, StoreError, Stores, store_now,
};

use crate::backend::Backend;
use crate::fixtures::descriptor;

const POLLED: &str = "github-issues";
const OTHER: &str = "jira";

async fn registered(backend: &impl Backend) -> Stores {
    let stores = backend.stores().await;
    for id in [POLLED, OTHER] {
        stores.descriptors.register_descriptor(&descriptor(id, id), false).await.unwrap();
    }
    stores
}

async fn create(stores: &Stores, project: &str, connector: &str, enabled: bool) -> InstanceKey {
    let new = NewInstance { key: InstanceKey::new(project, connector), config: Default::default(), enabled };
    stores.instances.create_instance(&new).await.unwrap().key()
}

/// The projects of `connector`'s instances due at `now`, in listing order.
async fn due(stores: &Stores, connector: &str, now: DateTime<Utc>) -> Vec<String> {
    let listed = stores.instances.list_due_instances(connector, now).await.unwrap();
    assert!(listed.iter().all(|i| i.connector_id == connector), "another connector's instance was listed");
    assert!(
        listed.iter().all(|i| i.next_poll_at.is_some_and(|at| at.timestamp_millis() <= now.timestamp_millis())),
        "an instance not due yet was listed: {listed:?}"
    );
    listed.into_iter().map(|i| i.project_id).collect()
}

/// A new enabled instance is due at once (its stored time is its creation), a disabled one is
/// never listed; the listing is per connector, ordered by project, and includes a time equal
/// to `now`.
pub async fn new_instances_are_listed_due_per_connector_from_their_creation(backend: &impl Backend) {
    let stores = registered(backend).await;
    let before = store_now() - TimeDelta::milliseconds(1);
    for project in ["p3", "p1", "p10"] {
        create(&stores, project, POLLED, true).await;
    }
    create(&stores, "p2", POLLED, false).await;
    create(&stores, "p1", OTHER, true).await;
    let now = store_now();

    assert_eq!(due(&stores, POLLED, now).await, ["p1", "p10", "p3"]);
    assert_eq!(due(&stores, OTHER, now).await, ["p1"]);
    assert!(due(&stores, POLLED, before).await.is_empty(), "nothing was due before it existed");
    let created = stores.instances.get_instance(&InstanceKey::new("p3", POLLED)).await.unwrap().unwrap();
    assert_eq!(created.next_poll_at, Some(created.created_at));
    assert_eq!(due(&stores, POLLED, created.created_at).await.last().map(String::as_str), Some("p3"));
    let disabled = stores.instances.get_instance(&InstanceKey::new("p2", POLLED)).await.unwrap().unwrap();
    assert_eq!(disabled.next_poll_at, None);
    assert!(due(&stores, "nobody", now).await.is_empty());
}

/// A poll run's record moves its instance out of the listing until its next time, and only
/// that instance: another project of the same connector (even one whose id extends it) and
/// the same project's instance of another connector keep theirs.
pub async fn a_poll_run_moves_only_its_own_instance_out_until_its_next_time(backend: &impl Backend) {
    let stores = registered(backend).await;
    let p1 = create(&stores, "p1", POLLED, true).await;
    create(&stores, "p10", POLLED, true).await;
    create(&stores, "p1", OTHER, true).await;
    let t0 = store_now();
    let next = t0 + TimeDelta::minutes(5);
    let poll =
        PollRecord { started_at: t0, items: 1, failed: false, health: None, backfill: None, next_poll_at: Some(next) };
    let record = stores.instances.record_poll(&p1, &poll).await.unwrap();
    assert_eq!(record.next_poll_at, Some(next));
    assert_eq!(stores.instances.get_instance(&p1).await.unwrap().unwrap().next_poll_at, Some(next));

    assert_eq!(due(&stores, POLLED, t0 + TimeDelta::seconds(1)).await, ["p10"]);
    assert_eq!(due(&stores, OTHER, t0 + TimeDelta::seconds(1)).await, ["p1"]);
    assert!(due(&stores, POLLED, next - TimeDelta::milliseconds(1)).await == ["p10"]);
    assert_eq!(due(&stores, POLLED, next).await, ["p1", "p10"], "due at its time exactly");

    let unschedulable = PollRecord { next_poll_at: None, ..poll };
    stores.instances.record_poll(&p1, &unschedulable).await.unwrap();
    assert_eq!(due(&stores, POLLED, next + TimeDelta::days(1)).await, ["p10"]);
}

/// Writes move an instance in and out: its stored time set later, earlier or cleared (without
/// touching `updatedAt`), a disable or "re-auth needed" takes it out at once; a re-enable leaves
/// the time to whoever knows the interval.
pub async fn updates_move_an_instance_in_and_out_of_the_due_listing(backend: &impl Backend) {
    let stores = registered(backend).await;
    let key = create(&stores, "p1", POLLED, true).await;
    let created = stores.instances.get_instance(&key).await.unwrap().unwrap();
    let now = store_now() + TimeDelta::seconds(1);
    assert_eq!(due(&stores, POLLED, now).await, ["p1"]);

    stores.instances.set_next_poll_at(&key, Some(now + TimeDelta::hours(1))).await.unwrap();
    assert!(due(&stores, POLLED, now).await.is_empty());
    stores.instances.set_next_poll_at(&key, Some(now - TimeDelta::hours(1))).await.unwrap();
    assert_eq!(due(&stores, POLLED, now).await, ["p1"]);
    stores.instances.set_next_poll_at(&key, None).await.unwrap();
    assert!(due(&stores, POLLED, now + TimeDelta::days(365)).await.is_empty());
    let read = stores.instances.get_instance(&key).await.unwrap().unwrap();
    assert_eq!((read.next_poll_at, read.updated_at), (None, created.updated_at), "only the schedule changed");

    stores.instances.set_next_poll_at(&key, Some(now)).await.unwrap();
    let disable = InstanceUpdate { enabled: Some(false), ..InstanceUpdate::default() };
    assert_eq!(stores.instances.update_instance(&key, &disable).await.unwrap().next_poll_at, None);
    assert!(due(&stores, POLLED, now).await.is_empty(), "a disabled instance is out at once");
    let enable = InstanceUpdate { enabled: Some(true), ..InstanceUpdate::default() };
    assert_eq!(stores.instances.update_instance(&key, &enable).await.unwrap().next_poll_at, None);
    stores.instances.set_next_poll_at(&key, Some(now)).await.unwrap();
    assert_eq!(due(&stores, POLLED, now).await, ["p1"]);

    let reauth = InstanceUpdate { reauth_needed: Some(true), ..InstanceUpdate::default() };
    stores.instances.update_instance(&key, &reauth).await.unwrap();
    assert!(due(&stores, POLLED, now).await.is_empty(), "waiting for re-authorisation: out at once");
    stores.instances.set_next_poll_at(&key, Some(now)).await.unwrap();
    let other = InstanceUpdate { polling_interval_seconds: Some(Some(900)), ..InstanceUpdate::default() };
    stores.instances.update_instance(&key, &other).await.unwrap();
    assert_eq!(due(&stores, POLLED, now).await, ["p1"], "other updates leave the stored time alone");

    let missing = InstanceKey::new("p9", POLLED);
    assert!(matches!(stores.instances.set_next_poll_at(&missing, Some(now)).await, Err(StoreError::NotFound { .. })));
    assert!(stores.instances.get_instance(&missing).await.unwrap().is_none(), "no instance was made up");
}

/// A connector's schedule sweep is absent until recorded, then the last one recorded, per
/// connector.
pub async fn a_schedule_sweep_is_recorded_per_connector(backend: &impl Backend) {
    let stores = registered(backend).await;
    assert_eq!(stores.instances.schedule_sweep(POLLED).await.unwrap(), None);
    let first = ScheduleSweep { bounds: "300/300/86400".into(), swept_at: store_now() };
    stores.instances.record_schedule_sweep(POLLED, &first).await.unwrap();
    assert_eq!(stores.instances.schedule_sweep(POLLED).await.unwrap(), Some(first.clone()));
    assert_eq!(stores.instances.schedule_sweep(OTHER).await.unwrap(), None);
    let second = ScheduleSweep { bounds: "600/60/3600".into(), swept_at: first.swept_at + TimeDelta::hours(1) };
    stores.instances.record_schedule_sweep(POLLED, &second).await.unwrap();
    assert_eq!(stores.instances.schedule_sweep(POLLED).await.unwrap(), Some(second));
}
