//! The in-memory cache of the tokens the token-issuing auth methods obtain ([`crate::issued`]):
//! one slot per instance identity, each behind an async lock so a new token is requested
//! single-flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::token_answer::Issued;

/// Remembered tokens beyond which idle ones are forgotten.
const MAX_IDLE_SLOTS: usize = 1024;

type Slot = Arc<tokio::sync::Mutex<Option<Issued>>>;

/// The cached tokens of the token-issuing auth methods, one slot per instance identity
/// (method, token URL, config and credential values, hashed).
#[derive(Debug, Default)]
pub(crate) struct IssuedTokens {
    slots: Mutex<HashMap<String, Slot>>,
}

impl IssuedTokens {
    pub(crate) fn slot(&self, key: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.len() >= MAX_IDLE_SLOTS && !slots.contains_key(key) {
            slots.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        slots.entry(key.to_owned()).or_default().clone()
    }
}
