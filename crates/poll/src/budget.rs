//! Rate budgets announced in response headers (`X-RateLimit-Remaining` / `-Reset`, IETF
//! `RateLimit-Remaining` / `RateLimit-Reset`), shared by every run of this engine that sends the
//! same credential to the same API: GitHub's limit is per token, whichever instance spends it.
//!
//! A budget is keyed by a SHA-256 of the API's origin and the credential material the request
//! carries (its sensitive headers and credential-bearing query parameters, after auth was
//! applied), so whatever the auth method, two instances with one token share one budget and
//! the key never holds the credential itself.
//!
//! Before each request a slot is taken from the budget: when the last answer said `remaining`
//! requests are left (minus the slots taken since), a request may go while more than the
//! descriptor's `reserve` are left. Otherwise it waits for the reset, or, when the reset comes
//! after the run's time, the run stops cleanly. Every answer (errors included) updates the
//! budget from its headers.
//!
//! Requests of one budget may be in flight at once (hydration's detail requests): an answer
//! may not count the others still in flight, or may arrive after a newer one, so the budget
//! takes an answer's `remaining` minus the requests still in flight, and within one window
//! never raises what it already knew. A request that got no answer gives its slot back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::HeaderMap;
use sha2::{Digest, Sha256};

use switchboard_core::model::ResetFormat;
use switchboard_core::polling::RateBudgetPlan;

use crate::auth::HttpRequest;

/// Unix times below this are taken as "seconds to wait" by the `auto` format (about 1973 in
/// seconds).
const EPOCH_THRESHOLD: f64 = 100_000_000.0;

/// Added to every announced reset: reset headers are whole seconds, so the API's window may
/// turn over up to a second after the announced time.
const RESET_MARGIN: TimeDelta = TimeDelta::seconds(1);

/// Budgets remembered beyond which those already reset are forgotten.
const MAX_ENTRIES: usize = 4096;

/// What the budget says about sending a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Send it (a slot was taken).
    Go,
    /// The budget is spent until this long from now.
    SpentFor(Duration),
    /// The budget is spent and the API did not say when it resets.
    SpentUnknown,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Requests left as last announced, minus slots taken since.
    remaining: u64,
    /// When the budget resets, when announced.
    reset_at: Option<DateTime<Utc>>,
}

/// Every budget of one engine, by credential.
#[derive(Debug, Default)]
pub struct BudgetBook {
    entries: Mutex<Book>,
}

#[derive(Debug, Default)]
struct Book {
    budgets: HashMap<String, Entry>,
    /// Requests admitted and not yet answered, by budget.
    in_flight: HashMap<String, u64>,
}

impl Book {
    /// Records a request admitted to budget `key`.
    fn sent(&mut self, key: &str) {
        *self.in_flight.entry(key.to_owned()).or_default() += 1;
    }

    /// Records a request of budget `key` done; the requests still in flight.
    fn done(&mut self, key: &str) -> u64 {
        let Some(count) = self.in_flight.get_mut(key) else { return 0 };
        *count = count.saturating_sub(1);
        let left = *count;
        if left == 0 {
            self.in_flight.remove(key);
        }
        left
    }
}

impl BudgetBook {
    /// The key of the budget `request` (auth applied) spends: a hash of its origin and its
    /// credential material, never the material itself.
    pub fn key(request: &HttpRequest) -> String {
        let mut hash = Sha256::new();
        hash.update(request.url.origin().ascii_serialization().as_bytes());
        let mut secrets: Vec<(String, &[u8])> = request
            .headers
            .iter()
            .filter(|(_, value)| value.is_sensitive())
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes()))
            .collect();
        secrets.sort();
        for (name, value) in secrets {
            hash.update([0]);
            hash.update(name.as_bytes());
            hash.update([0]);
            hash.update(value);
        }
        let mut params: Vec<(String, String)> = request
            .url
            .query_pairs()
            .filter(|(k, _)| request.secret_params.iter().any(|p| p == k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        params.sort();
        for (name, value) in params {
            hash.update([1]);
            hash.update(name.as_bytes());
            hash.update([0]);
            hash.update(value.as_bytes());
        }
        hex::encode(&hash.finalize()[..16])
    }

    /// Takes a slot of budget `key` for a request at `now`, unless the budget is spent.
    pub fn admit(&self, key: &str, plan: &RateBudgetPlan, now: DateTime<Utc>) -> Admission {
        let mut book = self.lock();
        let Some(entry) = book.budgets.get_mut(key) else {
            book.sent(key);
            return Admission::Go;
        };
        if entry.reset_at.is_some_and(|reset| reset <= now) {
            // The window turned over: what is left is unknown until the next answer says.
            book.budgets.remove(key);
            book.sent(key);
            return Admission::Go;
        }
        if entry.remaining > plan.reserve {
            entry.remaining -= 1;
            book.sent(key);
            return Admission::Go;
        }
        match entry.reset_at {
            Some(reset) => Admission::SpentFor((reset - now).to_std().unwrap_or(Duration::ZERO)),
            None => Admission::SpentUnknown,
        }
    }

    /// Updates budget `key` from an answer's headers received at `now`.
    pub fn observe(&self, key: &str, plan: &RateBudgetPlan, headers: &HeaderMap, now: DateTime<Utc>) {
        let mut book = self.lock();
        let in_flight = book.done(key);
        let Some(announced) = first_value(headers, &plan.remaining_headers).and_then(|v| v.parse::<u64>().ok()) else {
            return;
        };
        let reset_at = first_value(headers, &plan.reset_headers)
            .and_then(|v| reset_at(&v, plan.reset_format, now))
            .map(|at| at + RESET_MARGIN);
        // The API may not have counted the requests still in flight yet.
        let mut remaining = announced.saturating_sub(in_flight);
        if let Some(known) = book.budgets.get(key)
            && reset_at.is_some()
            && known.reset_at == reset_at
        {
            // The same window: an answer that arrives late cannot give back what was spent.
            remaining = remaining.min(known.remaining);
        }
        if book.budgets.len() >= MAX_ENTRIES {
            book.budgets.retain(|_, e| e.reset_at.is_none_or(|r| r > now));
            let Book { budgets, in_flight } = &mut *book;
            in_flight.retain(|k, _| budgets.contains_key(k));
        }
        book.budgets.insert(key.to_owned(), Entry { remaining, reset_at });
    }

    /// Gives back the slot of a request of budget `key` that got no answer.
    pub fn release(&self, key: &str) {
        self.lock().done(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn first_value(headers: &HeaderMap, names: &[String]) -> Option<String> {
    names.iter().find_map(|name| headers.get(name.as_str())).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned())
}

/// When a budget resets, from a reset header's value written as `format`.
pub fn reset_at(value: &str, format: ResetFormat, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let number: f64 = value.trim().parse().ok()?;
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    let after = |seconds: f64| now.checked_add_signed(TimeDelta::milliseconds((seconds * 1000.0) as i64));
    let epoch_ms = |ms: f64| DateTime::<Utc>::from_timestamp_millis(ms as i64);
    match format {
        ResetFormat::Seconds => after(number),
        ResetFormat::EpochSeconds => epoch_ms(number * 1000.0),
        ResetFormat::EpochMillis => epoch_ms(number),
        ResetFormat::Auto if number < EPOCH_THRESHOLD => after(number),
        ResetFormat::Auto if number >= EPOCH_THRESHOLD * 1000.0 => epoch_ms(number),
        ResetFormat::Auto => epoch_ms(number * 1000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use switchboard_core::polling::budget::{DEFAULT_REMAINING_HEADERS, DEFAULT_RESET_HEADERS};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T00:00:00Z").expect("valid").with_timezone(&Utc)
    }

    fn plan(reserve: u64) -> RateBudgetPlan {
        RateBudgetPlan {
            remaining_headers: DEFAULT_REMAINING_HEADERS.iter().map(|s| (*s).to_owned()).collect(),
            reset_headers: DEFAULT_RESET_HEADERS.iter().map(|s| (*s).to_owned()).collect(),
            reset_format: ResetFormat::Auto,
            reserve,
        }
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (reqwest::header::HeaderName::from_static(k), HeaderValue::from_str(v).expect("valid")))
            .collect()
    }

    #[test]
    fn resets_are_read_as_seconds_or_unix_times() {
        let epoch = now().timestamp();
        let in_30 = Some(now() + TimeDelta::seconds(30));
        assert_eq!(reset_at("30", ResetFormat::Seconds, now()), in_30);
        assert_eq!(reset_at("30", ResetFormat::Auto, now()), in_30);
        assert_eq!(reset_at(&(epoch + 30).to_string(), ResetFormat::EpochSeconds, now()), in_30);
        assert_eq!(reset_at(&(epoch + 30).to_string(), ResetFormat::Auto, now()), in_30);
        assert_eq!(reset_at(&((epoch + 30) * 1000).to_string(), ResetFormat::EpochMillis, now()), in_30);
        assert_eq!(reset_at(&((epoch + 30) * 1000).to_string(), ResetFormat::Auto, now()), in_30);
        assert_eq!(reset_at("soon", ResetFormat::Auto, now()), None);
        assert_eq!(reset_at("-1", ResetFormat::Auto, now()), None);
    }

    #[test]
    fn a_budget_is_spent_down_to_its_reserve_then_waits_for_the_reset() {
        let book = BudgetBook::default();
        let plan = plan(1);
        assert_eq!(book.admit("k", &plan, now()), Admission::Go, "unknown budgets admit");
        let reset = (now().timestamp() + 60).to_string();
        book.observe(
            "k",
            &plan,
            &headers(&[("x-ratelimit-remaining", "3".into()), ("x-ratelimit-reset", reset)]),
            now(),
        );
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        assert_eq!(book.admit("k", &plan, now()), Admission::SpentFor(Duration::from_secs(61)), "a second of margin");
        assert_eq!(book.admit("other", &plan, now()), Admission::Go, "another credential has its own budget");
        assert_eq!(book.admit("k", &plan, now() + TimeDelta::seconds(61)), Admission::Go, "the window turned over");
        book.observe("k", &plan, &headers(&[("ratelimit-remaining", "0".into())]), now());
        assert_eq!(book.admit("k", &plan, now()), Admission::SpentUnknown);
    }

    #[test]
    fn answers_count_the_requests_still_in_flight_and_late_answers_give_nothing_back() {
        let book = BudgetBook::default();
        let plan = plan(0);
        let reset = (now().timestamp() + 60).to_string();
        let answer = |remaining: u64| {
            headers(&[("x-ratelimit-remaining", remaining.to_string()), ("x-ratelimit-reset", reset.clone())])
        };
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        book.observe("k", &plan, &answer(5), now());
        // Three requests in flight; the API counts them as they arrive (remaining 4, 3, 2).
        for _ in 0..3 {
            assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        }
        // The first answer says 4, but two requests are still in flight: 2 are left, not 4.
        book.observe("k", &plan, &answer(4), now());
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        assert_eq!(book.admit("k", &plan, now()), Admission::SpentFor(Duration::from_secs(61)));
        // The other answers arrive late, with older counts: they give nothing back.
        book.observe("k", &plan, &answer(3), now());
        book.observe("k", &plan, &answer(2), now());
        assert_eq!(book.admit("k", &plan, now()), Admission::SpentFor(Duration::from_secs(61)));
    }

    #[test]
    fn answers_out_of_order_never_raise_the_budget_within_its_window() {
        let book = BudgetBook::default();
        let plan = plan(0);
        let reset = (now().timestamp() + 60).to_string();
        let answer = |remaining: u64| {
            headers(&[("x-ratelimit-remaining", remaining.to_string()), ("x-ratelimit-reset", reset.clone())])
        };
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        book.observe("k", &plan, &answer(4), now());
        // A and B in flight; the API counts A, then B, but B's answer (2 left) comes first.
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        book.observe("k", &plan, &answer(2), now());
        book.observe("k", &plan, &answer(3), now());
        // A was still in flight when B's answer came, so one is counted for it: 1 left, and
        // A's late answer (3) does not raise it.
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        assert_eq!(book.admit("k", &plan, now()), Admission::SpentFor(Duration::from_secs(61)));
    }

    #[test]
    fn a_request_without_an_answer_gives_its_slot_back() {
        let book = BudgetBook::default();
        let plan = plan(0);
        let answer = headers(&[("x-ratelimit-remaining", "2".into())]);
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        book.observe("k", &plan, &answer, now());
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        book.release("k");
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        // Nothing is in flight any more, so the answer's count stands.
        book.observe("k", &plan, &headers(&[("x-ratelimit-remaining", "1".into())]), now());
        assert_eq!(book.admit("k", &plan, now()), Admission::Go);
        assert_eq!(book.admit("k", &plan, now()), Admission::SpentUnknown);
    }
}
