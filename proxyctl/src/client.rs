//! The admin-socket client: one request line out, one reply line back.
//!
//! Blocking `std::os::unix::net::UnixStream`, no async runtime: proxyctl sends
//! one request per connection (SPEC §4), so threads and futures would buy
//! nothing. The whole exchange (write, then read until `\n`) must finish
//! before one deadline; each `read` gets the time that is left, so a daemon
//! that dribbles bytes cannot stretch the timeout. The reply line is bounded
//! by [`MAX_LINE`]. Socket errors become [`CtlError`]s that say which socket
//! and what to do; this module never prints.

use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proxyd_protocol::response::decode_reply;
use proxyd_protocol::{framing, Command, ErrorBody, ReplyError, MAX_LINE};
use serde::de::DeserializeOwned;

use crate::error::{CtlError, Unreachable};

/// A reply the client could decode: the raw line (for `--json` passthrough)
/// and its meaning.
#[derive(Debug)]
pub struct Response<T> {
    /// The reply line as received, without its newline.
    pub line: String,
    /// The body of an ok reply, or the error body.
    pub body: Result<T, ErrorBody>,
}

/// Talks to one daemon's admin socket.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
    timeout: Duration,
}

impl Client {
    /// A client for `socket`; each request must complete within `timeout`.
    pub fn new(socket: impl Into<PathBuf>, timeout: Duration) -> Self {
        Client {
            socket: socket.into(),
            timeout,
        }
    }

    /// The socket path this client connects to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The same client with another per-request timeout.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        Client {
            socket: self.socket.clone(),
            timeout,
        }
    }

    /// Sends `command` and decodes the reply as `T`. A daemon that refused our
    /// credentials (`"permission denied"`) is reported as unreachable.
    pub fn request<T: DeserializeOwned>(&self, command: Command) -> Result<Response<T>, CtlError> {
        let line = self.exchange(command)?;
        let body = decode_reply::<T>(&line).map_err(|e| self.protocol_error(&line, e))?;
        if let Err(err) = &body {
            if err.message == "permission denied" {
                return Err(CtlError::Unreachable {
                    reason: Unreachable::PeerRefused {
                        socket: self.socket.clone(),
                    },
                });
            }
        }
        Ok(Response { line, body })
    }

    /// Connects, writes the command word and reads one reply line.
    fn exchange(&self, command: Command) -> Result<String, CtlError> {
        let deadline = Instant::now() + self.timeout;
        let mut stream = UnixStream::connect(&self.socket).map_err(|e| self.connect_error(e))?;
        let word = command.as_str();
        let io_err = |e: io::Error| self.io_error(word, e);
        stream
            .set_write_timeout(Some(self.timeout))
            .map_err(io_err)?;
        // A daemon that refuses us (SO_PEERCRED) answers and closes at once,
        // possibly before our line is written: its reply is still there to
        // read, and says more than the broken pipe does.
        let written = stream.write_all(format!("{word}\n").as_bytes());
        let mut reader = BufReader::new(DeadlineReader { stream, deadline });
        let bytes = match (framing::read_line_limited(&mut reader, MAX_LINE), written) {
            (Ok(bytes), Err(_)) if !bytes.is_empty() => bytes,
            (_, Err(e)) => return Err(io_err(e)),
            (read, Ok(())) => read.map_err(io_err)?,
        };
        let line = String::from_utf8(bytes).map_err(|_| CtlError::Protocol {
            socket: self.socket.clone(),
            protocol: None,
            detail: "the reply is not UTF-8".into(),
        })?;
        Ok(line.trim_end_matches('\r').to_string())
    }

    fn connect_error(&self, error: io::Error) -> CtlError {
        let socket = self.socket.clone();
        let reason = match error.kind() {
            io::ErrorKind::NotFound => Unreachable::NotFound { socket },
            io::ErrorKind::ConnectionRefused => match std::fs::metadata(&socket) {
                Ok(meta) if !meta.file_type().is_socket() => Unreachable::NotASocket { socket },
                _ => Unreachable::Refused { socket },
            },
            io::ErrorKind::PermissionDenied => {
                let owner = describe_owner(&socket);
                Unreachable::PermissionDenied { socket, owner }
            }
            _ => Unreachable::Other { socket, error },
        };
        CtlError::Unreachable { reason }
    }

    fn io_error(&self, command: &'static str, error: io::Error) -> CtlError {
        let socket = self.socket.clone();
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => CtlError::Timeout {
                socket,
                command,
                after: self.timeout,
            },
            io::ErrorKind::InvalidData => CtlError::Protocol {
                socket,
                protocol: None,
                detail: error.to_string(),
            },
            _ => CtlError::NoReply {
                socket,
                command,
                detail: error.to_string(),
            },
        }
    }

    fn protocol_error(&self, line: &str, error: ReplyError) -> CtlError {
        let protocol = match &error {
            ReplyError::Version(v) => Some(*v),
            ReplyError::Malformed(_) => serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("protocol").and_then(|p| p.as_u64()))
                .and_then(|p| u32::try_from(p).ok()),
        };
        CtlError::Protocol {
            socket: self.socket.clone(),
            protocol,
            detail: format!("{error}; it began with {:?}", preview(line)),
        }
    }
}

/// Reads from the stream with whatever time is left before `deadline`.
struct DeadlineReader {
    stream: UnixStream,
    deadline: Instant,
}

impl Read for DeadlineReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// The first few characters of a reply, for error messages.
fn preview(line: &str) -> String {
    const MAX: usize = 60;
    let mut out: String = line.chars().filter(|c| !c.is_control()).take(MAX).collect();
    if line.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// "owned by user proxyd, group proxyd, mode 0660" for the socket or, when the
/// socket itself cannot be examined, for its directory.
fn describe_owner(socket: &Path) -> Option<String> {
    let (what, meta) = match std::fs::metadata(socket) {
        Ok(meta) => ("socket", meta),
        Err(_) => ("its directory", std::fs::metadata(socket.parent()?).ok()?),
    };
    let user = nix::unistd::User::from_uid(meta.uid().into())
        .ok()
        .flatten()
        .map_or_else(|| meta.uid().to_string(), |u| u.name);
    let group = nix::unistd::Group::from_gid(meta.gid().into())
        .ok()
        .flatten()
        .map_or_else(|| meta.gid().to_string(), |g| g.name);
    Some(format!(
        "{what} owned by user {user}, group {group}, mode {:04o}",
        meta.mode() & 0o7777
    ))
}
