//! proxyctl: the control tool for proxyd (SPEC §5).
//!
//! # Layout
//! - [`cli`]: the clap definition (`Cli`, `command()`).
//! - [`client`]: one request line to the admin socket, one reply line back,
//!   within a deadline.
//! - [`commands`]: one module per subcommand.
//! - [`render`]: tables, text and JSON; colour only on a terminal.
//! - [`error`]: `CtlError`, one sentence with a hint, and its exit code.
//! - [`generated`]: completions and man pages from the clap definitions.
//!
//! [`run`] is the whole program minus argument parsing, so tests and `main`
//! share it.

pub mod cli;
pub mod client;
pub mod commands;
pub mod config_man;
pub mod error;
pub mod generated;
pub mod render;

use std::io::{IsTerminal, Write};

pub use cli::Cli;
pub use error::CtlError;

/// Runs the command `cli` describes, writing results to `stdout` and
/// `stderr`. A failure has already been reported (sentence on stderr, and in
/// `--json` mode an error object on stdout when nothing else was printed)
/// when this returns `Err`; the caller only turns it into an exit code.
pub fn run(cli: &Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<(), CtlError> {
    let layout = render::Layout::detect(std::io::stdout().is_terminal());
    let mut out = render::Output::new(cli.json, colour_wanted(), layout, stdout, stderr);
    let result = commands::dispatch(cli, &mut out);
    if let Err(e) = &result {
        out.report(e);
    }
    result
}

/// Colour only when stdout is a terminal and `NO_COLOR` is unset or empty
/// (no-color.org), and the terminal is not `dumb`.
fn colour_wanted() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    std::io::stdout().is_terminal() && !no_color && !dumb
}
