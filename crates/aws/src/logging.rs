//! Logging of the Lambda functions: JSON lines for CloudWatch, one setup shared by all four.

use tracing_subscriber::EnvFilter;

/// JSON logs at the level of `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else `info`; the current
/// span's fields (connector, project, message ids) on every line; no timestamp, since CloudWatch
/// stamps every line.
pub fn init_lambda_tracing() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .map(|level| level.to_lowercase())
        .unwrap_or_else(|_| "info".to_owned());
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .init();
}
