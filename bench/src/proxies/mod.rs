//! The proxies under comparison and the equivalent configs they get.
//!
//! Each proxy is given the same job: listen on one 127.0.0.1 port (plain
//! HTTP, or TLS with ALPN h2 + http/1.1), forward everything to the one
//! backend over HTTP/1.1 with upstream keep-alive, one worker, no access
//! log, no rate or connection limits below what the scenario needs. The
//! per-proxy files hold the config text and say where they differ.

mod haproxy;
pub mod nginx;
mod proxyd;

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::error::{BenchError, Result};

pub use proxyd::render as render_proxyd;

/// A proxy the benchmark can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Proxy {
    /// This project, the binary given by `--proxyd`.
    Proxyd,
    /// nginx (Debian package), `worker_processes 1`.
    Nginx,
    /// HAProxy (Debian package), `nbthread 1`.
    Haproxy,
}

impl Proxy {
    /// Lowercase name, as in the table and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Proxy::Proxyd => "proxyd",
            Proxy::Nginx => "nginx",
            Proxy::Haproxy => "haproxy",
        }
    }
}

/// A certificate and key for the TLS scenario (ECDSA P-256, for 127.0.0.1).
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// PEM certificate.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// Certificate followed by key (HAProxy's `crt` format).
    pub combined: PathBuf,
}

impl CertFiles {
    /// Generates a self-signed certificate for `127.0.0.1` into `dir`.
    pub fn generate(dir: &Path) -> Result<CertFiles> {
        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_string(),
            "localhost".to_string(),
        ])?;
        let cert = certified.cert.pem();
        let key = certified.signing_key.serialize_pem();
        let files = CertFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            combined: dir.join("combined.pem"),
        };
        write(&files.cert, &cert)?;
        write(&files.key, &key)?;
        write(&files.combined, &format!("{cert}{key}"))?;
        Ok(files)
    }
}

/// What one proxy instance is asked to do.
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    /// A directory of its own for config, logs and sockets.
    pub dir: &'a Path,
    /// Port on 127.0.0.1 it listens on.
    pub port: u16,
    /// Terminate TLS with this certificate (ALPN h2, http/1.1).
    pub tls: Option<&'a CertFiles>,
    /// The backend every request goes to.
    pub backend: SocketAddr,
    /// 0: one catch-all site; N: N sites named [`site_host`]`(i)` (plus a
    /// wildcard `*.` of each where the proxy supports it).
    pub sites: usize,
    /// Client connections it must accept at once.
    pub max_connections: usize,
    /// A peer (nginx, HAProxy) does the header work proxyd does by
    /// contract (SPEC §6): the client's Host, X-Forwarded-For/-Proto/-Host,
    /// X-Real-IP and a new X-Request-Id upstream, the id in the response.
    /// proxyd does it either way.
    pub same_headers: bool,
}

/// The host of site `i` in a many-sites config.
pub fn site_host(i: usize) -> String {
    format!("site{i}.bench.test")
}

/// How to start a prepared proxy.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Executable.
    pub program: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// The config file it reads.
    pub config: PathBuf,
    /// proxyd's admin socket (for reload timing).
    pub admin_socket: Option<PathBuf>,
}

/// Writes `proxy`'s config for `setup` and says how to start it.
pub fn prepare(proxy: Proxy, setup: &Setup<'_>, proxyd_bin: &Path) -> Result<Launch> {
    fs::create_dir_all(setup.dir)?;
    match proxy {
        Proxy::Proxyd => proxyd::prepare(setup, proxyd_bin),
        Proxy::Nginx => nginx::prepare_proxy(setup),
        Proxy::Haproxy => haproxy::prepare(setup),
    }
}

/// Writes a file, naming it on failure.
pub fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|source| BenchError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The peers' configs with and without proxyd's header work.
    #[test]
    fn peers_add_proxyds_headers_unless_bare() {
        let dir = tempfile::tempdir().expect("temp dir");
        for same_headers in [true, false] {
            let setup = Setup {
                dir: dir.path(),
                port: 8080,
                tls: None,
                backend: "127.0.0.1:9090".parse().expect("address"),
                sites: 0,
                max_connections: 64,
                same_headers,
            };
            for (proxy, wanted) in [
                (
                    Proxy::Nginx,
                    &[
                        "proxy_set_header Host $http_host;",
                        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                        "proxy_set_header X-Real-IP $remote_addr;",
                        "proxy_set_header X-Request-Id $request_id;",
                        "add_header X-Request-Id $request_id always;",
                    ][..],
                ),
                (
                    Proxy::Haproxy,
                    &[
                        "option forwardfor",
                        "http-request set-header X-Real-IP %[src]",
                        "http-request set-header X-Forwarded-Proto http",
                        "unique-id-header X-Request-Id",
                        "http-response set-header X-Request-Id %[unique-id]",
                    ][..],
                ),
            ] {
                let launch = prepare(proxy, &setup, Path::new("proxyd")).expect("config");
                let text = fs::read_to_string(&launch.config).expect("config written");
                for line in wanted {
                    assert_eq!(
                        text.contains(line),
                        same_headers,
                        "{proxy:?} {line}:\n{text}"
                    );
                }
            }
        }
    }
}
