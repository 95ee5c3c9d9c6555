//! `scheme = "https"` upstreams against a real TLS server (hyper behind
//! rustls, a leaf from a throwaway CA): requests proxied over TLS when the
//! CA is trusted through `SSL_CERT_FILE`; an untrusted CA or a certificate
//! for another name gets 502 and nothing is sent; health checks use the
//! same verification.

use std::net::SocketAddr;
use std::path::PathBuf;

use proxyd_e2e::certs::{Leaf, TestCa};
use proxyd_e2e::{
    eventually, q, scrape, server_status, short_tempdir, wait_for_health, ProxyConfig, Route, Site,
    TestProxy, TestUpstream, Upstream,
};
use tempfile::TempDir;

/// The CA proxyd is told to trust, written where `SSL_CERT_FILE` can name it.
struct Trust {
    ca: TestCa,
    _dir: TempDir,
    pem: PathBuf,
}

impl Trust {
    fn new() -> Trust {
        let ca = TestCa::new();
        let dir = short_tempdir();
        let pem = dir.path().join("ca.pem");
        std::fs::write(&pem, ca.pem()).unwrap();
        Trust { ca, _dir: dir, pem }
    }

    /// A proxy trusting only this CA, `app.test` → `https` upstream `api`
    /// on `server`; `upstream_keys` are extra raw `key = value` pairs.
    async fn proxy(&self, server: SocketAddr, upstream_keys: &[(&str, &str)]) -> TestProxy {
        let mut up = Upstream::new("api", [server]).set("scheme", &q("https"));
        for (k, v) in upstream_keys {
            up = up.set(k, v);
        }
        ProxyConfig::new()
            .env("SSL_CERT_FILE", self.pem.to_str().unwrap())
            .upstream(up)
            .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
            .start()
            .await
    }
}

async fn tls_upstream(leaf: &Leaf) -> TestUpstream {
    TestUpstream::http1()
        .route("/x", "over tls")
        .route("/healthz", "ok")
        .tls(leaf)
        .spawn()
        .await
}

/// `proxyd_upstream_errors_total{upstream="api",kind}`.
async fn upstream_errors(px: &TestProxy, kind: &str) -> f64 {
    scrape(px).await.sum(
        "proxyd_upstream_errors_total",
        &[("upstream", "api"), ("kind", kind)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_an_https_upstream_whose_ca_is_in_ssl_cert_file() {
    let trust = Trust::new();
    // The verified name is the host part of the server address: an IP here.
    let up = tls_upstream(&trust.ca.leaf(&["127.0.0.1"])).await;
    let px = trust.proxy(up.addr(), &[]).await;
    for _ in 0..3 {
        let resp = px.get("app.test", "/x?n=1").await;
        assert_eq!((resp.status(), resp.text().as_str()), (200, "over tls"));
    }
    assert_eq!(up.request_count(), 3);
    let seen = up.last_request();
    assert_eq!(seen.path_and_query(), "/x?n=1");
    assert_eq!(
        seen.host(),
        Some("app.test"),
        "preserve_host keeps the Host"
    );
    assert_eq!(up.failed_handshakes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_ca_gets_502_and_nothing_is_sent() {
    let trust = Trust::new();
    let stranger = TestCa::new();
    let up = tls_upstream(&stranger.leaf(&["127.0.0.1"])).await;
    let px = trust.proxy(up.addr(), &[]).await;
    assert_eq!(px.get("app.test", "/x").await.status(), 502);
    assert!(
        eventually(proxyd_e2e::patience(), || up.failed_handshakes() >= 1).await,
        "the upstream saw no refused handshake"
    );
    assert_eq!(
        up.request_count(),
        0,
        "a request went to an untrusted server"
    );
    assert_eq!(upstream_errors(&px, "connection").await, 1.0);
    assert!(
        px.logs().contains("invalid peer certificate"),
        "the access log does not say why: {}",
        px.log_tail(10)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_gets_502() {
    let trust = Trust::new();
    let up = tls_upstream(&trust.ca.leaf(&["other.test"])).await;
    // preserve_host or not, the name checked is the server's.
    let px = trust.proxy(up.addr(), &[("preserve_host", "false")]).await;
    assert_eq!(px.get("app.test", "/x").await.status(), 502);
    assert_eq!(up.request_count(), 0);
    assert!(
        eventually(proxyd_e2e::patience(), || up.failed_handshakes() >= 1).await,
        "the upstream saw no refused handshake"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_verify_the_upstream_certificate_too() {
    let trust = Trust::new();
    let good = tls_upstream(&trust.ca.leaf(&["127.0.0.1"])).await;
    let check = "{ path = \"/healthz\", interval = \"100ms\", timeout = \"2s\", healthy_threshold = 1, unhealthy_threshold = 1 }";
    let px = trust.proxy(good.addr(), &[("health_check", check)]).await;
    assert!(
        eventually(proxyd_e2e::patience(), || good
            .requests()
            .iter()
            .any(|r| r.path_and_query() == "/healthz"))
        .await,
        "no health check reached the TLS upstream"
    );
    let st = wait_for_health(&px, "api", good.addr(), true).await;
    let st = if st["last_check"]["result"] == "pass" {
        st
    } else {
        server_status(&px, "api", good.addr()).await
    };
    assert_eq!(st["last_check"]["result"], "pass", "{st}");
    assert_eq!(px.get("app.test", "/x").await.text(), "over tls");
    drop(px);

    // The same check against a server whose CA proxyd does not trust fails
    // at the handshake, and the server leaves rotation.
    let stranger = TestCa::new();
    let bad = tls_upstream(&stranger.leaf(&["127.0.0.1"])).await;
    let px = trust.proxy(bad.addr(), &[("health_check", check)]).await;
    let st = wait_for_health(&px, "api", bad.addr(), false).await;
    let result = st["last_check"]["result"].as_str().unwrap_or_default();
    assert!(result.starts_with("fail"), "{st}");
    assert_eq!(px.get("app.test", "/x").await.status(), 503);
    assert_eq!(bad.request_count(), 0);
}
