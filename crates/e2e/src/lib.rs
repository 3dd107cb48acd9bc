//! End-to-end test of the four Lambda functions; this library is empty on purpose.
//!
//! `tests/lambda_e2e/` builds the real `webhook-gateway`, `registry-api`, `normaliser` and
//! `poller` binaries, runs each one under AWS's Lambda Runtime Interface Emulator (the RIE that
//! `sam local invoke` uses, fetched by `infra/local/rie.sh`), and runs them on a table, queues
//! and secrets of their own on the local moto server (`infra/local/moto.sh`), with every sample
//! event of `events/` among the invocations.
//! Run it with `infra/local/moto.sh cargo test -p switchboard-e2e`.
