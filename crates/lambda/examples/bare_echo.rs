//! Benchmark peer of `bench/coldstart.sh`: the smallest `lambda_runtime` function, which answers
//! each event with the event itself. Its init (process start → first `/next`), first response
//! and peak RSS are the floor each function is measured against.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move { Ok::<Value, Error>(event.payload) })).await
}
