//! WebSocket and other HTTP/1.1 `Upgrade`s: the request goes upstream with
//! its `Upgrade` header, and when the server answers 101 both connections
//! are taken over from hyper and spliced together.
//!
//! The spliced pair counts as an active connection of its listener and as
//! a live connection for the shutdown drain (it holds a `DrainGuard`), is
//! closed after `idle_timeout` without a byte in either direction, and
//! after `drain_timeout` once shutdown begins. It does not depend on the
//! snapshot, so a reload never cuts it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{header, HeaderMap, HeaderValue, Request, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::state::Shared;

/// Copy buffer per direction.
const BUF: usize = 16 * 1024;

/// Whether `req` asks for a protocol upgrade (HTTP/1.1, `Upgrade` present
/// and `upgrade` among the `Connection` tokens).
pub fn requested<B>(req: &Request<B>) -> bool {
    req.version() == Version::HTTP_11
        && req.headers().contains_key(header::UPGRADE)
        && req
            .headers()
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// The client's side of an upgrade, taken from its request: proxyd's
/// HTTP/1.1 server's or hyper's.
#[derive(Debug)]
pub enum ClientUpgrade {
    /// From proxyd's HTTP/1.1 server (plain TCP).
    H1(crate::listener::h1::OnUpgrade),
    /// From hyper (TLS).
    Hyper(OnUpgrade),
}

/// Takes the client's side of an upgrade out of `req`.
pub fn on<B>(req: &mut Request<B>) -> ClientUpgrade {
    match req
        .extensions_mut()
        .remove::<crate::listener::h1::OnUpgrade>()
    {
        Some(on) => ClientUpgrade::H1(on),
        None => ClientUpgrade::Hyper(hyper::upgrade::on(req)),
    }
}

/// Puts `Upgrade: proto` and `Connection: upgrade` back on a request whose
/// hop-by-hop headers were removed.
pub fn set_upgrade_headers(headers: &mut HeaderMap, proto: HeaderValue) {
    headers.insert(header::UPGRADE, proto);
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
}

/// Cleans a 101 response's hop-by-hop headers but keeps the upgrade pair.
pub fn keep_upgrade_headers(headers: &mut HeaderMap) {
    let proto = headers.get(header::UPGRADE).cloned();
    super::headers::remove_hop_by_hop(headers);
    if let Some(proto) = proto {
        set_upgrade_headers(headers, proto);
    }
}

/// Counts one active connection on a listener while alive.
struct Active(Option<Arc<AtomicU64>>);

impl Drop for Active {
    fn drop(&mut self) {
        if let Some(a) = &self.0 {
            a.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Spawns the task that, once both sides have switched protocols, copies
/// bytes both ways until either side closes, `idle` passes without
/// traffic, or the drain budget after shutdown is spent.
pub fn splice(
    shared: &Arc<Shared>,
    listen: SocketAddr,
    client: ClientUpgrade,
    server: crate::upstream::Upgraded,
    idle: Duration,
) {
    let drain = shared.shutdown.guard();
    let active = shared.listeners.active_counter(&listen);
    if let Some(a) = &active {
        a.fetch_add(1, Ordering::Relaxed);
    }
    let active = Active(active);
    let shutdown = shared.shutdown.subscribe();
    let budget = shared.startup_config.runtime.drain_timeout;
    tokio::spawn(async move {
        let _held = (drain, active);
        match client {
            ClientUpgrade::H1(on) => match on.wait().await {
                Ok(client) => pump(client, server, idle, shutdown, budget).await,
                Err(e) => tracing::debug!(error = %e, "upgrade did not complete"),
            },
            ClientUpgrade::Hyper(on) => match on.await {
                Ok(client) => pump(TokioIo::new(client), server, idle, shutdown, budget).await,
                Err(e) => tracing::debug!(error = %e, "upgrade did not complete"),
            },
        }
    });
}

/// Copies between `a` and `b`; each direction is half-closed on its own.
async fn pump<A, B>(
    a: A,
    b: B,
    idle: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    budget: Duration,
) where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let mut abuf = vec![0u8; BUF];
    let mut bbuf = vec![0u8; BUF];
    let (mut a_open, mut b_open) = (true, true);
    let mut idle_at = Instant::now() + idle;
    let mut hard_stop: Option<Instant> = None;
    while a_open || b_open {
        let until = hard_stop.map_or(idle_at, |h| h.min(idle_at));
        tokio::select! {
            r = ar.read(&mut abuf), if a_open => match r {
                Ok(n) if n > 0 => {
                    if bw.write_all(&abuf[..n]).await.is_err() { break; }
                    idle_at = Instant::now() + idle;
                }
                _ => { a_open = false; let _ = bw.shutdown().await; }
            },
            r = br.read(&mut bbuf), if b_open => match r {
                Ok(n) if n > 0 => {
                    if aw.write_all(&bbuf[..n]).await.is_err() { break; }
                    idle_at = Instant::now() + idle;
                }
                _ => { b_open = false; let _ = aw.shutdown().await; }
            },
            _ = tokio::time::sleep_until(until) => break,
            // Shutdown: the connection gets the drain budget, then closes.
            _ = async { shutdown.wait_for(|v| *v).await.is_ok() }, if hard_stop.is_none() => {
                hard_stop = Some(Instant::now() + budget);
            }
        }
    }
}
