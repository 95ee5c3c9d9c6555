//! `proxyctl` against a real daemon: every command, in human and `--json`
//! mode, with the exit codes of SPEC §5 (0 ok, 1 failed, 2 usage,
//! 3 unreachable, 4 timed out).

use proxyd_e2e::{q, Ctl, ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream};

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

async fn daemon() -> (TestProxy, TestUpstream) {
    let up = TestUpstream::http1().route("/", "up").spawn().await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    // One request so the counters in `status` are not all zero.
    assert_eq!(px.get("app.test", "/").await.status(), 200);
    (px, up)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_in_both_modes() {
    let (px, up) = daemon().await;

    let a = px.ctl().args(["status"]).assert().code(0);
    let out = stdout(&a);
    assert!(out.contains("state:        ready"), "{out}");
    assert!(out.contains("generation:   1 (sha256 "), "{out}");
    assert!(
        out.contains(&format!("pid:          {}", px.pid())),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.starts_with("api "))
        .unwrap_or_else(|| panic!("no upstream row in:\n{out}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cols[..3],
        ["api", &up.addr().to_string(), "healthy"],
        "{out}"
    );
    assert_eq!(cols[4], "1", "requests column: {out}");
    assert!(!out.contains('\x1b'), "colour codes in a pipe:\n{out}");

    let v = px.ctl().args(["--json", "status"]).json(0);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["protocol"], 1);
    assert_eq!(v["pid"], px.pid());
    assert_eq!(v["config"]["generation"], 1);
    assert_eq!(v["upstreams"][0]["servers"][0]["requests_total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_ok_and_rejected_in_both_modes() {
    let (mut px, _up) = daemon().await;
    let good = px
        .config()
        .site(Site::new("blog", ["blog.test"]).route(Route::respond(
            "/",
            200,
            "blog",
            "text/plain",
        )));
    px.write(good.clone());

    let a = px.ctl().args(["reload"]).assert().code(0);
    assert!(
        stdout(&a).starts_with("reloaded: generation 1 → 2"),
        "{}",
        stdout(&a)
    );
    assert!(stdout(&a).contains("added blog"), "{}", stdout(&a));

    let v = px.ctl().args(["--json", "reload"]).json(0);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["generation"], 3);

    let text = px.write(good.extra("[[upstream]]\nname = \"api\"\nservers = []\n"));
    let a = px.ctl().args(["reload"]).assert().code(1);
    let err = stderr(&a);
    let path = px.config_path().display().to_string();
    assert!(
        err.contains(&format!("{path}:")),
        "no file:line:col in:\n{err}"
    );
    assert!(
        stdout(&a).is_empty(),
        "human errors go to stderr: {}",
        stdout(&a)
    );
    assert!(text.contains("servers = []"));

    let v = px.ctl().args(["--json", "reload"]).json(1);
    assert_eq!(v["status"], "error");
    assert_eq!(v["generation"], 3, "the running generation: {v}");
    assert!(v["message"].as_str().unwrap_or("").contains(&path), "{v}");
    assert_eq!(px.get("blog.test", "/").await.text(), "blog");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_ready_in_both_modes_and_its_timeout() {
    let (px, _up) = daemon().await;
    let a = px.ctl().args(["wait-ready"]).assert().code(0);
    assert!(
        stdout(&a).starts_with("ready: generation 1"),
        "{}",
        stdout(&a)
    );

    let v = px.ctl().args(["--json", "wait-ready", "--healthy"]).json(0);
    assert_eq!(v["ready"], true, "{v}");
    assert_eq!(v["generation"], 1, "{v}");

    let a = px
        .ctl()
        .args(["--timeout", "300ms", "wait-ready", "--generation", "9"])
        .assert()
        .code(4);
    assert!(stderr(&a).contains("generation"), "{}", stderr(&a));
    let v = px
        .ctl()
        .args([
            "--json",
            "--timeout",
            "300ms",
            "wait-ready",
            "--generation",
            "9",
        ])
        .json(4);
    assert_eq!(v["status"], "error", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_agrees_with_the_daemon() {
    let (px, _up) = daemon().await;
    let path = px.config_path().to_path_buf();
    let a = Ctl::new(px.socket_path())
        .args(["check-config".as_ref(), path.as_os_str()])
        .assert()
        .code(0);
    assert!(stdout(&a).starts_with("config OK"), "{}", stdout(&a));
    let v = Ctl::new(px.socket_path())
        .args(["--json".as_ref(), "check-config".as_ref(), path.as_os_str()])
        .json(0);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["errors"], serde_json::json!([]), "{v}");

    // The same broken file: check-config and the daemon's reload both refuse
    // it, at the same position.
    let broken = px.dir().join("broken.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!("upstream = {}", q("api")),
        &format!("upstream = {}", q("nope")),
    );
    std::fs::write(&broken, &text).unwrap();
    let v = Ctl::new(px.socket_path())
        .args([
            "--json".as_ref(),
            "check-config".as_ref(),
            broken.as_os_str(),
        ])
        .json(1);
    assert_eq!(v["valid"], false, "{v}");
    let line = v["errors"][0]["line"].as_u64().unwrap();
    let expected = text.lines().position(|l| l.contains("\"nope\"")).unwrap() as u64 + 1;
    assert_eq!(line, expected, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_daemon_is_unreachable_and_usage_errors_are_2() {
    let (mut px, _up) = daemon().await;
    px.ctl().args(["status", "--no-such-flag"]).assert().code(2);
    px.sigterm();
    let status = px.wait_exit(std::time::Duration::from_secs(20)).await;
    assert_eq!(status.code(), Some(0));
    assert!(
        !px.socket_path().exists(),
        "a clean exit removes the admin socket file"
    );
    let a = px.ctl().args(["status"]).assert().code(3);
    assert!(
        stderr(&a).contains(&px.socket_path().display().to_string()),
        "{}",
        stderr(&a)
    );
    let v = px.ctl().args(["--json", "reload"]).json(3);
    assert_eq!(v["status"], "error", "{v}");
}
