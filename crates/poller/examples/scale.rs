//! Scale model of the scheduler (`bench/scale.sh`): registers N instances of one polling
//! connector through the store port, `due` of them due, then runs the scheduler's due listing
//! ([`switchboard_poller::due_instances`]) beside the listing it replaced (every instance of the
//! connector, filtered by the schedule rule) and prints the records each read per run.
//!
//! ```text
//! cargo run --release -p switchboard-poller --example scale -- embedded 1000,10000,100000 10
//! infra/local/moto.sh cargo run --release -p switchboard-poller --example scale -- moto 1000,10000 10
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt as _;
use switchboard_aws::resources::{ResourceNames, create_table};
use switchboard_aws::{AwsClients, AwsSettings};
use switchboard_core::Descriptor;
use switchboard_core::ports::{HealthUpdate, InstanceKey, NewInstance, PollRecord, Stores, store_now};
use switchboard_core::sync_schedule::{IntervalBounds, is_due, next_poll_at};
use switchboard_embedded::Embedded;
use switchboard_poller::{DEFAULT_INTERVAL, due_instances};

const CONNECTOR: &str = "github-issues";
/// Writes in flight while registering.
const IN_FLIGHT: usize = 32;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: scale <embedded|moto> <sizes, e.g. 1000,10000> <due>";
    let backend = args.first().ok_or(usage)?.clone();
    let sizes: Vec<usize> = args
        .get(1)
        .ok_or(usage)?
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("sizes: {e}"))?;
    let due: usize = args.get(2).ok_or(usage)?.parse().map_err(|e| format!("due: {e}"))?;
    println!(
        "{:<9} {:>10} {:>5} {:>12} {:>12} {:>8} {:>10} {:>10} {:>12}",
        "backend", "registered", "due", "reads (new)", "reads (old)", "old/new", "new ms", "old ms", "setup s/1k"
    );
    for size in sizes {
        let dir = tempfile::tempdir()?;
        let stores = match backend.as_str() {
            "embedded" => Embedded::open(&dir.path().join("switchboard.db"))?.stores(),
            "moto" => moto_stores().await?,
            other => return Err(format!("unknown backend `{other}`: {usage}").into()),
        };
        let setup = Instant::now();
        let now = register(&stores, size, due.min(size)).await?;
        let setup_per_1k = setup.elapsed().as_secs_f64() / (size as f64 / 1000.0);

        // The first run sweeps (no sweep recorded yet); the run measured is the one after it.
        let hour = Duration::from_secs(3600);
        due_instances(&stores, DEFAULT_INTERVAL, hour, now).await?;
        let started = Instant::now();
        let listing = due_instances(&stores, DEFAULT_INTERVAL, hour, now).await?;
        let new_ms = started.elapsed().as_secs_f64() * 1000.0;
        if !listing.swept.is_empty() {
            return Err("the measured run swept; it should read the schedule index".into());
        }
        let started = Instant::now();
        let (old_keys, old_read) = full_listing(&stores, now).await?;
        let old_ms = started.elapsed().as_secs_f64() * 1000.0;
        let new_keys: Vec<InstanceKey> = listing.instances.iter().map(|d| d.record.key()).collect();
        if new_keys != old_keys {
            let (new, old) = (new_keys.len(), old_keys.len());
            return Err(format!("the due listing found {new} instances, the full listing {old}").into());
        }
        println!(
            "{:<9} {:>10} {:>5} {:>12} {:>12} {:>7.0}x {:>10.1} {:>10.1} {:>12.2}",
            backend,
            size,
            new_keys.len(),
            listing.instances_read,
            old_read,
            old_read as f64 / listing.instances_read.max(1) as f64,
            new_ms,
            old_ms,
            setup_per_1k
        );
    }
    Ok(())
}

/// Stores on the local AWS server of `AWS_ENDPOINT_URL` (moto), in a table of their own.
async fn moto_stores() -> Result<Stores, Error> {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").map_err(|_| "moto needs AWS_ENDPOINT_URL (infra/local/moto.sh)")?;
    if !(endpoint.contains("127.0.0.1") || endpoint.contains("localhost")) {
        return Err(format!("AWS_ENDPOINT_URL={endpoint} is not a local server").into());
    }
    let clients = AwsClients::from_env().await;
    let names = ResourceNames::new(format!("scale-{}", uuid::Uuid::new_v4().simple()));
    create_table(&clients.dynamodb, &names.table()).await?;
    let settings = AwsSettings {
        table_name: names.table(),
        secret_prefix: names.secret_prefix(),
        secret_cache_ttl: Duration::from_secs(60),
    };
    Ok(settings.stores(&clients))
}

/// Registers the connector and `size` enabled instances, each with one synced run recorded as
/// the poller records it: `due` of them synced ten minutes ago (due: the interval is five
/// minutes), the others just now. Returns the time to list at.
async fn register(stores: &Stores, size: usize, due: usize) -> Result<DateTime<Utc>, Error> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../descriptors/github-issues.json");
    let descriptor = Descriptor::from_json_str(&std::fs::read_to_string(path)?, "github-issues.json")
        .map_err(|e| format!("{e:?}"))?;
    stores.descriptors.register_descriptor(descriptor.model(), true).await?;
    let polling = descriptor.model().ingestion.polling().ok_or("the connector does not poll")?;
    let interval = IntervalBounds::of(polling, DEFAULT_INTERVAL).effective(None);
    let now = store_now();
    let results: Vec<Result<(), Error>> = futures_util::stream::iter(0..size)
        .map(|n| async move {
            let key = InstanceKey::new(format!("project-{n:06}"), CONNECTOR);
            let new = NewInstance { key: key.clone(), config: Default::default(), enabled: true };
            let mut record = stores.instances.create_instance(&new).await?;
            let at = if n < due { now - TimeDelta::minutes(10) } else { now };
            let mut poll = PollRecord {
                started_at: at,
                items: 0,
                failed: false,
                health: Some(HealthUpdate::Synced { at }),
                backfill: None,
                next_poll_at: None,
            };
            record.apply_poll(&poll);
            poll.next_poll_at = next_poll_at(&record, interval);
            stores.instances.record_poll(&key, &poll).await?;
            Ok(())
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    results.into_iter().collect::<Result<(), Error>>()?;
    Ok(now)
}

/// The listing the due listing replaced: every instance of the connector, filtered by the rule.
async fn full_listing(stores: &Stores, now: DateTime<Utc>) -> Result<(Vec<InstanceKey>, usize), Error> {
    let stored = stores.descriptors.get_descriptor(CONNECTOR).await?.ok_or("no descriptor")?;
    let bounds = IntervalBounds::of(stored.descriptor.ingestion.polling().ok_or("not polling")?, DEFAULT_INTERVAL);
    let all = stores.instances.list_instances_by_connector(CONNECTOR).await?;
    let read = all.len();
    let due = all
        .into_iter()
        .filter(|i| is_due(i, bounds.effective(i.polling_interval_seconds), now))
        .map(|i| i.key())
        .collect();
    Ok((due, read))
}
