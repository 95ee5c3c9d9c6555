//! `GatedUpstream`: an HTTP/1.1 upstream that holds every response until the
//! test opens the gate, so a request can be kept in flight exactly as long
//! as a test needs (drain, keep-alive) without sleeping a guessed time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running gated upstream; every response body is `released`.
#[derive(Debug)]
pub struct GatedUpstream {
    addr: SocketAddr,
    arrived: Arc<AtomicUsize>,
    gate: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl GatedUpstream {
    /// Binds `127.0.0.1:0` and starts accepting.
    pub async fn spawn() -> GatedUpstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gated upstream");
        let addr = listener.local_addr().expect("gated upstream local_addr");
        let arrived = Arc::new(AtomicUsize::new(0));
        let (gate, rx) = watch::channel(false);
        let count = arrived.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, count.clone(), rx.clone()));
            }
        });
        GatedUpstream {
            addr,
            arrived,
            gate,
            task,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many request heads have arrived.
    pub fn arrived(&self) -> usize {
        self.arrived.load(Ordering::SeqCst)
    }

    /// Lets every held and future response go.
    pub fn release(&self) {
        self.gate.send_replace(true);
    }
}

impl Drop for GatedUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection: for each request head, count it, wait for the gate,
/// answer `200 released`.
async fn serve(mut stream: TcpStream, arrived: Arc<AtomicUsize>, mut gate: watch::Receiver<bool>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = find_head_end(&buf) {
            buf.drain(..end);
            arrived.fetch_add(1, Ordering::SeqCst);
            if gate.wait_for(|open| *open).await.is_err() {
                return;
            }
            let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nreleased";
            if stream.write_all(reply).await.is_err() {
                return;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The end of the first request head (bodiless requests only).
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}
