//! Health: active checks (HTTP and TCP) take servers out of rotation and
//! back, their state survives reloads, and the health endpoints answer.

use proxyd_e2e::{
    eventually, get, patience, ports, q, server_status, wait_for_generation, wait_for_health,
    Backend, ProxyConfig, Route, Site, TestProxy, Upstream,
};

/// Checks every 100 ms; two results in a row flip the verdict.
const HTTP_CHECK: &str = "{ path = \"/healthz\", interval = \"100ms\", timeout = \"1s\", healthy_threshold = 2, unhealthy_threshold = 2 }";

fn site() -> Site {
    Site::new("app", ["app.test"]).route(Route::upstream("/", "pool"))
}

fn config(pool: Upstream) -> ProxyConfig {
    ProxyConfig::new().site(site()).upstream(pool)
}

async fn names(px: &TestProxy, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let resp = px.get("app.test", "/").await;
        assert_eq!(resp.status(), 200, "{}", resp.text());
        out.push(resp.text());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_health_check_leaves_rotation_and_returns() {
    let a = Backend::spawn("a").await;
    let b = Backend::spawn("b").await;
    let px = config(Upstream::new("pool", [a.addr(), b.addr()]).set("health_check", HTTP_CHECK))
        .start()
        .await;
    assert!(eventually(patience(), || a.checks() > 0 && b.checks() > 0).await);

    b.set_healthy(false);
    let s = wait_for_health(&px, "pool", b.addr(), false).await;
    assert!(s["consecutive_failures"].as_u64().unwrap() >= 2, "{s}");
    assert_eq!(s["consecutive_passes"], 0, "{s}");
    let result = s["last_check"]["result"].as_str().unwrap_or_default();
    assert!(result.starts_with("fail: status 503"), "{s}");
    let reason = s["last_transition"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("consecutive checks failed"), "{s}");
    assert!(s["last_transition"]["at"].as_str().is_some(), "{s}");

    let hits = b.hits();
    let got = names(&px, 20).await;
    assert!(got.iter().all(|n| n == "a"), "{got:?}");
    assert_eq!(b.hits(), hits, "an unhealthy server got traffic");
    let out = px.ctl().args(["status"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let row = text
        .lines()
        .find(|l| l.contains(&b.addr().to_string()))
        .unwrap_or_else(|| panic!("no row for b in:\n{text}"));
    assert!(row.contains("unhealthy"), "{text}");

    b.set_healthy(true);
    let s = wait_for_health(&px, "pool", b.addr(), true).await;
    let reason = s["last_transition"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("consecutive checks passed"), "{s}");
    assert_eq!(s["last_check"]["result"], "pass", "{s}");
    let got = names(&px, 20).await;
    assert_eq!(got.iter().filter(|n| *n == "b").count(), 10, "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_check_takes_a_dead_server_out_of_rotation() {
    let a = Backend::spawn("a").await;
    let dead = ports::dead_addr();
    let check = "{ interval = \"100ms\", timeout = \"1s\", healthy_threshold = 1, unhealthy_threshold = 1 }";
    let px = config(
        Upstream::new("pool", [dead, a.addr()])
            .set("retries", "0")
            .set("health_check", check),
    )
    .start()
    .await;
    let s = wait_for_health(&px, "pool", dead, false).await;
    assert!(
        s["last_check"]["result"]
            .as_str()
            .unwrap()
            .starts_with("fail"),
        "{s}"
    );
    assert_eq!(server_status(&px, "pool", a.addr()).await["healthy"], true);
    // No retries: every request succeeds only because the dead server is
    // out of rotation.
    let got = names(&px, 10).await;
    assert!(got.iter().all(|n| n == "a"), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_state_survives_a_reload() {
    let a = Backend::spawn("a").await;
    let b = Backend::spawn("b").await;
    let pool = Upstream::new("pool", [a.addr(), b.addr()]).set("health_check", HTTP_CHECK);
    let mut px = config(pool.clone()).start().await;
    b.set_healthy(false);
    let before = wait_for_health(&px, "pool", b.addr(), false).await;

    // A reload that changes something else: b stays down, same transition.
    px.write(config(pool.clone()).site(site().route(Route::respond("/x", 200, "x", "text/plain"))));
    px.ctl().args(["reload"]).assert().code(0);
    wait_for_generation(&px, 2).await;
    let after = server_status(&px, "pool", b.addr()).await;
    assert_eq!(after["healthy"], false, "{after}");
    assert_eq!(after["last_transition"], before["last_transition"]);
    assert!(after["consecutive_failures"].as_u64() >= before["consecutive_failures"].as_u64());

    // Changed check settings restart its task but keep its state.
    let slower = "{ path = \"/healthz\", interval = \"150ms\", timeout = \"1s\", healthy_threshold = 2, unhealthy_threshold = 2 }";
    px.write(config(pool.set("health_check", slower)));
    px.ctl().args(["reload"]).assert().code(0);
    wait_for_generation(&px, 3).await;
    let after = server_status(&px, "pool", b.addr()).await;
    assert_eq!(after["healthy"], false, "{after}");
    assert_eq!(after["last_transition"], before["last_transition"]);

    // Removing the checks puts the server back at once.
    px.write(config(Upstream::new("pool", [a.addr(), b.addr()])));
    px.ctl().args(["reload"]).assert().code(0);
    wait_for_generation(&px, 4).await;
    let after = server_status(&px, "pool", b.addr()).await;
    assert_eq!(after["healthy"], true, "{after}");
    assert_eq!(after["last_transition"]["reason"], "health checks removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoints_answer_on_the_health_port_and_the_listener() {
    let up = Backend::spawn("a").await;
    let mut px = ProxyConfig::new()
        .runtime("drain_timeout", &q("10s"))
        .site(site())
        .upstream(Upstream::new("pool", [up.addr()]))
        .start()
        .await;
    let health = get(px.health_addr(), "h.test", "/health").await;
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(
        get(px.health_addr(), "h.test", "/ready").await.status(),
        200
    );

    // The listener's health_path answers before routing, for any Host.
    let on_listener = px.get("unknown.test", "/.well-known/proxyd/health").await;
    assert_eq!(on_listener.status(), 200);
    assert_eq!(on_listener.text(), "ok\n");
    assert_eq!(px.get("unknown.test", "/other").await.status(), 404);

    // While draining, /ready is 503 and /health still answers.
    let addr = px.http_addr();
    let held = tokio::spawn(async move { get(addr, "app.test", "/hold").await });
    assert!(eventually(patience(), || up.held() == 1).await);
    px.sigterm();
    let health_addr = px.health_addr();
    let draining = proxyd_e2e::eventually_async(patience(), || async move {
        get(health_addr, "h.test", "/ready").await.status() == 503
    })
    .await;
    assert!(draining, "/ready never turned 503 while draining");
    assert_eq!(get(health_addr, "h.test", "/health").await.status(), 200);
    up.release(1);
    assert_eq!(held.await.unwrap().text(), "a");
    assert!(px.wait_exit(patience()).await.success());
}
