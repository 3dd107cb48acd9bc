//! Turning SDK errors into [`StoreError`]s with the whole cause chain in the message.

use std::error::Error as StdError;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use switchboard_core::ports::StoreError;

/// A backend error for `action`, described with every cause (the SDK's own `Display` says only
/// "service error").
pub(crate) fn backend<E: StdError>(action: &str, err: E) -> StoreError {
    StoreError::backend(action, DisplayErrorContext(err).to_string())
}
