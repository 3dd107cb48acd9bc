//! Turning SDK errors into [`StoreError`]s: the service's error code and message when AWS
//! answered, the whole cause chain when the request never got an answer (the SDK's own
//! `Display` says only "service error").

use std::error::Error as StdError;
use std::fmt::Debug;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use switchboard_core::ports::StoreError;

/// A backend error for `action`.
pub(crate) fn backend<E, R>(action: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug,
{
    let message = match err.as_service_error() {
        Some(service) => match (service.code(), service.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => DisplayErrorContext(service).to_string(),
        },
        None => DisplayErrorContext(&err).to_string(),
    };
    StoreError::backend(action, message)
}
