//! Certificates as rustls serves them: PEM chain + key → `CertifiedKey`, and
//! the leaf's expiry for status and metrics.
//!
//! `config::validate` already checked the files (readable, PEM, matching);
//! this reads them again when a generation is built, because the files on
//! disk are what is served, and a file can change between the two reads.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// A certificate ready to serve.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Chain and signing key.
    pub key: Arc<CertifiedKey>,
    /// The leaf's notAfter.
    pub not_after: SystemTime,
    /// The leaf's notBefore.
    pub not_before: SystemTime,
    /// The leaf's DNS and IP names, lowercase.
    pub names: Vec<String>,
}

/// The crypto provider every TLS config of proxyd uses (aws-lc-rs).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads a PEM chain and key from files. The error says which file and why.
pub fn from_files(cert: &Path, key: &Path) -> Result<Loaded, String> {
    let chain =
        std::fs::read(cert).map_err(|e| format!("certificate file \"{}\": {e}", cert.display()))?;
    let key_pem = std::fs::read(key).map_err(|e| format!("key file \"{}\": {e}", key.display()))?;
    from_pem(&chain, &key_pem).map_err(|e| {
        format!(
            "certificate \"{}\" / key \"{}\": {e}",
            cert.display(),
            key.display()
        )
    })
}

/// Builds a servable certificate from PEM bytes (chain, leaf first; key).
pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Loaded, String> {
    let chain = CertificateDer::pem_slice_iter(chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not valid PEM: {e}"))?;
    let leaf = chain.first().cloned().ok_or("no PEM certificate")?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("no usable key: {e}"))?;
    let certified = CertifiedKey::from_der(chain, key, &provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => "certificate and key do not match".to_string(),
        e => e.to_string(),
    })?;
    let (not_before, not_after, names) = inspect(&leaf)?;
    Ok(Loaded {
        key: Arc::new(certified),
        not_after,
        not_before,
        names,
    })
}

/// notBefore, notAfter and SAN names of a DER certificate.
fn inspect(leaf: &[u8]) -> Result<(SystemTime, SystemTime, Vec<String>), String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| format!("not a valid X.509 certificate: {e}"))?;
    let time = |t: i64| UNIX_EPOCH + Duration::from_secs(u64::try_from(t).unwrap_or(0));
    let names = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => <[u8; 4]>::try_from(*b)
                        .ok()
                        .map(|a| std::net::IpAddr::from(a).to_string()),
                    16 => <[u8; 16]>::try_from(*b)
                        .ok()
                        .map(|a| std::net::IpAddr::from(a).to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok((
        time(cert.validity().not_before.timestamp()),
        time(cert.validity().not_after.timestamp()),
        names,
    ))
}

/// Seconds since the Unix epoch (0 before it), for metrics.
pub fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
