//! `CtlError`: every way a `proxyctl` command can fail, with its exit code.
//!
//! Each variant renders as **one sentence** that names the cause and ends with
//! a hint in parentheses, because the reader is an operator at a prompt or a
//! CI log, not a developer. The exit codes are the contract of SPEC §5:
//! 1 the operation failed, 3 the daemon is unreachable, 4 timed out (2, usage,
//! is clap's own). Nothing here prints; `lib.rs` reports the error once.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::render::time::compact_duration;

/// Exit codes (SPEC §5).
pub mod exit {
    /// The command did what was asked.
    pub const SUCCESS: u8 = 0;
    /// The operation failed: reload rejected, config invalid, daemon error.
    pub const FAILED: u8 = 1;
    /// Bad arguments (clap's default).
    pub const USAGE: u8 = 2;
    /// The daemon could not be reached on its socket.
    pub const UNREACHABLE: u8 = 3;
    /// No reply in time, or `wait-ready`'s deadline passed.
    pub const TIMEOUT: u8 = 4;
}

/// A failed `proxyctl` command.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// The socket could not be connected to.
    #[error("cannot reach proxyd: {reason}")]
    Unreachable {
        /// Why, with the socket path and a hint.
        reason: Unreachable,
    },

    /// Connected, but no reply came within the timeout.
    #[error(
        "proxyd did not answer `{command}` on {} within {} (the daemon may be busy or stuck; raise --timeout or check its log)",
        socket.display(),
        compact_duration(*after)
    )]
    Timeout {
        /// The socket that was asked.
        socket: PathBuf,
        /// The command word sent.
        command: &'static str,
        /// The timeout that passed.
        after: Duration,
    },

    /// The daemon closed the connection (or it broke) before a reply line.
    #[error(
        "proxyd closed the connection on {} without answering `{command}`: {detail} (check the daemon's log)",
        socket.display()
    )]
    NoReply {
        /// The socket that was asked.
        socket: PathBuf,
        /// The command word sent.
        command: &'static str,
        /// What the socket said.
        detail: String,
    },

    /// The reply is not an admin-protocol reply this client can read.
    #[error(
        "the daemon on {} answered something that is not an admin-protocol reply ({}, this proxyctl speaks {}): {detail} (is --socket pointing at proxyd's admin socket?)",
        socket.display(),
        match protocol { Some(v) => format!("it says protocol {v}"), None => "protocol version unknown".to_string() },
        proxyd_protocol::PROTOCOL_VERSION
    )]
    Protocol {
        /// The socket that was asked.
        socket: PathBuf,
        /// The `protocol` field of the reply, when it had one.
        protocol: Option<u32>,
        /// What was wrong with it.
        detail: String,
    },

    /// The daemon answered `{"status":"error"}` to a command.
    #[error("proxyd refused `{command}`: {message}")]
    Daemon {
        /// The command word sent.
        command: &'static str,
        /// The daemon's message.
        message: String,
    },

    /// The daemon rejected a reload; the old config keeps serving.
    #[error(
        "reload rejected, {} keeps running (fix the config and run `proxyctl reload` again):\n{message}",
        match generation { Some(g) => format!("generation {g}"), None => "the previous config".to_string() }
    )]
    ReloadRejected {
        /// The generation still running, if the daemon said.
        generation: Option<u64>,
        /// The daemon's message: `file:line:col: ...` lines.
        message: String,
    },

    /// `check-config` was pointed at a file that does not exist.
    #[error(
        "cannot check config: {} not found (pass the config path: proxyctl check-config PATH)",
        path.display()
    )]
    ConfigMissing {
        /// The path given (or the default).
        path: PathBuf,
    },

    /// The config has errors.
    #[error("config {} is invalid: {}", path.display(), crate::render::check::count_summary(*errors, *warnings))]
    ConfigInvalid {
        /// The file checked.
        path: PathBuf,
        /// How many errors.
        errors: usize,
        /// How many warnings.
        warnings: usize,
    },

    /// The config is valid but has warnings, and `--strict` was given.
    #[error(
        "config {} has {} (fatal with --strict)",
        path.display(),
        crate::render::check::plural(*warnings, "warning")
    )]
    StrictWarnings {
        /// The file checked.
        path: PathBuf,
        /// How many warnings.
        warnings: usize,
    },

    /// `wait-ready`'s deadline passed before the conditions held.
    #[error(
        "proxyd was not ready after {}: {reason} (raise --timeout, or run `proxyctl status` to see why)",
        compact_duration(*waited)
    )]
    NotReady {
        /// How long we waited.
        waited: Duration,
        /// The last reason it was not ready.
        reason: String,
    },

    /// Writing to stdout or stderr failed.
    #[error("cannot write output: {0}")]
    Output(#[source] io::Error),
}

impl CtlError {
    /// The process exit code for this error (SPEC §5).
    pub fn exit_code(&self) -> u8 {
        match self {
            CtlError::Unreachable { .. } => exit::UNREACHABLE,
            CtlError::Timeout { .. } | CtlError::NotReady { .. } => exit::TIMEOUT,
            // A closed pipe (`proxyctl status | head`) is not a failure.
            CtlError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::SUCCESS,
            CtlError::NoReply { .. }
            | CtlError::Protocol { .. }
            | CtlError::Daemon { .. }
            | CtlError::ReloadRejected { .. }
            | CtlError::ConfigMissing { .. }
            | CtlError::ConfigInvalid { .. }
            | CtlError::StrictWarnings { .. }
            | CtlError::Output(_) => exit::FAILED,
        }
    }

    /// Whether it is worth telling anyone (a closed stdout pipe is not).
    pub fn is_silent(&self) -> bool {
        matches!(self, CtlError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Why the socket could not be connected to.
#[derive(Debug)]
pub enum Unreachable {
    /// No file at the socket path.
    NotFound {
        /// The socket path.
        socket: PathBuf,
    },
    /// A file is there but nothing listens (a stale socket).
    Refused {
        /// The socket path.
        socket: PathBuf,
    },
    /// The path exists but is not a socket.
    NotASocket {
        /// The socket path.
        socket: PathBuf,
    },
    /// The file system refused access to the socket.
    PermissionDenied {
        /// The socket path.
        socket: PathBuf,
        /// Owner, group and mode of the socket (or its directory), if readable.
        owner: Option<String>,
    },
    /// The daemon checked our credentials (`SO_PEERCRED`) and refused us.
    PeerRefused {
        /// The socket path.
        socket: PathBuf,
    },
    /// Anything else (path too long, not a socket, ...).
    Other {
        /// The socket path.
        socket: PathBuf,
        /// The error from `connect`.
        error: io::Error,
    },
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreachable::NotFound { socket } => write!(
                f,
                "socket {} not found (is proxyd running? set --socket or PROXYD_ADMIN_SOCKET)",
                socket.display()
            ),
            Unreachable::Refused { socket } => write!(
                f,
                "connection to socket {} refused (the socket file is stale: is proxyd running?)",
                socket.display()
            ),
            Unreachable::NotASocket { socket } => write!(
                f,
                "{} is not a socket (point --socket or PROXYD_ADMIN_SOCKET at proxyd's [admin] socket)",
                socket.display()
            ),
            Unreachable::PermissionDenied { socket, owner } => {
                write!(f, "permission denied on socket {}", socket.display())?;
                match owner {
                    Some(owner) => write!(
                        f,
                        " ({owner}; run proxyctl as that user, as a member of that group, or with sudo)"
                    ),
                    None => f.write_str(
                        " (run proxyctl as proxyd's user, as a member of its group, or with sudo)",
                    ),
                }
            }
            Unreachable::PeerRefused { socket } => write!(
                f,
                "proxyd refused this user on socket {} (permission denied; run as root or as proxyd's user, or add the user to [admin] allowed_users or a group to allowed_groups)",
                socket.display()
            ),
            Unreachable::Other { socket, error } => write!(
                f,
                "connecting to socket {} failed: {error} (check --socket or PROXYD_ADMIN_SOCKET)",
                socket.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_sentence_with_a_hint() {
        let e = CtlError::Unreachable {
            reason: Unreachable::NotFound {
                socket: "/run/proxyd/admin.sock".into(),
            },
        };
        assert_eq!(
            e.to_string(),
            "cannot reach proxyd: socket /run/proxyd/admin.sock not found (is proxyd running? set --socket or PROXYD_ADMIN_SOCKET)"
        );
        assert_eq!(e.exit_code(), exit::UNREACHABLE);
        let e = CtlError::Timeout {
            socket: "/s".into(),
            command: "status",
            after: Duration::from_millis(300),
        };
        assert!(e.to_string().contains("within 300ms"), "{e}");
        assert_eq!(e.exit_code(), exit::TIMEOUT);
        let e = CtlError::Protocol {
            socket: "/s".into(),
            protocol: None,
            detail: "x".into(),
        };
        assert!(e.to_string().contains("not an admin-protocol reply"));
        assert_eq!(e.exit_code(), exit::FAILED);
    }
}
