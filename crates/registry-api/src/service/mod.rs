//! The service layer: the registry's rules, behind the HTTP routes. Routes turn requests into
//! typed calls here and [`ServiceError`]s into HTTP errors; everything a route must not decide
//! on its own lives here — who may use a project or write descriptors ([`access`]), built-in
//! and in-use descriptor protection ([`connectors`]), instance creation and update rules
//! ([`instances`], [`fields`]), where an instance's requests may go ([`destinations`]), the health status rule and signal counts ([`health`]), the
//! OAuth2 flow ([`oauth`]), the polling schedule and poll-now requests ([`schedule`]), signal
//! filters ([`signals`]) and a reference key's context packet ([`context`]).

pub mod access;
pub mod connectors;
pub mod context;
pub mod destinations;
pub mod error;
pub mod fields;
pub mod health;
pub mod instances;
pub mod oauth;
pub mod schedule;
pub mod signals;

pub use error::ServiceError;
