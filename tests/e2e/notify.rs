//! sd_notify (SPEC §3) with a real `NOTIFY_SOCKET`: the message sequence for
//! start, a good reload, a failed reload and stop; `WATCHDOG=1` pings.

use std::time::Duration;

use proxyd_e2e::{patience, NotifySocket, ProxyConfig, Route, Site};

fn base() -> ProxyConfig {
    ProxyConfig::new().site(Site::new("app", ["app.test"]).route(Route::respond(
        "/",
        200,
        "ok",
        "text/plain",
    )))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_sequence_for_start_reloads_and_stop() {
    let mut ns = NotifySocket::bind();
    let mut px = base().env("NOTIFY_SOCKET", ns.path()).start().await;

    // Start: READY=1 with a one-line STATUS, nothing about reloads before.
    let ready = ns.wait_for(0, |n| n.has("READY=1"));
    assert!(
        ns.seen()[..ready].iter().all(|n| !n.has("RELOADING=1")),
        "{}",
        ns.dump()
    );
    let status = ns.seen()[ready]
        .get("STATUS")
        .unwrap_or_default()
        .to_owned();
    for part in ["1 sites", "1 listeners", "generation 1"] {
        assert!(status.contains(part), "STATUS lacks `{part}`: {status}");
    }

    // A good reload: RELOADING=1 with MONOTONIC_USEC, then READY=1.
    px.write(
        base().site(Site::new("blog", ["blog.test"]).route(Route::respond(
            "/",
            200,
            "blog",
            "text/plain",
        ))),
    );
    assert_eq!(px.admin("reload").await["status"], "ok");
    let reloading = ns.wait_for(ready + 1, |n| n.has("RELOADING=1"));
    let usec = ns.seen()[reloading]
        .get("MONOTONIC_USEC")
        .map(str::parse::<u64>);
    assert!(matches!(usec, Some(Ok(u)) if u > 0), "{}", ns.dump());
    let again = ns.wait_for(reloading + 1, |n| n.has("READY=1"));
    let status = ns.seen()[again]
        .get("STATUS")
        .unwrap_or_default()
        .to_owned();
    assert!(status.contains("2 sites"), "{status}");
    assert!(status.contains("generation 2"), "{status}");
    assert!(!status.contains("failed"), "{status}");

    // A failed reload: still READY=1 (the old config serves), STATUS says why.
    px.write(base().site(Site::new("app", ["app.test"]).route(Route::upstream("/", "missing"))));
    assert_eq!(px.admin("reload").await["status"], "error");
    let reloading = ns.wait_for(again + 1, |n| n.has("RELOADING=1"));
    let after = ns.wait_for(reloading + 1, |n| n.has("READY=1"));
    let status = ns.seen()[after]
        .get("STATUS")
        .unwrap_or_default()
        .to_owned();
    assert!(status.contains("reload failed"), "{status}");
    assert!(status.contains("missing"), "names the cause: {status}");
    assert!(
        status.contains("generation 2"),
        "old generation serves: {status}"
    );

    // Stop: STOPPING=1, then a clean exit.
    px.sigterm();
    ns.wait_for(after + 1, |n| n.has("STOPPING=1"));
    let exit = px.wait_exit(patience() + Duration::from_secs(1)).await;
    assert_eq!(exit.code(), Some(0), "{}", px.log_tail(40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchdog_pings_when_systemd_asks_for_them() {
    let mut ns = NotifySocket::bind();
    let _px = base()
        .env("NOTIFY_SOCKET", ns.path())
        .env("WATCHDOG_USEC", "200000")
        .start()
        .await;
    let first = ns.wait_for(0, |n| n.has("WATCHDOG=1"));
    ns.wait_for(first + 1, |n| n.has("WATCHDOG=1"));
}
