//! Upstream keep-alive: a connection goes back to the pool when its
//! response body has been read to the end, whatever the body's framing
//! (sized, chunked, none), and never when the client abandoned it halfway.
//! Counted on the upstream's side, in accepted TCP connections. One worker
//! thread, so the proxy's order of events is the same on every run.

use bytes::Bytes;
use http::Method;
use http_body_util::Empty;
use proxyd_e2e::client::{self, request};
use proxyd_e2e::{ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream};

async fn proxy_to(up: &TestUpstream) -> TestProxy {
    ProxyConfig::new()
        .runtime("worker_threads", "1")
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_of_every_framing_reuse_one_upstream_connection() {
    let up = TestUpstream::http1()
        .route("/sized", "hello")
        .stream("/large", 256 * 1024)
        .trailers("/chunked", "chunked body", &[])
        .route_status("/none", 204, "")
        .spawn()
        .await;
    let px = proxy_to(&up).await;

    for round in 0..2 {
        let r = px.get("app.test", "/sized").await;
        assert_eq!(
            (r.status(), r.text().as_str()),
            (200, "hello"),
            "round {round}"
        );
        let r = px.get("app.test", "/large").await;
        assert_eq!(
            (r.status(), r.body.len()),
            (200, 256 * 1024),
            "round {round}"
        );
        let r = px.get("app.test", "/chunked").await;
        assert_eq!((r.status(), r.text().as_str()), (200, "chunked body"));
        let r = px.get("app.test", "/none").await;
        assert_eq!(r.status(), 204, "round {round}");
        let head = request(Method::HEAD, "app.test", "/sized")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let r = client::fetch(px.http_addr(), head).await.unwrap();
        assert_eq!((r.status(), r.text().as_str()), (200, ""), "round {round}");
    }
    assert_eq!(up.request_count(), 10);
    assert_eq!(
        up.connections(),
        1,
        "every exchange completed, so each should have reused the first connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_abandoned_halfway_does_not_return_its_connection() {
    let up = TestUpstream::http1()
        .route("/small", "hello")
        .stream("/big", 64 * 1024 * 1024)
        .spawn()
        .await;
    let px = proxy_to(&up).await;

    let req = request(Method::GET, "app.test", "/big")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = client::send(px.http_addr(), req).await.unwrap();
    assert_eq!(resp.status(), 200);
    // The client goes away with most of the body unread.
    drop(resp);

    for _ in 0..3 {
        let r = px.get("app.test", "/small").await;
        assert_eq!((r.status(), r.text().as_str()), (200, "hello"));
    }
    assert_eq!(up.request_count(), 4);
    assert_eq!(
        up.connections(),
        2,
        "the abandoned connection must not be reused; the next one must be"
    );
}
