//! Header rules end to end (SPEC §6, §11): what the upstream receives and
//! what the client gets back.

use bytes::Bytes;
use http::Method;
use http_body_util::Empty;
use proxyd_e2e::client::{fetch, request};
use proxyd_e2e::{q, ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream};

async fn world(site: Site, upstream: impl Fn(Upstream) -> Upstream) -> (TestUpstream, TestProxy) {
    let up = TestUpstream::http1().route("/h", "ok").spawn().await;
    let px = ProxyConfig::new()
        .upstream(upstream(Upstream::new("api", [up.addr()])))
        .site(site.route(Route::upstream("/", "api")))
        .start()
        .await;
    (up, px)
}

async fn get_with(px: &TestProxy, headers: &[(&str, &str)]) -> proxyd_e2e::TestResponse {
    let mut b = request(Method::GET, "app.test", "/h");
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    fetch(px.http_addr(), b.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_from_an_untrusted_peer_are_replaced() {
    let (up, px) = world(Site::new("app", ["app.test"]), |u| u).await;
    let resp = get_with(
        &px,
        &[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-real-ip", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.test"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let seen = up.last_request();
    assert_eq!(seen.headers.get_all("x-forwarded-for").iter().count(), 1);
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-real-ip"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(seen.header("x-forwarded-host"), Some("app.test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_from_a_trusted_proxy_is_extended() {
    let site = Site::new("app", ["app.test"]).set("trusted_proxies", "[\"127.0.0.0/8\"]");
    let (up, px) = world(site, |u| u).await;
    get_with(&px, &[("x-forwarded-for", "203.0.113.7")]).await;
    assert_eq!(
        up.last_request().header("x-forwarded-for"),
        Some("203.0.113.7, 127.0.0.1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sane_request_id_is_kept_and_echoed() {
    let (up, px) = world(Site::new("app", ["app.test"]), |u| u).await;
    let resp = get_with(&px, &[("x-request-id", "abc-123")]).await;
    assert_eq!(resp.header("x-request-id"), Some("abc-123"));
    assert_eq!(up.last_request().header("x-request-id"), Some("abc-123"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insane_request_id_is_replaced_and_the_new_one_echoed() {
    let (up, px) = world(Site::new("app", ["app.test"]), |u| u).await;
    let resp = get_with(&px, &[("x-request-id", "<script>alert(1)</script>")]).await;
    let id = resp.header("x-request-id").unwrap().to_owned();
    assert!(!id.contains('<') && !id.is_empty(), "{id}");
    assert_eq!(up.last_request().header("x-request-id"), Some(id.as_str()));
    // And one is generated when none was sent.
    let resp = get_with(&px, &[]).await;
    assert!(resp.header("x-request-id").is_some_and(|v| !v.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_by_hop_headers_go_and_multi_values_stay() {
    let (up, px) = world(Site::new("app", ["app.test"]), |u| u).await;
    get_with(
        &px,
        &[
            ("connection", "keep-alive, x-secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("upgrade", "h2c"),
            ("x-multi", "a"),
            ("x-multi", "b"),
        ],
    )
    .await;
    let seen = up.last_request();
    for h in ["x-secret", "keep-alive", "proxy-connection", "upgrade"] {
        assert!(seen.header(h).is_none(), "{h} was forwarded");
    }
    let multi: Vec<_> = seen.headers.get_all("x-multi").iter().collect();
    assert_eq!(multi, ["a", "b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preserve_host_decides_the_upstream_host() {
    let (up, px) = world(Site::new("app", ["app.test"]), |u| u).await;
    get_with(&px, &[]).await;
    assert_eq!(up.last_request().host(), Some("app.test"));

    let (up, px) = world(Site::new("app", ["app.test"]), |u| {
        u.set("preserve_host", "false")
    })
    .await;
    get_with(&px, &[]).await;
    let addr = up.addr().to_string();
    assert_eq!(up.last_request().host(), Some(addr.as_str()));
    assert_eq!(
        up.last_request().header("x-forwarded-host"),
        Some("app.test")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_rules_set_and_remove_headers_both_ways() {
    let up = TestUpstream::http1().route("/h", "ok").spawn().await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(
            Site::new("app", ["app.test"]).route(
                Route::upstream("/", "api")
                    .set(
                        "request_headers",
                        &format!(
                            "{{ set = {{ \"X-Env\" = {} }}, remove = [\"X-Debug\"] }}",
                            q("prod")
                        ),
                    )
                    .set(
                        "response_headers",
                        "{ set = { \"X-Served-By\" = \"proxyd\" }, remove = [\"Content-Type\"] }",
                    ),
            ),
        )
        .start()
        .await;
    let resp = get_with(&px, &[("x-debug", "1"), ("x-env", "dev")]).await;
    let seen = up.last_request();
    assert_eq!(seen.header("x-env"), Some("prod"));
    assert!(seen.header("x-debug").is_none());
    assert_eq!(resp.header("x-served-by"), Some("proxyd"));
    assert!(resp.header("content-type").is_none());
}
