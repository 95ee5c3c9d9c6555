//! One generation of the running configuration, compiled for the request
//! path and swapped in atomically on reload.
//!
//! A request loads the current snapshot once (`ArcSwap::load_full`) and uses
//! it to the end, so it is routed entirely by an old or entirely by a new
//! generation, never a mix. Nothing in here is mutated after `build`; state
//! that must outlive a generation lives in `upstream::Registry`.

pub mod routing;

use std::collections::HashMap;

use fnv::FnvHashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use crate::config::{self, Config, HeaderRules, Limits, RouteAction};
use crate::metrics::{ListenerHandles, Metrics};
use crate::upstream::{Registry, Upstream};
use routing::{HostTable, RouteTable};

/// A compiled, immutable config generation.
#[derive(Debug)]
pub struct Snapshot {
    /// 1 at start, +1 per successful reload.
    pub generation: u64,
    /// SHA-256 of the config file bytes, lowercase hex.
    pub sha256: String,
    /// When this generation was built.
    pub loaded_at: SystemTime,
    /// The validated config it was built from.
    pub config: Arc<Config>,
    /// Listener routing, keyed by every address a listener is bound to.
    /// Looked up once per request: FNV, not SipHash (see `routing`).
    pub listeners: FnvHashMap<SocketAddr, ListenerRoutes>,
    /// Sites in config order (indexes are what the host tables hold).
    pub sites: Vec<Site>,
    /// Upstreams by name.
    pub upstreams: HashMap<String, Arc<Upstream>>,
}

/// What one listener serves.
#[derive(Debug)]
pub struct ListenerRoutes {
    /// The `[[listener]]` name.
    pub name: Arc<str>,
    /// Host → site index.
    pub hosts: HostTable,
    /// Answered 200 on this listener before routing, if set.
    pub health_path: Option<String>,
    /// Metric handles of this listener (shared by its addresses).
    pub metrics: Arc<ListenerHandles>,
}

/// A site compiled for routing.
#[derive(Debug)]
pub struct Site {
    /// The `[[site]]` name.
    pub name: Arc<str>,
    /// Resolved limits.
    pub limits: Limits,
    /// Routes in config order.
    pub routes: Vec<Route>,
    /// Path → index into `routes`.
    pub table: RouteTable,
}

/// A route compiled for answering.
#[derive(Debug)]
pub struct Route {
    /// The path prefix.
    pub path: String,
    /// Remove `path` before forwarding.
    pub strip_prefix: bool,
    /// What to do.
    pub action: Action,
    /// Rules for the upstream request.
    pub request_headers: HeaderRules,
    /// Rules for the client response.
    pub response_headers: HeaderRules,
}

/// A route's action with everything the hot path needs precomputed.
#[derive(Debug)]
pub enum Action {
    /// Fixed response.
    Respond {
        /// Status.
        status: StatusCode,
        /// Body.
        body: Bytes,
        /// Content-Type.
        content_type: HeaderValue,
    },
    /// Redirect.
    Redirect {
        /// Status.
        status: StatusCode,
        /// Location.
        location: HeaderValue,
    },
    /// Proxy to an upstream.
    Upstream(Arc<Upstream>),
}

/// Why a validated config could not be compiled (should not happen: the
/// validator checks the same things; this is the last line of defence).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(String);

impl Snapshot {
    /// Compiles `config` as generation `generation`, taking upstream server
    /// state from `registry` and metric handles from `metrics`.
    pub fn build(
        config: Arc<Config>,
        sha256: String,
        generation: u64,
        registry: &Registry,
        metrics: &Metrics,
    ) -> Result<Snapshot, BuildError> {
        let upstreams: HashMap<String, Arc<Upstream>> = config
            .upstreams
            .iter()
            .map(|u| (u.name.clone(), Arc::new(registry.upstream(u))))
            .collect();

        let mut sites = Vec::with_capacity(config.sites.len());
        for site in &config.sites {
            let mut routes = Vec::with_capacity(site.routes.len());
            for r in &site.routes {
                routes.push(compile_route(&site.name, r, &upstreams)?);
            }
            let table = RouteTable::new(routes.iter().map(|r| r.path.as_str()));
            sites.push(Site {
                name: site.name.as_str().into(),
                limits: site.limits.clone(),
                routes,
                table,
            });
        }

        let site_names: Vec<Arc<str>> = sites.iter().map(|s| s.name.clone()).collect();
        let mut listeners = FnvHashMap::default();
        for l in &config.listeners {
            let served = || {
                config
                    .sites
                    .iter()
                    .enumerate()
                    .filter(|(_, site)| site.listeners.iter().any(|n| n == &l.name))
            };
            let mut hosts = HostTable::with_capacity(served().flat_map(|(_, s)| &s.hosts));
            for (i, site) in served() {
                for h in &site.hosts {
                    hosts.insert(h, i);
                }
            }
            let name: Arc<str> = l.name.as_str().into();
            let handles = Arc::new(metrics.listener_handles(&name, &site_names));
            let addrs: Vec<SocketAddr> = l.http.iter().chain(l.https.iter()).copied().collect();
            for (k, addr) in addrs.iter().enumerate() {
                // The last address takes the table, the others a copy.
                let hosts = if k + 1 == addrs.len() {
                    std::mem::take(&mut hosts)
                } else {
                    hosts.clone()
                };
                listeners.insert(
                    *addr,
                    ListenerRoutes {
                        name: name.clone(),
                        hosts,
                        health_path: l.health_path.clone(),
                        metrics: handles.clone(),
                    },
                );
            }
        }

        Ok(Snapshot {
            generation,
            sha256,
            loaded_at: SystemTime::now(),
            config,
            listeners,
            sites,
            upstreams,
        })
    }
}

fn compile_route(
    site: &str,
    r: &config::Route,
    upstreams: &HashMap<String, Arc<Upstream>>,
) -> Result<Route, BuildError> {
    let action = match &r.action {
        RouteAction::Respond {
            status,
            body,
            content_type,
        } => Action::Respond {
            status: *status,
            body: Bytes::from(body.clone()),
            content_type: content_type.clone(),
        },
        RouteAction::Redirect { to, status } => Action::Redirect {
            status: *status,
            location: HeaderValue::from_str(to).map_err(|_| {
                BuildError(format!(
                    "route {:?} of site {site:?}: redirect target {to:?} is not a valid header value",
                    r.path
                ))
            })?,
        },
        RouteAction::Upstream(name) => Action::Upstream(
            upstreams
                .get(name)
                .cloned()
                .ok_or_else(|| BuildError(format!("route {:?} of site {site:?}: no upstream {name:?}", r.path)))?,
        ),
    };
    Ok(Route {
        path: r.path.clone(),
        strip_prefix: r.strip_prefix,
        action,
        request_headers: r.request_headers.clone(),
        response_headers: r.response_headers.clone(),
    })
}
