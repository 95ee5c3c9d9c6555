//! `TestProxy`: one real `proxyd` process with its own temp dir and ports.
//!
//! The temp dir is short (`/tmp/pxXXXXXX`) because Unix socket paths are
//! limited to about 108 bytes. It holds `proxyd.toml`, the admin socket and
//! the child's `stdout.log` / `stderr.log`. `start` waits until the admin
//! socket answers `ready` with `"ready":true`, never sleeping a fixed time,
//! and fails with the log tail if the child exits first. A child that exits 3
//! (a port taken between our probe and its bind) is retried once with new ports.
//! `Drop` sends SIGTERM to this child only, then SIGKILL after a deadline, and
//! prints the log tail when the test is panicking.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use tempfile::TempDir;

use crate::admin;
use crate::bins;
use crate::config::{Placeholders, ProxyConfig};
use crate::ctl::Ctl;
use crate::ports;
use crate::wait::patience;

/// Makes a short temp dir under `/tmp`, safe for Unix socket paths.
pub fn short_tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("px")
        .tempdir_in("/tmp")
        .expect("create temp dir in /tmp")
}

/// A running `proxyd`.
pub struct TestProxy {
    child: Option<Child>,
    exit: Option<ExitStatus>,
    config: ProxyConfig,
    ph: Placeholders,
    config_path: PathBuf,
    // Dropped last: the child is gone by then.
    dir: TempDir,
}

/// Why a start attempt failed.
#[derive(Debug)]
struct StartFailure {
    exit: Option<ExitStatus>,
    message: String,
}

impl ProxyConfig {
    /// Writes this config, spawns `proxyd` and waits until it is ready.
    /// Panics (with the logs) if it does not get there.
    pub async fn start(self) -> TestProxy {
        TestProxy::start(self).await
    }
}

impl TestProxy {
    /// Writes `config`, spawns `proxyd -c <dir>/proxyd.toml` and waits until
    /// the admin socket reports ready. Retries once on exit code 3.
    pub async fn start(config: ProxyConfig) -> TestProxy {
        let mut last = None;
        for attempt in 0..2 {
            match Self::try_start(config.clone()).await {
                Ok(px) => return px,
                Err(failure) => {
                    let retry = attempt == 0 && failure.exit.and_then(|s| s.code()) == Some(3);
                    last = Some(failure);
                    if !retry {
                        break;
                    }
                }
            }
        }
        let failure = last.expect("invariant: at least one attempt ran");
        panic!("proxyd did not become ready: {}", failure.message);
    }

    async fn try_start(config: ProxyConfig) -> Result<TestProxy, StartFailure> {
        let dir = short_tempdir();
        let ph = Placeholders {
            http: ports::free_addr(),
            health: ports::free_addr(),
            socket: dir.path().join("admin.sock"),
            dir: dir.path().to_owned(),
        };
        let config_path = dir.path().join("proxyd.toml");
        std::fs::write(&config_path, ph.fill(&config.template())).expect("write proxyd.toml");
        let stdout = File::create(dir.path().join("stdout.log")).expect("create stdout.log");
        let stderr = File::create(dir.path().join("stderr.log")).expect("create stderr.log");
        let child = Command::new(bins::proxyd())
            .arg("-c")
            .arg(&config_path)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .envs(config.env_vars().iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("spawn proxyd");
        let mut px = TestProxy {
            child: Some(child),
            exit: None,
            config,
            ph,
            config_path,
            dir,
        };
        let deadline = Instant::now() + patience();
        loop {
            if let Some(status) = px.poll_exit() {
                return Err(StartFailure {
                    exit: Some(status),
                    message: format!(
                        "proxyd exited early with {status}\n{}\n{}",
                        px.config_dump(),
                        px.log_tail(40)
                    ),
                });
            }
            if let Ok(reply) = px.try_admin("ready").await {
                if reply["ready"] == Value::Bool(true) {
                    return Ok(px);
                }
            }
            if Instant::now() >= deadline {
                return Err(StartFailure {
                    exit: None,
                    message: format!(
                        "not ready after {:?} (raise PROXYD_TEST_PATIENCE_MS?)\n{}\n{}",
                        patience(),
                        px.config_dump(),
                        px.log_tail(40)
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // === addresses and files ===

    /// The `main` listener's plain-HTTP address.
    pub fn http_addr(&self) -> std::net::SocketAddr {
        self.ph.http
    }

    /// The health/metrics address.
    pub fn health_addr(&self) -> std::net::SocketAddr {
        self.ph.health
    }

    /// The admin socket path.
    pub fn socket_path(&self) -> &Path {
        &self.ph.socket
    }

    /// The config file the daemon reads.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The temp dir (config, socket, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The builder this proxy was started from (or last [`write`](Self::write)).
    pub fn config(&self) -> ProxyConfig {
        self.config.clone()
    }

    /// What the placeholders stand for in this proxy.
    pub fn placeholders(&self) -> &Placeholders {
        &self.ph
    }

    /// Writes raw config text (placeholders filled in) to the config file and
    /// returns what was written. Does not reload.
    pub fn write_config(&self, template: &str) -> String {
        let text = self.ph.fill(template);
        std::fs::write(&self.config_path, &text).expect("write proxyd.toml");
        text
    }

    /// Renders `config` into the config file (same ports) and returns the
    /// text. Does not reload.
    pub fn write(&mut self, config: ProxyConfig) -> String {
        let text = self.write_config(&config.template());
        self.config = config;
        text
    }

    // === the process ===

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("proxyd child")
    }

    fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.exit = Some(status);
                }
            }
        }
        self.exit
    }

    fn signal(&self, signal: Signal) {
        if self.exit.is_some() {
            return;
        }
        let pid = i32::try_from(self.pid()).expect("pid fits i32");
        kill(Pid::from_raw(pid), signal).expect("signal proxyd");
    }

    /// Sends SIGHUP (reload).
    pub fn sighup(&self) {
        self.signal(Signal::SIGHUP);
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn sigterm(&self) {
        self.signal(Signal::SIGTERM);
    }

    /// Waits up to `timeout` for the child to exit; panics with the logs if
    /// it does not.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let end = Instant::now() + timeout;
        loop {
            if let Some(status) = self.poll_exit() {
                return status;
            }
            assert!(
                Instant::now() < end,
                "proxyd still running after {timeout:?}\n{}",
                self.log_tail(40)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // === logs ===

    /// Everything the child wrote to stdout.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout.log")).unwrap_or_default()
    }

    /// Everything the child wrote to stderr.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Both streams, labelled.
    pub fn logs(&self) -> String {
        format!(
            "--- proxyd stdout ---\n{}--- proxyd stderr ---\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// The config file's path and text, for failure messages.
    pub fn config_dump(&self) -> String {
        format!(
            "--- {} ---\n{}",
            self.config_path.display(),
            std::fs::read_to_string(&self.config_path).unwrap_or_default()
        )
    }

    /// The last `n` lines of each stream, labelled.
    pub fn log_tail(&self, n: usize) -> String {
        fn tail(text: &str, n: usize) -> String {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        format!(
            "--- proxyd stdout (last {n} lines) ---\n{}\n--- proxyd stderr (last {n} lines) ---\n{}",
            tail(&self.stdout(), n),
            tail(&self.stderr(), n)
        )
    }

    // === admin socket ===

    /// Sends `line` (a `\n` is added if missing) and parses the one-line
    /// reply. Panics with the logs on any failure.
    pub async fn admin(&self, line: &str) -> Value {
        match self.try_admin(line).await {
            Ok(v) => v,
            Err(e) => panic!("admin `{line}` failed: {e:#}\n{}", self.log_tail(40)),
        }
    }

    /// Sends raw bytes and returns the raw reply line (without parsing).
    pub async fn admin_raw(&self, bytes: &[u8]) -> anyhow::Result<String> {
        admin::exchange(&self.ph.socket, bytes).await
    }

    /// Like [`admin`](Self::admin), but returns errors.
    pub async fn try_admin(&self, line: &str) -> anyhow::Result<Value> {
        admin::command(&self.ph.socket, line).await
    }

    /// The `status` reply.
    pub async fn status(&self) -> Value {
        self.admin("status").await
    }

    /// `status.config.generation`.
    pub async fn generation(&self) -> u64 {
        let status = self.status().await;
        status["config"]["generation"]
            .as_u64()
            .unwrap_or_else(|| panic!("status without config.generation: {status}"))
    }

    /// `status.config.generation`, or `None` if the daemon does not answer.
    pub async fn try_generation(&self) -> Option<u64> {
        self.try_admin("status").await.ok()?["config"]["generation"].as_u64()
    }

    /// A `proxyctl` command preset with `--socket` for this proxy.
    pub fn ctl(&self) -> Ctl {
        Ctl::new(&self.ph.socket)
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if self.exit.is_none() {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let end = Instant::now() + patience();
            while Instant::now() < end {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if std::thread::panicking() {
            eprintln!("{}\n{}", self.config_dump(), self.log_tail(40));
        }
    }
}
