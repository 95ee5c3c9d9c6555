//! `proxyctl reload`: ask the daemon to reload its config file. Success
//! prints the generation change and what changed (warnings on stderr); a
//! rejected reload is an error whose message keeps the daemon's
//! `file:line:col` lines intact.

use proxyd_protocol::{Command, ReloadBody};

use crate::client::Client;
use crate::error::CtlError;
use crate::render::{self, Output};

/// Runs `reload`.
pub fn run(client: &Client, out: &mut Output<'_>) -> Result<(), CtlError> {
    let response = client.request::<ReloadBody>(Command::Reload)?;
    if out.is_json() {
        out.json_line(&response.line)?;
    }
    match response.body {
        Ok(body) => {
            out.text(&render::reload::render(&body))?;
            if !out.is_json() {
                for warning in &body.warnings {
                    out.note(&format!("warning: {warning}\n"))?;
                }
            }
            Ok(())
        }
        Err(err) => Err(CtlError::ReloadRejected {
            generation: err.generation,
            message: err.message,
        }),
    }
}
