//! Certificate choice by SNI for one HTTPS listener of one generation.
//!
//! The resolver reuses the snapshot's `HostTable` (exact, longest wildcard,
//! then the `*` default site), so the certificate a client gets and the site
//! its requests route to can never disagree. A name no site on the listener
//! claims, or a site without `tls`, resolves to nothing: rustls then aborts
//! the handshake with an alert instead of showing another site's
//! certificate. A client without SNI gets the `*` default site's
//! certificate, if that site has one.

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::acme::AcmeManager;
use crate::snapshot::routing::{normalize_host, HostTable};

/// Where a site's certificate comes from, for the resolver.
#[derive(Debug, Clone)]
pub(super) enum Slot {
    /// Loaded from files when the generation was built.
    File(Arc<CertifiedKey>),
    /// Held by the ACME manager (may arrive later, or be renewed).
    Acme(Arc<str>),
}

/// Picks the certificate for a ClientHello.
#[derive(Debug)]
pub(super) struct SniResolver {
    /// Host → site index, as the snapshot routes.
    pub hosts: HostTable,
    /// By site index; `None` for sites without TLS.
    pub slots: Arc<Vec<Option<Slot>>>,
    /// For `Slot::Acme`.
    pub acme: Option<Arc<AcmeManager>>,
}

impl SniResolver {
    /// The site index a server name (or its absence) selects.
    pub fn site_for(&self, server_name: Option<&str>) -> Option<usize> {
        match server_name {
            Some(name) => self.hosts.find(&normalize_host(name)?),
            None => self.hosts.default_site(),
        }
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let site = self.site_for(hello.server_name())?;
        match self.slots.get(site)?.as_ref()? {
            Slot::File(key) => Some(key.clone()),
            Slot::Acme(name) => self.acme.as_ref()?.cert(name),
        }
    }
}
