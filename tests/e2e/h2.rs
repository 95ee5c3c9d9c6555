//! HTTP/2 downstream (prior knowledge on a plain listener) through to an
//! HTTP/1.1 upstream.

use bytes::Bytes;
use http::{Method, Request, Version};
use http_body_util::{BodyExt, Full};
use proxyd_e2e::{patience, ProxyConfig, Route, Site, TestUpstream, Upstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2_client_is_proxied_to_an_http1_upstream() {
    let up = TestUpstream::http1()
        .route("/hello", "hi")
        .echo("/echo")
        .spawn()
        .await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    let mut send = proxyd_e2e::client::h2c(px.http_addr()).await;

    let req = Request::builder()
        .method(Method::GET)
        .uri("http://app.test/hello")
        .header("x-multi", "a")
        .header("x-multi", "b")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = tokio::time::timeout(patience(), send.send_request(req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert!(resp.headers().contains_key("x-request-id"));
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hi");
    let seen = up.last_request();
    assert_eq!(seen.version, Version::HTTP_11);
    assert_eq!(seen.host(), Some("app.test"));
    assert_eq!(seen.headers.get_all("x-multi").iter().count(), 2);

    // A body streams through on the same connection.
    let req = Request::builder()
        .method(Method::POST)
        .uri("http://app.test/echo")
        .body(Full::new(Bytes::from(vec![7u8; 200_000])))
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 200_000);

    // Unknown hosts are still 404 over h2.
    let req = Request::builder()
        .uri("http://nope.test/")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(send.send_request(req).await.unwrap().status(), 404);
}

/// The protocol is told from the first bytes, however they arrive: a
/// preface cut after "PR" (undecided until more comes) is still HTTP/2,
/// and a request that begins like one ("P", then "UT") is HTTP/1.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_protocol_is_told_from_first_bytes_sent_in_pieces() {
    use proxyd_e2e::h2raw::{self, Outcome};
    use tokio::io::AsyncWriteExt;

    let up = TestUpstream::http1().route("/x", "hi").spawn().await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;

    for split in [2, 4] {
        let out =
            h2raw::exchange_in_two(px.http_addr(), &h2raw::get("app.test", "/x"), None, split)
                .await;
        assert_eq!(
            out,
            Outcome::Response(Some(200)),
            "split {split}: {}",
            px.log_tail(20)
        );
    }

    let mut s = tokio::net::TcpStream::connect(px.http_addr())
        .await
        .unwrap();
    s.write_all(b"P").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    s.write_all(b"UT /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nok")
        .await
        .unwrap();
    let resp = proxyd_e2e::raw::read_response(&mut s).await;
    assert_eq!(resp.status, Some(200), "{}", resp.text);
    assert!(resp.text.ends_with("hi"), "{}", resp.text);
    assert_eq!(up.request_count(), 3);
}
