//! `idle_timeout` on client connections: an HTTP/1.1 keep-alive or HTTP/2
//! connection with no request in flight is closed by proxyd, while a request
//! that takes longer than the timeout is never cut. A plain HTTP/1.1
//! connection idle for 50 ms is parked (its hyper state dropped):
//! requests that straddle a park, pipelined or split, are served whole, and
//! a head trickled after a park is still cut off by `header_read_timeout`.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use proxyd_e2e::{patience, q, ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// idle_timeout 300ms; `/slow` answers after 1s (longer than that).
async fn world() -> (TestUpstream, TestProxy) {
    let up = TestUpstream::http1()
        .route("/fast", "fast")
        .delay("/slow", Duration::from_secs(1), "slow")
        .spawn()
        .await;
    let px = ProxyConfig::new()
        .defaults("idle_timeout", &q("300ms"))
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    (up, px)
}

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Empty<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Empty<Bytes>>),
}

impl Sender {
    async fn send(
        &mut self,
        req: Request<Empty<Bytes>>,
    ) -> hyper::Result<http::Response<hyper::body::Incoming>> {
        match self {
            // Ready first: the previous exchange may still be settling.
            Sender::H1(s) => {
                s.ready().await?;
                s.send_request(req).await
            }
            Sender::H2(s) => {
                s.ready().await?;
                s.send_request(req).await
            }
        }
    }
}

fn get(path: &str, h2: bool) -> Request<Empty<Bytes>> {
    let builder = if h2 {
        Request::get(format!("http://app.test{path}"))
    } else {
        Request::get(path).header("host", "app.test")
    };
    builder.body(Empty::new()).unwrap()
}

/// Sends `/slow` then `/fast` on one connection (HTTP/2 or HTTP/1.1 keep-
/// alive), then waits for proxyd to close the idle connection.
async fn idle_connection_closes(h2: bool) {
    let (_up, px) = world().await;
    let tcp = TcpStream::connect(px.http_addr()).await.unwrap();
    let io = TokioIo::new(tcp);
    let (closed, mut sender) = if h2 {
        let (s, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        (tokio::spawn(conn), Sender::H2(s))
    } else {
        let (s, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        (tokio::spawn(conn), Sender::H1(s))
    };
    for (path, text) in [("/slow", "slow"), ("/fast", "fast")] {
        let resp = tokio::time::timeout(patience(), sender.send(get(path, h2)))
            .await
            .expect("no response")
            .unwrap_or_else(|e| panic!("{path}: {e} (cut while in flight?)"));
        assert_eq!(resp.status(), 200);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], text.as_bytes());
    }
    // Nothing more is sent: proxyd closes the connection (the header read
    // timeout, 30 s by default, is far beyond the patience).
    tokio::time::timeout(patience(), closed)
        .await
        .expect("the idle connection was not closed")
        .unwrap()
        .expect("the connection ended with an error");
    drop(sender);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http1_keep_alive_connection_is_closed() {
    idle_connection_closes(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_h2_connection_is_closed() {
    idle_connection_closes(true).await;
}

/// Reads from `s` until `want` complete `fast` responses arrived (or the
/// patience ran out, or proxyd closed); returns everything read.
async fn read_fast_responses(s: &mut TcpStream, want: usize) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + patience();
    let count = |b: &[u8]| String::from_utf8_lossy(b).matches("\r\n\r\nfast").count();
    while count(&buf) < want {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

const FAST: &[u8] = b"GET /fast HTTP/1.1\r\nHost: app.test\r\n\r\n";

/// Longer than proxyd's `PARK_AFTER` (50 ms): the connection parks meanwhile.
const PARK: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_straddling_a_parked_keep_alive_connection_are_served_whole() {
    let up = TestUpstream::http1().route("/fast", "fast").spawn().await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    let mut s = TcpStream::connect(px.http_addr()).await.unwrap();

    // One request and the first half of the next in one write: the
    // connection goes idle with half a head read, which the next round
    // must see first.
    let split = 20;
    let mut first = FAST.to_vec();
    first.extend_from_slice(&FAST[..split]);
    s.write_all(&first).await.unwrap();
    let got = read_fast_responses(&mut s, 1).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    tokio::time::sleep(PARK).await;
    s.write_all(&FAST[split..]).await.unwrap();
    let got = read_fast_responses(&mut s, 1).await;
    assert!(got.starts_with("HTTP/1.1 200"), "the split request: {got}");

    // Parked again, then three pipelined requests at once.
    tokio::time::sleep(PARK).await;
    s.write_all(&FAST.repeat(3)).await.unwrap();
    let got = read_fast_responses(&mut s, 3).await;
    assert_eq!(got.matches("HTTP/1.1 200").count(), 3, "{got}");
    assert_eq!(up.request_count(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_trickled_after_a_request_is_cut_off() {
    let up = TestUpstream::http1().route("/fast", "fast").spawn().await;
    let px = ProxyConfig::new()
        .defaults("header_read_timeout", &q("1s"))
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    let mut s = TcpStream::connect(px.http_addr()).await.unwrap();
    s.write_all(FAST).await.unwrap();
    let got = read_fast_responses(&mut s, 1).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    tokio::time::sleep(PARK).await;
    // A byte every 100 ms, never a whole head: the first byte wakes the
    // parked connection, and the head must still be cut off.
    let deadline = tokio::time::Instant::now() + patience();
    let mut cut = false;
    for b in b"GET /fast HTTP/1.1\r\nX-Slow: ".iter().cycle() {
        if tokio::time::Instant::now() > deadline {
            break;
        }
        if s.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        let mut chunk = [0u8; 1024];
        match tokio::time::timeout(Duration::from_millis(100), s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                cut = true;
                break;
            }
            Ok(Ok(n)) => {
                let text = String::from_utf8_lossy(&chunk[..n]);
                assert!(text.starts_with("HTTP/1.1 408"), "{text}");
                cut = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(
        cut,
        "a trickled head was not cut off within {:?}",
        patience()
    );
    assert_eq!(up.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_cannot_park_is_closed_at_header_read_timeout() {
    // A request with a body keeps its round from parking; the wait for the
    // next head is still bounded by `header_read_timeout` (idle_timeout is
    // far away).
    let up = TestUpstream::http1().route("/fast", "fast").spawn().await;
    let px = ProxyConfig::new()
        .defaults("header_read_timeout", &q("1s"))
        .defaults("idle_timeout", &q("300s"))
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    let mut s = TcpStream::connect(px.http_addr()).await.unwrap();
    s.write_all(b"POST /fast HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\n\r\nbody")
        .await
        .unwrap();
    let got = read_fast_responses(&mut s, 1).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    let started = tokio::time::Instant::now();
    let mut chunk = [0u8; 64];
    let closed = matches!(
        tokio::time::timeout(patience(), s.read(&mut chunk)).await,
        Ok(Ok(0)) | Ok(Err(_))
    );
    assert!(closed, "still open after {:?}", patience());
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "closed after {:?}, before header_read_timeout",
        started.elapsed()
    );
}
