//! Prometheus metrics (SPEC §9), served on the health port at `/metrics`.
//!
//! Every metric of the contract is declared here, once, so the rest of the
//! daemon only increments handles. Labels are bounded: listener, site,
//! upstream, server, status class, error kind, reload result — never a
//! client address or a path. The registry lives in `Shared` for the whole
//! process, so counters survive reloads.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use prometheus_client::encoding::{text, EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

/// A label value shared with the snapshot (listener, site, upstream or
/// server name): building a label set is a reference-count bump, not an
/// allocation.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Name(pub Arc<str>);

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(s.into())
    }
}

impl EncodeLabelValue for Name {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(&self.0)
    }
}

/// `listener`, `site`, `status` (class: `2xx`, `4xx`, …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Listener name (`-` if none).
    pub listener: Name,
    /// Site name (`-` if none matched).
    pub site: Name,
    /// Status class.
    pub status: &'static str,
}

/// `listener`, `site`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SiteLabels {
    /// Listener name.
    pub listener: Name,
    /// Site name.
    pub site: Name,
}

/// `listener`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    /// Listener (or `[[tcp]]`) name.
    pub listener: Name,
}

/// `upstream`, `kind` (timeout, connection, invalid_request, response_read, internal).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamErrorLabels {
    /// Upstream name.
    pub upstream: Name,
    /// Error kind.
    pub kind: &'static str,
}

/// `upstream`, `server`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServerLabels {
    /// Upstream name.
    pub upstream: Name,
    /// Server address as configured.
    pub server: Name,
}

/// `result` (`ok` | `error`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// Outcome.
    pub result: &'static str,
}

/// `site`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertLabels {
    /// Site name.
    pub site: Name,
}

fn duration_histogram() -> Histogram {
    // 1 ms … ~16 s: proxy latencies from cache hits to slow APIs.
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

/// Every metric handle. Cheap to clone handles out of (they are `Arc`s).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    families: Vec<FamilyInfo>,
    /// `proxyd_requests_total{listener,site,status}`.
    pub requests: Family<RequestLabels, Counter>,
    /// `proxyd_request_duration_seconds{listener,site}`.
    pub request_duration: Family<SiteLabels, Histogram, fn() -> Histogram>,
    /// `proxyd_upstream_errors_total{upstream,kind}`.
    pub upstream_errors: Family<UpstreamErrorLabels, Counter>,
    /// `proxyd_bytes_received_total{listener}`: bytes received from clients.
    pub bytes_received: Family<ListenerLabels, Counter>,
    /// `proxyd_bytes_sent_total{listener}`: bytes sent to clients.
    pub bytes_sent: Family<ListenerLabels, Counter>,
    /// `proxyd_shed_total{listener}`.
    pub shed: Family<ListenerLabels, Counter>,
    /// `proxyd_active_connections{listener}`.
    pub active_connections: Family<ListenerLabels, Gauge>,
    /// `proxyd_upstream_server_healthy{upstream,server}` (1 or 0).
    pub server_healthy: Family<ServerLabels, Gauge>,
    /// `proxyd_tcp_connections_total{listener}`: connections accepted by
    /// `[[tcp]]` proxies (`listener` is the `[[tcp]]` name).
    pub tcp_connections: Family<ListenerLabels, Counter>,
    /// `proxyd_rate_limited_total{listener}`.
    pub rate_limited: Family<ListenerLabels, Counter>,
    /// `proxyd_config_reloads_total{result}`.
    pub config_reloads: Family<ResultLabels, Counter>,
    /// `proxyd_config_generation`.
    pub config_generation: Gauge,
    /// `proxyd_config_last_reload_successful` (1 or 0).
    pub config_last_reload_successful: Gauge,
    /// `proxyd_certificate_expiry_timestamp_seconds{site}`.
    pub certificate_expiry: Family<CertLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("proxyd"),
            families: Vec::new(),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(duration_histogram),
            upstream_errors: Family::default(),
            bytes_received: Family::default(),
            bytes_sent: Family::default(),
            shed: Family::default(),
            active_connections: Family::default(),
            server_healthy: Family::default(),
            tcp_connections: Family::default(),
            rate_limited: Family::default(),
            config_reloads: Family::default(),
            config_generation: Gauge::default(),
            config_last_reload_successful: Gauge::default(),
            certificate_expiry: Family::default(),
        };
        m.config_last_reload_successful.set(1);
        // Both reload results exist from the start, at 0, so a scrape right
        // after startup already shows every outcome a dashboard plots.
        for result in ["ok", "error"] {
            drop(m.config_reloads.get_or_create(&ResultLabels { result }));
        }
        let r = &mut m.registry;
        let f = &mut m.families;
        add(
            r,
            f,
            "requests",
            "Requests answered",
            Kind::Counter,
            m.requests.clone(),
        );
        add(
            r,
            f,
            "request_duration_seconds",
            "Time from request head to response head",
            Kind::Histogram,
            m.request_duration.clone(),
        );
        add(
            r,
            f,
            "upstream_errors",
            "Failed upstream attempts by kind",
            Kind::Counter,
            m.upstream_errors.clone(),
        );
        add(
            r,
            f,
            "bytes_received",
            "Bytes received from clients",
            Kind::Counter,
            m.bytes_received.clone(),
        );
        add(
            r,
            f,
            "bytes_sent",
            "Bytes sent to clients",
            Kind::Counter,
            m.bytes_sent.clone(),
        );
        add(
            r,
            f,
            "shed",
            "Requests shed with 503",
            Kind::Counter,
            m.shed.clone(),
        );
        add(
            r,
            f,
            "active_connections",
            "Open client connections",
            Kind::Gauge,
            m.active_connections.clone(),
        );
        add(
            r,
            f,
            "upstream_server_healthy",
            "1 if the balancer may pick the server",
            Kind::Gauge,
            m.server_healthy.clone(),
        );
        add(
            r,
            f,
            "tcp_connections",
            "Connections accepted by [[tcp]] proxies",
            Kind::Counter,
            m.tcp_connections.clone(),
        );
        add(
            r,
            f,
            "rate_limited",
            "Requests refused with 429",
            Kind::Counter,
            m.rate_limited.clone(),
        );
        add(
            r,
            f,
            "config_reloads",
            "Reload attempts by result",
            Kind::Counter,
            m.config_reloads.clone(),
        );
        add(
            r,
            f,
            "config_generation",
            "The running config generation",
            Kind::Gauge,
            m.config_generation.clone(),
        );
        add(
            r,
            f,
            "config_last_reload_successful",
            "1 if the last reload was applied",
            Kind::Gauge,
            m.config_last_reload_successful.clone(),
        );
        add(
            r,
            f,
            "certificate_expiry_timestamp_seconds",
            "Unix time when the site's certificate expires",
            Kind::Gauge,
            m.certificate_expiry.clone(),
        );
        m
    }

    /// The exposition of every metric in the Prometheus text format 0.0.4.
    pub fn encode(&self) -> String {
        let mut open_metrics = String::new();
        // Writing into a String cannot fail.
        let _ = text::encode(&mut open_metrics, &self.registry);
        to_prometheus_text(&open_metrics, &self.families)
    }
}

/// A metric family's type, as the text format names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A registered family: its full exposed name (`proxyd_requests_total`),
/// help text and type.
#[derive(Debug)]
struct FamilyInfo {
    name: String,
    help: &'static str,
    kind: Kind,
}

fn add<M: Metric>(
    registry: &mut Registry,
    families: &mut Vec<FamilyInfo>,
    name: &'static str,
    help: &'static str,
    kind: Kind,
    metric: M,
) {
    registry.register(name, help, metric);
    let suffix = if kind == Kind::Counter { "_total" } else { "" };
    families.push(FamilyInfo {
        name: format!("proxyd_{name}{suffix}"),
        help,
        kind,
    });
}

/// The prometheus-client crate writes OpenMetrics; `/metrics` serves the
/// Prometheus text format 0.0.4, which every scraper and parser reads:
/// counters are declared under their sample name (`…_total`), there is no
/// `# EOF` or `# UNIT`, and a family with no sample yet is still declared
/// (HELP and TYPE), so every SPEC metric name is visible from the start.
fn to_prometheus_text(open_metrics: &str, families: &[FamilyInfo]) -> String {
    let mut out = String::with_capacity(open_metrics.len() + 64 * families.len());
    let mut declared = std::collections::HashSet::new();
    for line in open_metrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") || line.starts_with("# HELP ") {
            continue;
        }
        if let Some(decl) = line.strip_prefix("# TYPE ") {
            let name = decl.split(' ').next().unwrap_or(decl);
            let family = families
                .iter()
                .find(|f| f.name == name || f.name.strip_suffix("_total") == Some(name));
            if let Some(f) = family {
                let _ = writeln!(out, "# HELP {} {}.", f.name, f.help);
                let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.as_str());
                declared.insert(f.name.as_str());
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for f in families
        .iter()
        .filter(|f| !declared.contains(f.name.as_str()))
    {
        let _ = writeln!(out, "# HELP {} {}.", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.as_str());
    }
    out
}

/// The metric handles one listener's requests use, resolved once per config
/// generation (`Snapshot::build`) so the request path bumps counters
/// without hashing label sets. Per-site handles are created on a site's
/// first request, so thousands of quiet sites add no series.
#[derive(Debug)]
pub struct ListenerHandles {
    listener: Name,
    /// `proxyd_bytes_sent_total{listener}`.
    pub bytes_sent: Counter,
    /// `proxyd_bytes_received_total{listener}`.
    pub bytes_received: Counter,
    /// Indexed like `Snapshot::sites`.
    sites: Vec<SiteHandles>,
    /// Requests that matched no site.
    no_site: SiteHandles,
}

#[derive(Debug)]
struct SiteHandles {
    site: Name,
    /// By status class: 1xx … 5xx.
    requests: [OnceLock<Counter>; 5],
    duration: OnceLock<Histogram>,
}

impl SiteHandles {
    fn new(site: Name) -> Self {
        SiteHandles {
            site,
            requests: Default::default(),
            duration: OnceLock::new(),
        }
    }
}

impl Metrics {
    /// Handles for `listener`, whose sites are `sites` (in snapshot order).
    pub fn listener_handles(&self, listener: &Arc<str>, sites: &[Arc<str>]) -> ListenerHandles {
        let labels = ListenerLabels {
            listener: Name(listener.clone()),
        };
        ListenerHandles {
            listener: labels.listener.clone(),
            bytes_sent: self.bytes_sent.get_or_create(&labels).clone(),
            bytes_received: self.bytes_received.get_or_create(&labels).clone(),
            sites: sites
                .iter()
                .map(|s| SiteHandles::new(Name(s.clone())))
                .collect(),
            no_site: SiteHandles::new(Name(Arc::from("-"))),
        }
    }

    /// Counts one answered request of `site` (an index into the snapshot's
    /// sites, `None` when none matched) and observes its duration.
    pub fn record_request(
        &self,
        h: &ListenerHandles,
        site: Option<usize>,
        status: u16,
        seconds: f64,
    ) {
        let s = site.and_then(|i| h.sites.get(i)).unwrap_or(&h.no_site);
        let class = status_class(status);
        let idx = usize::from(class.as_bytes()[0] - b'1').min(4);
        s.requests[idx]
            .get_or_init(|| {
                self.requests
                    .get_or_create(&RequestLabels {
                        listener: h.listener.clone(),
                        site: s.site.clone(),
                        status: class,
                    })
                    .clone()
            })
            .inc();
        s.duration
            .get_or_init(|| {
                self.request_duration
                    .get_or_create(&SiteLabels {
                        listener: h.listener.clone(),
                        site: s.site.clone(),
                    })
                    .clone()
            })
            .observe(seconds);
    }
}

/// `2xx`, `4xx`, … for a status code.
pub fn status_class(code: u16) -> &'static str {
    match code {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
