//! `proxyctl completions <shell>`: print the shell completion script.

use crate::cli::CompletionsArgs;
use crate::error::CtlError;
use crate::render::Output;

/// Runs `completions`.
pub fn run(args: &CompletionsArgs, out: &mut Output<'_>) -> Result<(), CtlError> {
    let script = crate::generated::completion(args.shell, crate::cli::command(), "proxyctl");
    out.text(&script)
}
