//! End-to-end tests: the real `proxyd` and `proxyctl` binaries, spawned per
//! test against real upstreams on loopback. See `tests/README.md`.
//!
//! Build the binaries first: `cargo build --bins && cargo test -p proxyd-e2e`
//! (or `cargo test --workspace`, which builds them).

// `unwrap` is fine in tests and their helpers (STYLE §3.3).
#![allow(clippy::unwrap_used)]

mod acme;
mod admin;
mod admin_socket;
mod balance;
mod drain;
mod failover;
mod faults;
mod faults_soak;
mod faults_storage;
mod h1_server;
mod h2;
mod headers;
mod health;
mod idle;
mod lifecycle;
mod limits;
mod metrics;
mod notify;
mod pool;
mod proxyctl;
mod reload;
mod reload_load;
mod routing;
mod security;
mod security_tls;
mod smuggling;
mod startup;
mod streaming;
mod tcp;
mod tls;
mod trailers;
mod upgrade;
mod upstream_tls;
mod upstream_wire;
