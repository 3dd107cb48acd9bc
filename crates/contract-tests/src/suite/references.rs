//! Signals listed by reference (`SignalQuery::related`), which stores answer from an index
//! written with each signal.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use switchboard_core::model::Priority;
use switchboard_core::ports::{MAX_INDEXED_REFERENCES, SignalQuery, StoreError};
use switchboard_core::signal::{NormalisedSignal, rfc3339};
use tokio::task::JoinSet;

use crate::backend::Backend;
use crate::fixtures::signal;
use crate::signal_listing::{DAY, all_pages, ids, list, put_signals};

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + TimeDelta::minutes(minute)
}

/// A signal of `source` at minute `minute` with these references.
fn from(source: &str, project: &str, id: &str, minute: i64, related: &[&str]) -> NormalisedSignal {
    let mut s = signal(project, id, "opened", &rfc3339(at(minute)), related);
    s.source = source.to_owned();
    s
}

fn related(key: &str, limit: usize) -> SignalQuery {
    SignalQuery { related: Some(key.to_owned()), limit, ..SignalQuery::default() }
}

/// A reference lists every source's signals that name it, newest first, page by page, each
/// once; another project's signals under the same reference never appear (tenant).
pub async fn a_reference_lists_its_signals_from_every_source_newest_first(backend: &impl Backend) {
    let stores = backend.stores().await;
    put_signals(
        &stores,
        &[
            from("jira", "p1", "issue", 0, &["PROJ-123"]),
            from("github-prs", "p1", "pr", 30, &["octo/app#7", "PROJ-123"]),
            from("github-actions", "p1", "build", 45, &["PROJ-123", "octo/app#7"]),
            from("slack", "p1", "message", 20, &["PROJ-124", "PROJ-123"]),
            from("slack", "p1", "other", 50, &["PROJ-124"]),
            from("github-prs", "p1", "same-time", 30, &["PROJ-123"]),
            from("jira", "p2", "foreign", 40, &["PROJ-123"]),
        ],
        DAY,
    )
    .await;
    let expected = ["build", "same-time", "pr", "message", "issue"];
    assert_eq!(ids(&list(&stores, "p1", related("PROJ-123", 0)).await), expected);
    let pages = all_pages(&stores, "p1", related("PROJ-123", 2)).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1], "{pages:?}");
    assert_eq!(pages.concat(), expected);
    assert_eq!(ids(&list(&stores, "p1", related("octo/app#7", 0)).await), ["build", "pr"]);
    assert_eq!(ids(&list(&stores, "p2", related("PROJ-123", 0)).await), ["foreign"]);
    assert!(list(&stores, "p3", related("PROJ-123", 0)).await.signals.is_empty());
    let page = list(&stores, "p1", related("PROJ-124", 0)).await;
    assert_eq!(ids(&page), ["other", "message"]);
    assert_eq!(page.signals[1].related_items, ["PROJ-124", "PROJ-123"], "the signal reads back whole");
}

/// `since`, `signalType`, `source` and `priority` apply together with `related`.
pub async fn filters_apply_together_with_a_reference(backend: &impl Backend) {
    let stores = backend.stores().await;
    let mut urgent_pr = from("github-prs", "p1", "urgent-pr", 10, &["PROJ-1"]);
    urgent_pr.priority = Some(Priority::High);
    let mut calm_pr = from("github-prs", "p1", "calm-pr", 20, &["PROJ-1"]);
    calm_pr.priority = Some(Priority::Low);
    let mut merged = from("github-prs", "p1", "merged", 30, &["PROJ-1"]);
    merged.signal_type = "merged".into();
    merged.priority = Some(Priority::High);
    let mut urgent_build = from("github-actions", "p1", "urgent-build", 40, &["PROJ-1"]);
    urgent_build.priority = Some(Priority::High);
    let unrelated = {
        let mut s = from("github-prs", "p1", "unrelated", 50, &["PROJ-2"]);
        s.priority = Some(Priority::High);
        s
    };
    put_signals(&stores, &[urgent_pr, calm_pr, merged, urgent_build, unrelated], DAY).await;
    let query = |source: Option<&str>, priority, signal_type: Option<&str>, since: Option<i64>| SignalQuery {
        related: Some("PROJ-1".to_owned()),
        source: source.map(str::to_owned),
        priority,
        signal_type: signal_type.map(str::to_owned),
        since: since.map(at),
        ..SignalQuery::default()
    };
    let high = Some(Priority::High);
    let prs = Some("github-prs");
    assert_eq!(ids(&list(&stores, "p1", query(prs, None, None, None)).await), ["merged", "calm-pr", "urgent-pr"]);
    assert_eq!(ids(&list(&stores, "p1", query(None, high, None, None)).await), ["urgent-build", "merged", "urgent-pr"]);
    assert_eq!(ids(&list(&stores, "p1", query(prs, high, None, None)).await), ["merged", "urgent-pr"]);
    assert_eq!(ids(&list(&stores, "p1", query(prs, high, Some("opened"), None)).await), ["urgent-pr"]);
    assert_eq!(
        ids(&list(&stores, "p1", query(None, None, Some("opened"), Some(20))).await),
        ["urgent-build", "calm-pr"]
    );
    assert!(list(&stores, "p1", query(Some("slack"), None, None, None)).await.signals.is_empty());
    // Filtered and paged: every match once, in order.
    let paged = SignalQuery { limit: 1, ..query(None, high, None, None) };
    assert_eq!(all_pages(&stores, "p1", paged).await.concat(), ["urgent-build", "merged", "urgent-pr"]);
}

/// A signal stored again without a reference is no longer listed under it, and one it gained
/// lists it; its other references keep it.
pub async fn a_re_put_signal_leaves_the_references_it_dropped(backend: &impl Backend) {
    let stores = backend.stores().await;
    let mut pr = from("github-prs", "p1", "pr", 10, &["PROJ-1", "PROJ-2"]);
    put_signals(&stores, &[pr.clone(), from("github-prs", "p1", "kept", 5, &["PROJ-1"])], DAY).await;
    pr.related_items = vec!["PROJ-2".into(), "PROJ-3".into()];
    pr.summary = "Retitled".into();
    put_signals(&stores, std::slice::from_ref(&pr), DAY).await;
    assert_eq!(ids(&list(&stores, "p1", related("PROJ-1", 0)).await), ["kept"]);
    let page = list(&stores, "p1", related("PROJ-2", 0)).await;
    assert_eq!((ids(&page), page.signals[0].summary.as_str()), (vec!["pr"], "Retitled"));
    assert_eq!(ids(&list(&stores, "p1", related("PROJ-3", 0)).await), ["pr"]);
    pr.related_items.clear();
    put_signals(&stores, std::slice::from_ref(&pr), DAY).await;
    assert!(list(&stores, "p1", related("PROJ-2", 0)).await.signals.is_empty());
    assert_eq!(ids(&list(&stores, "p1", SignalQuery::default()).await), ["pr", "kept"]);
}

/// Index entries expire with their signal, before any clean-up has run.
pub async fn a_reference_hides_expired_signals(backend: &impl Backend) {
    let stores = backend.stores().await;
    let fleeting = from("slack", "p1", "fleeting", 10, &["PROJ-1"]);
    stores.signals.put_signal(&fleeting, Duration::from_secs(1)).await.unwrap();
    put_signals(&stores, &[from("jira", "p1", "lasting", 5, &["PROJ-1"])], DAY).await;
    assert_eq!(ids(&list(&stores, "p1", related("PROJ-1", 0)).await), ["fleeting", "lasting"]);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(ids(&list(&stores, "p1", related("PROJ-1", 0)).await), ["lasting"]);
}

/// A signal is indexed under its first `MAX_INDEXED_REFERENCES` references (the tracker's own
/// key first); one beyond them does not list it, and the signal keeps them all.
pub async fn a_signal_is_indexed_under_its_first_references_only(backend: &impl Backend) {
    let stores = backend.stores().await;
    let keys: Vec<String> = (0..=MAX_INDEXED_REFERENCES).map(|i| format!("K-{i}")).collect();
    let many = from("slack", "p1", "many", 10, &keys.iter().map(String::as_str).collect::<Vec<_>>());
    put_signals(&stores, &[many], DAY).await;
    for key in &keys[..MAX_INDEXED_REFERENCES] {
        assert_eq!(ids(&list(&stores, "p1", related(key, 0)).await), ["many"], "{key}");
    }
    assert!(list(&stores, "p1", related(&keys[MAX_INDEXED_REFERENCES], 0)).await.signals.is_empty());
    let page = list(&stores, "p1", SignalQuery::default()).await;
    assert_eq!(page.signals[0].related_items.len(), MAX_INDEXED_REFERENCES + 1);
}

/// A reference's listing reads only its own signals: behind hundreds of newer unrelated ones
/// (more than a scan of the project could read in one listing), every page is full.
pub async fn a_reference_listing_does_not_read_past_unrelated_signals(backend: &impl Backend) {
    let stores = backend.stores().await;
    let mut written: Vec<NormalisedSignal> =
        (0..12).map(|i| from("jira", "p1", &format!("rel-{i:02}"), i, &["PROJ-7"])).collect();
    written.extend((0..300).map(|i| from("slack", "p1", &format!("noise-{i:03}"), 100 + i, &["PROJ-8"])));
    put_signals(&stores, &written, DAY).await;
    let pages = all_pages(&stores, "p1", related("PROJ-7", 5)).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5, 2], "{pages:?}");
    let expected: Vec<String> = (0..12).rev().map(|i| format!("rel-{i:02}")).collect();
    assert_eq!(pages.concat(), expected);
}

/// Concurrent puts of one signal with different references leave the index agreeing with the
/// signal stored last: it is listed under each reference it has and under no other. A store may
/// refuse a put that keeps losing such a race (`ConditionFailed`), never leave stale entries.
pub async fn concurrent_puts_of_a_signal_leave_its_index_consistent(backend: &impl Backend) {
    let stores = backend.stores().await;
    let mut racers = JoinSet::new();
    for i in 0..6 {
        let stores = stores.clone();
        let racer = from("jira", "p1", "raced", 10, &["PROJ-1", &format!("RACE-{i}")]);
        racers.spawn(async move { stores.signals.put_signal(&racer, DAY).await });
    }
    let results = racers.join_all().await;
    assert!(results.iter().any(Result::is_ok), "{results:?}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| matches!(e, StoreError::ConditionFailed(_))));
    let stored = list(&stores, "p1", SignalQuery::default()).await;
    assert_eq!(ids(&stored), ["raced"]);
    assert_eq!(ids(&list(&stores, "p1", related("PROJ-1", 0)).await), ["raced"]);
    for i in 0..6 {
        let key = format!("RACE-{i}");
        let listed = !list(&stores, "p1", related(&key, 0)).await.signals.is_empty();
        assert_eq!(listed, stored.signals[0].related_items.contains(&key), "{key}");
    }
}
