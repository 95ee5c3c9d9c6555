//! File-level cases of `load`: missing, a directory, unreadable, not UTF-8;
//! the SHA-256; and the annotated example `docs/examples/full.toml`.

use std::path::Path;

use crate::config::load;

fn only_error(path: &Path) -> String {
    match load(path) {
        Ok(_) => panic!("expected an error"),
        Err(e) => {
            assert_eq!(e.errors.len(), 1, "{e}");
            e.errors[0].to_string()
        }
    }
}

#[test]
fn missing_file_and_directory() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let missing = dir.path().join("nope.toml");
    assert_eq!(
        only_error(&missing),
        format!("{}: config file not found", missing.display())
    );
    assert_eq!(
        only_error(dir.path()),
        format!(
            "{}: is a directory, not a config file",
            dir.path().display()
        )
    );
}

#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("secret.toml");
    std::fs::write(&path, super::BASE).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000))
        .unwrap_or_else(|e| panic!("{e}"));
    if std::fs::read(&path).is_ok() {
        return; // running as root: permissions do not apply
    }
    assert_eq!(
        only_error(&path),
        format!(
            "{}: cannot read config file: permission denied",
            path.display()
        )
    );
}

#[test]
fn not_utf8_points_at_the_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, b"[runtime]\nlog_level = \"\xc3\xa9\xff\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        only_error(&path),
        format!("{}:2:15: config file is not valid UTF-8", path.display())
    );
}

#[test]
fn sha256_of_the_bytes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("proxyd.toml");
    std::fs::write(&path, super::BASE).unwrap_or_else(|e| panic!("{e}"));
    let loaded = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.sha256.len(), 64);
    assert!(loaded
        .sha256
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(loaded.path, path);
    let mut other = super::BASE.to_string();
    other.push('\n');
    std::fs::write(&path, other).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(load(&path).map(|l| l.sha256).ok(), Some(loaded.sha256));
}

#[test]
fn the_full_example_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/full.toml");
    match load(&path) {
        Ok(loaded) => assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings),
        Err(e) => panic!("{e}"),
    }
}
