//! The native `jira` connector: polling through the real poll engine against a wiremock fake
//! of Jira Cloud, webhook verification and mapping, the same change by both paths, and the
//! signals of Jira's documented examples.

mod fixtures;
mod polling;
mod support;
mod webhooks;
