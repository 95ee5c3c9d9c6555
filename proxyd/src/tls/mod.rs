//! TLS termination: one rustls `ServerConfig` per HTTPS listener and config
//! generation, with the certificate picked by SNI.
//!
//! A generation's certificates are loaded (`prepare`) before the reload
//! swaps the snapshot, so a file that cannot be read rejects the reload and
//! the running certificates stay; `install` then swaps them all at once.
//! ACME certificates live in [`crate::acme::AcmeManager`] and are looked up
//! at handshake time, so one that arrives or is renewed in the background
//! is served without a reload.
//!
//! - `certs`: PEM files → `CertifiedKey`, leaf expiry and names.
//! - `resolver`: SNI → site → certificate, via the snapshot's host tables.
//! - `handshake`: the accept side (`LazyConfigAcceptor`, TLS-ALPN-01).
//! - `front`: what plain HTTP answers before routing (HTTP-01, redirect to
//!   HTTPS) and the SNI/Host check (421).

pub mod certs;
pub mod front;
mod handshake;
mod resolver;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use proxyd_protocol::status::CertificateStatus;
use rustls::ServerConfig;

use crate::acme::{AcmeError, AcmeManager};
use crate::config::{Config, HostPattern, TlsSource};
use crate::metrics::{CertLabels, Metrics, Name};
use crate::snapshot::Snapshot;
use crate::state::Shared;
pub use handshake::accept;
use resolver::{Slot, SniResolver};

/// ALPN protocols offered on HTTPS listeners, preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Why TLS could not be set up (startup: exit 4; reload: rejected).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A site's certificate files could not be used.
    #[error("site {site:?}: {what}")]
    Certificate {
        /// The site.
        site: String,
        /// What is wrong with which file.
        what: String,
    },
    /// rustls refused the configuration (should not happen).
    #[error("building the TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// A site wants ACME but ACME was not set up (`[acme]` is static: a
    /// reload cannot add it).
    #[error("site {0:?} has tls = \"acme\" but [acme] was not configured when proxyd started (restart to add it)")]
    NoAcme(String),
    /// The ACME account or storage could not be set up.
    #[error(transparent)]
    Acme(#[from] AcmeError),
}

/// The TLS state of the daemon: the current generation's configs and the
/// ACME manager (if `[acme]` is configured).
#[derive(Default)]
pub struct Tls {
    current: ArcSwap<Generation>,
    acme: OnceLock<Arc<AcmeManager>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("listeners", &self.current.load().configs.len())
            .field("acme", &self.acme.get().is_some())
            .finish()
    }
}

/// The certificates of one config generation, ready to be installed.
#[derive(Debug, Default)]
pub struct Generation {
    configs: HashMap<SocketAddr, Arc<ServerConfig>>,
    files: HashMap<String, certs::Loaded>,
    acme_sites: Vec<(String, Vec<String>)>,
}

/// Startup's TLS step: opens ACME storage and the account key (if `[acme]`
/// is configured), loads every certificate of the running snapshot and
/// starts the ACME background task. Missing ACME certificates are obtained
/// in the background; their sites' handshakes fail until they arrive.
pub fn start(shared: &Arc<Shared>) -> Result<(), TlsError> {
    let snap = shared.snapshot.load_full();
    if let Some(acme) = &snap.config.acme {
        let manager = Arc::new(AcmeManager::open(acme)?);
        let _ = shared.tls.acme.set(manager);
    }
    let generation = shared.tls.prepare(&snap)?;
    shared.tls.install(generation, &shared.metrics);
    if let Some(manager) = shared.tls.acme.get() {
        tokio::spawn(manager.clone().run(shared.clone()));
    }
    Ok(())
}

impl Tls {
    /// Loads every certificate `snap` needs and builds the listeners'
    /// configs. Nothing changes until [`install`](Self::install).
    pub fn prepare(&self, snap: &Snapshot) -> Result<Generation, TlsError> {
        let mut generation = Generation::default();
        let mut slots = Vec::with_capacity(snap.config.sites.len());
        for site in &snap.config.sites {
            let slot = match &site.tls {
                None => None,
                Some(TlsSource::Files { cert, key }) => {
                    let loaded =
                        certs::from_files(cert, key).map_err(|what| TlsError::Certificate {
                            site: site.name.clone(),
                            what,
                        })?;
                    let slot = Slot::File(loaded.key.clone());
                    generation.files.insert(site.name.clone(), loaded);
                    Some(slot)
                }
                Some(TlsSource::Acme) => {
                    if self.acme.get().is_none() {
                        return Err(TlsError::NoAcme(site.name.clone()));
                    }
                    let hosts = site
                        .hosts
                        .iter()
                        .filter_map(|h| match h {
                            HostPattern::Exact(h) => Some(h.clone()),
                            _ => None,
                        })
                        .collect();
                    generation.acme_sites.push((site.name.clone(), hosts));
                    Some(Slot::Acme(site.name.as_str().into()))
                }
            };
            slots.push(slot);
        }
        let slots = Arc::new(slots);
        for l in &snap.config.listeners {
            let Some(addr) = l.https else { continue };
            let Some(routes) = snap.listeners.get(&addr) else {
                continue;
            };
            let resolver = SniResolver {
                hosts: routes.hosts.clone(),
                slots: slots.clone(),
                acme: self.acme.get().cloned(),
            };
            let mut config = ServerConfig::builder_with_provider(certs::provider())
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(resolver));
            config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
            generation.configs.insert(addr, Arc::new(config));
        }
        Ok(generation)
    }

    /// Swaps in a prepared generation (after the snapshot swap) and tells
    /// the ACME manager which sites it now serves.
    pub fn install(&self, generation: Generation, metrics: &Metrics) {
        let old = self.current.load_full();
        for site in old.files.keys() {
            if !generation.files.contains_key(site) {
                metrics.certificate_expiry.remove(&labels(site));
            }
        }
        for (site, loaded) in &generation.files {
            metrics
                .certificate_expiry
                .get_or_create(&labels(site))
                .set(certs::unix_secs(loaded.not_after));
        }
        if let Some(acme) = self.acme.get() {
            acme.set_sites(&generation.acme_sites, metrics);
        }
        self.current.store(Arc::new(generation));
    }

    /// The TLS config of the HTTPS listener on `addr`, if it has one.
    fn server_config(&self, addr: &SocketAddr) -> Option<Arc<ServerConfig>> {
        self.current.load().configs.get(addr).cloned()
    }

    /// The ACME manager, if `[acme]` is configured.
    pub fn acme(&self) -> Option<&Arc<AcmeManager>> {
        self.acme.get()
    }

    /// `certificates` of the admin `status` reply, one per TLS site.
    pub fn status(&self, config: &Config) -> Vec<CertificateStatus> {
        let current = self.current.load();
        config
            .sites
            .iter()
            .filter_map(|site| {
                let hosts = site.hosts.iter().map(host_text).collect();
                let mut status = CertificateStatus {
                    site: site.name.clone(),
                    hosts,
                    ..Default::default()
                };
                match site.tls.as_ref()? {
                    TlsSource::Files { .. } => {
                        status.source = "file".into();
                        status.not_after = current
                            .files
                            .get(&site.name)
                            .map(|l| timestamp(l.not_after));
                    }
                    TlsSource::Acme => {
                        status.source = "acme".into();
                        if let Some(acme) = self.acme.get() {
                            acme.fill_status(&mut status);
                        }
                    }
                }
                Some(status)
            })
            .collect()
    }
}

/// RFC 3339 in UTC, to the second (as the rest of `status`).
pub fn timestamp(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn labels(site: &str) -> CertLabels {
    CertLabels {
        site: Name(Arc::from(site)),
    }
}

/// A host pattern as written in the config.
pub fn host_text(h: &HostPattern) -> String {
    match h {
        HostPattern::Exact(h) => h.clone(),
        HostPattern::Wildcard(suffix) => format!("*{suffix}"),
        HostPattern::Any => "*".into(),
    }
}
