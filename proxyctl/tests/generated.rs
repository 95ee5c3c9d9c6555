//! The committed shell completions and man pages must match what the clap
//! definitions generate today. Run with `UPDATE_GENERATED=1` to rewrite them.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

#[test]
fn completions_and_man_pages_are_fresh() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let update = std::env::var_os("UPDATE_GENERATED").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for file in proxyctl::generated::all(&root).unwrap() {
        let path = root.join(&file.path);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &file.content).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(file.content.as_slice()) {
            stale.push(file.path);
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing generated files: {}; run `UPDATE_GENERATED=1 cargo test -p proxyctl --test generated` and commit",
        stale.join(", ")
    );
}
