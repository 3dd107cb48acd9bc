//! The native `outlook` connector: the inbox delta through the real poll engine against a
//! wiremock Graph answering with Graph's documented delta pages, flags, a resync on 410 and on
//! `syncStateNotFound`, change notifications (`clientState`, validation token, lifecycle), and
//! the signals of the documented responses as snapshots.

mod notifications;
mod polling;
mod support;
