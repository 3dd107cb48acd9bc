//! Whether a failure may go away by itself: the one retry classification the functions report
//! (as the Lambda `errorType`) and log with every failure.

/// Whether trying the same thing again later may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// A backend or network hiccup, or a rate limit: a later attempt will likely succeed.
    Retryable,
    /// The input, credentials or configuration are at fault: it fails every time until fixed.
    NonRetryable,
}

impl RetryClass {
    /// `Retryable` or `NonRetryable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "Retryable",
            Self::NonRetryable => "NonRetryable",
        }
    }
}
