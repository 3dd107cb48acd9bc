//! Logging of the Lambda functions: JSON lines for CloudWatch, one setup shared by all four.

use tracing_subscriber::EnvFilter;

/// JSON logs filtered by `RUST_LOG`, else by `AWS_LAMBDA_LOG_LEVEL` (Lambda's application log
/// level, `FATAL` read as `error`), else at `info`; the current
/// span's fields (connector, project, message ids) on every line; no timestamp, since CloudWatch
/// stamps every line.
pub fn init_lambda_tracing() {
    let level = match std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty()) {
        Some(directives) => directives,
        None => match std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|level| level.trim().to_lowercase()) {
            Ok(level) if level == "fatal" => "error".to_owned(),
            Ok(level) if !level.is_empty() => level,
            _ => "info".to_owned(),
        },
    };
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .init();
}
