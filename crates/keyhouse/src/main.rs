//! The `keyhouse` binary: a thin command line over the library crates.

mod admin;
mod audit_export;
mod cli;
mod config;
mod server;
mod storage;
mod telemetry;
mod tls;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let result = async {
        let settings = config::Settings::load(&cli)?;
        telemetry::init(settings.log_format);
        cli::run(cli.command, settings).await
    }
    .await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("keyhouse: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
