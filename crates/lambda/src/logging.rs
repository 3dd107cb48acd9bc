//! Logging of the four functions: `lambda_runtime`'s own tracing setup, so Lambda's advanced
//! logging controls apply. `AWS_LAMBDA_LOG_FORMAT=JSON` (the template sets `LogFormat: JSON`)
//! gives one JSON object per line, anything else plain text; the level is
//! `AWS_LAMBDA_LOG_LEVEL` (the template's `ApplicationLogLevel`), else `RUST_LOG`, else `INFO`.
//! `RUST_LOG` directives for particular targets (`switchboard_poller=debug`) still apply on top
//! of `AWS_LAMBDA_LOG_LEVEL`; its bare level does not override it. No timestamps: CloudWatch
//! stamps every line.

/// Installs the global subscriber. Call it first thing in `main`.
pub fn init() {
    lambda_runtime::tracing::init_default_subscriber();
}
