//! Balancing over real backends: weights, least connections, ip_hash
//! stickiness across reloads, and a killed server skipped without a single
//! client error.

use std::net::SocketAddr;

use proxyd_e2e::{
    eventually, patience, q, server_status, wait_for_generation, Backend, ProxyConfig, Route, Site,
    TestProxy, Upstream,
};

fn site() -> Site {
    Site::new("app", ["app.test"]).route(Route::upstream("/", "pool"))
}

/// An `[[upstream]] pool` with explicit weights, as raw TOML.
fn weighted_pool(servers: &[(SocketAddr, u32)]) -> String {
    let list: Vec<String> = servers
        .iter()
        .map(|(a, w)| format!("{{ address = {}, weight = {w} }}", q(&a.to_string())))
        .collect();
    format!(
        "[[upstream]]\nname = \"pool\"\nalgorithm = \"weighted\"\nservers = [{}]",
        list.join(", ")
    )
}

/// Sends `n` requests one after another; every one must answer 200.
/// Returns the answering backends' names.
async fn names(px: &TestProxy, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let resp = px.get("app.test", "/").await;
        assert_eq!(resp.status(), 200, "{}\n{}", resp.text(), px.log_tail(20));
        out.push(resp.text());
    }
    out
}

fn count(names: &[String], name: &str) -> usize {
    names.iter().filter(|n| *n == name).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_split_follows_the_weights() {
    let a = Backend::spawn("a").await;
    let b = Backend::spawn("b").await;
    let px = ProxyConfig::new()
        .site(site())
        .extra(&weighted_pool(&[(a.addr(), 3), (b.addr(), 1)]))
        .start()
        .await;
    let got = names(&px, 40).await;
    // Smooth weighted round robin is exact over whole cycles of 4.
    assert_eq!((count(&got, "a"), count(&got, "b")), (30, 10), "{got:?}");
    // ... and interleaves: never more than 3 `a` in a row.
    assert!(
        !got.windows(4).any(|w| w.iter().all(|n| n == "a")),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_connections_sends_new_requests_to_the_idle_server() {
    let a = Backend::spawn("a").await;
    let b = Backend::spawn("b").await;
    let px = ProxyConfig::new()
        .site(site())
        .upstream(
            Upstream::new("pool", [a.addr(), b.addr()]).set("algorithm", &q("least_connections")),
        )
        .start()
        .await;
    let addr = px.http_addr();
    let held = tokio::spawn(async move { proxyd_e2e::get(addr, "app.test", "/hold").await });
    assert!(
        eventually(patience(), || a.held() + b.held() == 1).await,
        "the held request never arrived"
    );
    let (busy, idle) = if a.held() == 1 { (&a, &b) } else { (&b, &a) };
    let got = names(&px, 10).await;
    assert_eq!(count(&got, idle.name()), 10, "{got:?}");
    busy.release(1);
    assert_eq!(held.await.unwrap().text(), busy.name());
    // Both idle again (the held request's count drops once its response
    // is done, which may lag the client by a moment): the load is shared.
    let got = names(&px, 10).await;
    assert!((4..=6).contains(&count(&got, "a")), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_hash_keeps_a_client_on_one_server_across_reloads() {
    let backends = [
        Backend::spawn("a").await,
        Backend::spawn("b").await,
        Backend::spawn("c").await,
    ];
    let pool =
        Upstream::new("pool", backends.iter().map(Backend::addr)).set("algorithm", &q("ip_hash"));
    let mut px = ProxyConfig::new()
        .site(site())
        .upstream(pool.clone())
        .start()
        .await;
    let first = names(&px, 10).await;
    assert!(first.iter().all(|n| *n == first[0]), "{first:?}");

    // A reload that keeps the server set keeps the client where it was.
    px.write(
        ProxyConfig::new()
            .site(site().route(Route::respond("/other", 200, "x", "text/plain")))
            .upstream(pool),
    );
    px.ctl().args(["reload"]).assert().code(0);
    wait_for_generation(&px, 2).await;
    let after = names(&px, 10).await;
    assert!(
        after.iter().all(|n| *n == first[0]),
        "{after:?} vs {first:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_is_skipped_without_client_errors() {
    let a = Backend::spawn("a").await;
    let mut b = Backend::spawn("b").await;
    let c = Backend::spawn("c").await;
    let px = ProxyConfig::new()
        .site(site())
        .upstream(
            Upstream::new("pool", [a.addr(), b.addr(), c.addr()])
                .set("retries", "2")
                .set("passive", "{ max_failures = 1, cooldown = \"1m\" }"),
        )
        .start()
        .await;
    let got = names(&px, 9).await;
    assert_eq!(count(&got, "b"), 3, "{got:?}");

    b.kill().await;
    // Every request answers 200: the first to meet the dead server is
    // retried on another, and the passive check then keeps it out.
    let got = names(&px, 30).await;
    assert_eq!(count(&got, "b"), 0, "{got:?}");
    assert_eq!(count(&got, "a") + count(&got, "c"), 30);

    let s = server_status(&px, "pool", b.addr()).await;
    assert_eq!(s["healthy"], false, "{s}");
    assert!(s["failures_total"].as_u64().unwrap() >= 1, "{s}");
    let reason = s["last_transition"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("live traffic"), "{s}");
    for live in [&a, &c] {
        assert_eq!(
            server_status(&px, "pool", live.addr()).await["healthy"],
            true
        );
    }
}
