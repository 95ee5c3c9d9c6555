//! Admin commands → reply lines.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use proxyd_protocol::status::{
    CertificateStatus, ConfigStatus, LastReload, ListenerStatus, UpstreamStatus,
};
use proxyd_protocol::{Command, ReadyBody, Reply, StatusReport};

use crate::config::TlsSource;
use crate::reload;
use crate::state::Shared;

/// Runs one command and returns the reply line.
pub(super) async fn handle(shared: &Arc<Shared>, cmd: Command) -> String {
    match cmd {
        Command::Ready => Reply::ok(ReadyBody {
            ready: shared.ready.load(Ordering::Acquire),
            generation: shared.generation(),
        })
        .to_line(),
        Command::Status => Reply::ok(status(shared)).to_line(),
        Command::Reload => match reload::reload(shared).await {
            Ok(body) => Reply::ok(body).to_line(),
            Err(e) => Reply::error(e.message, Some(e.generation)).to_line(),
        },
    }
}

/// RFC 3339 in UTC, to the second.
pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Builds the `status` report from the running snapshot and counters.
pub fn status(shared: &Shared) -> StatusReport {
    let snap = shared.snapshot.load_full();
    let config = &snap.config;
    let last_reload = shared
        .last_reload
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .map(|r| LastReload {
            at: timestamp(r.at),
            result: if r.ok { "ok" } else { "error" }.to_string(),
            message: r.message,
        });

    let mut listeners: Vec<ListenerStatus> = config
        .listeners
        .iter()
        .map(|l| {
            let active = l
                .http
                .iter()
                .chain(l.https.iter())
                .map(|a| shared.listeners.active_connections(a))
                .sum();
            ListenerStatus {
                name: l.name.clone(),
                http: l.http.map(|a| a.to_string()),
                https: l.https.map(|a| a.to_string()),
                kind: Some("http".into()),
                active_connections: active,
            }
        })
        .collect();
    listeners.extend(config.tcp.iter().map(|t| ListenerStatus {
        name: t.name.clone(),
        http: Some(t.listen.to_string()),
        https: None,
        kind: Some("tcp".into()),
        active_connections: shared.listeners.active_connections(&t.listen),
    }));

    let upstreams = config
        .upstreams
        .iter()
        .filter_map(|u| snap.upstreams.get(&u.name))
        .map(|u| UpstreamStatus {
            name: u.name.to_string(),
            algorithm: u.algorithm.as_str().to_string(),
            servers: u.servers.iter().map(|s| s.status()).collect(),
        })
        .collect();

    let certificates = config
        .sites
        .iter()
        .filter_map(|site| {
            let source = match site.tls.as_ref()? {
                TlsSource::Acme => "acme",
                TlsSource::Files { .. } => "file",
            };
            Some(CertificateStatus {
                site: site.name.clone(),
                hosts: site.hosts.iter().map(host_text).collect(),
                source: source.into(),
                not_after: None,
                next_renewal: None,
                last_error: Some("TLS is not served yet by this build".into()),
            })
        })
        .collect();

    StatusReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        pid: std::process::id(),
        uptime_secs: shared.started.elapsed().as_secs(),
        ready: shared.ready.load(Ordering::Acquire),
        draining: shared.draining.load(Ordering::Acquire),
        sites: config.sites.len(),
        config: ConfigStatus {
            path: shared.config_path.display().to_string(),
            generation: snap.generation,
            sha256: snap.sha256.clone(),
            loaded_at: timestamp(snap.loaded_at),
            last_reload,
        },
        listeners,
        upstreams,
        certificates,
        requests_total: shared.requests_total.load(Ordering::Relaxed),
    }
}

fn host_text(h: &crate::config::HostPattern) -> String {
    use crate::config::HostPattern;
    match h {
        HostPattern::Exact(h) => h.clone(),
        HostPattern::Wildcard(suffix) => format!("*{suffix}"),
        HostPattern::Any => "*".into(),
    }
}
