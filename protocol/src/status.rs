//! The `status` report: everything `proxyctl status` shows.
//!
//! Timestamps are RFC 3339 strings in UTC (`2026-11-22T03:18:45Z`).

use serde::{Deserialize, Serialize};

/// The body of a successful `status` reply.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatusReport {
    /// proxyd's version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// The daemon's process id.
    pub pid: u32,
    /// Seconds since the daemon started.
    pub uptime_secs: u64,
    /// True once every listener accepts and the daemon is not draining.
    pub ready: bool,
    /// True once a graceful shutdown has begun.
    pub draining: bool,
    /// How many `[[site]]` entries the running config has.
    pub sites: usize,
    /// The running config file and its reload history.
    pub config: ConfigStatus,
    /// One entry per `[[listener]]` (and `[[tcp]]` proxy).
    #[serde(default)]
    pub listeners: Vec<ListenerStatus>,
    /// One entry per `[[upstream]]`.
    #[serde(default)]
    pub upstreams: Vec<UpstreamStatus>,
    /// One entry per site with `tls` set.
    #[serde(default)]
    pub certificates: Vec<CertificateStatus>,
    /// Requests answered since start, all listeners.
    pub requests_total: u64,
}

/// The running config.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConfigStatus {
    /// The config file path the daemon reads.
    pub path: String,
    /// 1 at start, +1 per successful reload.
    pub generation: u64,
    /// Lowercase hex SHA-256 of the running file's bytes.
    pub sha256: String,
    /// When the running generation was loaded.
    pub loaded_at: String,
    /// The last reload attempt, if any since start.
    #[serde(default)]
    pub last_reload: Option<LastReload>,
}

/// The outcome of the last reload attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastReload {
    /// When it finished.
    pub at: String,
    /// `"ok"` or `"error"`.
    pub result: String,
    /// Why it failed (or warnings), if anything to say.
    #[serde(default)]
    pub message: Option<String>,
}

/// A listener and its connections.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListenerStatus {
    /// The `[[listener]]` (or `[[tcp]]`) name.
    pub name: String,
    /// The bound plain-HTTP address, if any.
    #[serde(default)]
    pub http: Option<String>,
    /// The bound HTTPS address, if any.
    #[serde(default)]
    pub https: Option<String>,
    /// `"http"` for `[[listener]]`, `"tcp"` for `[[tcp]]`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Open client connections right now.
    pub active_connections: u64,
}

/// An upstream pool.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpstreamStatus {
    /// The `[[upstream]]` name.
    pub name: String,
    /// The balancing algorithm.
    pub algorithm: String,
    /// Its servers.
    #[serde(default)]
    pub servers: Vec<ServerStatus>,
}

/// One server of an upstream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServerStatus {
    /// The address as written in the config.
    pub address: String,
    /// Whether the balancer may pick it.
    pub healthy: bool,
    /// Requests (or TCP connections) in flight to it.
    pub active_connections: u64,
    /// Requests sent to it since start.
    pub requests_total: u64,
    /// Failed attempts (connect errors, timeouts, invalid responses).
    pub failures_total: u64,
    /// The last active health check, if checks are configured.
    #[serde(default)]
    pub last_check: Option<CheckResult>,
    /// Consecutive successful checks.
    #[serde(default)]
    pub consecutive_passes: u64,
    /// Consecutive failed checks.
    #[serde(default)]
    pub consecutive_failures: u64,
    /// The last change of `healthy`.
    #[serde(default)]
    pub last_transition: Option<Transition>,
}

/// The outcome of one health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// `"pass"` or `"fail: <why>"`.
    pub result: String,
    /// How long the check took, in milliseconds.
    pub latency_ms: u64,
    /// When it finished.
    pub at: String,
}

/// A change of a server's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// When it happened.
    pub at: String,
    /// Why, in a few words.
    pub reason: String,
}

/// A site's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CertificateStatus {
    /// The site name.
    pub site: String,
    /// The hosts it covers.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// `"file"` or `"acme"`.
    pub source: String,
    /// Expiry, if a certificate is loaded.
    #[serde(default)]
    pub not_after: Option<String>,
    /// When the next renewal attempt is due (ACME only).
    #[serde(default)]
    pub next_renewal: Option<String>,
    /// The last load or renewal error.
    #[serde(default)]
    pub last_error: Option<String>,
}
