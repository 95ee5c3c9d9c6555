//! `idle_timeout` on client connections: an HTTP/1.1 keep-alive or HTTP/2
//! connection with no request in flight is closed by proxyd, while a request
//! that takes longer than the timeout is never cut.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use proxyd_e2e::{patience, q, ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream};
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
