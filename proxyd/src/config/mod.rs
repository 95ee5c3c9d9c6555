//! The config pipeline: `proxyd.toml` → `FileConfig` → `validate` → [`Config`].
//!
//! ```text
//!   bytes ──parse──▶ file::FileConfig ──validate──▶ model::Config (+ warnings)
//!                    (what the user wrote,          (what the proxy runs:
//!                     spans, all Options)            resolved, typed)
//! ```
//!
//! Defaults resolve in this order: a site's own value, then `[defaults]`,
//! then the built-in default. Validation collects every problem it finds
//! (errors and warnings apart), each with `file:line:col`. [`load`] is the
//! single entry point used by `proxyd` startup, reload, `proxyd --check` and
//! `proxyctl check-config`, so they can never disagree.
//!
//! Nothing outside this module sees the `File*` types.

mod decode;
pub mod diagnostic;
mod file;
pub mod model;
mod report;
#[cfg(test)]
mod tests;
mod units;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, Severity};
pub use model::*;

/// A config that passed validation.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The runtime model.
    pub config: Config,
    /// Warnings (the config is usable anyway).
    pub warnings: Vec<Diagnostic>,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// The path it was read from, as given.
    pub path: PathBuf,
}

/// A config that failed: every error found, and the warnings seen on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// At least one.
    pub errors: Vec<Diagnostic>,
    /// Possibly empty.
    pub warnings: Vec<Diagnostic>,
    /// Every error is about a certificate, key or CA file: `proxyd --check`
    /// still exits 1, startup exits 4 (TLS initialisation failed, SPEC §3).
    pub tls_only: bool,
}

impl fmt::Display for ConfigError {
    /// One `file:line:col: message` per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Reads, parses and validates the config file at `path`, including the
/// checks that need I/O (certificate and key files). Never panics on any
/// input: a missing file, a directory, non-UTF-8 bytes each give one error.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    validate::load(path)
}

/// Parses and validates config text without touching the file system except
/// for the files it references. `file` is the name used in diagnostics.
pub fn parse_str(source: &str, file: &str) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
    validate::parse_str(source, file)
}
