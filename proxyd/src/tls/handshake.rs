//! The accept side of an HTTPS listener: read the ClientHello, answer an
//! ACME TLS-ALPN-01 validation if that is what it is, otherwise complete
//! the handshake with the listener's current config.
//!
//! `LazyConfigAcceptor` lets us look at the hello (SNI, ALPN) before
//! choosing a config, so challenge certificates never mix with the served
//! ones. The whole handshake is bounded by `header_read_timeout`: a client
//! that connects and stays silent holds a slot no longer than a slow
//! request head would.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::server::{Acceptor, ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;

use crate::snapshot::routing::normalize_host;
use crate::state::Shared;

/// The ALPN protocol of TLS-ALPN-01 validations (RFC 8737).
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Runs the TLS handshake on an accepted connection. Returns the stream and
/// the normalized SNI, or `None` when the connection is done (refused,
/// failed, timed out, or an ACME validation that has been answered).
pub async fn accept(
    shared: &Shared,
    addr: SocketAddr,
    stream: TcpStream,
) -> Option<(TlsStream<TcpStream>, Option<Arc<str>>)> {
    let timeout = shared.snapshot.load().config.defaults.header_read_timeout;
    match tokio::time::timeout(timeout, handshake(shared, addr, stream)).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            tracing::debug!(%addr, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%addr, "TLS handshake timed out");
            None
        }
    }
}

async fn handshake(
    shared: &Shared,
    addr: SocketAddr,
    stream: TcpStream,
) -> std::io::Result<Option<(TlsStream<TcpStream>, Option<Arc<str>>)>> {
    let start = LazyConfigAcceptor::new(Acceptor::default(), stream).await?;
    let hello = start.client_hello();
    let sni: Option<Arc<str>> = hello
        .server_name()
        .and_then(normalize_host)
        .map(|h| Arc::from(h.as_ref()));
    let acme_validation = hello
        .alpn()
        .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
    if acme_validation {
        let Some(config) = sni
            .as_deref()
            .and_then(|name| challenge_config(shared, name))
        else {
            tracing::debug!(%addr, sni = sni.as_deref().unwrap_or("-"), "TLS-ALPN-01 hello without a pending challenge");
            return Ok(None);
        };
        let mut stream = start.into_stream(config).await?;
        tracing::info!(
            sni = sni.as_deref().unwrap_or("-"),
            "answered a TLS-ALPN-01 validation"
        );
        let _ = stream.shutdown().await;
        return Ok(None);
    }
    let Some(config) = shared.tls.server_config(&addr) else {
        tracing::debug!(%addr, "no TLS config for this listener; closing");
        return Ok(None);
    };
    let stream = start.into_stream(config).await?;
    Ok(Some((stream, sni)))
}

/// A config that presents the TLS-ALPN-01 certificate for `name`.
fn challenge_config(shared: &Shared, name: &str) -> Option<Arc<ServerConfig>> {
    let key = shared.tls.acme()?.alpn_certificate(name)?;
    let mut config = ServerConfig::builder_with_provider(super::certs::provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .ok()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(key)));
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    Some(Arc::new(config))
}

/// Always the same certificate (a TLS-ALPN-01 challenge answer).
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}
