//! The admin socket's hardening (SPEC §3, §4): file mode, a missing
//! directory created, a stale socket replaced, a live one left alone, the
//! 64 KiB / 5 s limits, many concurrent clients, and queued reloads.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use proxyd_e2e::config::Placeholders;
use proxyd_e2e::{
    admin, bins, eventually_async, get, patience, ports, short_tempdir, ProxyConfig, Route, Site,
    TestProxy,
};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

fn base() -> ProxyConfig {
    ProxyConfig::new().site(Site::new("app", ["app.test"]).route(Route::respond(
        "/",
        200,
        "ok",
        "text/plain",
    )))
}

/// A `proxyd` started by hand, for configs `TestProxy` cannot wait on
/// (another socket path, or none answering). Killed on drop.
struct Daemon {
    child: Child,
    dir: TempDir,
    health: std::net::SocketAddr,
}

impl Daemon {
    /// Starts `base()` with fresh ports and the admin socket at `socket`.
    fn start(socket: &Path) -> Daemon {
        let dir = short_tempdir();
        let ph = Placeholders {
            http: ports::free_addr(),
            health: ports::free_addr(),
            socket: socket.to_owned(),
            dir: dir.path().to_owned(),
        };
        let config = dir.path().join("proxyd.toml");
        std::fs::write(&config, ph.fill(&base().template())).unwrap();
        Daemon::spawn(&config, dir, ph.health)
    }

    fn spawn(config: &Path, dir: TempDir, health: std::net::SocketAddr) -> Daemon {
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let child = Command::new(bins::proxyd())
            .arg("-c")
            .arg(config)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        Daemon { child, dir, health }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Waits until its health port says ready.
    async fn wait_ready(&self) {
        let health = self.health;
        let ready = eventually_async(patience(), || async move {
            tokio::net::TcpStream::connect(health).await.is_ok()
                && get(health, "health", "/ready").await.status() == 200
        })
        .await;
        assert!(ready, "second proxyd never ready:\n{}", self.stderr());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn ready_on(socket: &Path) -> bool {
    eventually_async(patience(), || async move {
        admin::command(socket, "ready")
            .await
            .is_ok_and(|r| r["ready"] == true)
    })
    .await
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_defaults_to_0600_and_follows_socket_mode() {
    let px = base().start().await;
    assert_eq!(mode(px.socket_path()), 0o600);

    let template = base().template().replace(
        "socket = \"{socket}\"",
        "socket = \"{socket}\"\nsocket_mode = \"0660\"",
    );
    let px = ProxyConfig::raw(&template).start().await;
    assert_eq!(mode(px.socket_path()), 0o660);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_socket_directory_is_created() {
    let dir = short_tempdir();
    let socket: PathBuf = dir.path().join("run/px/admin.sock");
    let _d = Daemon::start(&socket);
    assert!(
        ready_on(&socket).await,
        "no admin socket at {}",
        socket.display()
    );
    assert_eq!(mode(&socket), 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_socket_left_by_a_killed_daemon_is_replaced() {
    let mut px = base().start().await;
    let pid = i32::try_from(px.pid()).unwrap();
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    px.wait_exit(patience()).await;
    assert!(px.socket_path().exists(), "SIGKILL leaves the socket file");

    // Same config, same socket path: the new daemon takes it over.
    let d = Daemon::spawn(px.config_path(), short_tempdir(), px.health_addr());
    assert!(ready_on(px.socket_path()).await, "{}", d.stderr());
    let status = admin::command(px.socket_path(), "status").await.unwrap();
    assert_eq!(status["pid"], d.child.id(), "{status}");
    assert!(d.stderr().contains("stale"), "{}", d.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_socket_is_left_to_its_owner_and_the_newcomer_runs_without() {
    let px = base().start().await;
    let d = Daemon::start(px.socket_path());
    d.wait_ready().await;
    let stderr = d.stderr();
    assert!(
        stderr.contains("another process answers")
            && stderr.contains(px.socket_path().to_str().unwrap()),
        "warning naming the socket expected:\n{stderr}"
    );
    let status = px.status().await;
    assert_eq!(
        status["pid"],
        px.pid(),
        "the first daemon keeps its socket: {status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_up_to_64_kib_are_read_and_longer_ones_refused() {
    let px = base().start().await;
    // Padding is JSON whitespace: a big but valid request.
    let mut big = format!("{{\"command\":\"ready\"}}{}", " ".repeat(60_000)).into_bytes();
    big.push(b'\n');
    let reply = px.admin_raw(&big).await.unwrap();
    assert!(reply.contains("\"status\":\"ok\""), "{reply}");

    let mut huge = vec![b'x'; 70_000];
    huge.push(b'\n');
    let reply = px.admin_raw(&huge).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(reply.trim_end()).unwrap();
    assert_eq!(v["status"], "error", "{v}");
    assert!(v["message"].as_str().unwrap().contains("longer"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_line_not_finished_in_5_s_is_refused() {
    let px = base().start().await;
    let mut stream = UnixStream::connect(px.socket_path()).await.unwrap();
    stream.write_all(b"stat").await.unwrap();
    let mut line = String::new();
    let mut reader = BufReader::new(stream);
    tokio::time::timeout(
        patience() + Duration::from_secs(5),
        reader.read_line(&mut line),
    )
    .await
    .expect("no reply to an unfinished line")
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
    assert_eq!(v["status"], "error", "{v}");
    assert!(v["message"].as_str().unwrap().contains("5s"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_clients_are_all_answered() {
    let px = base().start().await;
    let socket = px.socket_path().to_owned();
    let clients: Vec<_> = (0..100)
        .map(|_| {
            let socket = socket.clone();
            tokio::spawn(async move { admin::command(&socket, "status").await })
        })
        .collect();
    for c in clients {
        let reply = c.await.unwrap().expect("admin reply");
        assert_eq!(reply["status"], "ok", "{reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reloads_queue_and_each_bumps_the_generation() {
    let mut px: TestProxy = base().start().await;
    px.write(
        base().site(Site::new("blog", ["blog.test"]).route(Route::respond(
            "/",
            200,
            "blog",
            "text/plain",
        ))),
    );
    let (a, b) = tokio::join!(px.admin("reload"), px.admin("reload"));
    assert_eq!(
        (&a["status"], &b["status"]),
        (&"ok".into(), &"ok".into()),
        "{a} {b}"
    );
    let mut generations = [a["generation"].as_u64(), b["generation"].as_u64()];
    generations.sort();
    assert_eq!(generations, [Some(2), Some(3)], "{a} {b}");
    assert_eq!(px.generation().await, 3);
}
