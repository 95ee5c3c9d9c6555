//! Keep-alive connections to one upstream server.
//!
//! A connect failure is known *before* the request body is touched (which
//! makes retrying on another server possible for any request), and a
//! pooled connection that turns out closed hands the unsent request back
//! to be sent on a fresh one.
//!
//! Nothing watches an idle connection: whether the server closed it (or
//! sent stray bytes) shows in its socket's readiness, checked when it is
//! taken out ([`Conn::is_idle_open`]). Each checkout also looks at the
//! oldest idle connection and drops it if it is stale, so connections the
//! server closed do not linger while newer ones are in use.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::conn::{Conn, Io};

/// Idle connections kept per server; more are closed when returned.
const MAX_IDLE: usize = 128;
/// An idle connection older than this is closed rather than reused: most
/// servers close keep-alive connections after 60–75 s, and reusing one at
/// that moment races with the server's close.
const IDLE_TTL: Duration = Duration::from_secs(50);

/// Idle connections, most recently used last.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<Vec<(Box<Conn>, Instant)>>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.idle.lock().map(|v| v.len()).unwrap_or(0);
        f.debug_struct("Pool").field("idle", &n).finish()
    }
}

impl Pool {
    /// Takes the most recently used live connection, if any.
    pub fn checkout(&self) -> Option<Box<Conn>> {
        let now = Instant::now();
        let fresh = |since: Instant| now.saturating_duration_since(since) < IDLE_TTL;
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() > 1 {
            if let Some((oldest, since)) = idle.first_mut() {
                if !fresh(*since) || !oldest.is_idle_open() {
                    idle.remove(0);
                }
            }
        }
        while let Some((mut conn, since)) = idle.pop() {
            if fresh(since) && conn.is_idle_open() {
                return Some(conn);
            }
        }
        None
    }

    /// Returns a connection whose last exchange is complete.
    pub fn checkin(&self, mut conn: Box<Conn>) {
        conn.shrink_idle();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() >= MAX_IDLE {
            idle.remove(0);
        }
        idle.push((conn, Instant::now()));
    }

    /// Closes every idle connection (used when the server leaves the config).
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Why no connection could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The TCP connect did not finish within `connect_timeout`.
    #[error("connect timed out after {0:?}")]
    Timeout(Duration),
    /// The TCP connect failed (refused, unreachable, DNS).
    #[error("connect failed")]
    Io(#[source] std::io::Error),
    /// The server name is not a valid DNS name or IP address for TLS.
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
    /// The TLS handshake failed (including certificate verification).
    #[error("TLS handshake failed")]
    Tls(#[source] std::io::Error),
}

/// The TLS client for `https` upstreams: system roots (`rustls-native-certs`,
/// which honours `SSL_CERT_FILE` / `SSL_CERT_DIR`), aws-lc-rs, HTTP/1.1 by
/// ALPN. Built once, on first use.
fn tls_connector() -> TlsConnector {
    static CONNECTOR: OnceLock<TlsConnector> = OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(error = %e, "loading system root certificates");
            }
            let (added, ignored) = roots.add_parsable_certificates(found.certs);
            tracing::debug!(added, ignored, "root certificates for https upstreams");
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let mut config = match rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
            {
                Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
                // Only if the provider lacked every default version, which
                // aws-lc-rs does not: fall back to the process default.
                Err(_) => rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            };
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            TlsConnector::from(Arc::new(config))
        })
        .clone()
}

/// Opens a new HTTP/1.1 connection to `host:port` (over TLS, verifying the
/// server's certificate for `host`, when `tls`).
pub async fn connect(
    host: &str,
    port: u16,
    tls: bool,
    timeout: Duration,
) -> Result<Box<Conn>, ConnectError> {
    let stream = match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Err(_) => return Err(ConnectError::Timeout(timeout)),
        Ok(Err(e)) => return Err(ConnectError::Io(e)),
        Ok(Ok(s)) => s,
    };
    // Small proxied messages must not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    if !tls {
        return Ok(Conn::new(Io::Tcp(stream)));
    }
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| ConnectError::ServerName(host.to_owned()))?;
    let tls = tokio::time::timeout(timeout, tls_connector().connect(name, stream)).await;
    match tls {
        Err(_) => Err(ConnectError::Timeout(timeout)),
        Ok(Err(e)) => Err(ConnectError::Tls(e)),
        Ok(Ok(s)) => Ok(Conn::new(Io::Tls(Box::new(s)))),
    }
}
