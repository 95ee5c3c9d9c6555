//! Where the `proxyd` and `proxyctl` binaries under test are.
//!
//! `cargo test -p proxyd-e2e` does not build other packages' binaries, and
//! `CARGO_BIN_EXE_*` is only set for a package's own binaries, so we look for
//! them ourselves: `$PROXYD_BIN` / `$PROXYCTL_BIN` first, else next to the test
//! binary's profile directory (`target/<profile>/deps/e2e-…` → `target/<profile>/`).

use std::path::PathBuf;

/// The `proxyd` daemon binary.
pub fn proxyd() -> PathBuf {
    locate("proxyd", "PROXYD_BIN")
}

/// The `proxyctl` control binary.
pub fn proxyctl() -> PathBuf {
    locate("proxyctl", "PROXYCTL_BIN")
}

fn locate(name: &str, env_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "${env_var} points to {}, which is not a file",
            path.display()
        );
        return path;
    }
    let exe = std::env::current_exe().expect("current_exe of the test binary");
    // target/<profile>/deps/e2e-<hash> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(|deps| {
            if deps.ends_with("deps") {
                deps.parent()
            } else {
                Some(deps)
            }
        })
        .expect("test binary has a parent directory");
    let candidate = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        candidate.is_file(),
        "`{name}` binary not found at {}: run `cargo build --bins` or `cargo test --workspace` \
         first (with the same CARGO_TARGET_DIR and profile), or set ${env_var}",
        candidate.display()
    );
    candidate
}
