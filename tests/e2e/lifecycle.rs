//! Lifecycle (SPEC §3): listeners added, removed, moved and switching kind
//! on reload; `watch_config`; exit code 3 naming the port or socket that
//! could not be bound; the systemd unit passes `systemd-analyze verify`.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command as StdCommand;

use assert_cmd::Command;
use proxyd_e2e::config::Placeholders;
use proxyd_e2e::{
    bins, eventually_async, get, patience, ports, q, short_tempdir, wait_for_generation,
    ProxyConfig, Route, Site, TestProxy,
};
use tokio::net::TcpStream;

fn base() -> ProxyConfig {
    ProxyConfig::new().site(Site::new("app", ["app.test"]).route(Route::respond(
        "/",
        200,
        "ok",
        "text/plain",
    )))
}

fn listener(name: &str, addr: SocketAddr) -> String {
    format!(
        "[[listener]]\nname = {}\nhttp = {}\n",
        q(name),
        q(&addr.to_string())
    )
}

async fn reload_ok(px: &TestProxy) -> serde_json::Value {
    let reply = px.admin("reload").await;
    assert_eq!(reply["status"], "ok", "{reply}\n{}", px.log_tail(20));
    reply
}

async fn refuses(addr: SocketAddr) -> bool {
    eventually_async(patience(), || async move {
        TcpStream::connect(addr).await.is_err()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_added_by_reload_serves_and_removed_stops_accepting() {
    let mut px = base().start().await;
    let extra = ports::free_addr();

    px.write(base().extra(&listener("extra", extra)));
    let reply = reload_ok(&px).await;
    assert_eq!(
        reply["changes"]["listeners"]["added"][0], "extra",
        "{reply}"
    );
    assert_eq!(get(extra, "app.test", "/").await.text(), "ok");

    px.write(base());
    let reply = reload_ok(&px).await;
    assert_eq!(
        reply["changes"]["listeners"]["removed"][0], "extra",
        "{reply}"
    );
    assert!(refuses(extra).await, "{extra} still accepts after removal");
    assert_eq!(
        px.get("app.test", "/").await.text(),
        "ok",
        "main unaffected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_moved_to_a_new_port_serves_there_only() {
    let px = base().start().await;
    let old = px.http_addr();
    let new = ports::free_addr();

    let moved = base().template().replace("{http}", &new.to_string());
    px.write_config(&moved);
    let reply = reload_ok(&px).await;
    assert_eq!(
        reply["changes"]["listeners"]["changed"][0], "main",
        "{reply}"
    );
    assert_eq!(get(new, "app.test", "/").await.text(), "ok");
    assert!(refuses(old).await, "{old} still accepts after the move");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_switching_kind_is_reloaded_without_losing_the_port() {
    let mut px = base().start().await;
    let shared = ports::free_addr();
    let http = base().extra(&listener("side", shared));
    let tcp = base().extra(&format!(
        "[[upstream]]\nname = \"db\"\nservers = [{{ address = \"127.0.0.1:9\" }}]\n\n\
         [[tcp]]\nname = \"db\"\nlisten = {}\nupstream = \"db\"\n",
        q(&shared.to_string())
    ));

    px.write(http.clone());
    reload_ok(&px).await;
    assert_eq!(get(shared, "app.test", "/").await.text(), "ok");
    // http → tcp → http on one address: each reload must get the port.
    px.write(tcp);
    reload_ok(&px).await;
    px.write(http);
    reload_ok(&px).await;
    // Once the reply is out, the old [[tcp]] loop accepts nothing: every
    // new connection is HTTP (it used to race the stopping loop).
    for _ in 0..10 {
        assert_eq!(get(shared, "app.test", "/").await.text(), "ok");
    }
    assert_eq!(px.generation().await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_config_reloads_an_edited_file() {
    let watched = || base().runtime("watch_config", "true");
    let mut px = watched().start().await;

    px.write(
        watched().site(Site::new("app", ["app.test"]).route(Route::respond(
            "/",
            200,
            "edited",
            "text/plain",
        ))),
    );
    wait_for_generation(&px, 2).await;
    assert_eq!(px.get("app.test", "/").await.text(), "edited");

    // A broken edit is rejected once and recorded; the edited config serves.
    px.write(watched().site(Site::new("app", ["app.test"]).route(Route::upstream("/", "nope"))));
    let ph = &px;
    let failed = eventually_async(patience(), || async move {
        ph.status().await["config"]["last_reload"]["result"] == "error"
    })
    .await;
    assert!(failed, "broken edit never attempted\n{}", px.log_tail(20));
    assert_eq!(px.generation().await, 2);
    assert_eq!(px.get("app.test", "/").await.text(), "edited");
}

/// Writes `base()` into `dir` with the given health address and socket.
fn write_config(dir: &Path, health: SocketAddr, socket: &Path) -> std::path::PathBuf {
    let ph = Placeholders {
        http: ports::free_addr(),
        health,
        socket: socket.to_owned(),
        dir: dir.to_owned(),
    };
    let path = dir.join("proxyd.toml");
    std::fs::write(&path, ph.fill(&base().template())).unwrap();
    path
}

fn proxyd_fails(config: &Path, code: i32) -> String {
    let out = Command::new(bins::proxyd())
        .env_remove("NOTIFY_SOCKET")
        .arg("-c")
        .arg(config)
        .timeout(patience())
        .assert()
        .code(code);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_health_port_exits_3_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = short_tempdir();
    let config = write_config(dir.path(), addr, &dir.path().join("admin.sock"));
    let stderr = proxyd_fails(&config, 3);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.contains(&addr.to_string()), "names {addr}: {stderr}");
    assert!(last.contains("health"), "says which port: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_admin_socket_path_exits_3_naming_it() {
    let dir = short_tempdir();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let socket = blocker.join("admin.sock");
    let config = write_config(dir.path(), ports::free_addr(), &socket);
    let stderr = proxyd_fails(&config, 3);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains(blocker.to_str().unwrap()),
        "names the path: {stderr}"
    );
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let Ok(version) = StdCommand::new("systemd-analyze").arg("--version").output() else {
        eprintln!(
            "NOTICE: systemd-analyze not installed (Debian package `systemd`); unit not verified"
        );
        return;
    };
    let version = String::from_utf8_lossy(&version.stdout);
    let major: u32 = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/systemd/proxyd.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    // verify checks that ExecStart= exists: point it at the built binary.
    let dir = short_tempdir();
    let copy = dir.path().join("proxyd.service");
    let proxyd = bins::proxyd();
    std::fs::write(
        &copy,
        text.replace("/usr/bin/proxyd", proxyd.to_str().unwrap()),
    )
    .unwrap();
    let out = StdCommand::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Type=notify-reload and ReloadSignal= arrived in systemd 253.
    let unknown_before_253 =
        |l: &str| major < 253 && (l.contains("notify-reload") || l.contains("'ReloadSignal'"));
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !unknown_before_253(l))
        .collect();
    if major < 253 {
        eprintln!("NOTICE: systemd {major} predates Type=notify-reload (253); those two keys are not checked");
    }
    assert!(
        out.status.success() && problems.is_empty(),
        "systemd-analyze verify:\n{stderr}"
    );
}
