//! The servers the benchmark starts: pinned, tracked by PID, always stopped.
//!
//! Each server is spawned as `taskset -c CPUS PROGRAM ARGS...` (taskset
//! `exec`s the program, so the PID is the server's) in a new process group
//! whose id is that PID. The group holds everything the server forks (nginx's
//! workers), so it is measured and stopped as one. [`Server`] owns the
//! `Child`: the PID stays reserved (a zombie at worst) until we reap it, so a
//! recycled PID is never signalled. Dropping a `Server` — at the end of a
//! scenario, on an error, or when Ctrl-C drops the whole run — sends SIGTERM
//! to the group, then SIGKILL after a grace period. Nothing is ever killed by
//! name.

use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::error::{BenchError, Result};
use crate::measure;

/// How long a server gets to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running server process group.
#[derive(Debug)]
pub struct Server {
    name: String,
    child: Child,
    log: PathBuf,
    reaped: bool,
}

impl Server {
    /// Starts `program args` pinned to `cpus`, stdout and stderr to `log`.
    pub fn spawn(
        name: &str,
        cpus: &str,
        program: &Path,
        args: &[String],
        log: PathBuf,
    ) -> Result<Server> {
        let out = File::create(&log).map_err(|source| BenchError::Write {
            path: log.clone(),
            source,
        })?;
        let err = out.try_clone()?;
        let child = Command::new("taskset")
            .arg("-c")
            .arg(cpus)
            .arg(program)
            .args(args)
            // Not started by systemd: no readiness notifications.
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|source| BenchError::Spawn {
                what: format!("{name} ({})", program.display()),
                source,
            })?;
        Ok(Server {
            name: name.to_string(),
            child,
            log,
            reaped: false,
        })
    }

    /// What this server is, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process group id (= the PID of the server).
    pub fn pgid(&self) -> i32 {
        // PIDs fit in i32 on Linux (pid_max ≤ 2^22).
        self.child.id() as i32
    }

    /// `Some(status)` once the server has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.reaped {
            return None;
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.reaped = true;
                Some(status)
            }
            _ => None,
        }
    }

    /// The last lines of the server's output, for error messages.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// CPU ticks used so far by the whole group.
    pub fn cpu_ticks(&self) -> u64 {
        measure::group_ticks(self.pgid())
    }

    /// Resident memory of the whole group now, KiB.
    pub fn rss_kib(&self) -> u64 {
        measure::group_kib(self.pgid(), "VmRSS")
    }

    /// Peak resident memory of the whole group, KiB (sum of each process's peak).
    pub fn peak_rss_kib(&self) -> u64 {
        measure::group_kib(self.pgid(), "VmHWM")
    }

    /// SIGTERM to the group, SIGKILL after [`STOP_GRACE`], then reap.
    pub fn stop(mut self) {
        self.stop_group();
    }

    fn stop_group(&mut self) {
        let pgid = Pid::from_raw(self.pgid());
        let alive = |s: &mut Server| !s.reaped || !measure::group(s.pgid()).is_empty();
        if !alive(self) {
            return;
        }
        let _ = killpg(pgid, Signal::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            let _ = self.exited();
            if !alive(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(pgid, Signal::SIGKILL);
        if !self.reaped {
            let _ = self.child.wait();
            self.reaped = true;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_group();
    }
}
