//! A TLS client for the tests: rustls trusting only the given roots, with
//! the SNI chosen by the test (independent of the address dialed) and the
//! ALPN protocols it offers, no session resumption; then one HTTP/1.1 or
//! HTTP/2 request. Also the server side of test upstreams that speak TLS.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Version};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::certs::Leaf;
use crate::client::TestResponse;
use crate::wait::patience;

/// What a handshake showed.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The leaf certificate the server presented.
    pub leaf: CertificateDer<'static>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<Vec<u8>>,
}

/// A client config trusting exactly `roots` and offering `alpn`.
pub fn client_config(roots: &[CertificateDer<'static>], alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for r in roots {
        store.add(r.clone()).expect("add root");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // Every connection does a full handshake, so the certificate the test
    // sees is the one the server presents now, not a resumed session's.
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// A server config presenting `leaf` (no client auth) and offering `alpn`.
pub fn server_config(leaf: &Leaf, alpn: &[&[u8]]) -> Arc<ServerConfig> {
    let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).expect("leaf key PEM");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der.clone()], key)
        .expect("leaf certificate and key");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// Connects to `addr` and completes a handshake with SNI `sni` (an IP
/// address means: no SNI, as rustls sends none for IPs).
pub async fn connect(
    addr: SocketAddr,
    sni: &str,
    config: Arc<ClientConfig>,
) -> anyhow::Result<(TlsStream<TcpStream>, Handshake)> {
    let name = ServerName::try_from(sni.to_owned())?;
    let tcp = tokio::time::timeout(patience(), TcpStream::connect(addr)).await??;
    let stream = tokio::time::timeout(patience(), TlsConnector::from(config).connect(name, tcp))
        .await
        .map_err(|_| anyhow::anyhow!("TLS handshake with {addr} timed out"))??;
    let (_, conn) = stream.get_ref();
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first().cloned())
        .ok_or_else(|| anyhow::anyhow!("no server certificate"))?;
    let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
    Ok((stream, Handshake { leaf, alpn }))
}

/// Sends `GET path` with `host` over an established TLS stream, as HTTP/2
/// when `h2` was negotiated, else HTTP/1.1, and collects the response.
pub async fn get_over(
    stream: TlsStream<TcpStream>,
    hs: &Handshake,
    host: &str,
    path: &str,
) -> anyhow::Result<TestResponse> {
    let io = TokioIo::new(stream);
    let resp = if hs.alpn.as_deref() == Some(b"h2") {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = Request::builder()
            .method(Method::GET)
            .version(Version::HTTP_2)
            .uri(format!("https://{host}{path}"))
            .body(Empty::<Bytes>::new())?;
        tokio::time::timeout(patience(), sender.send_request(req)).await??
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(http::header::HOST, host)
            .body(Empty::<Bytes>::new())?;
        tokio::time::timeout(patience(), sender.send_request(req)).await??
    };
    let version = resp.version();
    let (parts, body) = resp.into_parts();
    let body = tokio::time::timeout(patience(), body.collect())
        .await??
        .to_bytes();
    let mut headers = parts.headers;
    headers.insert(
        "x-test-version",
        http::HeaderValue::from_static(if version == Version::HTTP_2 {
            "h2"
        } else {
            "http/1.1"
        }),
    );
    Ok(TestResponse {
        status: parts.status,
        headers,
        body,
    })
}

/// Connects with SNI `sni`, then `GET path` with `Host: host`.
pub async fn tls_get(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    sni: &str,
    host: &str,
    path: &str,
) -> anyhow::Result<(TestResponse, Handshake)> {
    let (stream, hs) = connect(addr, sni, config).await?;
    let resp = get_over(stream, &hs, host, path).await?;
    Ok((resp, hs))
}
