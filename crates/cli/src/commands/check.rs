//! `switchboard check`: run a connector's health check against the real API and print the
//! report as JSON.

use std::process::ExitCode;

use super::poll::InstanceArgs;

/// Arguments of `switchboard check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    instance: InstanceArgs,
}

/// Prints the health report on stdout; exit 1 when unhealthy.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let instance = args.instance.load()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = runtime.block_on(instance.engine.check(&instance.descriptor, &instance.config, &instance.credentials));
    println!("{}", serde_json::to_string(&report)?);
    if let Some(reason) = &report.reason {
        eprintln!("unhealthy: {reason}");
    }
    instance.keep_refreshed(report.refreshed_credentials.as_ref())?;
    Ok(if report.healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
