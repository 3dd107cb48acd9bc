//! The one assembly of Switchboard's four applications. [`App::assemble`] takes the storage
//! ports (SQLite or AWS) and the [`Settings`], and builds each application on demand: the
//! webhook gateway's state, the normaliser, the poller and the registry API's state. The Lambda
//! functions (`switchboard-lambda`, one part each) and `switchboard serve` (all four) call it, so
//! the connector catalogue and every application are wired in this one place.
//!
//! This crate knows neither AWS nor Lambda: it sees only the core ports.

mod app;
mod settings;

pub use app::App;
pub use settings::{
    ENV_BODY_LIMIT_BYTES, ENV_DASHBOARD_ORIGIN, ENV_EGRESS_ALLOW, ENV_HEALTH_FAILURE_THRESHOLD, ENV_OIDC_CLIENT_ID,
    ENV_OIDC_ISSUER, ENV_OIDC_SCOPES, ENV_PUBLIC_URL, ENV_RATE_LIMIT_PER_MINUTE, ENV_SECRET_GRACE_SECONDS, Settings,
};
/// The egress exceptions type of [`Settings::egress`].
pub use switchboard_poll::{AllowParseError, EgressAllow};
