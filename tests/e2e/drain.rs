//! Graceful shutdown (SPEC §3): SIGTERM stops accepting, `/ready` turns 503,
//! in-flight requests finish within `drain_timeout`, idle keep-alive
//! connections close, and the process exits 0; past the budget requests are
//! cut and the process still exits; a second signal exits at once.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use proxyd_e2e::client::{fetch, request};
use proxyd_e2e::{
    eventually, eventually_async, get, patience, q, GatedUpstream, ProxyConfig, Route, Site,
    TestProxy, Upstream,
};
use tokio::net::TcpStream;

fn gated(up: &GatedUpstream, drain: &str) -> ProxyConfig {
    ProxyConfig::new()
        .runtime("drain_timeout", &q(drain))
        .upstream(Upstream::new("slow", [up.addr()]))
        .site(
            Site::new("app", ["app.test"])
                .route(Route::upstream("/", "slow"))
                .route(Route::respond("/quick", 200, "quick", "text/plain")),
        )
}

/// Sends `GET /held` in the background; resolves to its result.
fn held_request(px: &TestProxy) -> tokio::task::JoinHandle<anyhow::Result<(u16, String)>> {
    let addr = px.http_addr();
    tokio::spawn(async move {
        let req = request(http::Method::GET, "app.test", "/held").body(Empty::<Bytes>::new())?;
        let resp = fetch(addr, req).await?;
        Ok((resp.status(), resp.text()))
    })
}

async fn wait_arrived(up: &GatedUpstream, n: usize) {
    assert!(
        eventually(patience(), || up.arrived() >= n).await,
        "the upstream never saw {n} request(s)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_request_completes_during_drain_and_exit_is_0() {
    let up = GatedUpstream::spawn().await;
    let mut px = gated(&up, "30s").start().await;
    let health = px.health_addr();
    let inflight = held_request(&px);
    wait_arrived(&up, 1).await;

    px.sigterm();
    // Draining: not ready, and the listener no longer accepts.
    let not_ready = eventually_async(patience(), || async move {
        get(health, "health", "/ready").await.status() == 503
    })
    .await;
    assert!(not_ready, "/ready never turned 503\n{}", px.log_tail(20));
    let addr = px.http_addr();
    let refused = eventually_async(patience(), || async move {
        TcpStream::connect(addr).await.is_err()
    })
    .await;
    assert!(refused, "the listener still accepts while draining");
    assert!(px.status().await["draining"] == true);

    // The request in flight still gets its whole answer.
    up.release();
    let (status, body) = inflight.await.unwrap().expect("in-flight request");
    assert_eq!((status, body.as_str()), (200, "released"));
    let exit = px.wait_exit(patience()).await;
    assert_eq!(exit.code(), Some(0), "{}", px.log_tail(40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_connections_close_after_their_current_response() {
    let up = GatedUpstream::spawn().await;
    let mut px = gated(&up, "30s").start().await;

    // Two keep-alive connections: one idle after a first response, one with
    // a request held at the upstream.
    let (mut idle, idle_conn) = handshake(&px).await;
    let idle_conn = tokio::spawn(idle_conn);
    let first = idle.send_request(req("/quick")).await.unwrap();
    assert_eq!(first.status(), 200);
    first.into_body().collect().await.unwrap();

    let (mut busy, busy_conn) = handshake(&px).await;
    let busy_conn = tokio::spawn(busy_conn);
    let held = tokio::spawn(async move {
        let resp = busy.send_request(req("/held")).await?;
        let close = resp.headers().get("connection").cloned();
        let body = resp.into_body().collect().await?.to_bytes();
        anyhow::Ok((close, body))
    });
    wait_arrived(&up, 1).await;

    px.sigterm();
    // The idle connection is closed by the daemon, at once.
    tokio::time::timeout(patience(), idle_conn)
        .await
        .expect("idle keep-alive connection not closed by the drain")
        .unwrap()
        .ok();
    // The busy one gets its response, marked as the last, then closes.
    up.release();
    let (close, body) = held.await.unwrap().expect("held response");
    assert_eq!(&body[..], b"released");
    // Usually marked `Connection: close`; but each connection's task sees
    // the shutdown on its own schedule, and under load the response can be
    // written first. Either way the connection must close right after it
    // (asserted below), so only a wrong value fails here.
    if let Some(v) = close.as_ref() {
        assert_eq!(v.to_str().ok(), Some("close"));
    }
    tokio::time::timeout(patience(), busy_conn)
        .await
        .expect("busy connection not closed after its response")
        .unwrap()
        .ok();
    let exit = px.wait_exit(patience()).await;
    assert_eq!(exit.code(), Some(0), "{}", px.log_tail(40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_past_the_drain_budget_is_cut_and_the_process_exits() {
    let up = GatedUpstream::spawn().await;
    let mut px = gated(&up, "1s").start().await;
    let inflight = held_request(&px);
    wait_arrived(&up, 1).await;

    px.sigterm();
    // Never released: the budget runs out, the process exits 0 anyway.
    let exit = px.wait_exit(patience()).await;
    assert_eq!(exit.code(), Some(0), "{}", px.log_tail(40));
    assert!(
        px.stderr().contains("drain budget spent"),
        "{}",
        px.log_tail(20)
    );
    let result = inflight.await.unwrap();
    assert!(result.is_err(), "the cut request must fail: {result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_signal_exits_at_once() {
    let up = GatedUpstream::spawn().await;
    // A budget far beyond the test's patience: only the second signal ends it.
    let mut px = gated(&up, "10m").start().await;
    let _inflight = held_request(&px);
    wait_arrived(&up, 1).await;

    px.sigterm();
    let draining = eventually_async(patience(), || async {
        px.try_admin("status")
            .await
            .is_ok_and(|s| s["draining"] == true)
    })
    .await;
    assert!(draining, "never started draining\n{}", px.log_tail(20));
    px.sigterm();
    let exit = px.wait_exit(patience()).await;
    assert!(exit.code().is_some(), "exited by itself: {exit}");
    assert!(px.stderr().contains("second signal"), "{}", px.log_tail(20));
}

async fn handshake(
    px: &TestProxy,
) -> (
    hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    hyper::client::conn::http1::Connection<TokioIo<TcpStream>, Empty<Bytes>>,
) {
    let tcp = TcpStream::connect(px.http_addr()).await.unwrap();
    hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap()
}

fn req(path: &str) -> http::Request<Empty<Bytes>> {
    request(http::Method::GET, "app.test", path)
        .body(Empty::new())
        .unwrap()
}
