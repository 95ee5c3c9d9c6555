//! Black-box tests of the `proxyd` binary's command line: `--version`,
//! `--check` and the startup exit codes (SPEC §3). Having an integration
//! test here also makes `cargo test --workspace` build the binary that the
//! end-to-end crate spawns.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn proxyd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_proxyd"))
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/examples")
        .join(name)
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pd")
        .tempdir_in("/tmp")
        .expect("temp dir")
}

fn text(o: &Output) -> String {
    format!(
        "status: {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn version_prints_the_package_version() {
    let o = proxyd().arg("--version").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(env!("CARGO_PKG_VERSION")),
        "{}",
        text(&o)
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let o = proxyd().arg("--frobnicate").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn check_accepts_the_shipped_examples() {
    for name in ["quickstart.toml", "full.toml"] {
        let path = example(name);
        if !path.exists() {
            continue;
        }
        let o = proxyd()
            .arg("--check")
            .arg("-c")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o));
    }
    assert!(example("quickstart.toml").exists());
}

#[test]
fn check_rejects_an_invalid_config_with_positions() {
    let dir = tempdir();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[listener]]\nname = \"a\"\nhttp = \"127.0.0.1:1\"\nbogus = true\n",
    )
    .unwrap();
    let o = proxyd()
        .arg("--check")
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml:4:1:"), "{}", text(&o));
    assert!(!err.contains("panicked"), "{}", text(&o));
}

#[test]
fn unreadable_configs_give_one_clear_line_and_exit_1() {
    let dir = tempdir();
    let not_utf8 = dir.path().join("latin1.toml");
    std::fs::File::create(&not_utf8)
        .and_then(|mut f| f.write_all(b"# caf\xe9\n"))
        .unwrap();
    for path in [
        dir.path().join("missing.toml"),
        dir.path().to_path_buf(),
        not_utf8,
    ] {
        for check in [true, false] {
            let mut cmd = proxyd();
            cmd.arg("-c").arg(&path);
            if check {
                cmd.arg("--check");
            }
            let o = cmd.output().unwrap();
            assert_eq!(o.status.code(), Some(1), "{}", text(&o));
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains(&*path.display().to_string()), "{}", text(&o));
            assert!(
                !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
                "{}",
                text(&o)
            );
        }
    }
}

#[test]
fn a_taken_port_exits_3_naming_the_address() {
    let dir = tempdir();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(
        &path,
        format!(
            "[admin]\nsocket = \"{sock}\"\n[health]\nlisten = \"127.0.0.1:{health}\"\n\
             [[listener]]\nname = \"web\"\nhttp = \"{addr}\"\n\
             [[site]]\nname = \"s\"\nhosts = [\"*\"]\n[[site.route]]\nrespond = {{ body = \"x\" }}\n",
            sock = dir.path().join("a.sock").display(),
            health = free_port(),
        ),
    )
    .unwrap();
    let mut child = proxyd()
        .arg("-c")
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "proxyd kept running with its port taken"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&addr.to_string()),
        "{}",
        text(&o)
    );
    drop(taken);
}
