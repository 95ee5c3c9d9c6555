//! Bound listening sockets, kept by address across reloads.
//!
//! A reload binds every new address *before* the new snapshot is swapped in
//! (so a port that cannot be bound rejects the reload and changes nothing),
//! starts accepting on them only after the swap, and stops the accept loops
//! of addresses the new config no longer has. Sockets whose address stays
//! are never closed, so no connection attempt is refused during a reload.

mod accept;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::config::Config;
use crate::state::Shared;

/// What is served on an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plain HTTP (HTTP/1.1, and HTTP/2 with prior knowledge).
    Http,
    /// HTTPS.
    Https,
    /// A `[[tcp]]` layer-4 proxy.
    Tcp,
}

/// A bound address waiting for the snapshot swap before it accepts.
#[derive(Debug)]
pub struct Pending {
    addr: SocketAddr,
    kind: Kind,
    listener: TcpListener,
}

/// Why an address could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("binding {what} on {addr}")]
pub struct BindError {
    /// E.g. `listener "public" (http)`.
    pub what: String,
    /// The address.
    pub addr: SocketAddr,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

#[derive(Debug)]
struct Bound {
    kind: Kind,
    stop: watch::Sender<bool>,
    active: Arc<AtomicU64>,
    permits: Arc<Semaphore>,
    max_connections: usize,
}

/// Every address the daemon accepts on.
#[derive(Debug, Default)]
pub struct ListenerSet {
    bound: Mutex<HashMap<SocketAddr, Bound>>,
}

/// `[[tcp]]` proxies have no `max_connections` key; they get the listener default.
const TCP_MAX_CONNECTIONS: usize = 10_000;

/// Every (address, kind, name, max_connections) a config asks for.
fn wanted(config: &Config) -> Vec<(SocketAddr, Kind, String, usize)> {
    let mut out = Vec::new();
    for l in &config.listeners {
        if let Some(a) = l.http {
            out.push((
                a,
                Kind::Http,
                format!("listener {:?} (http)", l.name),
                l.max_connections,
            ));
        }
        if let Some(a) = l.https {
            out.push((
                a,
                Kind::Https,
                format!("listener {:?} (https)", l.name),
                l.max_connections,
            ));
        }
    }
    for t in &config.tcp {
        out.push((
            t.listen,
            Kind::Tcp,
            format!("tcp proxy {:?}", t.name),
            TCP_MAX_CONNECTIONS,
        ));
    }
    out
}

impl ListenerSet {
    /// Binds every address of `config` that is not bound already (or is
    /// bound for another kind of traffic). Nothing is accepted yet.
    pub async fn bind_new(&self, config: &Config) -> Result<Vec<Pending>, BindError> {
        let already: HashMap<SocketAddr, Kind> =
            self.lock().iter().map(|(a, b)| (*a, b.kind)).collect();
        let mut pending = Vec::new();
        for (addr, kind, what, _) in wanted(config) {
            if already.get(&addr) == Some(&kind) {
                continue;
            }
            if already.contains_key(&addr) {
                // Same address, other kind: the old socket must go first.
                // Rare enough that we accept a brief gap on this address.
                self.stop(addr);
            }
            let listener =
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| BindError { what, addr, source })?;
            pending.push(Pending {
                addr,
                kind,
                listener,
            });
        }
        Ok(pending)
    }

    /// Starts accepting on `pending`, stops addresses `config` no longer
    /// has, and applies changed connection limits. Call after the swap.
    pub fn activate(&self, shared: &Arc<Shared>, pending: Vec<Pending>, config: &Config) {
        let wanted = wanted(config);
        let mut bound = self.lock();
        for p in pending {
            let max = wanted
                .iter()
                .find(|w| w.0 == p.addr)
                .map_or(10_000, |w| w.3);
            let (stop, stop_rx) = watch::channel(false);
            let active = Arc::new(AtomicU64::new(0));
            let permits = Arc::new(Semaphore::new(max));
            tokio::spawn(accept::run(
                shared.clone(),
                p.listener,
                p.addr,
                p.kind,
                stop_rx,
                active.clone(),
                permits.clone(),
            ));
            bound.insert(
                p.addr,
                Bound {
                    kind: p.kind,
                    stop,
                    active,
                    permits,
                    max_connections: max,
                },
            );
        }
        bound.retain(|addr, b| {
            let keep = wanted.iter().any(|w| w.0 == *addr && w.1 == b.kind);
            if !keep {
                b.stop.send_replace(true);
            }
            keep
        });
        for (addr, _, _, max) in &wanted {
            if let Some(b) = bound.get_mut(addr) {
                if *max > b.max_connections {
                    b.permits.add_permits(max - b.max_connections);
                } else if *max < b.max_connections {
                    // Permits held by open connections come back later;
                    // forgetting what is free now is the best we can do.
                    b.permits.forget_permits(b.max_connections - max);
                }
                b.max_connections = *max;
            }
        }
    }

    /// The live count of open connections on `addr`, for connections that
    /// outlive their HTTP serving (upgrades) to stay counted.
    pub fn active_counter(&self, addr: &SocketAddr) -> Option<Arc<AtomicU64>> {
        self.lock().get(addr).map(|b| b.active.clone())
    }

    /// Open connections on `addr`.
    pub fn active_connections(&self, addr: &SocketAddr) -> u64 {
        self.lock()
            .get(addr)
            .map_or(0, |b| b.active.load(Ordering::Relaxed))
    }

    /// Stops accepting everywhere (shutdown).
    pub fn stop_all(&self) {
        for b in self.lock().values() {
            b.stop.send_replace(true);
        }
    }

    fn stop(&self, addr: SocketAddr) {
        if let Some(b) = self.lock().remove(&addr) {
            b.stop.send_replace(true);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Bound>> {
        self.bound.lock().unwrap_or_else(|e| e.into_inner())
    }
}
