//! `Backend`: a named HTTP/1.1 server whose health a test switches, for
//! balancing and health-check tests.
//!
//! Every path answers `200` with the backend's name (so a test sees which
//! server answered) and is counted, except:
//! - `/healthz`: `200 ok` or `503 sick`, as set by [`Backend::set_healthy`];
//!   counted separately ([`Backend::checks`]).
//! - `/hold`: waits until the test calls [`Backend::release`], then answers
//!   with the name (a request kept in flight, for least-connections and
//!   active-connection tests).
//!
//! [`Backend::kill`] stops it: the listener and every connection close, and
//! it returns once a connect to its address is refused.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use crate::wait::{eventually_async, patience};

#[derive(Debug)]
struct State {
    name: String,
    healthy: AtomicBool,
    hits: AtomicUsize,
    checks: AtomicUsize,
    held: AtomicUsize,
    gate: Semaphore,
}

/// A running backend; stops when dropped.
#[derive(Debug)]
pub struct Backend {
    addr: SocketAddr,
    state: Arc<State>,
    task: Option<JoinHandle<()>>,
}

impl Backend {
    /// Starts a healthy backend called `name` on `127.0.0.1:0`.
    pub async fn spawn(name: &str) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind backend on 127.0.0.1:0");
        let addr = listener.local_addr().expect("backend local_addr");
        let state = Arc::new(State {
            name: name.to_owned(),
            healthy: AtomicBool::new(true),
            hits: AtomicUsize::new(0),
            checks: AtomicUsize::new(0),
            held: AtomicUsize::new(0),
            gate: Semaphore::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Backend {
            addr,
            state,
            task: Some(task),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its name (the body of its answers).
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// Makes `/healthz` answer 200 (`true`) or 503 (`false`).
    pub fn set_healthy(&self, healthy: bool) {
        self.state.healthy.store(healthy, Ordering::SeqCst);
    }

    /// Requests answered other than `/healthz`.
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// `/healthz` requests seen.
    pub fn checks(&self) -> usize {
        self.state.checks.load(Ordering::SeqCst)
    }

    /// `/hold` requests waiting right now.
    pub fn held(&self) -> usize {
        self.state.held.load(Ordering::SeqCst)
    }

    /// Lets `n` held requests answer.
    pub fn release(&self, n: usize) {
        self.state.gate.add_permits(n);
    }

    /// Stops serving and waits until a connect to its address is refused.
    pub async fn kill(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        let addr = self.addr;
        let refused = eventually_async(patience(), || async move {
            TcpStream::connect(addr).await.is_err()
        })
        .await;
        assert!(refused, "backend {addr} still accepts after kill");
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // Let held requests go so nothing waits on a dropped backend.
        self.state.gate.close();
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = Arc::clone(&state);
                conns.spawn(async move {
                    let service = service_fn(move |req| handle(Arc::clone(&state), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match req.uri().path() {
        "/healthz" => {
            state.checks.fetch_add(1, Ordering::SeqCst);
            if state.healthy.load(Ordering::SeqCst) {
                (StatusCode::OK, "ok".to_owned())
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "sick".to_owned())
            }
        }
        path => {
            state.hits.fetch_add(1, Ordering::SeqCst);
            if path == "/hold" {
                state.held.fetch_add(1, Ordering::SeqCst);
                // Closed (backend dropped) also lets it through.
                let permit = state.gate.acquire().await;
                if let Ok(p) = permit {
                    p.forget();
                }
                state.held.fetch_sub(1, Ordering::SeqCst);
            }
            (StatusCode::OK, state.name.clone())
        }
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    Ok(resp)
}

/// The `status` entry of server `addr` in upstream `upstream`; panics if
/// there is none.
pub async fn server_status(
    px: &crate::TestProxy,
    upstream: &str,
    addr: SocketAddr,
) -> serde_json::Value {
    let status = px.status().await;
    let addr = addr.to_string();
    status["upstreams"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["name"] == upstream)
        .flat_map(|u| u["servers"].as_array().into_iter().flatten())
        .find(|s| s["address"] == addr.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no server {addr} in upstream {upstream}: {status}"))
}

/// Polls `status` until server `addr` of `upstream` reports `healthy`;
/// panics with the last entry and the log tail otherwise.
pub async fn wait_for_health(
    px: &crate::TestProxy,
    upstream: &str,
    addr: SocketAddr,
    healthy: bool,
) -> serde_json::Value {
    let reached = eventually_async(patience(), || async move {
        server_status(px, upstream, addr).await["healthy"] == healthy
    })
    .await;
    let last = server_status(px, upstream, addr).await;
    assert!(
        reached,
        "server {addr} never became healthy={healthy}: {last}\n{}",
        px.log_tail(40)
    );
    last
}
