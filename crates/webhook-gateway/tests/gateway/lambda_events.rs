//! Sample API Gateway events (`events/webhook-gateway/`) through `lambda_http`'s request types
//! and the Lambda service, as the function runs them.
