//! `TestUpstream`: a real hyper 1 HTTP/1.1 server on `127.0.0.1:0`, in the
//! linkerd `server::http1().route(..)` style.
//!
//! Routes match the request path exactly; anything else gets
//! `404 no route: <path>`. Every request head is recorded before it is
//! answered, so tests can assert on what proxyd forwarded. Bodies are never
//! held whole: `stream` generates a pattern body chunk by chunk, `echo` sends
//! the request body back as it arrives, and `sink` checks a pattern request
//! body as it arrives and answers `len=<n> ok=<bool>`; `trailers` sends a
//! chunked body followed by trailer fields. With `tls(leaf)` the server
//! speaks HTTP/1.1 over TLS (rustls, ALPN `http/1.1`) and counts failed
//! handshakes. The server (its accept loop and every connection) stops when
//! the `TestUpstream` is dropped.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::certs::Leaf;
use crate::pattern::{PatternBody, PatternCheck};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

/// What a route answers.
#[derive(Debug, Clone)]
enum Action {
    Text(StatusCode, String),
    Delay(Duration, String),
    Stream(u64),
    Echo,
    Sink,
    Trailers(String, Vec<(String, String)>),
}

/// A request head as the upstream saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The request target (origin form: path and query).
    pub uri: Uri,
    /// The HTTP version.
    pub version: Version,
    /// Every header, multi-values included.
    pub headers: HeaderMap,
}

impl RecordedRequest {
    /// The first value of header `name`, if any (and valid UTF-8).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Host` header.
    pub fn host(&self) -> Option<&str> {
        self.header("host")
    }

    /// Path and query, as forwarded.
    pub fn path_and_query(&self) -> &str {
        self.uri.path_and_query().map_or("", |pq| pq.as_str())
    }
}

#[derive(Debug, Default)]
struct State {
    routes: HashMap<String, Action>,
    requests: Mutex<Vec<RecordedRequest>>,
    failed_handshakes: AtomicUsize,
    connections: AtomicUsize,
}

/// Builds a [`TestUpstream`].
#[derive(Debug, Default)]
pub struct UpstreamBuilder {
    routes: HashMap<String, Action>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl UpstreamBuilder {
    /// `GET path` (any method) answers 200 with `body`.
    pub fn route(self, path: &str, body: &str) -> Self {
        self.route_status(path, 200, body)
    }

    /// `path` answers `status` with `body`.
    pub fn route_status(mut self, path: &str, status: u16, body: &str) -> Self {
        let status = StatusCode::from_u16(status).expect("valid status");
        self.routes
            .insert(path.to_owned(), Action::Text(status, body.to_owned()));
        self
    }

    /// `path` waits `delay` before answering 200 with `body`.
    pub fn delay(mut self, path: &str, delay: Duration, body: &str) -> Self {
        self.routes
            .insert(path.to_owned(), Action::Delay(delay, body.to_owned()));
        self
    }

    /// `path` answers 200 with `len` pattern bytes (with Content-Length),
    /// generated as they are sent.
    pub fn stream(mut self, path: &str, len: u64) -> Self {
        self.routes.insert(path.to_owned(), Action::Stream(len));
        self
    }

    /// `path` answers 200 and streams the request body back.
    pub fn echo(mut self, path: &str) -> Self {
        self.routes.insert(path.to_owned(), Action::Echo);
        self
    }

    /// `path` reads the request body, checking it against the pattern, and
    /// answers 200 `len=<bytes> ok=<true|false>`.
    pub fn sink(mut self, path: &str) -> Self {
        self.routes.insert(path.to_owned(), Action::Sink);
        self
    }

    /// `path` answers 200 with a chunked `body`, announces `trailers` in a
    /// `Trailer` header and sends them after the body (hyper sends them
    /// only when the request carried `TE: trailers`).
    pub fn trailers(mut self, path: &str, body: &str, trailers: &[(&str, &str)]) -> Self {
        let fields = trailers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.routes
            .insert(path.to_owned(), Action::Trailers(body.to_owned(), fields));
        self
    }

    /// Serves over TLS with `leaf` (its CA is what a client must trust).
    pub fn tls(mut self, leaf: &Leaf) -> Self {
        self.tls = Some(crate::tls::server_config(leaf, &[b"http/1.1"]));
        self
    }

    /// Binds `127.0.0.1:0` and starts serving on the current tokio runtime.
    pub async fn spawn(self) -> TestUpstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream on 127.0.0.1:0");
        let addr = listener.local_addr().expect("upstream local_addr");
        let state = Arc::new(State {
            routes: self.routes,
            ..State::default()
        });
        let tls = self.tls.map(tokio_rustls::TlsAcceptor::from);
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state), tls));
        TestUpstream { addr, state, task }
    }
}

/// A running test upstream.
#[derive(Debug)]
pub struct TestUpstream {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl TestUpstream {
    /// A new HTTP/1.1 upstream builder.
    pub fn http1() -> UpstreamBuilder {
        UpstreamBuilder::default()
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request head seen so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().expect("requests lock").clone()
    }

    /// How many requests it has seen.
    pub fn request_count(&self) -> usize {
        self.state.requests.lock().expect("requests lock").len()
    }

    /// TCP connections accepted so far (upstream keep-alive reuse shows as
    /// fewer connections than requests).
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// TLS handshakes that failed (the client refused the certificate).
    pub fn failed_handshakes(&self) -> usize {
        self.state.failed_handshakes.load(Ordering::Relaxed)
    }

    /// The most recent request head; panics if there was none.
    pub fn last_request(&self) -> RecordedRequest {
        self.requests()
            .pop()
            .expect("the upstream has seen no request")
    }
}

impl Drop for TestUpstream {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                state.connections.fetch_add(1, Ordering::Relaxed);
                let state = Arc::clone(&state);
                let tls = tls.clone();
                conns.spawn(async move {
                    let Some(tls) = tls else { return serve(stream, state).await };
                    match tls.accept(stream).await {
                        Ok(stream) => serve(stream, state).await,
                        Err(_) => {
                            state.failed_handshakes.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
            // Reap finished connections so the set does not grow.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve<I>(io: I, state: Arc<State>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(Arc::clone(&state), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    resp
}

fn full(body: String) -> Body {
    Full::new(Bytes::from(body))
        .map_err(|never: Infallible| match never {})
        .boxed()
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    state
        .requests
        .lock()
        .expect("requests lock")
        .push(RecordedRequest {
            method: req.method().clone(),
            uri: req.uri().clone(),
            version: req.version(),
            headers: req.headers().clone(),
        });
    let path = req.uri().path().to_owned();
    let Some(action) = state.routes.get(&path).cloned() else {
        return Ok(text(StatusCode::NOT_FOUND, format!("no route: {path}")));
    };
    let resp = match action {
        Action::Text(status, body) => text(status, body),
        Action::Delay(delay, body) => {
            tokio::time::sleep(delay).await;
            text(StatusCode::OK, body)
        }
        Action::Stream(len) => Response::new(
            PatternBody::sized(len)
                .map_err(|never: Infallible| match never {})
                .boxed(),
        ),
        Action::Echo => Response::new(req.into_body().map_err(BoxError::from).boxed()),
        Action::Trailers(body, fields) => {
            let mut map = HeaderMap::new();
            for (k, v) in &fields {
                map.append(
                    http::HeaderName::from_bytes(k.as_bytes()).expect("trailer name"),
                    http::HeaderValue::from_str(v).expect("trailer value"),
                );
            }
            let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
            let frames = [Ok(Frame::data(Bytes::from(body))), Ok(Frame::trailers(map))];
            let stream = futures_util::stream::iter(frames);
            let mut resp = Response::new(BodyExt::boxed(StreamBody::new(stream)));
            resp.headers_mut().insert(
                http::header::TRAILER,
                http::HeaderValue::from_str(&names.join(", ")).expect("trailer names"),
            );
            resp
        }
        Action::Sink => {
            let mut body = req.into_body();
            let mut check = PatternCheck::default();
            let mut error = None;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Some(data) = frame.data_ref() {
                            check.update(data);
                        }
                    }
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                }
            }
            let ok = check.first_mismatch.is_none() && error.is_none();
            let mut msg = format!("len={} ok={ok}", check.len);
            if let Some(e) = error {
                msg.push_str(&format!(" error={e}"));
            }
            text(StatusCode::OK, msg)
        }
    };
    Ok(resp)
}

#[cfg(test)]
mod tests;
