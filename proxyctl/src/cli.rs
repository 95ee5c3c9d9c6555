//! The `proxyctl` command line (SPEC §5): global options and subcommands.
//!
//! This module only describes arguments; what they mean is decided in
//! `commands/`. [`command()`] is public so man pages and shell completions are
//! generated from the very definition that parses the arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};
use proxyd_protocol::DEFAULT_SOCKET;

/// Default config path for `check-config`, shared with `proxyd --config`.
pub const DEFAULT_CONFIG: &str = proxyd::cli::DEFAULT_CONFIG;

/// How long one request to the daemon may take when `--timeout` is not given.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How long `wait-ready` waits in total when `--timeout` is not given.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// proxyctl: control a running proxyd and check its config.
#[derive(Debug, Parser)]
#[command(
    name = "proxyctl",
    version,
    about = "Control a running proxyd and check its config",
    long_about = None,
    propagate_version = true,
    after_help = "Exit codes: 0 success, 1 operation failed, 2 usage, 3 daemon unreachable, 4 timed out."
)]
pub struct Cli {
    /// Admin socket of the daemon.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "PROXYD_ADMIN_SOCKET",
        hide_env_values = true,
        default_value = DEFAULT_SOCKET
    )]
    pub socket: PathBuf,

    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// How long to wait for the daemon, e.g. "5s" or "500ms" [default: 5s per
    /// request; 30s in total for wait-ready].
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// What to do.
    #[command(subcommand)]
    pub command: Commands,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Ask the daemon to reload its config; print what changed, or the error.
    Reload,
    /// Show the daemon, its listeners, upstream servers and certificates.
    Status,
    /// Validate a config file locally, as `proxyd --check` does (no daemon needed).
    CheckConfig(CheckConfigArgs),
    /// Poll until the daemon reports ready (or --timeout passes).
    WaitReady(WaitReadyArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
}

/// Arguments of `check-config`.
#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    /// The config file to check.
    #[arg(value_name = "PATH", default_value = DEFAULT_CONFIG)]
    pub path: PathBuf,

    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

/// Arguments of `wait-ready`.
#[derive(Debug, clap::Args)]
pub struct WaitReadyArgs {
    /// Also wait until the running config generation is at least N.
    #[arg(long, value_name = "N")]
    pub generation: Option<u64>,

    /// Also wait until every upstream has at least one healthy server.
    #[arg(long)]
    pub healthy: bool,

    /// Also wait until every TLS site holds a certificate that has not expired.
    #[arg(long)]
    pub certificates: bool,
}

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to print completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The clap definition, for man pages and completions.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parses `--timeout`: a humantime duration greater than zero.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("{e} (expected a duration such as \"5s\" or \"500ms\")"))?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn timeouts_need_units_and_a_positive_value() {
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("5s"), Ok(Duration::from_secs(5)));
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("5").is_err());
    }
}
