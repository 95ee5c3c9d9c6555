//! `proxyd` startup and exit codes (SPEC §3): `--check`, a missing config
//! file, a listener port that is taken, and a clean SIGTERM.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use proxyd_e2e::config::Placeholders;
use proxyd_e2e::{bins, line_of, patience, ports, q, short_tempdir, ProxyConfig, Route, Site};

fn valid() -> ProxyConfig {
    ProxyConfig::new().site(Site::new("app", ["app.test"]).route(Route::respond(
        "/",
        200,
        "ok",
        "text/plain",
    )))
}

/// Renders `config` into `dir/proxyd.toml` with the listener on `http`.
fn write(dir: &Path, config: &ProxyConfig, http: std::net::SocketAddr) -> (PathBuf, String) {
    let ph = Placeholders {
        http,
        health: ports::free_addr(),
        socket: dir.join("admin.sock"),
        dir: dir.to_owned(),
    };
    let text = ph.fill(&config.template());
    let path = dir.join("proxyd.toml");
    std::fs::write(&path, &text).unwrap();
    (path, text)
}

fn proxyd() -> Command {
    let mut cmd = Command::new(bins::proxyd());
    cmd.env_remove("NOTIFY_SOCKET")
        .env("RUST_BACKTRACE", "1")
        .timeout(patience());
    cmd
}

fn stderr_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

fn assert_no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "no panic or backtrace expected:\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_accepts_a_valid_config() {
    let dir = short_tempdir();
    let (path, _) = write(dir.path(), &valid(), ports::free_addr());
    proxyd()
        .arg("--check")
        .arg("-c")
        .arg(&path)
        .assert()
        .code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_rejects_a_missing_upstream_with_its_location() {
    let dir = short_tempdir();
    let broken =
        valid().site(Site::new("app", ["app.test"]).route(Route::upstream("/", "missing")));
    let (path, text) = write(dir.path(), &broken, ports::free_addr());
    let line = line_of(&text, &format!("upstream = {}", q("missing")));

    let out = proxyd()
        .arg("--check")
        .arg("-c")
        .arg(&path)
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    let prefix = format!("{}:{line}:", path.display());
    assert!(
        stderr.contains(&prefix),
        "expected `{prefix}<col>` in:\n{stderr}"
    );
    assert!(stderr.contains("missing"), "{stderr}");
    assert_no_panic(&stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_config_file_exits_1_with_one_clear_line() {
    let dir = short_tempdir();
    let path = dir.path().join("nope.toml");

    let out = proxyd().arg("-c").arg(&path).assert().code(1);
    let stderr = stderr_of(&out);
    assert_no_panic(&stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected:\n{stderr}");
    assert!(
        lines[0].contains(path.to_str().unwrap()),
        "names the file: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_listener_port_exits_3_naming_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = short_tempdir();
    let (path, _) = write(dir.path(), &valid(), addr);

    let out = proxyd().arg("-c").arg(&path).assert().code(3);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&addr.to_string()),
        "names {addr}:\n{stderr}"
    );
    assert_no_panic(&stderr);
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_down_cleanly_with_exit_0() {
    let mut px = valid().start().await;
    assert_eq!(px.get("app.test", "/").await.status(), 200);
    px.sigterm();
    let status = px.wait_exit(patience() + Duration::from_secs(1)).await;
    assert_eq!(status.code(), Some(0), "{}", px.log_tail(40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_port_answers_health_and_ready_once_ready() {
    let px = valid().start().await;
    let addr = px.health_addr();

    let health = proxyd_e2e::get(addr, &addr.to_string(), "/health").await;
    assert_eq!(health.status(), 200, "{}", health.text());
    let body: serde_json::Value = serde_json::from_slice(&health.body)
        .unwrap_or_else(|e| panic!("/health is not JSON ({e}): {}", health.text()));
    assert_eq!(body["status"], "ok", "{body}");

    let ready = proxyd_e2e::get(addr, &addr.to_string(), "/ready").await;
    assert_eq!(ready.status(), 200, "{}", ready.text());
}
