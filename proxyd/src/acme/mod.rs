//! ACME: certificates obtained and renewed in the background (instant-acme).
//!
//! One [`AcmeManager`] per daemon when `[acme]` is configured (the section
//! is static). It owns the storage directory (`storage`), the account, the
//! certificate of every `tls = "acme"` site, and the challenge answers the
//! listeners serve while an order runs (`challenge`).
//!
//! One background task (`run`) walks the sites in order of their next due
//! time, so there is at most one order at a time per daemon, and the
//! `storage` lock keeps two daemons sharing a directory from ordering at
//! once (the second one picks up what the first stored). A site without a
//! certificate is ordered at once; one with a certificate when less than
//! `renew_before` remains (`schedule`: with jitter). A failure is retried
//! with exponential backoff and jitter; the rest of the proxy never waits
//! for any of it.

mod challenge;
mod order;
mod schedule;
mod storage;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use instant_acme::{Account, Key};
use proxyd_protocol::status::CertificateStatus;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use tokio::sync::Notify;

use crate::config;
use crate::metrics::{CertLabels, Metrics, Name};
use crate::state::Shared;
use crate::tls::certs::{self, Loaded};
use challenge::Challenges;
use storage::Storage;

/// Why ACME could not be set up or an order failed.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The storage directory or a file in it is unusable.
    #[error("ACME storage {}: {what}: {source}", path.display())]
    Storage {
        /// The directory or file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A stored file has unusable content.
    #[error("ACME storage file {}: {why}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The ACME server or the client library failed.
    #[error("ACME: {0}")]
    Client(#[from] instant_acme::Error),
    /// The order could not be completed.
    #[error("ACME order: {0}")]
    Order(String),
}

/// A site's certificate and renewal state.
#[derive(Debug)]
struct SiteState {
    hosts: Vec<String>,
    cert: Option<Loaded>,
    /// When the task looks at this site next.
    next: SystemTime,
    failures: u32,
    last_error: Option<String>,
}

/// Obtains, stores, renews and serves the ACME certificates.
pub struct AcmeManager {
    config: config::Acme,
    storage: Storage,
    account_key: PrivatePkcs8KeyDer<'static>,
    account: tokio::sync::Mutex<Option<Account>>,
    sites: Mutex<HashMap<String, SiteState>>,
    challenges: Challenges,
    wake: Notify,
}

impl fmt::Debug for AcmeManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcmeManager")
            .field("directory", &self.config.directory)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

fn labels(site: &str) -> CertLabels {
    CertLabels {
        site: Name(Arc::from(site)),
    }
}

/// True when the certificate names every host.
fn covers(loaded: &Loaded, hosts: &[String]) -> bool {
    hosts.iter().all(|h| loaded.names.iter().any(|n| n == h))
}

impl AcmeManager {
    /// Opens (creating) the storage directory and the account key. Fails
    /// when the directory cannot be used: startup stops with exit 4.
    pub fn open(config: &config::Acme) -> Result<AcmeManager, AcmeError> {
        let storage = Storage::open(&config.storage)?;
        let account_key = storage.account_key()?;
        Ok(AcmeManager {
            config: config.clone(),
            storage,
            account_key,
            account: tokio::sync::Mutex::new(None),
            sites: Mutex::new(HashMap::new()),
            challenges: Challenges::default(),
            wake: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SiteState>> {
        self.sites.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The certificate to serve for `site`, once there is one.
    pub fn cert(&self, site: &str) -> Option<Arc<CertifiedKey>> {
        Some(self.lock().get(site)?.cert.as_ref()?.key.clone())
    }

    /// The key authorization for a pending HTTP-01 token.
    pub fn http01(&self, token: &str) -> Option<String> {
        self.challenges.http01(token)
    }

    /// The certificate for a pending TLS-ALPN-01 validation of `name`.
    pub fn alpn_certificate(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        self.challenges.tls_alpn01(name)
    }

    /// Fills expiry, next renewal and last error of `status.site`.
    pub fn fill_status(&self, status: &mut CertificateStatus) {
        if let Some(s) = self.lock().get(&status.site) {
            status.not_after = s.cert.as_ref().map(|c| crate::tls::timestamp(c.not_after));
            status.next_renewal = Some(crate::tls::timestamp(s.next));
            status.last_error = s.last_error.clone();
        }
    }

    /// Makes `wanted` (site, hosts) the set of ACME sites: new sites start
    /// from their stored certificate if it covers their hosts, otherwise
    /// they are ordered at once; removed sites are forgotten.
    pub fn set_sites(&self, wanted: &[(String, Vec<String>)], metrics: &Metrics) {
        let now = SystemTime::now();
        let mut sites = self.lock();
        sites.retain(|name, _| {
            let keep = wanted.iter().any(|(n, _)| n == name);
            if !keep {
                metrics.certificate_expiry.remove(&labels(name));
            }
            keep
        });
        for (name, hosts) in wanted {
            if sites.get(name).is_some_and(|s| s.hosts == *hosts) {
                continue;
            }
            let mut state = SiteState {
                hosts: hosts.clone(),
                cert: sites.remove(name).and_then(|s| s.cert),
                next: now,
                failures: 0,
                last_error: None,
            };
            match self.stored(name) {
                Some(Ok(loaded)) if covers(&loaded, hosts) => {
                    tracing::info!(site = %name, "using the stored ACME certificate");
                    self.adopt(name, &mut state, loaded, metrics);
                }
                Some(Ok(_)) => {
                    tracing::info!(site = %name, "the stored certificate does not cover the site's hosts; ordering a new one");
                }
                Some(Err(e)) => {
                    tracing::warn!(site = %name, error = %e, "the stored certificate is unusable; ordering a new one");
                }
                None => {}
            }
            sites.insert(name.clone(), state);
        }
        drop(sites);
        self.wake.notify_one();
    }

    fn stored(&self, site: &str) -> Option<Result<Loaded, String>> {
        let (chain, key) = self.storage.load_cert(site)?;
        Some(certs::from_pem(&chain, &key))
    }

    /// Serves `loaded` for the site and schedules its renewal.
    fn adopt(&self, site: &str, state: &mut SiteState, loaded: Loaded, metrics: &Metrics) {
        state.next = schedule::renewal(
            SystemTime::now(),
            loaded.not_before,
            loaded.not_after,
            self.config.renew_before,
        );
        state.failures = 0;
        state.last_error = None;
        metrics
            .certificate_expiry
            .get_or_create(&labels(site))
            .set(certs::unix_secs(loaded.not_after));
        state.cert = Some(loaded);
    }

    /// True while `loaded` has more than `renew_before` left.
    fn fresh(&self, loaded: &Loaded) -> bool {
        loaded
            .not_after
            .duration_since(SystemTime::now())
            .is_ok_and(|left| left > self.config.renew_before)
    }

    /// The background task: order or renew whatever is due, one at a
    /// time, until shutdown.
    pub async fn run(self: Arc<Self>, shared: Arc<Shared>) {
        let mut shutdown = shared.shutdown.subscribe();
        loop {
            let now = SystemTime::now();
            let (due, next) = {
                let sites = self.lock();
                let due = sites
                    .iter()
                    .filter(|(_, s)| s.next <= now)
                    .min_by_key(|(_, s)| s.next)
                    .map(|(n, _)| n.clone());
                (due, sites.values().map(|s| s.next).min())
            };
            if let Some(site) = due {
                self.renew(&site, &shared.metrics).await;
                continue;
            }
            let sleep = next
                .and_then(|t| t.duration_since(now).ok())
                .unwrap_or(schedule::MAX_SLEEP)
                .min(schedule::MAX_SLEEP);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.wait_for(|v| *v) => return,
            }
        }
    }

    /// One attempt for `site`: take the lock, reuse what another daemon
    /// stored meanwhile, or order.
    async fn renew(&self, site: &str, metrics: &Metrics) {
        let Some(hosts) = self.lock().get(site).map(|s| s.hosts.clone()) else {
            return;
        };
        let result = match self.storage.try_lock() {
            Ok(Some(lock)) => {
                let result = match self.stored(site) {
                    Some(Ok(l)) if covers(&l, &hosts) && self.fresh(&l) => Ok(l),
                    _ => self.order(site, &hosts).await,
                };
                drop(lock);
                result
            }
            Ok(None) => Err(AcmeError::Order(format!(
                "another process holds the ACME lock in {}; retrying later",
                self.config.storage.display()
            ))),
            Err(e) => Err(e),
        };
        let mut sites = self.lock();
        let Some(state) = sites.get_mut(site).filter(|s| s.hosts == hosts) else {
            return; // removed or changed by a reload meanwhile
        };
        match result {
            Ok(loaded) => {
                tracing::info!(site, not_after = %crate::tls::timestamp(loaded.not_after), "certificate ready");
                self.adopt(site, state, loaded, metrics);
            }
            Err(e) => {
                state.failures = state.failures.saturating_add(1);
                state.next = schedule::backoff(SystemTime::now(), state.failures);
                let wait = state
                    .next
                    .duration_since(SystemTime::now())
                    .unwrap_or(Duration::ZERO);
                tracing::warn!(site, error = %e, failures = state.failures, retry_in = ?wait, "ACME certificate not obtained");
                state.last_error = Some(e.to_string());
            }
        }
    }

    async fn order(&self, site: &str, hosts: &[String]) -> Result<Loaded, AcmeError> {
        tracing::info!(site, ?hosts, directory = %self.config.directory, "ordering a certificate");
        let account = self.account().await?;
        let (chain, key) =
            order::issue(&account, hosts, self.config.challenge, &self.challenges).await?;
        let loaded = certs::from_pem(chain.as_bytes(), key.as_bytes())
            .map_err(|e| AcmeError::Order(format!("the issued certificate is unusable: {e}")))?;
        self.storage.save_cert(site, &chain, &key)?;
        Ok(loaded)
    }

    /// The account, registered (or found again) with the stored key on
    /// first use.
    async fn account(&self) -> Result<Account, AcmeError> {
        let mut cached = self.account.lock().await;
        if let Some(account) = cached.as_ref() {
            return Ok(account.clone());
        }
        let builder = match &self.config.ca_certificate {
            Some(root) => Account::builder_with_root(root)?,
            None => Account::builder()?,
        };
        let key = Key::from_pkcs8_der(self.account_key.clone_key())?;
        let (account, _) = builder
            .create_from_key(
                (key, PrivateKeyDer::Pkcs8(self.account_key.clone_key())),
                self.config.directory.clone(),
            )
            .await?;
        if !self.config.contact.is_empty() {
            let contact: Vec<&str> = self.config.contact.iter().map(String::as_str).collect();
            if let Err(e) = account.update_contacts(&contact).await {
                tracing::warn!(error = %e, "could not set the ACME account's contact");
            }
        }
        tracing::info!(id = account.id(), "ACME account ready");
        *cached = Some(account.clone());
        Ok(account)
    }
}
