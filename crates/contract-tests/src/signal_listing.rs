//! Writing and listing signals in the signal contracts ([`crate::suite`] and its modules).

use std::time::Duration;

use switchboard_core::ports::{SignalPage, SignalQuery, Stores};
use switchboard_core::signal::NormalisedSignal;

/// A day, the retention the signal contracts store with.
pub const DAY: Duration = Duration::from_secs(86_400);

/// Stores every signal for `ttl`.
pub async fn put_signals(stores: &Stores, signals: &[NormalisedSignal], ttl: Duration) {
    for signal in signals {
        stores.signals.put_signal(signal, ttl).await.unwrap();
    }
}

/// The ids of a page, in order.
pub fn ids(page: &SignalPage) -> Vec<&str> {
    page.signals.iter().map(|s| s.id.as_str()).collect()
}

/// One page of `project`'s signals.
pub async fn list(stores: &Stores, project: &str, query: SignalQuery) -> SignalPage {
    stores.signals.list_signals(project, &query).await.unwrap()
}

/// Follows `next_token` to the end; returns the ids of each page.
pub async fn all_pages(stores: &Stores, project: &str, mut query: SignalQuery) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    loop {
        let page = list(stores, project, query.clone()).await;
        pages.push(ids(&page).into_iter().map(str::to_owned).collect());
        assert!(pages.len() <= 20, "paging does not end: {pages:?}");
        match page.next_token {
            Some(token) => query.next_token = Some(token),
            None => return pages,
        }
    }
}
