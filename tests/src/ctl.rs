//! `proxyctl`, preset with `--socket`, run through assert_cmd so a failed
//! assertion prints the command, its exit code, stdout and stderr.

use std::ffi::OsStr;
use std::path::Path;

use assert_cmd::assert::Assert;
use assert_cmd::Command;

use crate::bins;
use crate::wait::patience;

/// A `proxyctl --socket <path>` invocation being built.
pub struct Ctl {
    cmd: Command,
}

impl Ctl {
    /// `proxyctl --socket <socket>`, with a timeout and no colour.
    pub fn new(socket: &Path) -> Self {
        let mut cmd = Command::new(bins::proxyctl());
        cmd.arg("--socket")
            .arg(socket)
            .env("NO_COLOR", "1")
            .env_remove("PROXYD_ADMIN_SOCKET")
            .timeout(patience());
        Self { cmd }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Runs it and returns assert_cmd's `Assert` (e.g. `.code(0)`).
    pub fn assert(mut self) -> Assert {
        self.cmd.assert()
    }

    /// Runs it and parses stdout as one JSON value (for `--json`), asserting
    /// the exit code first.
    pub fn json(self, code: i32) -> serde_json::Value {
        let out = self.assert().code(code).get_output().clone();
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "proxyctl stdout is not one JSON value ({e}):\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}
