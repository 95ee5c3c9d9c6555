//! Everything that can stop a benchmark run, as one error type.
//!
//! A proxy that cannot serve a scenario is *not* an error here: it becomes a
//! row marked "not available" or "failed" in the report, and the run goes on.
//! These errors are for the tool itself being unable to work (a missing
//! program, an unwritable temp dir, the backend not starting, Ctrl-C).

use std::io;
use std::path::PathBuf;

/// Why the benchmark tool could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A program the benchmark drives is not installed.
    #[error("`{program}` not found in PATH (apt-get install -y {package})")]
    MissingProgram {
        /// Executable name.
        program: &'static str,
        /// Debian package that provides it.
        package: &'static str,
    },
    /// The proxyd or proxyctl binary is missing.
    #[error("{path} not found (build it with `cargo build --release -p proxyd -p proxyctl`, or pass --proxyd/--proxyctl)")]
    MissingBinary {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A process could not be started.
    #[error("starting {what}")]
    Spawn {
        /// What was being started.
        what: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A server never answered its readiness probe.
    #[error("{what} not ready: {reason}")]
    NotReady {
        /// The server.
        what: String,
        /// What was observed instead, with its log tail.
        reason: String,
    },
    /// A load generator ran but its output made no sense, or it failed.
    #[error("{tool}: {reason}")]
    Load {
        /// `wrk`, `h2load`, the idle client, proxyctl.
        tool: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A config file, certificate or body file could not be written.
    #[error("writing {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The test certificate could not be generated.
    #[error("generating the test certificate")]
    Certificate(#[from] rcgen::Error),
    /// A load generator was pointed somewhere other than loopback.
    #[error("refusing to load non-loopback target {0}")]
    NotLoopback(String),
    /// Any other local I/O failure (temp dir, /proc, ports).
    #[error("local I/O")]
    Io(#[from] io::Error),
    /// Stopped by SIGINT/SIGTERM; every started process has been stopped.
    #[error("interrupted; every started process was stopped")]
    Interrupted,
}

/// Result alias for this crate.
pub type Result<T, E = BenchError> = std::result::Result<T, E>;
