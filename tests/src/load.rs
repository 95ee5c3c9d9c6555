//! Bounded load: keep-alive HTTP/1.1 clients that send `GET` in a loop and
//! count what came back, for the fault and soak suites. Every loop stops at
//! a request count, a stop flag or a deadline, whichever comes first.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::client::request;
use crate::wait::patience;

/// What one client saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Complete `200` responses.
    pub ok: u64,
    /// Everything else: other statuses, broken connections, cut bodies.
    pub failed: u64,
    /// The first few failures: `status N`, the error chain, or a timeout.
    pub failures: Vec<String>,
}

impl Tally {
    fn fail(&mut self, what: String) {
        self.failed += 1;
        if self.failures.len() < 5 {
            self.failures.push(what);
        }
    }

    /// Adds `other` into this one.
    pub fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.failures.extend(other.failures.into_iter().take(5));
    }
}

/// Shared controls of a load run.
#[derive(Debug, Clone, Default)]
pub struct Load {
    /// Set to stop every client after its current request.
    pub stop: Arc<AtomicBool>,
    /// Complete `200` responses, all clients together.
    pub done: Arc<AtomicU64>,
}

impl Load {
    /// A new run.
    pub fn new() -> Load {
        Load::default()
    }

    /// Stops the clients.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Complete `200` responses so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::SeqCst)
    }

    /// Spawns one keep-alive client sending `GET path` with `host` to `addr`
    /// at most `max` times, or until [`stop`](Self::stop), or for `within`.
    pub fn client(
        &self,
        addr: SocketAddr,
        host: &'static str,
        path: &'static str,
        max: u64,
        within: Duration,
    ) -> tokio::task::JoinHandle<Tally> {
        let (stop, done) = (self.stop.clone(), self.done.clone());
        tokio::spawn(async move {
            let deadline = Instant::now() + within;
            let mut t = Tally::default();
            let mut sender = None;
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline && t.ok + t.failed < max
            {
                if sender.is_none() {
                    match connect(addr).await {
                        Ok(s) => sender = Some(s),
                        Err(e) => {
                            t.fail(format!("connect: {e}"));
                            continue;
                        }
                    }
                }
                let Some(s) = sender.as_mut() else { continue };
                let req = request(http::Method::GET, host, path)
                    .body(Empty::<Bytes>::new())
                    .expect("valid request");
                let result = async {
                    let resp = s.send_request(req).await?;
                    let status = resp.status();
                    let body = resp.into_body().collect().await?.to_bytes();
                    anyhow::Ok((status, body))
                };
                match tokio::time::timeout(patience(), result).await {
                    Ok(Ok((status, _))) if status == 200 => {
                        t.ok += 1;
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(Ok((status, _))) => {
                        t.fail(format!("status {status}"));
                        sender = None;
                    }
                    Ok(Err(e)) => {
                        t.fail(format!("{e:#}"));
                        sender = None;
                    }
                    Err(_) => {
                        t.fail(format!("no complete response within {:?}", patience()));
                        sender = None;
                    }
                }
            }
            t
        })
    }
}

async fn connect(
    addr: SocketAddr,
) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Empty<Bytes>>> {
    let tcp = tokio::time::timeout(patience(), TcpStream::connect(addr)).await??;
    let (s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    Ok(s)
}

/// Awaits every client and adds up their tallies.
pub async fn join(clients: Vec<tokio::task::JoinHandle<Tally>>) -> Tally {
    let mut total = Tally::default();
    for c in clients {
        total.merge(c.await.expect("load client panicked"));
    }
    total
}
