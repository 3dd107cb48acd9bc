//! `kill -9` in the middle of a burst of webhooks: every delivery serve answered 2xx is a signal
//! after a restart on the same data directory, and none is there twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Delivery, Launch, WEBHOOK_SECRET};

const SENDERS: u64 = 4;
const PER_SENDER: u64 = 250;
/// Accepted deliveries after which serve is killed.
const KILL_AFTER: usize = 150;
/// How long the restarted serve may take to turn every accepted delivery into a signal.
const RECOVERY: Duration = Duration::from_secs(40);

#[tokio::test]
async fn every_webhook_answered_2xx_before_a_kill_9_is_a_signal_after_restart() {
    let data = tempfile::tempdir().unwrap();
    let launch = Launch::new(data.path());
    let mut serve = launch.start().await;
    serve.admin().connect_github_prs("burst").await;

    let accepted: Arc<Mutex<Vec<u64>>> = Arc::default();
    let answered = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for sender in 0..SENDERS {
        let (base, accepted, answered) = (serve.base.clone(), accepted.clone(), answered.clone());
        senders.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
            for n in 1..=PER_SENDER {
                let pr = sender * 10_000 + n;
                let delivery = Delivery::pull_request_opened(&format!("burst-{pr}"), pr, WEBHOOK_SECRET);
                match delivery.send(&http, &base, "burst").await {
                    Ok(status) if (200..300).contains(&status) => accepted.lock().unwrap().push(pr),
                    Ok(status) => panic!("delivery {pr} was answered {status} before the kill"),
                    Err(_) => return, // serve is gone
                }
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    while answered.load(Ordering::SeqCst) < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    serve.kill_hard();
    for sender in senders {
        sender.await.unwrap();
    }
    let accepted = accepted.lock().unwrap().clone();
    assert!(accepted.len() >= KILL_AFTER);
    assert!(accepted.len() < (SENDERS * PER_SENDER) as usize, "the kill landed after the burst");

    let serve = launch.start().await;
    let api = serve.admin();
    let deadline = Instant::now() + RECOVERY;
    let ids = loop {
        let ids = api.external_ids("burst").await;
        let missing: Vec<&u64> = accepted.iter().filter(|pr| !ids.contains_key(&pr.to_string())).collect();
        if missing.is_empty() {
            break ids;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} accepted deliveries are not signals after {RECOVERY:?}, e.g. {:?}\n{}",
            missing.len(),
            accepted.len(),
            &missing[..missing.len().min(10)],
            serve.stderr()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "signals stored more than once: {twice:?}");
}
