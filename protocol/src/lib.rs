//! The admin-socket protocol spoken between `proxyd` and `proxyctl`.
//!
//! Wire format, in short: a client connects to the daemon's Unix stream
//! socket, writes **one line** ending in `\n` (a bare command word such as
//! `status`, or a JSON object `{"command":"status"}`), and the daemon answers
//! **one JSON line** ending in `\n`, then closes the connection. Every answer
//! carries `"status": "ok" | "error"` and `"protocol": 1`.
//!
//! This crate owns the types on both sides so a field cannot drift between
//! daemon and client. It depends on serde only: no tokio, no hyper. Readers
//! ignore unknown fields, so adding a field is not a breaking change; removing
//! or retyping one is, and bumps [`PROTOCOL_VERSION`].
//!
//! # Layout
//! - [`request`]: the commands and the line parser the daemon uses.
//! - [`response`]: the reply envelope, error and per-command bodies.
//! - [`status`]: the `status` report (listeners, upstreams, certificates).
//! - [`changes`]: what a reload changed.
//! - [`framing`]: line encoding and a bounded line reader.
#![warn(missing_docs)]

pub mod changes;
pub mod framing;
pub mod request;
pub mod response;
pub mod status;

pub use changes::{ConfigChanges, NameChanges};
pub use request::{Command, RequestError};
pub use response::{ErrorBody, ReadyBody, ReloadBody, Reply, ReplyError, ReplyStatus};
pub use status::StatusReport;

/// The protocol version carried in every reply. Bumped only on a breaking change.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest request line the daemon accepts, newline included.
pub const MAX_LINE: usize = 64 * 1024;

/// How long the daemon waits for a client to finish its request line.
pub const IO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Where `proxyctl` looks for the socket when neither `--socket` nor
/// `PROXYD_ADMIN_SOCKET` is given.
pub const DEFAULT_SOCKET: &str = "/run/proxyd/admin.sock";
