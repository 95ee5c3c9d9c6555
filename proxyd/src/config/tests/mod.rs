//! Unit tests of the config pipeline: one test per validation rule, each
//! asserting the exact `file:line:col: message`, plus defaults, warnings,
//! certificate files and the file-level cases of `load`.

mod certs;
mod defaults;
mod entry_rules;
mod files;
mod rules;

use super::{parse_str, Config, HostPattern};

/// A minimal valid config; tests append to it or replace parts.
const BASE: &str = r#"[[listener]]
name = "public"
http = "127.0.0.1:8080"

[[upstream]]
name = "api"
servers = [{ address = "127.0.0.1:9000" }]

[[site]]
name = "app"
hosts = ["app.example.com"]
  [[site.route]]
  upstream = "api"
"#;

/// Lines in BASE (appended text starts on line BASE_LINES + 1).
const BASE_LINES: usize = 13;

/// The errors of an invalid config, as `file:line:col: message`.
fn errors(src: &str) -> Vec<String> {
    match parse_str(src, "t.toml") {
        Ok(_) => panic!("expected errors, config is valid"),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

/// A valid config and its warnings as `file:line:col: message`.
fn valid(src: &str) -> (Config, Vec<String>) {
    match parse_str(src, "t.toml") {
        Ok((c, w)) => (c, w.iter().map(ToString::to_string).collect()),
        Err(e) => panic!("expected a valid config, got:\n{e}"),
    }
}

/// The single error of an invalid config.
fn one(src: &str) -> String {
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    errs[0].clone()
}

/// BASE followed by `extra`.
fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

#[test]
fn base_is_valid() {
    assert_eq!(BASE.lines().count(), BASE_LINES);
    let (_, warnings) = valid(BASE);
    assert!(warnings.is_empty(), "{warnings:?}");
}
