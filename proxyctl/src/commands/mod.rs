//! One module per subcommand (like mini-redis `cmd/`). Each takes its
//! arguments and an [`Output`], does its one job, and returns `Ok(())` or the
//! [`CtlError`] that decides the exit code. In `--json` mode a command writes
//! exactly one JSON document, or none and lets `Output::report` write the
//! error object.

pub mod check_config;
pub mod completions;
pub mod reload;
pub mod status;
pub mod wait_ready;

use crate::cli::{Cli, Commands, DEFAULT_REQUEST_TIMEOUT};
use crate::client::Client;
use crate::error::CtlError;
use crate::render::Output;

/// Runs the subcommand `cli` names.
pub fn dispatch(cli: &Cli, out: &mut Output<'_>) -> Result<(), CtlError> {
    let client = || Client::new(&cli.socket, cli.timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT));
    match &cli.command {
        Commands::Reload => reload::run(&client(), out),
        Commands::Status => status::run(&client(), out),
        Commands::CheckConfig(args) => check_config::run(args, out),
        Commands::WaitReady(args) => wait_ready::run(&cli.socket, cli.timeout, args, out),
        Commands::Completions(args) => completions::run(args, out),
    }
}
