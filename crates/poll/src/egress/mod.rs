//! The egress guard: every request made on a tenant's behalf (poll pages, health checks, OAuth2
//! token requests, redirect hops) may reach only public addresses, unless an operator opened an
//! exception ([`EgressAllow`]).
//!
//! The guard sits in the HTTP client itself ([`crate::client`]), at connect time, so what is
//! checked is the address actually connected to:
//! - a host name is resolved by [`resolver::GuardedResolver`], which hands the connector only
//!   the addresses the guard accepts (DNS rebinding cannot slip an internal address in between
//!   a check and the connection);
//! - an IP-literal host never reaches a resolver (`hyper`'s connector parses it itself), so
//!   [`EgressGuard::check_url`] judges it before a request is sent, and [`connect::GuardLayer`]
//!   checks the connected peer once more for any request that did not go through the engine.

mod allow;
mod connect;
mod guard;
mod ranges;
mod resolver;

pub use allow::{AllowParseError, EgressAllow, Ports};
pub(crate) use connect::GuardLayer;
pub use guard::{ENV_EGRESS_ALLOW, EgressDenied, EgressGuard};
pub use ranges::{Blocked, classify};
pub(crate) use resolver::{GuardedResolver, to_port};
