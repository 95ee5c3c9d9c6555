//! `check-config` output: compiler-style diagnostic lines, the summary line,
//! and the `--json` document (SPEC §11).

use proxyd::config::Diagnostic;
use serde::Serialize;

/// The `--json` document of `check-config`.
#[derive(Debug, Serialize)]
pub struct CheckReport<'a> {
    /// No errors (and, with `--strict`, no warnings).
    pub valid: bool,
    /// `{"file","line","column","message"}` each.
    pub errors: &'a [Diagnostic],
    /// Same shape.
    pub warnings: &'a [Diagnostic],
}

/// `file:line:col: error: message` (or `file: error: message` for findings
/// about the whole file), with `severity` being `error` or `warning`.
pub fn diagnostic_line(d: &Diagnostic, severity: &str) -> String {
    if d.line == 0 {
        format!("{}: {severity}: {}", d.file, d.message)
    } else {
        format!(
            "{}:{}:{}: {severity}: {}",
            d.file, d.line, d.column, d.message
        )
    }
}

/// "1 warning", "3 errors".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// "3 errors, 1 warning" (warnings left out when there are none).
pub fn count_summary(errors: usize, warnings: usize) -> String {
    if warnings == 0 {
        plural(errors, "error")
    } else {
        format!(
            "{}, {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// "config OK" or "config OK (2 warnings)".
pub fn ok_summary(warnings: usize) -> String {
    if warnings == 0 {
        "config OK".into()
    } else {
        format!("config OK ({})", plural(warnings, "warning"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxyd::config::Severity;

    #[test]
    fn lines_are_compiler_style() {
        let d = Diagnostic {
            file: "p.toml".into(),
            line: 3,
            column: 7,
            message: "unknown key `x`".into(),
            severity: Severity::Error,
        };
        assert_eq!(
            diagnostic_line(&d, "error"),
            "p.toml:3:7: error: unknown key `x`"
        );
        assert_eq!(count_summary(3, 1), "3 errors, 1 warning");
        assert_eq!(count_summary(1, 0), "1 error");
        assert_eq!(ok_summary(2), "config OK (2 warnings)");
    }
}
