//! ACME end to end against a real Pebble per test: HTTP-01 and TLS-ALPN-01
//! issuance, the issued chain served and verified against Pebble's root,
//! storage reused after a restart (same certificate, no new order),
//! renewal when less than `renew_before` remains, a failing directory
//! backing off without blocking the proxy, and an unusable storage
//! directory failing startup with exit 4.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proxyd_e2e::certs::TestCa;
use proxyd_e2e::pebble::Pebble;
use proxyd_e2e::ports;
use proxyd_e2e::tls::{client_config, tls_get};
use proxyd_e2e::{eventually_async, get, patience, q, short_tempdir, ProxyConfig, TestProxy};
use rustls::pki_types::CertificateDer;
use serde_json::Value;

const NAME: &str = "web.example.test";

struct Acme<'a> {
    http: SocketAddr,
    https: SocketAddr,
    directory: String,
    ca_certificate: &'a Path,
    storage: &'a Path,
    challenge: &'a str,
    renew_before: &'a str,
}

/// One ACME site `web` for [`NAME`], and a plain site `plain.test`.
fn config(a: &Acme<'_>) -> ProxyConfig {
    ProxyConfig::raw(&format!(
        "[admin]\nsocket = \"{{socket}}\"\n\n[health]\nlisten = \"{{health}}\"\n\n\
         [runtime]\nlog_format = \"text\"\ndrain_timeout = \"1s\"\n\n\
         [acme]\ndirectory = {}\nstorage = {}\nca_certificate = {}\nchallenge = {}\nrenew_before = {}\n\n\
         [[listener]]\nname = \"main\"\nhttp = \"{}\"\nhttps = \"{}\"\nredirect_to_https = true\n\n\
         [[site]]\nname = \"web\"\nhosts = [{}]\ntls = \"acme\"\n  [[site.route]]\n  path = \"/\"\n  \
         respond = {{ status = 200, body = \"secure\", content_type = \"text/plain\" }}\n\n\
         [[site]]\nname = \"plain\"\nhosts = [\"plain.test\"]\n  [[site.route]]\n  path = \"/\"\n  \
         respond = {{ status = 200, body = \"plain\", content_type = \"text/plain\" }}\n",
        q(&a.directory),
        q(a.storage.to_str().unwrap()),
        q(a.ca_certificate.to_str().unwrap()),
        q(a.challenge),
        q(a.renew_before),
        a.http,
        a.https,
        q(NAME),
    ))
}

/// The `web` entry of `status.certificates`.
async fn cert_status(px: &TestProxy) -> Value {
    let status = px.status().await;
    status["certificates"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["site"] == "web").cloned())
        .unwrap_or_else(|| panic!("no certificate status for site web: {status}"))
}

/// Waits until the site holds a certificate whose leaf differs from
/// `previous`, and returns that leaf (checked against Pebble's root).
async fn served_leaf(
    px: &TestProxy,
    https: SocketAddr,
    root: &CertificateDer<'static>,
    previous: Option<&CertificateDer<'static>>,
    deadline: Duration,
) -> CertificateDer<'static> {
    let client = client_config(std::slice::from_ref(root), &[b"http/1.1"]);
    let end = Instant::now() + deadline;
    loop {
        if let Ok((resp, hs)) = tls_get(https, client.clone(), NAME, NAME, "/").await {
            if Some(&hs.leaf) != previous {
                assert_eq!(resp.status(), 200);
                assert_eq!(resp.text(), "secure");
                return hs.leaf;
            }
        }
        assert!(
            Instant::now() < end,
            "no (new) certificate served within {deadline:?}; status: {}\n{}",
            cert_status(px).await,
            px.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn http01_issues_a_certificate_that_is_stored_and_reused_after_a_restart() {
    let (http, https) = (ports::free_addr(), ports::free_addr());
    let pebble = Pebble::start(http.port(), https.port(), 7_776_000).await;
    let dir = short_tempdir();
    let storage = dir.path().join("acme");
    let ca = pebble.tls_ca_path();
    let a = Acme {
        http,
        https,
        directory: pebble.directory_url(),
        ca_certificate: &ca,
        storage: &storage,
        challenge: "http-01",
        renew_before: "30d",
    };
    let root = pebble.issuer_root().await;

    let mut px = config(&a).start().await;
    // The plain site answers while the certificate is being obtained.
    assert_eq!(get(http, "plain.test", "/").await.status(), 308);
    // `wait-ready --certificates` returns once the certificate is held:
    // the very next handshake gets it, no polling needed.
    let wait = format!("{}ms", (patience() * 3).as_millis());
    px.ctl()
        .args(["--timeout", wait.as_str(), "wait-ready", "--certificates"])
        .assert()
        .code(0);
    let client = client_config(std::slice::from_ref(&root), &[b"http/1.1"]);
    let (resp, _) = tls_get(https, client, NAME, NAME, "/").await.unwrap();
    assert_eq!(resp.text(), "secure");
    let leaf = served_leaf(&px, https, &root, None, patience()).await;
    let st = cert_status(&px).await;
    assert_eq!(st["source"], "acme");
    assert!(st["not_after"].is_string(), "{st}");
    assert!(st["next_renewal"].is_string(), "{st}");
    assert!(st["last_error"].is_null(), "{st}");
    let metrics = get(px.health_addr(), "localhost", "/metrics").await.text();
    assert!(
        metrics.contains("proxyd_certificate_expiry_timestamp_seconds{site=\"web\"}"),
        "{metrics}"
    );
    assert_eq!(mode(&storage), 0o700);
    assert_eq!(mode(&storage.join("account.key")), 0o600);
    assert_eq!(mode(&storage.join("certs/web.key")), 0o600);

    // Restart on the same storage: the same certificate, served at once.
    px.sigterm();
    px.wait_exit(patience()).await;
    drop(px);
    let px = config(&a).start().await;
    let client = client_config(std::slice::from_ref(&root), &[b"http/1.1"]);
    let (resp, hs) = tls_get(https, client, NAME, NAME, "/").await.unwrap();
    assert_eq!(resp.text(), "secure");
    assert_eq!(
        hs.leaf, leaf,
        "a new certificate was ordered after the restart"
    );
    assert!(
        !px.stderr().contains("ordering a certificate"),
        "{}",
        px.log_tail(20)
    );
}

#[tokio::test]
async fn tls_alpn01_issues_a_certificate_and_renewal_replaces_it() {
    let (http, https) = (ports::free_addr(), ports::free_addr());
    // Certificates live 30 s; renew_before 26 s makes one due about 5 s
    // after issuance.
    let pebble = Pebble::start(http.port(), https.port(), 30).await;
    let dir = short_tempdir();
    let storage = dir.path().join("acme");
    let ca = pebble.tls_ca_path();
    let a = Acme {
        http,
        https,
        directory: pebble.directory_url(),
        ca_certificate: &ca,
        storage: &storage,
        challenge: "tls-alpn-01",
        renew_before: "26s",
    };
    let root = pebble.issuer_root().await;
    let px = config(&a).start().await;
    let first = served_leaf(&px, https, &root, None, patience() * 3).await;
    let second = served_leaf(&px, https, &root, Some(&first), patience() * 3).await;
    assert_ne!(first, second);
    assert!(px.stderr().contains("answered a TLS-ALPN-01 validation"));
}

#[tokio::test]
async fn a_failing_directory_backs_off_without_blocking_the_proxy() {
    let (http, https) = (ports::free_addr(), ports::free_addr());
    let dir = short_tempdir();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, TestCa::new().pem()).unwrap();
    let storage = dir.path().join("acme");
    let a = Acme {
        http,
        https,
        directory: format!("https://{}/dir", ports::dead_addr()),
        ca_certificate: &ca_path,
        storage: &storage,
        challenge: "http-01",
        renew_before: "30d",
    };
    let px = config(&a).start().await;
    assert_eq!(get(http, "plain.test", "/").await.status(), 308);
    assert!(
        eventually_async(patience(), || async {
            cert_status(&px).await["last_error"].is_string()
        })
        .await,
        "no error reported: {}",
        cert_status(&px).await
    );
    let st = cert_status(&px).await;
    assert!(st["not_after"].is_null(), "{st}");
    assert!(st["next_renewal"].is_string(), "{st}");
    let out = px
        .ctl()
        .args(["--timeout", "300ms", "wait-ready", "--certificates"])
        .assert()
        .code(4);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("site `web` has no certificate yet"), "{err}");
    // Still serving, and the ACME site's handshake fails cleanly.
    assert_eq!(get(http, "plain.test", "/").await.status(), 308);
    let client = client_config(&[TestCa::new().der()], &[b"http/1.1"]);
    assert!(tls_get(https, client, NAME, NAME, "/").await.is_err());
    assert!(px.stderr().contains("retry_in"), "{}", px.log_tail(20));
}

#[tokio::test]
async fn an_unusable_storage_directory_fails_startup_with_exit_4() {
    let dir = short_tempdir();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, TestCa::new().pem()).unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let storage = blocker.join("acme");
    let a = Acme {
        http: ports::free_addr(),
        https: ports::free_addr(),
        directory: "https://127.0.0.1:1/dir".into(),
        ca_certificate: &ca_path,
        storage: &storage,
        challenge: "http-01",
        renew_before: "30d",
    };
    let text = config(&a)
        .template()
        .replace("{socket}", dir.path().join("admin.sock").to_str().unwrap())
        .replace("{health}", &ports::free_addr().to_string());
    let path = dir.path().join("proxyd.toml");
    std::fs::write(&path, text).unwrap();
    let mut child = Command::new(proxyd_e2e::bins::proxyd())
        .arg("-c")
        .arg(&path)
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + patience();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("proxyd kept running with an unusable ACME storage directory");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("ACME storage"), "{stderr}");
}
