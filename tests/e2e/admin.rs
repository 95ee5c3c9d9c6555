//! The admin socket protocol (SPEC §4) and `proxyctl status --json`.

use proxyd_e2e::{Ctl, ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream};
use serde_json::Value;
use sha2::{Digest, Sha256};

async fn simple() -> TestProxy {
    ProxyConfig::new()
        .site(Site::new("app", ["app.test"]).route(Route::respond("/", 200, "ok", "text/plain")))
        .start()
        .await
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `2026-11-22T03:18:45Z`-like: a date, a `T`, a time.
fn looks_like_rfc3339(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    s.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxyctl_status_json_has_the_spec_fields() {
    let up = TestUpstream::http1().route("/", "up").spawn().await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .site(Site::new("other", ["other.test"]).route(Route::respond(
            "/",
            200,
            "other",
            "text/plain",
        )))
        .start()
        .await;
    assert_eq!(px.get("app.test", "/").await.status(), 200);

    let s = px.ctl().args(["--json", "status"]).json(0);
    assert_eq!(s["status"], "ok", "{s}");
    assert_eq!(s["protocol"], 1, "{s}");
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"), "{s}");
    assert_eq!(s["pid"], px.pid(), "{s}");
    assert!(s["uptime_secs"].is_u64(), "{s}");
    assert_eq!(s["ready"], true, "{s}");
    assert_eq!(s["draining"], false, "{s}");
    assert_eq!(s["sites"], 2, "sites is a count: {s}");

    let config = &s["config"];
    let path = px.config_path().to_str().unwrap();
    assert_eq!(config["path"], path, "{s}");
    assert_eq!(config["generation"], 1, "{s}");
    let bytes = std::fs::read(px.config_path()).unwrap();
    assert_eq!(config["sha256"], sha256_hex(&bytes), "{s}");
    assert!(looks_like_rfc3339(&config["loaded_at"]), "{s}");

    let listeners = s["listeners"].as_array().expect("listeners array");
    assert_eq!(listeners.len(), 1, "{s}");
    assert_eq!(listeners[0]["name"], "main", "{s}");
    assert_eq!(listeners[0]["http"], px.http_addr().to_string(), "{s}");
    assert!(listeners[0]["active_connections"].is_u64(), "{s}");

    let upstreams = s["upstreams"].as_array().expect("upstreams array");
    assert_eq!(upstreams.len(), 1, "{s}");
    assert_eq!(upstreams[0]["name"], "api", "{s}");
    assert!(upstreams[0]["algorithm"].is_string(), "{s}");
    let servers = upstreams[0]["servers"].as_array().expect("servers array");
    assert_eq!(servers.len(), 1, "{s}");
    assert_eq!(servers[0]["address"], up.addr().to_string(), "{s}");
    assert_eq!(servers[0]["healthy"], true, "{s}");
    for key in ["active_connections", "requests_total", "failures_total"] {
        assert!(servers[0][key].is_u64(), "servers[0].{key}: {s}");
    }

    assert!(s["requests_total"].is_u64(), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_total_counts_answered_requests() {
    let px = simple().await;
    for _ in 0..3 {
        assert_eq!(px.get("app.test", "/").await.status(), 200);
    }
    let pxr = &px;
    let counted = proxyd_e2e::eventually_async(proxyd_e2e::patience(), || async move {
        pxr.status().await["requests_total"]
            .as_u64()
            .is_some_and(|n| n >= 3)
    })
    .await;
    assert!(counted, "{}", px.status().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_words_and_json_objects_are_both_commands() {
    let px = simple().await;
    for line in [
        "ready",
        r#"{"command":"ready"}"#,
        r#"{"command": "ready", "x": 1}"#,
    ] {
        let reply = px.admin(line).await;
        assert_eq!(reply["status"], "ok", "{line}: {reply}");
        assert_eq!(reply["protocol"], 1, "{line}: {reply}");
        assert_eq!(reply["ready"], true, "{line}: {reply}");
    }
    for line in ["status", r#"{"command":"status"}"#] {
        let reply = px.admin(line).await;
        assert_eq!(reply["status"], "ok", "{line}: {reply}");
        assert_eq!(reply["protocol"], 1, "{line}: {reply}");
        assert_eq!(reply["pid"], px.pid(), "{line}: {reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_command_is_named_in_the_error() {
    let px = simple().await;
    for line in ["restart", r#"{"command":"restart"}"#] {
        let reply = px.admin(line).await;
        assert_eq!(reply["status"], "error", "{line}: {reply}");
        assert_eq!(reply["protocol"], 1, "{line}: {reply}");
        assert_eq!(
            reply["message"], "unknown command: restart",
            "{line}: {reply}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_or_malformed_line_is_invalid_input() {
    let px = simple().await;
    for bytes in [&b"\n"[..], b"{not json\n", b"\xff\xfe\n"] {
        let raw = px.admin_raw(bytes).await.unwrap();
        let reply: Value = serde_json::from_str(raw.trim_end()).unwrap();
        let shown = String::from_utf8_lossy(bytes);
        assert_eq!(reply["status"], "error", "{shown:?}: {reply}");
        assert_eq!(reply["protocol"], 1, "{shown:?}: {reply}");
        assert_eq!(reply["message"], "invalid input", "{shown:?}: {reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_closes_after_one_reply() {
    let px = simple().await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::UnixStream::connect(px.socket_path())
        .await
        .unwrap();
    stream.write_all(b"ready\n").await.unwrap();
    let mut all = String::new();
    tokio::time::timeout(proxyd_e2e::patience(), stream.read_to_string(&mut all))
        .await
        .expect("daemon closes the connection after replying")
        .unwrap();
    assert_eq!(all.matches('\n').count(), 1, "{all:?}");
    assert!(all.ends_with('\n'), "{all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxyctl_without_daemon_exits_3() {
    let dir = proxyd_e2e::short_tempdir();
    let socket = dir.path().join("nobody.sock");
    let out = Ctl::new(&socket).args(["status"]).assert().code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(socket.to_str().unwrap()),
        "the error names the socket: {stderr}"
    );
    Ctl::new(&socket).args(["reload"]).assert().code(3);
}
