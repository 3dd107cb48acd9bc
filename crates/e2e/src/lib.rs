//! End-to-end test of the four Lambda functions; this library is empty on purpose.
//!
//! `tests/lambda_e2e/` builds the real `webhook-gateway`, `registry-api`, `normaliser` and
//! `poller` binaries, starts each one against a Lambda Runtime API emulator, and runs them on
//! a table, queues and secrets of their own on the local moto server (`infra/local/moto.sh`).
//! Run it with `infra/local/moto.sh cargo test -p switchboard-e2e`.
