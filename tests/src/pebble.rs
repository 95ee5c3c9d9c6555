//! `Pebble`: a real ACME server (Let's Encrypt's test CA) per test, with
//! its mock DNS (`pebble-challtestsrv`) answering every name with
//! 127.0.0.1, on ports of its own.
//!
//! Pebble's validation authority dials the identifier's address on fixed
//! ports (`httpPort` for HTTP-01, `tlsPort` for TLS-ALPN-01), so each test
//! gives it the proxy's own HTTP and HTTPS ports. Pebble's API is served
//! with a certificate from a throwaway CA made here ([`Pebble::tls_ca_path`]
//! is what proxyd's `[acme] ca_certificate` trusts); the certificates it
//! issues chain to a root that is new on every start ([`Pebble::issuer_root`]).
//!
//! The Debian package `pebble` must be installed: without it every ACME
//! test fails loudly rather than passing silently.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tempfile::TempDir;

use crate::certs::TestCa;
use crate::ports;
use crate::proxy::short_tempdir;
use crate::tls::{client_config, tls_get};
use crate::wait::patience;

/// A running Pebble and its mock DNS server.
pub struct Pebble {
    pebble: Child,
    dns: Child,
    api: SocketAddr,
    management: SocketAddr,
    ca: TestCa,
    dir: TempDir,
}

/// Panics with an install hint when `bin` is not on `PATH`.
fn require(bin: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(bin).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{bin}` is not installed: the ACME tests need a real ACME server. \
         Install the Debian package: apt-get install -y pebble (.ci/run does)"
    );
}

impl Pebble {
    /// Starts Pebble validating HTTP-01 on `http_port` and TLS-ALPN-01 on
    /// `tls_port` of 127.0.0.1, issuing certificates valid for
    /// `validity_secs`, and waits until its directory answers.
    pub async fn start(http_port: u16, tls_port: u16, validity_secs: u64) -> Pebble {
        require("pebble");
        require("pebble-challtestsrv");
        // Another process may take a probed port before Pebble binds it;
        // that shows as an early exit naming the address, and one retry
        // with fresh ports settles it (as `TestProxy::start` does).
        let mut pebble = Pebble::spawn(http_port, tls_port, validity_secs);
        match pebble.wait_ready().await {
            Ok(()) => pebble,
            Err(logs) if logs.contains("address already in use") => {
                drop(pebble);
                let mut pebble = Pebble::spawn(http_port, tls_port, validity_secs);
                if let Err(logs) = pebble.wait_ready().await {
                    panic!("{logs}");
                }
                pebble
            }
            Err(logs) => panic!("{logs}"),
        }
    }

    fn spawn(http_port: u16, tls_port: u16, validity_secs: u64) -> Pebble {
        let dir = short_tempdir();
        let ca = TestCa::new();
        let leaf = ca.leaf(&["127.0.0.1", "localhost"]);
        let (cert, key) = leaf.write(dir.path(), "pebble-server");
        std::fs::write(dir.path().join("pebble-tls-ca.pem"), ca.pem()).expect("write CA");

        let api = ports::free_addr();
        let management = ports::free_addr();
        let dns_addr = ports::free_addr();
        let dns_management = ports::free_addr();
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": api.to_string(),
                "managementListenAddress": management.to_string(),
                "certificate": cert,
                "privateKey": key,
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false,
                "certificateValidityPeriod": validity_secs,
            }
        });
        let config_path = dir.path().join("pebble-config.json");
        std::fs::write(&config_path, config.to_string()).expect("write pebble config");

        let log = |name: &str| File::create(dir.path().join(name)).expect("create log");
        let dns = Command::new("pebble-challtestsrv")
            .args(["-dns01", &dns_addr.to_string()])
            .args(["-management", &dns_management.to_string()])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdin(Stdio::null())
            .stdout(log("challtestsrv.log"))
            .stderr(log("challtestsrv.err.log"))
            .spawn()
            .expect("spawn pebble-challtestsrv");
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(&config_path)
            .args(["-dnsserver", &dns_addr.to_string()])
            .current_dir(dir.path())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdin(Stdio::null())
            .stdout(log("pebble.log"))
            .stderr(log("pebble.err.log"))
            .spawn()
            .expect("spawn pebble");
        Pebble {
            pebble,
            dns,
            api,
            management,
            ca,
            dir,
        }
    }

    /// Waits until the directory answers; on an early exit or timeout,
    /// what went wrong with both servers' logs.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + patience();
        let config = client_config(&[self.ca.der()], &[b"http/1.1"]);
        loop {
            if let Ok(Some(status)) = self.pebble.try_wait() {
                return Err(format!(
                    "pebble exited early with {status}\n{}",
                    self.logs()
                ));
            }
            if let Ok(Some(status)) = self.dns.try_wait() {
                return Err(format!(
                    "pebble-challtestsrv exited early with {status}\n{}",
                    self.logs()
                ));
            }
            let host = self.api.to_string();
            if let Ok((resp, _)) =
                tls_get(self.api, config.clone(), "127.0.0.1", &host, "/dir").await
            {
                if resp.status() == 200 {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "pebble did not answer within {:?}\n{}",
                    patience(),
                    self.logs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The ACME directory URL.
    pub fn directory_url(&self) -> String {
        format!("https://{}/dir", self.api)
    }

    /// The CA that signed Pebble's own HTTPS certificate (PEM file).
    pub fn tls_ca_path(&self) -> PathBuf {
        self.dir.path().join("pebble-tls-ca.pem")
    }

    /// The root that issued certificates chain to (new on every start).
    pub async fn issuer_root(&self) -> CertificateDer<'static> {
        let config = client_config(&[self.ca.der()], &[b"http/1.1"]);
        let host = self.management.to_string();
        let (resp, _) = tls_get(self.management, config, "127.0.0.1", &host, "/roots/0")
            .await
            .expect("fetch pebble's root");
        assert_eq!(resp.status(), 200, "{}", resp.text());
        CertificateDer::from_pem_slice(&resp.body).expect("root PEM")
    }

    /// Pebble's and the mock DNS server's logs.
    pub fn logs(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        format!(
            "--- pebble ---\n{}{}\n--- challtestsrv ---\n{}{}",
            read("pebble.log"),
            read("pebble.err.log"),
            read("challtestsrv.log"),
            read("challtestsrv.err.log")
        )
    }

    /// The temp dir (config, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in [&mut self.pebble, &mut self.dns] {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}
