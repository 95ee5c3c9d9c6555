//! Upstream pools: servers, their state, and picking one per request.
//!
//! A [`Upstream`] belongs to one snapshot (one config generation), but the
//! state of its servers — counters, health, idle connections — lives in
//! [`ServerState`]s kept by the [`Registry`] under a stable key (upstream
//! name, address, scheme), so a reload that keeps a server keeps its pool
//! and health. Balancer state (round-robin cursor, smooth-weighted
//! counters) is kept per upstream name the same way. The registry drops the
//! state of servers no config uses.
//!
//! Health has two sources, both folded into [`ServerState::is_healthy`]:
//! active checks (`health`, one task per checked server) and passive
//! checks on live traffic (`passive`, a cooldown after consecutive failures).

mod balance;
pub mod conn;
pub mod health;
mod lease;
pub mod passive;
mod pool;
mod report;
pub mod wire;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::{self, Algorithm, HealthCheck, Passive, Scheme};

pub use conn::{Conn, SendError, Upgraded};
pub use lease::UpstreamBody;
pub use pool::{connect, ConnectError};

/// One server's long-lived state, shared by every generation that uses it.
#[derive(Debug)]
pub struct ServerState {
    /// The `[[upstream]]` it belongs to (for logs).
    pub upstream: Arc<str>,
    /// As written in the config.
    pub address: String,
    /// Whether connections to it use TLS (`scheme = "https"`); part of the
    /// registry key, so it never changes for a given state.
    pub tls: bool,
    /// Host to connect to.
    pub host: String,
    /// Port to connect to.
    pub port: u16,
    /// Requests (or TCP connections) in flight to this server.
    pub active: AtomicU64,
    /// Requests (or TCP connections) sent since start.
    pub requests: AtomicU64,
    /// Failed attempts since start.
    pub failures: AtomicU64,
    /// The active checks' verdict (true when checks are off).
    pub healthy: AtomicBool,
    /// Check history and the last transition, for `status`.
    pub record: Mutex<health::Record>,
    /// Consecutive live-traffic failures and the cooldown they caused.
    pub passive: passive::PassiveState,
    /// Idle keep-alive connections.
    pub pool: pool::Pool,
}

impl ServerState {
    fn new(upstream: &str, server: &config::Server, tls: bool) -> Self {
        ServerState {
            upstream: upstream.into(),
            address: server.address.clone(),
            tls,
            host: server.host.clone(),
            port: server.port,
            active: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            healthy: AtomicBool::new(true),
            record: Mutex::default(),
            passive: passive::PassiveState::default(),
            pool: pool::Pool::default(),
        }
    }

    /// Whether the balancer may pick this server: active checks pass (or
    /// are off) and no passive cooldown is running.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed) && self.passive_available()
    }
}

/// Balancer state of one upstream, kept across reloads by name.
#[derive(Debug, Default)]
pub(crate) struct BalancerState {
    /// Round-robin (and least-connections tie-break) cursor.
    cursor: AtomicUsize,
    /// Smooth weighted round robin: current weight per server address.
    current: Mutex<HashMap<String, i64>>,
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
    /// Active checks, if configured.
    pub health_check: Option<HealthCheck>,
    /// Passive checks, if configured.
    pub passive: Option<Passive>,
    /// Servers, in config order.
    pub servers: Vec<Arc<ServerState>>,
    /// Per-server weights, in config order.
    pub weights: Vec<u32>,
    /// Balancer state, shared across generations.
    balancer: Arc<BalancerState>,
}

impl Upstream {
    /// Picks a healthy server not in `tried`, or `None` when none is left.
    pub fn pick(&self, client: IpAddr, tried: &[usize]) -> Option<usize> {
        balance::pick(self, client, tried)
    }
}

type ServerKey = (String, String, bool);

/// Keeps server state, balancer state and health-check tasks alive across
/// reloads.
#[derive(Debug, Default)]
pub struct Registry {
    servers: Mutex<HashMap<ServerKey, Arc<ServerState>>>,
    balancers: Mutex<HashMap<String, Arc<BalancerState>>>,
    checks: Mutex<HashMap<ServerKey, health::Planned>>,
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
                        .or_insert_with(|| Arc::new(ServerState::new(&up.name, s, https)))
                        .clone()
                })
                .collect()
        };
        let balancer = lock(&self.balancers)
            .entry(up.name.clone())
            .or_default()
            .clone();
        Upstream {
            name: up.name.as_str().into(),
            algorithm: up.algorithm,
            scheme: up.scheme,
            preserve_host: up.preserve_host,
            retries: up.retries,
            health_check: up.health_check.clone(),
            passive: up.passive.clone(),
            servers,
            weights: up.servers.iter().map(|s| s.weight.max(1)).collect(),
            balancer,
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
        lock(&self.balancers).retain(|name, _| config.upstreams.iter().any(|u| &u.name == name));
    }
}

/// A poisoned registry lock only means another thread panicked while
/// holding it; the maps are still consistent (every update is one insert or
/// one retain), so keep going rather than take the whole proxy down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
