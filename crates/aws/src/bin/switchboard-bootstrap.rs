//! Creates Switchboard's table and queues on the server `AWS_ENDPOINT_URL` points at (moto
//! locally; it refuses to run without `AWS_ENDPOINT_URL`) and prints the environment the functions need, as `export` lines.
//!
//! Usage: `switchboard-bootstrap [STAGE]` (default `local`).

use switchboard_aws::AwsClients;
use switchboard_aws::resources::{ResourceNames, bootstrap};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let stage = std::env::args().nth(1).unwrap_or_else(|| "local".to_owned());
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        anyhow::bail!(
            "AWS_ENDPOINT_URL is not set. This bootstrap is for a local server (infra/local/moto.sh sets it); \
             in AWS the SAM template creates these resources."
        );
    }
    let clients = AwsClients::from_env().await;
    let created = bootstrap(&clients, &ResourceNames::new(&stage)).await?;
    for (name, value) in created.env() {
        println!("export {name}={value}");
    }
    Ok(())
}
