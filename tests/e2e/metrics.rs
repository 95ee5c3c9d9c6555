//! `/metrics`: strict Prometheus text whose values move with traffic,
//! health and open connections; upstream errors counted by kind.

use std::time::Duration;

use proxyd_e2e::{
    eventually, eventually_async, patience, q, scrape, wait_for_health, Backend, ProxyConfig,
    Route, Site, TestUpstream, Upstream,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_traffic_health_and_connections() {
    let a = Backend::spawn("a").await;
    let b = Backend::spawn("b").await;
    let check = "{ path = \"/healthz\", interval = \"100ms\", timeout = \"1s\", healthy_threshold = 1, unhealthy_threshold = 1 }";
    let px = ProxyConfig::new()
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "pool")))
        .upstream(Upstream::new("pool", [a.addr(), b.addr()]).set("health_check", check))
        .start()
        .await;
    let main = [("listener", "main"), ("site", "app")];
    let ok = [("listener", "main"), ("site", "app"), ("status", "2xx")];

    let before = scrape(&px).await;
    let requests0 = before.sum("proxyd_requests_total", &ok);
    let count0 = before.sum("proxyd_request_duration_seconds_count", &main);
    for _ in 0..5 {
        assert_eq!(px.get("app.test", "/").await.status(), 200);
    }
    assert_eq!(px.get("nothing.test", "/").await.status(), 404);

    let after = scrape(&px).await;
    assert_eq!(after.types["proxyd_requests_total"], "counter");
    assert_eq!(after.types["proxyd_request_duration_seconds"], "histogram");
    assert_eq!(after.types["proxyd_upstream_server_healthy"], "gauge");
    assert_eq!(after.sum("proxyd_requests_total", &ok) - requests0, 5.0);
    assert_eq!(
        after.sum("proxyd_request_duration_seconds_count", &main) - count0,
        5.0
    );
    let not_found = [("listener", "main"), ("status", "4xx")];
    assert!(after.sum("proxyd_requests_total", &not_found) >= 1.0);
    for s in [&a, &b] {
        let server = s.addr().to_string();
        let labels = [("upstream", "pool"), ("server", server.as_str())];
        assert_eq!(
            after.value("proxyd_upstream_server_healthy", &labels),
            Some(1.0)
        );
    }

    // A server failing its check reads 0.
    b.set_healthy(false);
    wait_for_health(&px, "pool", b.addr(), false).await;
    let server = b.addr().to_string();
    let labels = [("upstream", "pool"), ("server", server.as_str())];
    assert_eq!(
        scrape(&px)
            .await
            .value("proxyd_upstream_server_healthy", &labels),
        Some(0.0)
    );

    // An open client connection is counted on its listener, and released.
    let idle = [("listener", "main")];
    let px = &px;
    let no_open =
        || async move { scrape(px).await.value("proxyd_active_connections", &idle) == Some(0.0) };
    // Earlier connections close a moment after their responses were read.
    assert!(eventually_async(patience(), no_open).await);
    let addr = px.http_addr();
    let held = tokio::spawn(async move { proxyd_e2e::get(addr, "app.test", "/hold").await });
    assert!(eventually(patience(), || a.held() == 1).await);
    let open = scrape(px).await.value("proxyd_active_connections", &idle);
    assert_eq!(open, Some(1.0));
    a.release(1);
    assert_eq!(held.await.unwrap().status(), 200);
    let closed = eventually_async(patience(), no_open).await;
    assert!(closed, "the closed connection is still counted");
}

/// A scrape right after startup already declares every metric of SPEC §9
/// with its type, as Prometheus text 0.0.4 (a family with no sample yet is
/// still declared), and the reload counters exist at 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spec_metric_is_declared_from_the_start() {
    let px = ProxyConfig::new()
        .site(Site::new("app", ["app.test"]).route(Route::respond("/", 200, "ok", "text/plain")))
        .start()
        .await;
    let resp = proxyd_e2e::get(px.health_addr(), "metrics.test", "/metrics").await;
    let content_type = resp.header("content-type").unwrap_or_default().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let m = scrape(&px).await;
    for (name, kind) in [
        ("proxyd_requests_total", "counter"),
        ("proxyd_request_duration_seconds", "histogram"),
        ("proxyd_upstream_errors_total", "counter"),
        ("proxyd_bytes_received_total", "counter"),
        ("proxyd_bytes_sent_total", "counter"),
        ("proxyd_shed_total", "counter"),
        ("proxyd_active_connections", "gauge"),
        ("proxyd_upstream_server_healthy", "gauge"),
        ("proxyd_rate_limited_total", "counter"),
        ("proxyd_config_reloads_total", "counter"),
        ("proxyd_config_generation", "gauge"),
        ("proxyd_config_last_reload_successful", "gauge"),
        ("proxyd_certificate_expiry_timestamp_seconds", "gauge"),
    ] {
        assert_eq!(
            m.types.get(name).map(String::as_str),
            Some(kind),
            "{name} not declared as {kind}"
        );
    }
    assert_eq!(
        m.value("proxyd_config_reloads_total", &[("result", "ok")]),
        Some(0.0)
    );
    assert_eq!(
        m.value("proxyd_config_reloads_total", &[("result", "error")]),
        Some(0.0)
    );
    assert_eq!(m.value("proxyd_config_generation", &[]), Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_are_counted_by_kind() {
    let slow = TestUpstream::http1()
        .delay("/slow", Duration::from_secs(30), "late")
        .spawn()
        .await;
    let dead = proxyd_e2e::ports::dead_addr();
    let px = ProxyConfig::new()
        .upstream(Upstream::new("slow", [slow.addr()]))
        .upstream(Upstream::new("dead", [dead]).set("retries", "0"))
        .site(
            Site::new("app", ["app.test"])
                .set("request_timeout", &q("300ms"))
                .route(Route::upstream("/slow", "slow"))
                .route(Route::upstream("/dead", "dead")),
        )
        .start()
        .await;
    assert_eq!(px.get("app.test", "/slow").await.status(), 504);
    assert_eq!(px.get("app.test", "/dead").await.status(), 502);
    assert_eq!(px.get("app.test", "/dead").await.status(), 502);
    let m = scrape(&px).await;
    let errors = |upstream: &str, kind: &str| {
        m.sum(
            "proxyd_upstream_errors_total",
            &[("upstream", upstream), ("kind", kind)],
        )
    };
    assert_eq!(errors("slow", "timeout"), 1.0);
    assert_eq!(errors("dead", "connection"), 2.0);
    assert_eq!(
        errors("slow", "connection") + errors("dead", "timeout"),
        0.0
    );
}
