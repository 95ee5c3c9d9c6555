//! The runtime config model: what the proxy runs, after validation.
//!
//! Everything here is resolved: defaults applied (site, then `[defaults]`,
//! then built-in), strings turned into real types, references checked. No
//! `Option` stands for "use the default"; an `Option` here means "off" or
//! "absent" in the product sense. These types do not implement `Deserialize`:
//! the only way in is `config::load`, which validates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, HeaderValue, StatusCode};
use ipnet::IpNet;

/// A whole validated config file.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[admin]` (static).
    pub admin: Admin,
    /// `[health]` (static).
    pub health: Health,
    /// `[runtime]` (static).
    pub runtime: Runtime,
    /// `[acme]` (static), if present.
    pub acme: Option<Acme>,
    /// `[defaults]` with built-ins filled in. Sites carry their own resolved
    /// copy; this one applies where no site is known yet (the request head
    /// of a new connection: `header_read_timeout`, `max_header_size`).
    pub defaults: Limits,
    /// `[[listener]]`, in file order.
    pub listeners: Vec<Listener>,
    /// `[[site]]`, in file order.
    pub sites: Vec<Site>,
    /// `[[upstream]]`, in file order.
    pub upstreams: Vec<Upstream>,
    /// `[[tcp]]`, in file order.
    pub tcp: Vec<TcpProxy>,
}

/// `[admin]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// `None` when `socket = ""` disables the admin socket.
    pub socket: Option<PathBuf>,
    /// File mode of the socket, e.g. `0o600`.
    pub socket_mode: u32,
    /// User names allowed besides root and proxyd's own user.
    pub allowed_users: Vec<String>,
    /// Group names whose members are allowed.
    pub allowed_groups: Vec<String>,
}

/// `[health]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// `None` when `listen = ""` disables the health port.
    pub listen: Option<SocketAddr>,
}

/// `[runtime]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// Graceful shutdown budget.
    pub drain_timeout: Duration,
    /// 0 = one per CPU core.
    pub worker_threads: usize,
    /// Reload when the file changes.
    pub watch_config: bool,
    /// `json` or `text`.
    pub log_format: LogFormat,
    /// A tracing filter directive such as `info` (RUST_LOG overrides it).
    pub log_level: String,
    /// One line per request when true.
    pub access_log: bool,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// `[acme]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acme {
    /// Directory URL.
    pub directory: String,
    /// Contact URLs (`mailto:`).
    pub contact: Vec<String>,
    /// Account key and certificates live here.
    pub storage: PathBuf,
    /// Which challenge to answer.
    pub challenge: AcmeChallenge,
    /// Extra root to trust for the directory, if any.
    pub ca_certificate: Option<PathBuf>,
    /// Renew when less than this remains.
    pub renew_before: Duration,
}

/// ACME challenge type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcmeChallenge {
    /// HTTP-01 on the plain listener.
    Http01,
    /// TLS-ALPN-01 on the HTTPS listener.
    TlsAlpn01,
}

/// `[[listener]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// Unique name.
    pub name: String,
    /// Plain HTTP address.
    pub http: Option<SocketAddr>,
    /// HTTPS address.
    pub https: Option<SocketAddr>,
    /// Answer plain HTTP with 308 to HTTPS (only meaningful with both set).
    pub redirect_to_https: bool,
    /// `None` when disabled with `""`; default `/.well-known/proxyd/health`.
    pub health_path: Option<String>,
    /// Open connections beyond this wait in the kernel backlog.
    pub max_connections: usize,
}

/// `[[site]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Unique name.
    pub name: String,
    /// Host patterns, lowercased.
    pub hosts: Vec<HostPattern>,
    /// Listener names the site is served on (all listeners when omitted in the file).
    pub listeners: Vec<String>,
    /// TLS source, if the site is served over HTTPS.
    pub tls: Option<TlsSource>,
    /// Limits after applying site overrides over `[defaults]` over built-ins.
    pub limits: Limits,
    /// Routes in file order (the router sorts them by prefix length).
    pub routes: Vec<Route>,
}

/// One entry of `hosts`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// `app.example.com` (lowercase, no port, no trailing dot).
    Exact(String),
    /// `*.example.org`, stored as the suffix `.example.org`.
    Wildcard(String),
    /// `*`, the default site.
    Any,
}

/// Where a site's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// Obtained and renewed through `[acme]`.
    Acme,
    /// PEM files on disk (re-read on reload).
    Files {
        /// Certificate chain, leaf first.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
}

/// Per-site limits and timeouts (`[defaults]`, overridable per site).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Request bodies larger than this get 413.
    pub max_body_size: u64,
    /// TCP connect to an upstream server.
    pub connect_timeout: Duration,
    /// Until the upstream's response headers.
    pub request_timeout: Duration,
    /// Keep-alive and WebSocket idle.
    pub idle_timeout: Duration,
    /// The whole request head must arrive within this.
    pub header_read_timeout: Duration,
    /// Request heads larger than this get 431.
    pub max_header_size: usize,
    /// Per client IP; `None` = off.
    pub rate_limit: Option<RateLimit>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Requests in flight per listener; 0 = unlimited.
    pub max_in_flight: usize,
    /// Adaptive shedding target; `None` = off (`"0ms"`).
    pub shed_latency_target: Option<Duration>,
}

/// Token bucket parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: u32,
    /// Bucket size.
    pub burst: u32,
}

/// `[[site.route]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Path prefix, starts with `/`.
    pub path: String,
    /// What to do with a matching request.
    pub action: RouteAction,
    /// Remove `path` from the request path before forwarding.
    pub strip_prefix: bool,
    /// Rules applied to the request sent upstream.
    pub request_headers: HeaderRules,
    /// Rules applied to the response sent to the client.
    pub response_headers: HeaderRules,
}

/// Exactly one of `upstream`, `redirect`, `respond`.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteAction {
    /// Proxy to the named `[[upstream]]`.
    Upstream(String),
    /// Answer with a redirect.
    Redirect {
        /// Location.
        to: String,
        /// 301, 302, 303, 307 or 308.
        status: StatusCode,
    },
    /// Answer with a fixed response.
    Respond {
        /// Status code.
        status: StatusCode,
        /// Body.
        body: String,
        /// Content-Type header value.
        content_type: HeaderValue,
    },
}

/// `set` / `remove` header rules.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeaderRules {
    /// Headers replaced (or added) with these values.
    pub set: Vec<(HeaderName, HeaderValue)>,
    /// Headers removed.
    pub remove: Vec<HeaderName>,
}

impl HeaderRules {
    /// Whether the rules change nothing.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// `[[upstream]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Upstream {
    /// Unique name.
    pub name: String,
    /// Balancing algorithm.
    pub algorithm: Algorithm,
    /// At least one server.
    pub servers: Vec<Server>,
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Keep the client's Host (true) or use the server address.
    pub preserve_host: bool,
    /// Extra attempts on other servers after a connect failure.
    pub retries: u32,
    /// Active checks, if configured.
    pub health_check: Option<HealthCheck>,
    /// Passive checks, if configured.
    pub passive: Option<Passive>,
}

/// Balancing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// In turn.
    RoundRobin,
    /// Smooth weighted round robin.
    Weighted,
    /// Fewest requests in flight.
    LeastConnections,
    /// Consistent hash of the client IP.
    IpHash,
}

impl Algorithm {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "round_robin",
            Algorithm::Weighted => "weighted",
            Algorithm::LeastConnections => "least_connections",
            Algorithm::IpHash => "ip_hash",
        }
    }
}

/// Upstream scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP/1.1.
    Http,
    /// HTTP/1.1 over TLS, certificate verified.
    Https,
}

/// One upstream server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server {
    /// As written: `127.0.0.1:8081`, `[::1]:8081` or `backend.internal:8081`.
    pub address: String,
    /// Host part (no brackets).
    pub host: String,
    /// Port part.
    pub port: u16,
    /// Weight for `weighted` (default 1, at least 1).
    pub weight: u32,
}

/// `[upstream.health_check]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// HTTP path to GET; `None` = TCP connect check.
    pub path: Option<String>,
    /// Time between checks.
    pub interval: Duration,
    /// Per-check timeout.
    pub timeout: Duration,
    /// Passes needed to become healthy.
    pub healthy_threshold: u32,
    /// Failures needed to become unhealthy.
    pub unhealthy_threshold: u32,
}

/// `[upstream.passive]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passive {
    /// Consecutive live-traffic failures that mark a server down.
    pub max_failures: u32,
    /// How long it stays down.
    pub cooldown: Duration,
}

/// `[[tcp]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpProxy {
    /// Unique name (shares the namespace of listeners).
    pub name: String,
    /// Address to accept on.
    pub listen: SocketAddr,
    /// The `[[upstream]]` to connect to.
    pub upstream: String,
}
