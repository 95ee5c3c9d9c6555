//! Upstreams that misbehave on purpose, for the fault-injection suite:
//!
//! - [`SilentUpstream`]: accepts and reads, never answers (a hung backend).
//! - [`ResettingUpstream`]: answers a head promising a long body, sends part
//!   of it, then resets the connection (`SO_LINGER` 0, so the peer sees RST).
//! - [`FloodUpstream`]: answers every request with an endless body and counts
//!   what it managed to write, so a test sees back-pressure at work.
//!
//! Each counts what it saw; each stops (closing every connection) on drop.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Binds `127.0.0.1:0` and serves each connection with `serve` until dropped.
fn spawn<F, Fut>(listener: TcpListener, serve: F) -> JoinHandle<()>
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    if let Ok((s, _)) = accepted {
                        conns.spawn(serve(s));
                    }
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    })
}

async fn bind() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = l.local_addr().expect("local_addr");
    (l, addr)
}

/// Reads until the end of a request head (or EOF); false on EOF first.
async fn read_head(s: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    true
}

/// Accepts, reads everything, never writes a byte.
#[derive(Debug)]
pub struct SilentUpstream {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl SilentUpstream {
    /// Starts it on `127.0.0.1:0`.
    pub async fn spawn() -> SilentUpstream {
        let (l, addr) = bind().await;
        let (accepted, open) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (a, o) = (accepted.clone(), open.clone());
        let task = spawn(l, move |mut s| {
            let (a, o) = (a.clone(), o.clone());
            async move {
                a.fetch_add(1, Ordering::SeqCst);
                o.fetch_add(1, Ordering::SeqCst);
                let mut sink = [0u8; 4096];
                while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
                o.fetch_sub(1, Ordering::SeqCst);
            }
        });
        SilentUpstream {
            addr,
            accepted,
            open,
            task,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections the peer has not closed yet.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

impl Drop for SilentUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sends a head with `Content-Length: 1000000` and `sent` body bytes, then
/// resets the connection.
#[derive(Debug)]
pub struct ResettingUpstream {
    addr: SocketAddr,
    resets: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl ResettingUpstream {
    /// The length the head promises.
    pub const PROMISED: usize = 1_000_000;

    /// Starts it on `127.0.0.1:0`; each response carries `sent` body bytes
    /// before the reset.
    pub async fn spawn(sent: usize) -> ResettingUpstream {
        let (l, addr) = bind().await;
        let resets = Arc::new(AtomicUsize::new(0));
        let r = resets.clone();
        let task = spawn(l, move |mut s| {
            let r = r.clone();
            async move {
                if !read_head(&mut s).await {
                    return;
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
                    Self::PROMISED
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&vec![b'x'; sent]).await;
                let _ = s.flush().await;
                let _ = s.set_zero_linger();
                r.fetch_add(1, Ordering::SeqCst);
                drop(s);
            }
        });
        ResettingUpstream { addr, resets, task }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections reset so far.
    pub fn resets(&self) -> usize {
        self.resets.load(Ordering::SeqCst)
    }
}

impl Drop for ResettingUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers every request with `200` and a chunked body that never ends,
/// written in 64 KiB pieces; counts the bytes written.
#[derive(Debug)]
pub struct FloodUpstream {
    addr: SocketAddr,
    written: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl FloodUpstream {
    /// Starts it on `127.0.0.1:0`. A connection stops after `limit` bytes
    /// (a bound on the test, whatever the proxy does).
    pub async fn spawn(limit: u64) -> FloodUpstream {
        let (l, addr) = bind().await;
        let written = Arc::new(AtomicU64::new(0));
        let w = written.clone();
        let task = spawn(l, move |mut s| {
            let w = w.clone();
            async move {
                if !read_head(&mut s).await {
                    return;
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let piece = vec![b'y'; 64 * 1024];
                let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
                chunk.extend_from_slice(&piece);
                chunk.extend_from_slice(b"\r\n");
                let mut sent = 0u64;
                while sent < limit {
                    if s.write_all(&chunk).await.is_err() {
                        return;
                    }
                    sent += piece.len() as u64;
                    w.fetch_add(piece.len() as u64, Ordering::SeqCst);
                }
                let _ = s.write_all(b"0\r\n\r\n").await;
            }
        });
        FloodUpstream {
            addr,
            written,
            task,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Body bytes written so far (all connections).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }
}

impl Drop for FloodUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}
