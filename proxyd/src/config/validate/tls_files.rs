//! Certificate and key files of `tls = { cert, key }` and `[acme]
//! ca_certificate`: readable, PEM, matching each other (errors); covering the
//! site's hosts and not about to expire (warnings).

use std::io::ErrorKind;
use std::ops::Range;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::extensions::GeneralName;

use crate::config::report::Report;
use crate::config::HostPattern;

/// A certificate expiring sooner than this is worth a warning.
const EXPIRY_WARNING_SECS: i64 = 7 * 86_400;

/// Reads a file named in the config; `what` is e.g. `certificate file "/x"`.
fn read(r: &mut Report<'_>, span: &Range<usize>, path: &Path, what: &str) -> Option<Vec<u8>> {
    if path.is_dir() {
        r.tls_error(span.clone(), format!("{what} is a directory, not a file"));
        return None;
    }
    match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            let why = match e.kind() {
                ErrorKind::NotFound => "not found".to_string(),
                ErrorKind::PermissionDenied => "cannot be read: permission denied".to_string(),
                _ => format!("cannot be read: {e}"),
            };
            r.tls_error(span.clone(), format!("{what} {why}"));
            None
        }
    }
}

fn certificates(
    r: &mut Report<'_>,
    span: &Range<usize>,
    bytes: &[u8],
    what: &str,
) -> Option<Vec<CertificateDer<'static>>> {
    match CertificateDer::pem_slice_iter(bytes).collect::<Result<Vec<_>, _>>() {
        Ok(certs) if certs.is_empty() => {
            r.tls_error(
                span.clone(),
                format!(
                    "{what} contains no PEM certificate (expected \"-----BEGIN CERTIFICATE-----\")"
                ),
            );
            None
        }
        Ok(certs) => Some(certs),
        Err(e) => {
            r.tls_error(span.clone(), format!("{what} is not valid PEM: {e}"));
            None
        }
    }
}

/// `[acme] ca_certificate`: a readable PEM file with at least one certificate.
pub(super) fn check_ca(r: &mut Report<'_>, span: Range<usize>, path: &Path) {
    let what = format!("ca_certificate file \"{}\" of [acme]", path.display());
    if let Some(bytes) = read(r, &span, path, &what) {
        certificates(r, &span, &bytes, &what);
    }
}

/// A site's certificate and key files.
pub(super) fn check_pair(
    r: &mut Report<'_>,
    span: Range<usize>,
    cert: &Path,
    key: &Path,
    site: &str,
    hosts: &[HostPattern],
) {
    let cert_what = format!("certificate file \"{}\" of {site}", cert.display());
    let key_what = format!("key file \"{}\" of {site}", key.display());
    let chain =
        read(r, &span, cert, &cert_what).and_then(|b| certificates(r, &span, &b, &cert_what));
    let key_der = read(r, &span, key, &key_what).and_then(|b| match PrivateKeyDer::from_pem_slice(&b) {
        Ok(k) => Some(k),
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            r.tls_error(
                span.clone(),
                format!("{key_what} contains no PEM private key (expected \"-----BEGIN PRIVATE KEY-----\")"),
            );
            None
        }
        Err(e) => {
            r.tls_error(span.clone(), format!("{key_what} is not valid PEM: {e}"));
            None
        }
    });
    let Some(chain) = chain else { return };
    let leaf = chain[0].clone();
    if let Some(key_der) = key_der {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        match rustls::sign::CertifiedKey::from_der(chain, key_der, &provider) {
            Ok(_) => {}
            Err(rustls::Error::InconsistentKeys(_)) => r.tls_error(
                span.clone(),
                format!(
                    "certificate \"{}\" and key \"{}\" of {site} do not match",
                    cert.display(),
                    key.display()
                ),
            ),
            Err(e) => r.tls_error(span.clone(), format!("{key_what} cannot be used: {e}")),
        }
    }
    inspect_leaf(r, span, &leaf, &cert_what, hosts);
}

/// Warnings from the leaf certificate: expiry and host coverage.
fn inspect_leaf(
    r: &mut Report<'_>,
    span: Range<usize>,
    leaf: &[u8],
    what: &str,
    hosts: &[HostPattern],
) {
    let cert = match x509_parser::parse_x509_certificate(leaf) {
        Ok((_, cert)) => cert,
        Err(e) => {
            r.tls_error(
                span,
                format!("{what} does not hold a valid X.509 certificate: {e}"),
            );
            return;
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let not_after = cert.validity().not_after;
    if not_after.timestamp() < now {
        r.warn(span.clone(), format!("{what} expired on {not_after}"));
    } else if not_after.timestamp() - now < EXPIRY_WARNING_SECS {
        r.warn(
            span.clone(),
            format!("{what} expires within 7 days, on {not_after}"),
        );
    }
    let names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for host in hosts {
        if !covers(&names, host) {
            let shown = match host {
                HostPattern::Exact(h) => h.clone(),
                HostPattern::Wildcard(s) => format!("*{s}"),
                HostPattern::Any => continue,
            };
            let list: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            let list = if list.is_empty() {
                "no DNS names".into()
            } else {
                list.join(", ")
            };
            r.warn(
                span.clone(),
                format!("{what} does not cover host \"{shown}\" (it covers {list})"),
            );
        }
    }
}

/// True when one of the certificate's DNS names covers `host`.
fn covers(names: &[String], host: &HostPattern) -> bool {
    names.iter().any(|n| match host {
        HostPattern::Any => true,
        HostPattern::Wildcard(suffix) => n.strip_prefix('*') == Some(suffix.as_str()),
        HostPattern::Exact(h) => {
            n == h
                || n.strip_prefix('*').is_some_and(|suffix| {
                    h.strip_suffix(suffix)
                        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
                })
        }
    })
}
