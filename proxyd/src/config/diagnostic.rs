//! A validation finding with its position: `file:line:col: message`.

use serde::Serialize;
use std::fmt;

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The config cannot be used.
    Error,
    /// The config is usable, but something deserves attention.
    Warning,
}

/// One finding. `line` and `column` are 1-based; both are 0 for findings about
/// the whole file (it cannot be read, it is not UTF-8, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The config file, as given.
    pub file: String,
    /// 1-based line, or 0.
    pub line: usize,
    /// 1-based column (in characters), or 0.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
    /// Error or warning.
    #[serde(skip)]
    pub severity: Severity,
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: message`, or `file: message` for whole-file findings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}
