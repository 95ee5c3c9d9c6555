//! Validation (temporary stub: replaced by the config work).

use std::path::Path;

use super::{Config, ConfigError, Diagnostic, Loaded, Severity};

pub(crate) fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let _ = path;
    Err(stub(&path.display().to_string()))
}

pub(crate) fn parse_str(
    source: &str,
    file: &str,
) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
    let _ = source;
    Err(stub(file))
}

fn stub(file: &str) -> ConfigError {
    ConfigError {
        errors: vec![Diagnostic {
            file: file.to_string(),
            line: 0,
            column: 0,
            message: "config validation is not implemented yet".into(),
            severity: Severity::Error,
        }],
        warnings: vec![],
    }
}
