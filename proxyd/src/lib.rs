//! proxyd: a reverse proxy and load balancer.
//!
//! # Layout
//! - [`config`]: `proxyd.toml` → validated runtime model (one code path for
//!   startup, reload, `--check` and `proxyctl check-config`).
//! - [`snapshot`]: one config generation compiled for the request path
//!   (host and route tables), swapped atomically by [`reload`].
//! - [`state`]: what every task shares: the `ArcSwap<Snapshot>`, counters,
//!   the reload lock, listeners, shutdown.
//! - [`startup`]: the ordered, fail-fast startup and the signal loop.
//! - [`listener`]: bound sockets kept across reloads; accept loops.
//! - [`proxy`]: the per-request pipeline (route → respond | redirect |
//!   forward), headers, errors → statuses.
//! - [`upstream`]: servers, their long-lived state, pools, balancing and
//!   health checks; [`tcp`]: the `[[tcp]]` layer-4 proxy.
//! - [`limit`]: rate limiting, in-flight caps and adaptive shedding.
//! - [`tls`]: TLS termination (SNI → certificate, HTTP-01, redirect, 421);
//!   [`acme`]: certificates obtained and renewed in the background.
//! - [`admin`]: the Unix admin socket (`proxyd-protocol`).
//! - [`health`]: `/health`, `/ready`, `/metrics`; [`metrics`]: every metric;
//!   [`gauges`]: gauges set from live state at scrape time.
//! - [`watch`]: `watch_config`, reload when the file changes.
//! - [`notify`], [`logging`], [`shutdown`], [`body`], [`cli`].

pub mod acme;
pub mod admin;
pub mod body;
pub mod cli;
pub mod config;
pub mod gauges;
pub mod health;
pub mod limit;
pub mod listener;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod prefixed;
pub mod proxy;
pub mod reload;
pub mod shutdown;
pub mod snapshot;
pub mod startup;
pub mod state;
pub mod tcp;
pub mod tls;
pub mod upstream;
pub mod watch;
