//! `WsEcho`: a WebSocket server on `127.0.0.1:0` (tokio-tungstenite) that
//! echoes every text and binary message, and counts the handshakes it
//! accepted and the connections that ended.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// A running WebSocket echo server.
#[derive(Debug)]
pub struct WsEcho {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    ended: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl WsEcho {
    /// Binds `127.0.0.1:0` and serves until dropped.
    pub async fn spawn() -> WsEcho {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind ws echo");
        let addr = listener.local_addr().expect("ws echo addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let ended = Arc::new(AtomicUsize::new(0));
        let (a, e) = (accepted.clone(), ended.clone());
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    r = listener.accept() => {
                        let Ok((stream, _)) = r else { continue };
                        let (a, e) = (a.clone(), e.clone());
                        conns.spawn(async move {
                            if let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await {
                                a.fetch_add(1, Ordering::SeqCst);
                                while let Some(Ok(msg)) = ws.next().await {
                                    if (msg.is_text() || msg.is_binary())
                                        && ws.send(msg).await.is_err()
                                    {
                                        break;
                                    }
                                }
                                e.fetch_add(1, Ordering::SeqCst);
                            }
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        WsEcho {
            addr,
            accepted,
            ended,
            task,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// WebSocket handshakes completed.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// WebSocket connections that have ended.
    pub fn ended(&self) -> usize {
        self.ended.load(Ordering::SeqCst)
    }
}

impl Drop for WsEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}
