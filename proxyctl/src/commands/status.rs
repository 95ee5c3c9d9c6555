//! `proxyctl status`: ask the daemon for its `status` report and show it as
//! tables, or pass the reply through with `--json`.

use std::time::SystemTime;

use proxyd_protocol::{Command, StatusReport};

use crate::client::Client;
use crate::error::CtlError;
use crate::render::{self, Output};

/// Runs `status`.
pub fn run(client: &Client, out: &mut Output<'_>) -> Result<(), CtlError> {
    let response = client.request::<StatusReport>(Command::Status)?;
    if out.is_json() {
        out.json_line(&response.line)?;
    }
    match response.body {
        Ok(report) => out.text(&render::status::render(&report, out, SystemTime::now())),
        Err(err) => Err(CtlError::Daemon {
            command: "status",
            message: err.message,
        }),
    }
}
