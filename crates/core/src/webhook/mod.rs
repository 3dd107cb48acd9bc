//! Webhook verification driven by descriptor data, and the compiled webhook section
//! ([`CompiledWebhook`]: event type, delivery id and replay window, handshakes, verifier).
//!
//! A descriptor describes its provider's scheme as a [`crate::model::VerificationSpec`] (or uses the
//! specification's `signature` / `token` keywords with `auth.method = webhook_secret`).
//! [`Verifier`] compiles it once, when the descriptor is validated, and checks each delivery
//! against the raw body bytes with constant-time comparisons. Several secrets may be given
//! (current and previous), so a secret rotation never drops a delivery.
//!
//! `docs/webhook-verification.md` lists a verified scheme object per provider.

mod compile;
mod delivery;
mod error;
pub mod form;
mod handshake;
mod headers;
mod jwt;
mod key_hosts;
mod keys;
mod rsa;
mod section;
mod signature_header;
mod signed_content;
pub mod subscription;
mod verifier;

pub use compile::DEFAULT_TOLERANCE_SECONDS;
pub use delivery::{
    DEFAULT_REPLAY_WINDOW, DeliveryId, DeliveryIdSource, MAX_DELIVERY_ID_CHARS, MAX_REPLAY_WINDOW_SECONDS,
};
pub use error::VerifyError;
pub use handshake::{ChallengeReply, CompiledHandshake, HandshakeReply, HandshakeRequest};
pub use headers::{Headers, WebhookRequest};
pub use key_hosts::{KeyHosts, UrlRefused};
pub use keys::{DEFAULT_KEY_TTL, FetchError, FixedKey, KeyCache, KeySource, MAX_CACHED_KEYS, WebhookFetcher};
pub use section::{CompiledWebhook, WebhookEvent};
pub use subscription::{
    SubscriptionAction, SubscriptionAnswer, SubscriptionCall, SubscriptionPlan, SubscriptionPlans,
    SubscriptionRequestPlan,
};
pub use verifier::{Verifier, VerifyContext};
