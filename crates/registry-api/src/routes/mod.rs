//! The HTTP routes, one module per concept. Each route turns its request into a typed
//! [`service`](crate::service) call and the result into a response; route modules share no code
//! with each other except the path parameters and response lists of [`params`].

pub mod connectors;
pub mod context;
pub mod examples;
pub mod health;
pub mod instances;
pub mod meta;
pub mod oauth;
pub mod params;
pub mod signals;
