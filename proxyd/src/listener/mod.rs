//! Bound listening sockets, kept by address across reloads.
//!
//! A reload binds every new address *before* the new snapshot is swapped in
//! (so a port that cannot be bound rejects the reload and changes nothing),
//! starts accepting on them only after the swap, and stops the accept loops
//! of addresses the new config no longer has. Sockets whose address stays
//! are never closed, so no connection attempt is refused during a reload.
//!
//! An address that switches kind (say from a listener's `http` to a
//! `[[tcp]]` proxy) keeps its socket too: the set holds a duplicate of every
//! listening descriptor, so the reload hands a copy of the same socket to a
//! new accept loop and only then stops the old loop. The reload waits for
//! the loops it stopped to end before it replies ([`Stopping`]), so a
//! client that connects after `proxyctl reload` returned is never accepted
//! by the old kind. A reload that fails after `bind_new` just drops its
//! `Pending` sockets; nothing running moved.

mod accept;
pub mod h1;
mod idle;
mod stop;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

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
    /// A second descriptor of the same socket, kept by the set.
    dup: std::net::TcpListener,
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
    /// A duplicate of the listening descriptor: lets a reload hand the same
    /// socket to an accept loop of another kind without closing it. Taken
    /// (closed) at shutdown so the port stops completing handshakes.
    dup: Option<std::net::TcpListener>,
    stop: watch::Sender<bool>,
    /// The accept loop.
    task: JoinHandle<()>,
    active: Arc<AtomicU64>,
    permits: Arc<Semaphore>,
    max_connections: usize,
}

/// Accept loops told to stop by [`ListenerSet::activate`].
#[derive(Debug, Default)]
#[must_use = "await `ended` for the stopped accept loops to be gone"]
pub struct Stopping(Vec<JoinHandle<()>>);

impl Stopping {
    /// Resolves once every stopped accept loop has ended: no connection is
    /// accepted by them any more.
    pub async fn ended(self) {
        for task in self.0 {
            let _ = task.await;
        }
    }
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

/// A second descriptor for `listener`'s socket (dup(2)).
fn duplicate(listener: &TcpListener) -> std::io::Result<std::net::TcpListener> {
    let fd = std::os::fd::AsFd::as_fd(listener).try_clone_to_owned()?;
    Ok(std::net::TcpListener::from(fd))
}

impl ListenerSet {
    /// Binds every address of `config` that is not bound already (or is
    /// bound for another kind of traffic). Nothing is accepted yet.
    pub async fn bind_new(&self, config: &Config) -> Result<Vec<Pending>, BindError> {
        let mut pending = Vec::new();
        for (addr, kind, what, _) in wanted(config) {
            let err = |source| BindError {
                what: what.clone(),
                addr,
                source,
            };
            // Same address, other kind: take a copy of the running socket,
            // which keeps serving its old kind until the swap.
            let reused = match self.lock().get(&addr) {
                Some(b) if b.kind == kind => continue,
                Some(b) => b.dup.as_ref().map(std::net::TcpListener::try_clone),
                None => None,
            };
            let listener = match reused {
                Some(std) => TcpListener::from_std(std.map_err(err)?).map_err(err)?,
                None => TcpListener::bind(addr).await.map_err(err)?,
            };
            let dup = duplicate(&listener).map_err(err)?;
            pending.push(Pending {
                addr,
                kind,
                listener,
                dup,
            });
        }
        Ok(pending)
    }

    /// Starts accepting on `pending`, stops addresses `config` no longer
    /// has (and the old loops of addresses that switched kind), and applies
    /// changed connection limits. Call after the swap.
    pub fn activate(
        &self,
        shared: &Arc<Shared>,
        pending: Vec<Pending>,
        config: &Config,
    ) -> Stopping {
        let wanted = wanted(config);
        let mut stopping = Stopping::default();
        let mut bound = self.lock();
        for p in pending {
            let max = wanted
                .iter()
                .find(|w| w.0 == p.addr)
                .map_or(10_000, |w| w.3);
            let (stop, stop_rx) = watch::channel(false);
            let active = Arc::new(AtomicU64::new(0));
            let permits = Arc::new(Semaphore::new(max));
            let task = tokio::spawn(accept::run(
                shared.clone(),
                p.listener,
                p.addr,
                p.kind,
                stop_rx,
                active.clone(),
                permits.clone(),
            ));
            let previous = bound.insert(
                p.addr,
                Bound {
                    kind: p.kind,
                    dup: Some(p.dup),
                    stop,
                    task,
                    active,
                    permits,
                    max_connections: max,
                },
            );
            if let Some(old) = previous {
                // The address switched kind: its old accept loop stops; the
                // socket lives on in the new one.
                old.stop.send_replace(true);
                stopping.0.push(old.task);
            }
        }
        let gone: Vec<SocketAddr> = bound
            .iter()
            .filter(|(addr, b)| !wanted.iter().any(|w| w.0 == **addr && w.1 == b.kind))
            .map(|(addr, _)| *addr)
            .collect();
        for b in gone.iter().filter_map(|addr| bound.remove(addr)) {
            b.stop.send_replace(true);
            stopping.0.push(b.task);
        }
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
        stopping
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
        for b in self.lock().values_mut() {
            b.stop.send_replace(true);
            b.dup = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Bound>> {
        self.bound.lock().unwrap_or_else(|e| e.into_inner())
    }
}
