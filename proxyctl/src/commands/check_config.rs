//! `proxyctl check-config [PATH] [--strict]`: validate a config file locally
//! with `proxyd::config::load`, the very function `proxyd --check`, startup
//! and reload use, so the verdicts cannot disagree. No daemon is involved.
//!
//! Human mode writes the findings compiler-style to stderr (as `proxyd
//! --check` does) and, for a valid file, the summary `config OK (2 warnings)`
//! to stdout; an invalid file's summary is the error sentence on stderr.

use std::io;

use proxyd::config::{self, Diagnostic, Severity};

use crate::cli::CheckConfigArgs;
use crate::error::CtlError;
use crate::render::check::{diagnostic_line, ok_summary, CheckReport};
use crate::render::Output;

/// Runs `check-config`.
pub fn run(args: &CheckConfigArgs, out: &mut Output<'_>) -> Result<(), CtlError> {
    let path = &args.path;
    // A missing file is the most common mistake (wrong default path); say so
    // in one sentence instead of a diagnostic and a summary.
    if let Err(e) = std::fs::metadata(path) {
        if e.kind() == io::ErrorKind::NotFound {
            if out.is_json() {
                let error = Diagnostic {
                    file: path.display().to_string(),
                    line: 0,
                    column: 0,
                    message: "file not found".into(),
                    severity: Severity::Error,
                };
                out.json(&CheckReport {
                    valid: false,
                    errors: &[error],
                    warnings: &[],
                })?;
            }
            return Err(CtlError::ConfigMissing { path: path.clone() });
        }
    }
    let (errors, warnings) = match config::load(path) {
        Ok(loaded) => (Vec::new(), loaded.warnings),
        Err(e) => (e.errors, e.warnings),
    };
    let fatal_warnings = args.strict && !warnings.is_empty();
    let valid = errors.is_empty() && !fatal_warnings;
    if out.is_json() {
        out.json(&CheckReport {
            valid,
            errors: &errors,
            warnings: &warnings,
        })?;
    } else {
        let mut findings = String::new();
        for d in &errors {
            findings.push_str(&diagnostic_line(d, "error"));
            findings.push('\n');
        }
        for d in &warnings {
            findings.push_str(&diagnostic_line(d, "warning"));
            findings.push('\n');
        }
        out.note(&findings)?;
    }
    if !errors.is_empty() {
        return Err(CtlError::ConfigInvalid {
            path: path.clone(),
            errors: errors.len(),
            warnings: warnings.len(),
        });
    }
    if !valid {
        return Err(CtlError::StrictWarnings {
            path: path.clone(),
            warnings: warnings.len(),
        });
    }
    out.text(&format!("{}\n", ok_summary(warnings.len())))
}
