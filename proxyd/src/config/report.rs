//! Collects findings while a config is decoded and validated, turning byte
//! spans into 1-based `line:column` (columns counted in characters).

use std::cell::OnceCell;
use std::ops::Range;

use super::{Diagnostic, Severity};

/// Everything found so far in one file.
pub(crate) struct Report<'s> {
    file: String,
    source: &'s str,
    /// Byte offset where each line starts, built when the first finding
    /// needs a position (a valid file never pays for it).
    line_starts: OnceCell<Vec<usize>>,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// How many of `errors` are about certificate or key files.
    pub tls_errors: usize,
}

impl<'s> Report<'s> {
    /// A report about `source`, named `file` in diagnostics.
    pub fn new(file: &str, source: &'s str) -> Self {
        Report {
            file: file.to_string(),
            source,
            line_starts: OnceCell::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            tls_errors: 0,
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let line_starts = self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(self.source.match_indices('\n').map(|(i, _)| i + 1));
            starts
        });
        let line = line_starts.partition_point(|&s| s <= offset).max(1);
        let start = line_starts[line - 1];
        let column = self
            .source
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, column + 1)
    }

    fn diagnostic(
        &self,
        span: Option<Range<usize>>,
        message: String,
        severity: Severity,
    ) -> Diagnostic {
        let (line, column) = span.map_or((0, 0), |s| self.position(s.start));
        Diagnostic {
            file: self.file.clone(),
            line,
            column,
            message,
            severity,
        }
    }

    /// An error at `span`.
    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let d = self.diagnostic(Some(span), message.into(), Severity::Error);
        self.errors.push(d);
    }

    /// An error about a certificate, key or CA file: startup exits 4 (TLS
    /// initialisation failed) rather than 1 when these are the only errors.
    pub fn tls_error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.tls_errors += 1;
        self.error(span, message);
    }

    /// An error about the whole file (`0:0`).
    pub fn file_error(&mut self, message: impl Into<String>) {
        let d = self.diagnostic(None, message.into(), Severity::Error);
        self.errors.push(d);
    }

    /// A warning at `span`.
    pub fn warn(&mut self, span: Range<usize>, message: impl Into<String>) {
        let d = self.diagnostic(Some(span), message.into(), Severity::Warning);
        self.warnings.push(d);
    }

    /// Errors and warnings, each sorted by position (stable for equal ones).
    pub fn finish(mut self) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        self.errors.sort_by_key(|d| (d.line, d.column));
        self.warnings.sort_by_key(|d| (d.line, d.column));
        (self.errors, self.warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let r = Report::new("f", "ab\nçé x\n");
        assert_eq!(r.position(0), (1, 1));
        assert_eq!(r.position(1), (1, 2));
        assert_eq!(r.position(3), (2, 1));
        // "çé " is 5 bytes, 3 characters
        assert_eq!(r.position(8), (2, 4));
    }
}
