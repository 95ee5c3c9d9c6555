//! A small HTTP/1.1 client: one fresh connection per request (so requests of
//! one test never share state through a pool), `Host` set explicitly, and a
//! deadline of [`patience`] on every step.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::pattern::PatternCheck;
use crate::proxy::TestProxy;
use crate::wait::patience;

/// A response with its body collected (for small bodies).
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl TestResponse {
    /// The status as a number.
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of header `name`, if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `req` to `addr` over a new connection and returns the response with
/// its body still streaming.
pub async fn send<B>(addr: SocketAddr, req: Request<B>) -> anyhow::Result<Response<Incoming>>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tcp = tokio::time::timeout(patience(), TcpStream::connect(addr))
        .await
        .map_err(|_| anyhow::anyhow!("connect to {addr} timed out"))??;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(async move {
        // Ends when the response body is done or dropped.
        let _ = conn.await;
    });
    let resp = tokio::time::timeout(patience(), sender.send_request(req))
        .await
        .map_err(|_| anyhow::anyhow!("no response from {addr} within {:?}", patience()))??;
    Ok(resp)
}

/// Sends `req` and collects the body.
pub async fn fetch<B>(addr: SocketAddr, req: Request<B>) -> anyhow::Result<TestResponse>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let resp = send(addr, req).await?;
    let (parts, body) = resp.into_parts();
    let body = tokio::time::timeout(patience(), body.collect())
        .await
        .map_err(|_| anyhow::anyhow!("body from {addr} not complete within {:?}", patience()))??
        .to_bytes();
    Ok(TestResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// An HTTP/2 client connection with prior knowledge (h2c) to `addr`; its
/// driver runs on a spawned task.
pub async fn h2c<B>(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<B>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tcp = TcpStream::connect(addr)
        .await
        .expect("connecting for an h2c client");
    let (send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(tcp),
    )
    .await
    .expect("h2c handshake");
    tokio::spawn(conn);
    send
}

/// A bodiless request with `Host: host`.
pub fn request(method: Method, host: &str, path: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, host)
}

/// `GET path` with `Host: host`; panics on transport errors.
pub async fn get(addr: SocketAddr, host: &str, path: &str) -> TestResponse {
    let req = request(Method::GET, host, path)
        .body(Empty::<Bytes>::new())
        .expect("valid request");
    fetch(addr, req)
        .await
        .unwrap_or_else(|e| panic!("GET http://{host}{path} via {addr}: {e:#}"))
}

/// Reads a streaming body to the end, checking it against the pattern.
pub async fn check_pattern(mut body: Incoming) -> anyhow::Result<PatternCheck> {
    let mut check = PatternCheck::default();
    let read = async {
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame?.data_ref() {
                check.update(data);
            }
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(patience(), read)
        .await
        .map_err(|_| anyhow::anyhow!("body not complete within {:?}", patience()))??;
    Ok(check)
}

impl TestProxy {
    /// `GET path` with `Host: host` on the `main` listener; panics (with the
    /// proxy logs) on transport errors.
    pub async fn get(&self, host: &str, path: &str) -> TestResponse {
        let req = request(Method::GET, host, path)
            .body(Empty::<Bytes>::new())
            .expect("valid request");
        match fetch(self.http_addr(), req).await {
            Ok(resp) => resp,
            Err(e) => panic!(
                "GET http://{host}{path} via proxyd: {e:#}\n{}",
                self.log_tail(40)
            ),
        }
    }
}
