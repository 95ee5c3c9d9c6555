//! `[[tcp]]`: the layer-4 proxy.
//!
//! Each accepted connection picks a server of the named `[[upstream]]` with
//! the same balancer, health verdicts and passive checks as HTTP traffic,
//! connects within `[defaults] connect_timeout` (trying another server on
//! failure, up to `retries` more), then copies bytes both ways until both
//! sides are done. A half-close is passed on: when one side shuts down its
//! writing half, the other side's write half is shut down and the opposite
//! direction keeps flowing (`tokio::io::copy_bidirectional`).
//!
//! The connection holds its listener's guards (connection slot, active
//! count, drain registration) for its whole life, so it shows in `status`
//! and `proxyd_active_connections`, and a graceful shutdown waits for it up
//! to `drain_timeout`: a byte stream has no request boundary at which to
//! stop it earlier. It is routed by the generation it was accepted under; a
//! reload that removes its `[[tcp]]` entry stops new connections only.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::metrics::{ListenerLabels, Name};
use crate::proxy::error::ProxyError;
use crate::state::Shared;
use crate::upstream::{ConnectError, ServerState, Upstream};

/// Why a client connection could not be proxied.
#[derive(Debug, thiserror::Error)]
pub enum TcpError {
    /// Every server is unhealthy or was tried.
    #[error("no healthy server in upstream {0:?}")]
    NoHealthyServer(Arc<str>),
    /// The last connect attempt failed.
    #[error(transparent)]
    Connect(ProxyError),
}

/// Proxies one accepted connection on the `[[tcp]]` address `listen`.
/// `guard` is whatever the accept loop wants held while the connection
/// lives.
pub async fn serve<G: Send + 'static>(
    shared: Arc<Shared>,
    mut client: TcpStream,
    listen: SocketAddr,
    peer: SocketAddr,
    guard: G,
) {
    let _guard = guard;
    let (name, up, timeout) = {
        let snap = shared.snapshot.load_full();
        let Some(tcp) = snap.config.tcp.iter().find(|t| t.listen == listen) else {
            // Removed by a reload between accept and now.
            return;
        };
        let Some(up) = snap.upstreams.get(&tcp.upstream).cloned() else {
            return;
        };
        let name = Name(tcp.name.as_str().into());
        (name, up, snap.config.defaults.connect_timeout)
    };
    let labels = ListenerLabels { listener: name };
    shared.metrics.tcp_connections.get_or_create(&labels).inc();
    let _ = client.set_nodelay(true);

    let (mut server_io, server) = match connect(&up, peer.ip(), timeout).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(listener = %labels.listener.0, upstream = %up.name, %peer, "tcp connection refused: {}", crate::logging::chain(&e));
            return;
        }
    };
    let _ = server_io.set_nodelay(true);
    server.active.fetch_add(1, Ordering::Relaxed);
    let copied = tokio::io::copy_bidirectional(&mut client, &mut server_io).await;
    server.active.fetch_sub(1, Ordering::Relaxed);
    match copied {
        Ok((from_client, to_client)) => {
            let m = &shared.metrics;
            m.bytes_received.get_or_create(&labels).inc_by(from_client);
            m.bytes_sent.get_or_create(&labels).inc_by(to_client);
            tracing::debug!(listener = %labels.listener.0, server = %server.address, %peer, from_client, to_client, "tcp connection closed");
        }
        Err(e) => {
            tracing::debug!(listener = %labels.listener.0, server = %server.address, %peer, error = %e, "tcp connection ended with an error");
        }
    }
}

/// Connects to a healthy server of `up`, moving on to another after a
/// failure, up to `retries` more times.
async fn connect(
    up: &Upstream,
    client: IpAddr,
    timeout: Duration,
) -> Result<(TcpStream, Arc<ServerState>), TcpError> {
    let attempts = 1 + up.retries as usize;
    let mut tried = Vec::with_capacity(attempts.min(4));
    let mut last = None;
    while tried.len() < attempts {
        let Some(i) = up.pick(client, &tried) else {
            break;
        };
        tried.push(i);
        let server = &up.servers[i];
        server.requests.fetch_add(1, Ordering::Relaxed);
        let target = (server.host.as_str(), server.port);
        let source = match tokio::time::timeout(timeout, TcpStream::connect(target)).await {
            Ok(Ok(stream)) => {
                up.observe(server, Ok(()));
                return Ok((stream, server.clone()));
            }
            Ok(Err(e)) => ConnectError::Io(e),
            Err(_) => ConnectError::Timeout(timeout),
        };
        server.failures.fetch_add(1, Ordering::Relaxed);
        let e = ProxyError::Connect {
            server: server.address.clone(),
            source,
        };
        up.observe(server, Err(&e));
        tracing::debug!(upstream = %up.name, server = %server.address, error = %crate::logging::chain(&e), "tcp connect failed");
        last = Some(e);
    }
    Err(last.map_or_else(
        || TcpError::NoHealthyServer(up.name.clone()),
        TcpError::Connect,
    ))
}
