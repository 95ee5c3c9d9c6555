//! The end-to-end harness: the real `proxyd` and `proxyctl` binaries against
//! real upstreams on loopback.
//!
//! Every test builds its own world and shares nothing with other tests:
//!
//! ```no_run
//! # async fn demo() {
//! use proxyd_e2e::*;
//! let up = TestUpstream::http1().route("/api/x", "ok").spawn().await; // 127.0.0.1:0
//! let px = ProxyConfig::new()
//!     .upstream(Upstream::new("api", [up.addr()]))
//!     .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
//!     .start()
//!     .await; // waits for `ready` on the admin socket
//! assert_eq!(px.get("app.test", "/api/x").await.status(), 200);
//! px.ctl().args(["reload"]).assert().code(0);
//! # }
//! ```
//!
//! # Layout
//! - [`admin`]: the admin-socket client (one line out, one JSON line back).
//! - [`bins`]: where the binaries are (`$PROXYD_BIN`, `$PROXYCTL_BIN`, else `target/<profile>/`).
//! - [`ports`]: free loopback ports from one process-wide cursor.
//! - [`config`]: the config file a test describes ([`ProxyConfig`], [`Site`], [`Route`], [`Upstream`]).
//! - [`proxy`]: [`TestProxy`], one `proxyd` child with its temp dir, logs and admin socket.
//! - [`upstream`]: [`TestUpstream`], a recording hyper server.
//! - [`backend`]: [`Backend`], a named server with a switchable `/healthz`
//!   and held requests (balancing and health tests).
//! - [`tcp_echo`]: [`TcpEcho`], a line echo server for `[[tcp]]` (half-close aware).
//! - [`prometheus`]: a strict parser of the `/metrics` text.
//! - [`client`]: a one-connection-per-request HTTP/1.1 client.
//! - [`pattern`]: large bodies generated and checked chunk by chunk.
//! - [`gate`]: [`GatedUpstream`], holds responses until the test opens the gate.
//! - [`notify`]: [`NotifySocket`], a fake systemd `NOTIFY_SOCKET`.
//! - [`ctl`]: `proxyctl` preset with `--socket`, via assert_cmd.
//! - [`raw`]: raw TCP requests (malformed and ambiguous input) and their responses.
//! - [`ws`]: `WsEcho`, a WebSocket echo server.
//! - [`certs`]: a throwaway CA and leaves (rcgen); [`tls`]: a rustls client with
//!   chosen roots, SNI and ALPN; [`pebble`]: a real ACME server per test.
//! - [`hostile`]: upstreams that hang, reset mid-body or flood;
//!   [`procstat`]: a process's RSS, fds and threads from `/proc`, and the fd limit;
//!   [`h2raw`]: hand-made HTTP/2 frames (malformed on purpose); [`load`]: bounded keep-alive load.
//! - [`wait`]: [`patience`] (`PROXYD_TEST_PATIENCE_MS`) and polling helpers.

pub mod admin;
pub mod backend;
pub mod bins;
pub mod certs;
pub mod client;
pub mod config;
pub mod ctl;
pub mod gate;
pub mod h2raw;
pub mod hostile;
pub mod load;
pub mod notify;
pub mod pattern;
pub mod pebble;
pub mod ports;
pub mod procstat;
pub mod prometheus;
pub mod proxy;
pub mod raw;
pub mod tcp_echo;
pub mod tls;
pub mod upstream;
pub mod wait;
pub mod ws;

pub use backend::{server_status, wait_for_health, Backend};
pub use client::{get, TestResponse};
pub use config::{line_of, q, ProxyConfig, Route, Site, Upstream};
pub use ctl::Ctl;
pub use gate::GatedUpstream;
pub use notify::{Notification, NotifySocket};
pub use pattern::{PatternBody, PatternCheck};
pub use prometheus::scrape;
pub use proxy::{short_tempdir, TestProxy};
pub use tcp_echo::TcpEcho;
pub use upstream::{RecordedRequest, TestUpstream};
pub use wait::{eventually, eventually_async, patience, wait_for_generation};
