//! proxyd's own HTTP/1.1 server on plain TCP (`listener::h1`): what a
//! client sees of the connection itself — interim answers, HTTP/1.0,
//! pipelining, refused heads, a client that leaves — over raw sockets.

use std::time::Duration;

use proxyd_e2e::raw::{read_response, send_raw, RawResponse};
use proxyd_e2e::wait::{eventually, eventually_async};
use proxyd_e2e::{ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn world() -> (TestUpstream, TestProxy) {
    let up = TestUpstream::http1()
        .route("/", "root")
        .echo("/echo")
        .delay("/slow", Duration::from_secs(2), "slow")
        .spawn()
        .await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    (up, px)
}

/// Sends `bytes` on a new connection; one response back, and whether the
/// server then closed the connection (nothing more within a few seconds:
/// not closed).
async fn exchange_then_eof(addr: std::net::SocketAddr, bytes: &[u8]) -> (RawResponse, bool) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    let resp = read_response(&mut s).await;
    if resp.closed {
        return (resp, true);
    }
    let mut rest = [0u8; 64];
    let eof = matches!(
        tokio::time::timeout(Duration::from_secs(5), s.read(&mut rest)).await,
        Ok(Ok(0) | Err(_))
    );
    (resp, eof)
}

/// Reads until `needle` has arrived (or fails after a few seconds).
async fn read_until(s: &mut TcpStream, needle: &str) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&buf).contains(needle) {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            other => panic!(
                "no {needle:?} ({other:?}); got {:?}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_100_continue_gets_the_interim_answer_before_the_body_is_sent() {
    let (_up, px) = world().await;
    let mut s = TcpStream::connect(px.http_addr()).await.unwrap();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: app.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    )
    .await
    .unwrap();
    // Nothing of the body is sent until the interim answer arrives.
    let interim = read_until(&mut s, "\r\n\r\n").await;
    assert!(
        interim.starts_with("HTTP/1.1 100 Continue\r\n"),
        "{interim}"
    );
    // The final answer's head may come right behind it: the upstream
    // answers as soon as it has the request head.
    let mut answer = interim
        .split_once("\r\n\r\n")
        .map_or_else(String::new, |(_, rest)| rest.to_owned());
    s.write_all(b"hello").await.unwrap();
    if !answer.ends_with("hello") {
        answer += &read_until(&mut s, "hello").await;
    }
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with("hello"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_refusal_sends_no_interim_answer_and_closes() {
    let (up, px) = world().await;
    // Over `max_body_size` by its Content-Length: 413 without reading it.
    let (resp, eof) = exchange_then_eof(
        px.http_addr(),
        b"POST /echo HTTP/1.1\r\nHost: app.test\r\nExpect: 100-continue\r\nContent-Length: 999999999999\r\n\r\n",
    )
    .await;
    assert_eq!(resp.status, Some(413), "{}", resp.text);
    assert!(!resp.text.contains("100 Continue"), "{}", resp.text);
    assert_eq!(resp.header("connection"), Some("close"), "{}", resp.text);
    assert!(eof, "the unread body ends the connection");
    assert_eq!(up.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_1_0_gets_an_http_1_0_answer_and_keep_alive_only_when_asked() {
    let (_up, px) = world().await;
    let (resp, eof) =
        exchange_then_eof(px.http_addr(), b"GET / HTTP/1.0\r\nHost: app.test\r\n\r\n").await;
    assert!(
        resp.text.starts_with("HTTP/1.0 200 OK\r\n"),
        "{}",
        resp.text
    );
    assert!(eof, "HTTP/1.0 closes by default");

    let mut s = TcpStream::connect(px.http_addr()).await.unwrap();
    for _ in 0..2 {
        s.write_all(b"GET / HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n")
            .await
            .unwrap();
        let resp = read_response(&mut s).await;
        assert_eq!(resp.status, Some(200), "{}", resp.text);
        assert_eq!(
            resp.header("connection"),
            Some("keep-alive"),
            "{}",
            resp.text
        );
        assert!(!resp.closed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_close_is_answered_with_close_and_the_socket_closes() {
    let (_up, px) = world().await;
    let (resp, eof) = exchange_then_eof(
        px.http_addr(),
        b"GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(resp.status, Some(200), "{}", resp.text);
    assert_eq!(resp.header("connection"), Some("close"), "{}", resp.text);
    assert!(eof, "the server closes after the answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order_with_their_bodies() {
    let (_up, px) = world().await;
    let mut s = TcpStream::connect(px.http_addr()).await.unwrap();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: app.test\r\nContent-Length: 3\r\n\r\none\
          POST /echo HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n\
          GET / HTTP/1.1\r\nHost: app.test\r\n\r\n",
    )
    .await
    .unwrap();
    let text = read_until(&mut s, "root").await;
    let one = text.find("one").expect("first body");
    let two = text.find("two").expect("second body");
    assert!(one < two, "{text}");
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 3, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_a_date_and_their_framing() {
    let (_up, px) = world().await;
    // A local answer (no upstream Date to pass on): 404 for an unknown host.
    let resp = send_raw(
        px.http_addr(),
        b"GET / HTTP/1.1\r\nHost: nobody.test\r\n\r\n",
    )
    .await;
    assert_eq!(resp.status, Some(404), "{}", resp.text);
    let date = resp.header("date").expect("a Date field");
    assert!(date.ends_with(" GMT"), "{date}");
    assert!(resp.header("content-length").is_some(), "{}", resp.text);
    // HEAD: the head of the GET, no body bytes after it.
    let mut s = TcpStream::connect(px.http_addr()).await.unwrap();
    s.write_all(
        b"HEAD / HTTP/1.1\r\nHost: app.test\r\n\r\nGET / HTTP/1.1\r\nHost: app.test\r\n\r\n",
    )
    .await
    .unwrap();
    let text = read_until(&mut s, "root").await;
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    let second = text
        .find("\r\n\r\nHTTP/1.1 200 OK\r\n")
        .expect("HEAD answer has no body");
    assert!(!text[..second].contains("root"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_heads_are_refused_and_the_connection_closed() {
    let (up, px) = world().await;
    for (request, status) in [
        (&b"GET / HTTP/1.1\r\nHost app.test\r\n\r\n"[..], 400),
        (b"GET / HTTP/2.0\r\nHost: app.test\r\n\r\n", 505),
        (
            b"GET / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip\r\n\r\n",
            400,
        ),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400),
    ] {
        let (resp, eof) = exchange_then_eof(px.http_addr(), request).await;
        let shown = String::from_utf8_lossy(request);
        assert_eq!(resp.status, Some(status), "{shown:?}: {}", resp.text);
        assert!(eof, "{shown:?}: the connection closes");
    }
    let many: String = (0..120).map(|i| format!("X-{i}: v\r\n")).collect();
    let request = format!("GET / HTTP/1.1\r\nHost: app.test\r\n{many}\r\n");
    let resp = send_raw(px.http_addr(), request.as_bytes()).await;
    assert_eq!(resp.status, Some(431), "{}", resp.text);
    assert_eq!(up.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_cut_short_by_the_client_is_never_answered_whole() {
    let (_up, px) = world().await;
    let mut s = TcpStream::connect(px.http_addr()).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100\r\n\r\nonly this")
        .await
        .unwrap();
    // Half-close: the body ends 91 bytes early, the client still reads.
    s.shutdown().await.unwrap();
    let resp = read_response(&mut s).await;
    match resp.status {
        // Refused before the upstream answered...
        Some(400) => {}
        // ...or the upstream's streamed echo, cut off before its length.
        Some(200) => assert!(resp.closed, "{}", resp.text),
        other => panic!("{other:?}: {}", resp.text),
    }
    // The proxy is still serving.
    let resp = send_raw(px.http_addr(), b"GET / HTTP/1.1\r\nHost: app.test\r\n\r\n").await;
    assert_eq!(resp.status, Some(200), "{}", resp.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_mid_request_is_let_go_at_once() {
    let up = TestUpstream::http1()
        .delay("/slow", Duration::from_secs(60), "slow")
        .spawn()
        .await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    let active = || async { px.status().await["listeners"][0]["active_connections"].as_u64() };
    let mut s = TcpStream::connect(px.http_addr()).await.unwrap();
    s.write_all(b"GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n")
        .await
        .unwrap();
    let seen = eventually(Duration::from_secs(10), || up.request_count() == 1).await;
    assert!(seen, "the upstream never saw the request");
    assert_eq!(active().await, Some(1));
    drop(s);
    // Not held for the minute the answer would take: the request is
    // dropped when the client closes.
    let let_go = eventually_async(Duration::from_secs(10), || async {
        active().await == Some(0)
    })
    .await;
    assert!(let_go, "the connection is still held: {:?}", active().await);
}

/// A client that goes on sending a body proxyd refused still reads the
/// answer: the connection lingers, reading and dropping what comes, rather
/// than closing with bytes unread (which resets it, and the answer with it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_body_still_being_sent_does_not_cost_the_client_its_answer() {
    let (up, px) = world().await;
    let mut s = TcpStream::connect(px.http_addr()).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: app.test\r\nContent-Length: 999999999999\r\n\r\n")
        .await
        .unwrap();
    // Far more than the socket buffers hold: proxyd must read it.
    let body = vec![b'x'; 8 << 20];
    tokio::time::timeout(Duration::from_secs(30), s.write_all(&body))
        .await
        .expect("the body was read and dropped, not left to block the client")
        .expect("no reset while the body is sent");
    let resp = read_response(&mut s).await;
    assert_eq!(resp.status, Some(413), "{}", resp.text);
    assert_eq!(resp.header("connection"), Some("close"), "{}", resp.text);
    assert_eq!(up.request_count(), 0);
}
