//! Upstream pools: servers, their state, and picking one per request.
//!
//! A [`Upstream`] belongs to one snapshot (one config generation), but the
//! state of its servers — counters, health, idle connections — lives in
//! [`ServerState`]s kept by the [`Registry`] under a stable key (upstream
//! name, address, scheme), so a reload that keeps a server keeps its pool
//! and health. The registry drops the state of servers no config uses.

mod balance;
mod pool;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::{self, Algorithm, Scheme};

pub use pool::{connect, ConnectError, Sender};

/// One server's long-lived state, shared by every generation that uses it.
#[derive(Debug)]
pub struct ServerState {
    /// As written in the config.
    pub address: String,
    /// Host to connect to.
    pub host: String,
    /// Port to connect to.
    pub port: u16,
    /// Requests in flight to this server.
    pub active: AtomicU64,
    /// Requests sent since start.
    pub requests: AtomicU64,
    /// Failed attempts since start.
    pub failures: AtomicU64,
    /// Whether the balancer may pick it (health checks flip this).
    pub healthy: AtomicBool,
    /// Idle keep-alive connections.
    pub pool: pool::Pool,
}

impl ServerState {
    fn new(server: &config::Server) -> Self {
        ServerState {
            address: server.address.clone(),
            host: server.host.clone(),
            port: server.port,
            active: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            healthy: AtomicBool::new(true),
            pool: pool::Pool::default(),
        }
    }

    /// Whether the balancer may pick this server.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
}

/// An upstream pool as one config generation sees it.
#[derive(Debug)]
pub struct Upstream {
    /// The `[[upstream]]` name.
    pub name: Arc<str>,
    /// How servers are picked.
    pub algorithm: Algorithm,
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Keep the client's Host header.
    pub preserve_host: bool,
    /// Extra attempts after a connect failure.
    pub retries: u32,
    /// Servers, in config order.
    pub servers: Vec<Arc<ServerState>>,
    /// Per-server weights, in config order.
    pub weights: Vec<u32>,
    /// Balancer cursor, shared across generations.
    cursor: Arc<AtomicUsize>,
}

impl Upstream {
    /// Picks a healthy server not in `tried`, or `None` when none is left.
    pub fn pick(&self, client: IpAddr, tried: &[usize]) -> Option<usize> {
        balance::pick(self, client, tried)
    }
}

type ServerKey = (String, String, bool);

/// Keeps server state and balancer cursors alive across reloads.
#[derive(Debug, Default)]
pub struct Registry {
    servers: Mutex<HashMap<ServerKey, Arc<ServerState>>>,
    cursors: Mutex<HashMap<String, Arc<AtomicUsize>>>,
}

impl Registry {
    /// Builds the runtime view of `up`, reusing the state of servers that an
    /// earlier generation already had.
    pub fn upstream(&self, up: &config::Upstream) -> Upstream {
        let https = up.scheme == Scheme::Https;
        let servers = {
            let mut map = lock(&self.servers);
            up.servers
                .iter()
                .map(|s| {
                    map.entry((up.name.clone(), s.address.clone(), https))
                        .or_insert_with(|| Arc::new(ServerState::new(s)))
                        .clone()
                })
                .collect()
        };
        let cursor = lock(&self.cursors)
            .entry(up.name.clone())
            .or_default()
            .clone();
        Upstream {
            name: up.name.as_str().into(),
            algorithm: up.algorithm,
            scheme: up.scheme,
            preserve_host: up.preserve_host,
            retries: up.retries,
            servers,
            weights: up.servers.iter().map(|s| s.weight.max(1)).collect(),
            cursor,
        }
    }

    /// Forgets the state of servers and upstreams `config` no longer has.
    pub fn retain(&self, config: &config::Config) {
        let mut keep = std::collections::HashSet::new();
        for up in &config.upstreams {
            for s in &up.servers {
                keep.insert((
                    up.name.clone(),
                    s.address.clone(),
                    up.scheme == Scheme::Https,
                ));
            }
        }
        lock(&self.servers).retain(|k, _| keep.contains(k));
        lock(&self.cursors).retain(|name, _| config.upstreams.iter().any(|u| &u.name == name));
    }
}

/// A poisoned registry lock only means another thread panicked while
/// holding it; the maps are still consistent (every update is one insert or
/// one retain), so keep going rather than take the whole proxy down.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
