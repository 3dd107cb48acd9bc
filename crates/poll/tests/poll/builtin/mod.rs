//! The built-in polling connectors against fakes that behave like the real APIs as documented:
//! each fake checks the request's method, path, auth and fixed parameters (a request that does
//! not match gets a 404, which fails the poll), understands the delta filter and the pagination
//! style of its API, and serves the connector's fixture items plus generated ones.
//!
//! Every connector gets a first run from no checkpoint (every page, every item once, the right
//! checkpoint), a second run from that checkpoint (the right delta filter, only newer items, or
//! the lookback overlap as signals already produced), the mapped signal types, and a health
//! check with the right auth.

pub(crate) mod support;

mod asana;
mod clickup;
mod confluence;
mod datadog;
mod github_issues;
mod gmail;
mod google_calendar;
mod google_drive;
mod linear;
mod microsoft_teams;
mod notion;
mod stripe;
mod trello;
