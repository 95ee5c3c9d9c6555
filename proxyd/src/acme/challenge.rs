//! Challenge answers the listeners serve while an order runs: HTTP-01
//! tokens (answered on plain HTTP listeners) and TLS-ALPN-01 certificates
//! (presented on HTTPS listeners to `acme-tls/1` clients).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use super::AcmeError;

/// Every answer currently published.
#[derive(Debug, Default)]
pub(super) struct Challenges {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// token → key authorization.
    http01: HashMap<String, String>,
    /// identifier → self-signed certificate with the acmeIdentifier extension.
    tls_alpn01: HashMap<String, Arc<CertifiedKey>>,
}

impl Challenges {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key authorization for an HTTP-01 token, if one is pending.
    pub fn http01(&self, token: &str) -> Option<String> {
        self.lock().http01.get(token).cloned()
    }

    /// The TLS-ALPN-01 certificate for `name`, if one is pending.
    pub fn tls_alpn01(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        self.lock().tls_alpn01.get(name).cloned()
    }

    /// Starts publishing answers for one order; they are withdrawn when
    /// the returned session is dropped.
    pub fn session(&self) -> Session {
        Session {
            inner: self.inner.clone(),
            tokens: Vec::new(),
            names: Vec::new(),
        }
    }
}

/// The answers one order published.
pub(super) struct Session {
    inner: Arc<Mutex<Inner>>,
    tokens: Vec<String>,
    names: Vec<String>,
}

impl Session {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes an HTTP-01 answer.
    pub fn http01(&mut self, token: &str, key_auth: &str) {
        self.lock()
            .http01
            .insert(token.to_string(), key_auth.to_string());
        self.tokens.push(token.to_string());
    }

    /// Publishes a TLS-ALPN-01 certificate for `name` (RFC 8737: the name
    /// as the only SAN, the critical acmeIdentifier extension holding
    /// SHA-256 of the key authorization).
    pub fn tls_alpn01(&mut self, name: &str, digest: &[u8]) -> Result<(), AcmeError> {
        let fail = |e: rcgen::Error| AcmeError::Order(format!("TLS-ALPN-01 certificate: {e}"));
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).map_err(fail)?;
        params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
        let key = rcgen::KeyPair::generate().map_err(fail)?;
        let cert = params.self_signed(&key).map_err(fail)?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        // Not `CertifiedKey::from_der`: its consistency check parses the
        // certificate with webpki, which rejects the critical acmeIdentifier
        // extension that is the whole point of this certificate.
        let signing = crate::tls::certs::provider()
            .key_provider
            .load_private_key(der)
            .map_err(|e| AcmeError::Order(format!("TLS-ALPN-01 key: {e}")))?;
        let certified = CertifiedKey::new(vec![cert.der().clone()], signing);
        self.lock()
            .tls_alpn01
            .insert(name.to_string(), Arc::new(certified));
        self.names.push(name.to_string());
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for t in &self.tokens {
            inner.http01.remove(t);
        }
        for n in &self.names {
            inner.tls_alpn01.remove(n);
        }
    }
}
