//! State shared by every task of the daemon.
//!
//! The request path reads `snapshot` (lock-free) and bumps counters; it
//! never touches `reload_lock`, which only serializes reloads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::listener::ListenerSet;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::snapshot::Snapshot;
use crate::upstream::Registry;

/// The outcome of the last reload attempt, for `status`.
#[derive(Debug, Clone)]
pub struct ReloadRecord {
    /// When it finished.
    pub at: SystemTime,
    /// Whether it was applied.
    pub ok: bool,
    /// The error, or the warnings, if any.
    pub message: Option<String>,
}

/// Everything the daemon's tasks share.
#[derive(Debug)]
pub struct Shared {
    /// The running generation; swapped atomically by reload.
    pub snapshot: ArcSwap<Snapshot>,
    /// Server state and pools that outlive a generation.
    pub registry: Registry,
    /// Serializes reloads (SIGHUP, admin, file watch).
    pub reload_lock: tokio::sync::Mutex<()>,
    /// The config file the daemon reads.
    pub config_path: PathBuf,
    /// The static sections as read at startup; reloads warn on changes.
    pub startup_config: Config,
    /// Whether access log lines are written (static).
    pub access_log: bool,
    /// For `uptime_secs`.
    pub started: Instant,
    /// True once every listener accepts; false again while draining.
    pub ready: AtomicBool,
    /// True once graceful shutdown began.
    pub draining: AtomicBool,
    /// Requests answered since start.
    pub requests_total: AtomicU64,
    /// The last reload attempt.
    pub last_reload: Mutex<Option<ReloadRecord>>,
    /// Bound listeners.
    pub listeners: ListenerSet,
    /// Shutdown signal and connection drain tracking.
    pub shutdown: Shutdown,
    /// Prometheus metrics (process-wide, survive reloads).
    pub metrics: Metrics,
    /// Rate-limit buckets and per-listener load (survive reloads).
    pub limits: crate::limit::Limiters,
}

impl Shared {
    /// The current generation number.
    pub fn generation(&self) -> u64 {
        self.snapshot.load().generation
    }
}
