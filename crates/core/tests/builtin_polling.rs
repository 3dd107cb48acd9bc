//! The built-in polling connectors against fakes that behave like the real APIs as documented:
//! each fake checks the request's method, path, auth and fixed parameters (a request that does
//! not match gets a 404, which fails the poll), understands the delta filter and the pagination
//! style of its API, and serves the connector's fixture items plus generated ones.
//!
//! Every connector gets a first run from no checkpoint (every page, every item once, the right
//! checkpoint), a second run from that checkpoint (the right delta filter, only newer items, or
//! the lookback overlap as signals already produced), the mapped signal types, and a health
//! check with the right auth.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

#[path = "builtin_polling/support.rs"]
mod support;

#[path = "builtin_polling/confluence.rs"]
mod confluence;
#[path = "builtin_polling/datadog.rs"]
mod datadog;
#[path = "builtin_polling/github_issues.rs"]
mod github_issues;
#[path = "builtin_polling/linear.rs"]
mod linear;
#[path = "builtin_polling/notion.rs"]
mod notion;
#[path = "builtin_polling/trello.rs"]
mod trello;
