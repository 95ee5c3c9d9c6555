//! Failure handling (SPEC §6, §8): retries on connect failure, 502 when
//! nothing answers, short plain error bodies.

use proxyd_e2e::{ProxyConfig, Route, Site, TestUpstream, Upstream};

/// A loopback address with nothing listening (bound, then closed).
fn dead_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_down_with_retries_gives_no_client_errors() {
    let up = TestUpstream::http1().route("/", "alive").spawn().await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [dead_addr(), up.addr()]).set("retries", "1"))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    for i in 0..20 {
        let r = px.get("app.test", "/").await;
        assert_eq!(
            (r.status(), r.text().as_str()),
            (200, "alive"),
            "request {i}"
        );
    }
    assert_eq!(up.request_count(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reachable_server_is_a_short_plain_502() {
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [dead_addr()]).set("retries", "0"))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    let r = px.get("app.test", "/").await;
    assert_eq!(r.status(), 502);
    assert_eq!(r.text(), "502 Bad Gateway\n");
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
}
