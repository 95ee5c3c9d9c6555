//! `TcpEcho`: a line-based TCP server for `[[tcp]]` tests.
//!
//! Each connection gets `hello from <name>\n` first, then every line it
//! sends comes back prefixed with `echo: `. When the client half-closes
//! (shuts down its writing side), the server still answers — `bye after
//! <n> lines\n` — and only then closes: that proves both directions of a
//! half-close travel through the proxy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// A running echo server; stops (with its connections) when dropped.
#[derive(Debug)]
pub struct TcpEcho {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TcpEcho {
    /// Starts an echo server called `name` on `127.0.0.1:0`.
    pub async fn spawn(name: &str) -> TcpEcho {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind echo on 127.0.0.1:0");
        let addr = listener.local_addr().expect("echo local_addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(
            listener,
            name.to_owned(),
            Arc::clone(&connections),
        ));
        TcpEcho {
            addr,
            connections,
            task,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for TcpEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, name: String, connections: Arc<AtomicUsize>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                connections.fetch_add(1, Ordering::SeqCst);
                conns.spawn(serve(stream, name.clone()));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve(stream: TcpStream, name: String) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    write
        .write_all(format!("hello from {name}\n").as_bytes())
        .await?;
    let mut lines = BufReader::new(read).lines();
    let mut n = 0;
    while let Some(line) = lines.next_line().await? {
        n += 1;
        write
            .write_all(format!("echo: {line}\n").as_bytes())
            .await?;
    }
    // The client shut down its side; ours is still open.
    write
        .write_all(format!("bye after {n} lines\n").as_bytes())
        .await?;
    write.shutdown().await
}
