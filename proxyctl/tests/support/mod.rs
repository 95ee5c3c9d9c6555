//! Shared helpers for the proxyctl black-box tests: running the binary and a
//! fake admin server.
//!
//! The fake daemon is a `UnixListener` on a thread in a short temp dir (Unix
//! socket paths are limited to about 108 bytes). It records every request
//! line and answers with whatever the test's closure says.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

pub fn short_tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("pc")
        .tempdir_in("/tmp")
        .unwrap()
}

pub fn proxyctl() -> Command {
    let mut cmd = Command::cargo_bin("proxyctl").unwrap();
    cmd.env_remove("PROXYD_ADMIN_SOCKET")
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .timeout(Duration::from_secs(20));
    cmd
}

pub fn ctl(socket: &Path) -> Command {
    let mut cmd = proxyctl();
    cmd.arg("--socket").arg(socket);
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

impl Run {
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Exactly one JSON document, on one line.
    pub fn json(&self) -> Value {
        assert_eq!(self.stdout.lines().count(), 1, "stdout: {:?}", self.stdout);
        serde_json::from_str(&self.stdout).unwrap()
    }
}

/// What the fake daemon does with a request.
pub enum Answer {
    Line(String),
    /// Keep the connection open and never answer.
    Silent,
    /// Close the connection without a reply.
    Close,
}

pub type Responder = dyn Fn(&str, usize) -> Answer + Send + 'static;

pub struct FakeDaemon {
    _dir: Option<TempDir>,
    pub socket: PathBuf,
    received: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeDaemon {
    /// A fake daemon answering with `answer(request_line, request_index)`.
    pub fn start(answer: impl Fn(&str, usize) -> Answer + Send + 'static) -> Self {
        let dir = short_tempdir();
        let socket = dir.path().join("admin.sock");
        let mut fake = Self::start_at(&socket, Box::new(answer));
        fake._dir = Some(dir);
        fake
    }

    pub fn always(line: &str) -> Self {
        let line = line.to_string();
        Self::start(move |_, _| Answer::Line(line.clone()))
    }

    pub fn start_at(socket: &Path, answer: Box<Responder>) -> Self {
        let listener = UnixListener::bind(socket).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (rec, stp) = (received.clone(), stop.clone());
        let thread = thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if stp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                let mut line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut line);
                let index = {
                    let mut r = rec.lock().unwrap();
                    r.push(line.clone());
                    r.len() - 1
                };
                match answer(&line, index) {
                    Answer::Line(reply) => {
                        let _ = stream.write_all(format!("{reply}\n").as_bytes());
                    }
                    Answer::Silent => held.push(stream),
                    Answer::Close => drop(stream),
                }
            }
        });
        FakeDaemon {
            _dir: None,
            socket: socket.to_path_buf(),
            received,
            stop,
            thread: Some(thread),
        }
    }

    pub fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = UnixStream::connect(&self.socket);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn ready(ready: bool) -> String {
    format!(r#"{{"status":"ok","protocol":1,"ready":{ready}}}"#)
}

pub fn status(generation: u64, healthy: bool) -> String {
    // The next whole second: the timestamp has no fraction, and proxyctl
    // reads "now" for anything less than a second away on either side, so
    // this stays "now" however late in the second the fixture is made
    // (truncating the current time read "1s ago" when proxyctl ran in the
    // next second: the golden status test was flaky on a busy machine).
    let now =
        humantime::format_rfc3339_seconds(std::time::SystemTime::now() + Duration::from_secs(1))
            .to_string();
    let in_days = |d: u64| {
        humantime::format_rfc3339_seconds(
            std::time::SystemTime::now() + Duration::from_secs(d * 86_400 + 7_200),
        )
        .to_string()
    };
    serde_json::json!({
        "status": "ok", "protocol": 1, "version": "0.1.0", "pid": 4242,
        "uptime_secs": 3725, "ready": true, "draining": false, "sites": 2,
        "config": {
            "path": "/etc/proxyd/proxyd.toml", "generation": generation,
            "sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "loaded_at": now,
            "last_reload": {"at": now, "result": "ok", "message": null}
        },
        "listeners": [
            {"name": "public", "http": "0.0.0.0:80", "https": "0.0.0.0:443", "active_connections": 7}
        ],
        "upstreams": [
            {"name": "api", "algorithm": "round_robin", "servers": [
                {"address": "127.0.0.1:8081", "healthy": healthy, "active_connections": 1,
                 "requests_total": 100, "failures_total": 2},
                {"address": "127.0.0.1:8082", "healthy": false, "active_connections": 0,
                 "requests_total": 50, "failures_total": 9}
            ]}
        ],
        "certificates": [
            {"site": "app", "hosts": ["app.example.com"], "source": "acme",
             "not_after": in_days(45), "next_renewal": in_days(15), "last_error": null}
        ],
        "requests_total": 150,
        "a_future_field": {"kept": true}
    })
    .to_string()
}

pub fn header_words(stdout: &str, first: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(first))
        .unwrap_or_else(|| panic!("no line starting with {first} in:\n{stdout}"));
    line.split_whitespace().map(str::to_string).collect()
}
