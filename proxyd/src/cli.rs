//! The `proxyd` command line. `command()` is public so man pages and shell
//! completions can be generated from the same definition.

use std::path::PathBuf;

use clap::{CommandFactory, Parser, ValueEnum};

/// Default config path.
pub const DEFAULT_CONFIG: &str = "/etc/proxyd/proxyd.toml";

/// proxyd: a reverse proxy and load balancer.
#[derive(Debug, Parser)]
#[command(name = "proxyd", version, about, long_about = None)]
pub struct Cli {
    /// Config file to read.
    #[arg(short = 'c', long = "config", value_name = "PATH", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,

    /// Validate the config exactly as startup would (certificates included),
    /// print any errors and warnings, and exit 0 (valid) or 1 (invalid).
    #[arg(long)]
    pub check: bool,

    /// Log format; overrides `[runtime] log_format`.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// The clap definition, for man pages and completions.
pub fn command() -> clap::Command {
    Cli::command()
}
