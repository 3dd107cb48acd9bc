//! The one mapping from a failure's [`RetryClass`] to the error a Lambda invocation reports: the
//! class becomes the `errorType` (`Retryable` / `NonRetryable`), which is what CloudWatch
//! metrics filters and alarms look at; the message says what failed.

use std::fmt::Display;

use lambda_runtime::Diagnostic;
use switchboard_core::retry_class::RetryClass;

/// The invocation error for `error` of class `class`.
pub fn diagnostic(class: RetryClass, error: &dyn Display) -> Diagnostic {
    Diagnostic { error_type: class.as_str().to_owned(), error_message: error.to_string() }
}
