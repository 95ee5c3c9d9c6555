//! A fake systemd notify socket: a Unix datagram socket the test binds in a
//! short temp dir and hands to `proxyd` as `NOTIFY_SOCKET`.
//!
//! Each datagram is one notification (`READY=1\nSTATUS=...\n`); the test
//! reads them in order and asserts on the sequence.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::proxy::short_tempdir;
use crate::wait::patience;

/// One notification: its `KEY=value` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification(pub Vec<String>);

impl Notification {
    /// Whether it carries exactly the line `line` (e.g. `READY=1`).
    pub fn has(&self, line: &str) -> bool {
        self.0.iter().any(|l| l == line)
    }

    /// The value of `key=`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        let prefix = format!("{key}=");
        self.0.iter().find_map(|l| l.strip_prefix(&prefix))
    }
}

impl std::fmt::Display for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.join(" | "))
    }
}

/// The listening side of `NOTIFY_SOCKET`.
pub struct NotifySocket {
    socket: UnixDatagram,
    path: PathBuf,
    seen: Vec<Notification>,
    // Removed when the test ends.
    _dir: TempDir,
}

impl NotifySocket {
    /// Binds `/tmp/pxXXXXXX/notify`.
    pub fn bind() -> NotifySocket {
        let dir = short_tempdir();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("set read timeout");
        NotifySocket {
            socket,
            path,
            seen: Vec::new(),
            _dir: dir,
        }
    }

    /// The value for `NOTIFY_SOCKET`.
    pub fn path(&self) -> &str {
        self.path.to_str().expect("temp paths are UTF-8")
    }

    /// Every notification received so far, in order.
    pub fn seen(&self) -> &[Notification] {
        &self.seen
    }

    fn pump(&mut self) {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = self.socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            let lines = text.lines().map(str::to_owned).collect();
            self.seen.push(Notification(lines));
        }
    }

    /// Waits (up to [`patience`]) for the next notification matching
    /// `pred` after the first `from` ones, and returns its index. Panics
    /// with everything seen when none comes.
    pub fn wait_for(&mut self, from: usize, pred: impl Fn(&Notification) -> bool) -> usize {
        let end = Instant::now() + patience();
        loop {
            if let Some(i) = self.seen.iter().skip(from).position(&pred) {
                return from + i;
            }
            assert!(
                Instant::now() < end,
                "expected notification not received; seen:\n{}",
                self.dump()
            );
            self.pump();
        }
    }

    /// Every notification, one per line, for failure messages.
    pub fn dump(&self) -> String {
        self.seen
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }
}
