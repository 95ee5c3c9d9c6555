//! Response trailers pass through: a chunked upstream response with
//! trailers reaches an HTTP/1.1 client that sent `TE: trailers`, and an
//! HTTP/2 client.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Version};
use http_body_util::{BodyExt, Empty};
use proxyd_e2e::client::send;
use proxyd_e2e::{patience, ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream};

const TRAILERS: &[(&str, &str)] = &[("x-checksum", "c0ffee"), ("grpc-status", "0")];

async fn world() -> (TestUpstream, TestProxy) {
    let up = TestUpstream::http1()
        .trailers("/t", "payload", TRAILERS)
        .spawn()
        .await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    (up, px)
}

fn assert_trailers(body: &Bytes, trailers: Option<&HeaderMap>) {
    assert_eq!(&body[..], b"payload");
    let trailers = trailers.expect("no trailers reached the client");
    for (name, value) in TRAILERS {
        assert_eq!(
            trailers.get(*name).map(|v| v.as_bytes()),
            Some(value.as_bytes()),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_client_with_te_trailers_gets_the_upstream_trailers() {
    let (up, px) = world().await;
    let req = Request::builder()
        .uri("/t")
        .header("host", "app.test")
        .header("te", "trailers")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send(px.http_addr(), req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let collected = tokio::time::timeout(patience(), resp.into_body().collect())
        .await
        .unwrap()
        .unwrap();
    let trailers = collected.trailers().cloned();
    assert_trailers(&collected.to_bytes(), trailers.as_ref());
    // proxyd asked the upstream for trailers on the client's behalf.
    assert_eq!(up.last_request().header("te"), Some("trailers"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2_client_gets_the_upstream_trailers() {
    let (_up, px) = world().await;
    let mut sender = proxyd_e2e::client::h2c(px.http_addr()).await;
    let req = Request::builder()
        .method(Method::GET)
        .uri("http://app.test/t")
        .header("te", "trailers")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = tokio::time::timeout(patience(), sender.send_request(req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    let collected = tokio::time::timeout(patience(), resp.into_body().collect())
        .await
        .unwrap()
        .unwrap();
    let trailers = collected.trailers().cloned();
    assert_trailers(&collected.to_bytes(), trailers.as_ref());
}
