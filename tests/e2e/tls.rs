//! TLS termination against real rustls clients: the certificate picked by
//! SNI (wildcards too), unknown SNI refused, TLS 1.1 refused, ALPN h2,
//! domain fronting answered 421, redirect to HTTPS, certificates swapped by
//! reload without cutting a request in flight, and TLS failures at startup
//! (exit 4) and on reload (rejected, old certificate kept).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proxyd_e2e::certs::{Leaf, TestCa};
use proxyd_e2e::ports;
use proxyd_e2e::tls::{client_config, connect, get_over, tls_get};
use proxyd_e2e::{eventually_async, get, patience, q, short_tempdir, ProxyConfig, TestUpstream};
use rustls::ClientConfig;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A raw config: the harness's admin socket, health port and `{http}`
/// listener, plus `https` on `https`, then `body` (sites, upstreams).
fn config(https: SocketAddr, listener_extra: &str, body: &str) -> ProxyConfig {
    ProxyConfig::raw(&format!(
        "[admin]\nsocket = \"{{socket}}\"\n\n[health]\nlisten = \"{{health}}\"\n\n\
         [runtime]\nlog_format = \"text\"\ndrain_timeout = \"1s\"\n\n\
         [[listener]]\nname = \"main\"\nhttp = \"{{http}}\"\nhttps = \"{https}\"\n{listener_extra}\n{body}"
    ))
}

/// A `[[site]]` answering `text` on `/`, with `tls` (raw TOML value).
fn site(name: &str, hosts: &[&str], tls: &str, text: &str) -> String {
    let hosts: Vec<String> = hosts.iter().map(|h| q(h)).collect();
    format!(
        "\n[[site]]\nname = {}\nhosts = [{}]\ntls = {tls}\n\n  [[site.route]]\n  path = \"/\"\n  \
         respond = {{ status = 200, body = {}, content_type = \"text/plain\" }}\n",
        q(name),
        hosts.join(", "),
        q(text)
    )
}

fn files(dir: &Path, stem: &str, leaf: &Leaf) -> String {
    let (cert, key) = leaf.write(dir, stem);
    format!(
        "{{ cert = {}, key = {} }}",
        q(cert.to_str().unwrap()),
        q(key.to_str().unwrap())
    )
}

struct World {
    ca: TestCa,
    certs: TempDir,
    https: SocketAddr,
    client: Arc<ClientConfig>,
}

impl World {
    fn new() -> World {
        let ca = TestCa::new();
        let client = client_config(&[ca.der()], &[b"http/1.1"]);
        World {
            ca,
            certs: short_tempdir(),
            https: ports::free_addr(),
            client,
        }
    }

    fn dir(&self) -> &Path {
        self.certs.path()
    }
}

#[tokio::test]
async fn sni_picks_the_site_certificate_including_wildcards() {
    let w = World::new();
    let a = w.ca.leaf(&["a.test"]);
    let b = w.ca.leaf_with(&["b.test"], &rcgen::PKCS_RSA_SHA256);
    let wild = w.ca.leaf_with(&["*.wild.test"], &rcgen::PKCS_ED25519);
    let body = site("a", &["a.test"], &files(w.dir(), "a", &a), "site a")
        + &site("b", &["b.test"], &files(w.dir(), "b", &b), "site b")
        + &site("w", &["*.wild.test"], &files(w.dir(), "w", &wild), "site w");
    let _px = config(w.https, "", &body).start().await;

    for (sni, leaf, text) in [
        ("a.test", &a, "site a"),
        ("b.test", &b, "site b"),
        ("x.wild.test", &wild, "site w"),
    ] {
        let (resp, hs) = tls_get(w.https, w.client.clone(), sni, sni, "/")
            .await
            .unwrap_or_else(|e| panic!("{sni}: {e:#}"));
        assert_eq!(hs.leaf, leaf.der, "{sni} got another certificate");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text(), text);
    }
}

#[tokio::test]
async fn unknown_sni_is_refused_and_fronting_gets_421() {
    let w = World::new();
    let a = w.ca.leaf(&["a.test"]);
    let b = w.ca.leaf(&["b.test"]);
    let body = site("a", &["a.test"], &files(w.dir(), "a", &a), "site a")
        + &site("b", &["b.test"], &files(w.dir(), "b", &b), "site b");
    let _px = config(w.https, "", &body).start().await;

    // A client that would accept any certificate signed by the CA still
    // gets none for a name no site claims: the handshake is aborted.
    let err = connect(w.https, "other.test", w.client.clone()).await;
    assert!(err.is_err(), "unknown SNI got a certificate");

    // Host of site b on a connection made for site a: 421.
    let (resp, hs) = tls_get(w.https, w.client.clone(), "a.test", "b.test", "/")
        .await
        .unwrap();
    assert_eq!(hs.leaf, a.der);
    assert_eq!(resp.status(), 421);
    // Same site, Host with a port: fine.
    let (resp, _) = tls_get(w.https, w.client.clone(), "a.test", "a.test:443", "/")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn fronting_gets_its_own_421_after_the_rate_limit() {
    let w = World::new();
    let a = w.ca.leaf(&["a.test"]);
    let b = w.ca.leaf(&["b.test"]);
    let body = site("a", &["a.test"], &files(w.dir(), "a", &a), "site a")
        + &site("b", &["b.test"], &files(w.dir(), "b", &b), "site b")
        + "\n[defaults]\nrate_limit = { per_second = 1, burst = 1 }\n";
    let px = config(w.https, "", &body).start().await;

    // SPEC §6: rate limit before routing, and 421 is a routing outcome, so
    // fronting requests spend tokens: a burst of them meets 429.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (resp, _) = tls_get(w.https, w.client.clone(), "a.test", "b.test", "/")
            .await
            .unwrap();
        statuses.push(resp.status());
    }
    assert_eq!(statuses[0], 421, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 421 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&429),
        "the rate limit did not apply first: {statuses:?}"
    );
    assert!(
        px.logs()
            .contains("error=\"host does not match the TLS server name\""),
        "{}",
        px.log_tail(10)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_ready_certificates_waits_for_a_certificate_that_has_not_expired() {
    let w = World::new();
    let a = w.ca.leaf(&["a.test"]);
    let old = w.ca.expired_leaf(&["b.test"]);
    let body = |b: &Leaf| {
        site("a", &["a.test"], &files(w.dir(), "a", &a), "site a")
            + &site("b", &["b.test"], &files(w.dir(), "b", b), "site b")
    };
    // An expired certificate is a warning: proxyd starts and serves it.
    let mut px = config(w.https, "", &body(&old)).start().await;
    let out = px
        .ctl()
        .args(["--timeout", "300ms", "wait-ready", "--certificates"])
        .assert()
        .code(4);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("site `b`") && err.contains("expired"), "{err}");

    // New files and a reload: every site holds a live certificate.
    let fresh = w.ca.leaf(&["b.test"]);
    let next = config(w.https, "", &body(&fresh));
    px.write(next);
    px.ctl().args(["reload"]).assert().code(0);
    let v = px
        .ctl()
        .args(["--json", "wait-ready", "--certificates"])
        .json(0);
    assert_eq!(v["ready"], true, "{v}");
    let (resp, hs) = tls_get(w.https, w.client.clone(), "b.test", "b.test", "/")
        .await
        .unwrap();
    assert_eq!((hs.leaf, resp.status()), (fresh.der, 200));
}

/// A TLS 1.1 ClientHello (record and hello version 0x0302, no
/// supported_versions extension) for `sni`.
fn tls11_client_hello(sni: &str) -> Vec<u8> {
    let name = sni.as_bytes();
    let mut sni_ext = vec![0x00, 0x00]; // server_name
    let list_len = name.len() + 3;
    sni_ext.extend_from_slice(&u16::try_from(list_len + 2).unwrap().to_be_bytes());
    sni_ext.extend_from_slice(&u16::try_from(list_len).unwrap().to_be_bytes());
    sni_ext.push(0); // host_name
    sni_ext.extend_from_slice(&u16::try_from(name.len()).unwrap().to_be_bytes());
    sni_ext.extend_from_slice(name);

    let mut hello = vec![0x03, 0x02]; // client_version TLS 1.1
    hello.extend_from_slice(&[7u8; 32]); // random
    hello.push(0); // session id
    hello.extend_from_slice(&[0x00, 0x04, 0xc0, 0x13, 0x00, 0x2f]); // two CBC suites
    hello.extend_from_slice(&[0x01, 0x00]); // null compression
    hello.extend_from_slice(&u16::try_from(sni_ext.len()).unwrap().to_be_bytes());
    hello.extend_from_slice(&sni_ext);

    let mut handshake = vec![0x01, 0x00];
    handshake.extend_from_slice(&u16::try_from(hello.len()).unwrap().to_be_bytes());
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, 0x03, 0x02];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[tokio::test]
async fn tls_1_1_is_refused_with_an_alert() {
    let w = World::new();
    let a = w.ca.leaf(&["a.test"]);
    let _px = config(
        w.https,
        "",
        &site("a", &["a.test"], &files(w.dir(), "a", &a), "a"),
    )
    .start()
    .await;
    let mut tcp = tokio::net::TcpStream::connect(w.https).await.unwrap();
    tcp.write_all(&tls11_client_hello("a.test")).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(patience(), tcp.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server neither answered nor closed");
    assert!(!buf.is_empty(), "closed without an alert");
    assert_eq!(buf[0], 0x15, "expected a TLS alert record, got {buf:02x?}");
    // A fatal alert (level 2): handshake_failure (40) or protocol_version
    // (70); never a ServerHello.
    assert_eq!(buf[5], 2, "alert {buf:02x?}");
    assert!([40, 70].contains(&buf[6]), "alert {buf:02x?}");
}

#[tokio::test]
async fn alpn_h2_is_negotiated_and_proxied() {
    let w = World::new();
    let up = TestUpstream::http1()
        .route("/api/x", "from upstream")
        .spawn()
        .await;
    let a = w.ca.leaf(&["a.test"]);
    let body = format!(
        "\n[[upstream]]\nname = \"api\"\nservers = [{{ address = \"{}\" }}]\n{}\n  [[site.route]]\n  path = \"/api/\"\n  upstream = \"api\"\n",
        up.addr(),
        site("a", &["a.test"], &files(w.dir(), "a", &a), "root")
    );
    let _px = config(w.https, "", &body).start().await;

    let h2 = client_config(&[w.ca.der()], &[b"h2", b"http/1.1"]);
    let (resp, hs) = tls_get(w.https, h2, "a.test", "a.test", "/api/x")
        .await
        .unwrap();
    assert_eq!(hs.alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(resp.header("x-test-version"), Some("h2"));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text(), "from upstream");
    assert_eq!(up.last_request().header("x-forwarded-proto"), Some("https"));

    let h1 = client_config(&[w.ca.der()], &[b"http/1.1"]);
    let (resp, hs) = tls_get(w.https, h1, "a.test", "a.test", "/").await.unwrap();
    assert_eq!(hs.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(resp.text(), "root");
}

#[tokio::test]
async fn plain_http_redirects_to_https_except_health_and_challenges() {
    let w = World::new();
    let a = w.ca.leaf(&["a.test"]);
    let px = config(
        w.https,
        "redirect_to_https = true",
        &site("a", &["a.test"], &files(w.dir(), "a", &a), "site a"),
    )
    .start()
    .await;

    let resp = get(px.http_addr(), "A.test:8080", "/some/path?x=1").await;
    assert_eq!(resp.status(), 308);
    let want = format!("https://a.test:{}/some/path?x=1", w.https.port());
    assert_eq!(resp.header("location"), Some(want.as_str()));

    let resp = get(px.http_addr(), "a.test", "/.well-known/proxyd/health").await;
    assert_eq!(resp.status(), 200);
    let resp = get(px.http_addr(), "a.test", "/.well-known/acme-challenge/nope").await;
    assert_ne!(resp.status(), 308);
}

#[tokio::test]
async fn reload_swaps_the_certificate_while_a_request_on_the_old_one_completes() {
    let w = World::new();
    let up = TestUpstream::http1()
        .delay("/slow", Duration::from_millis(1500), "slow done")
        .spawn()
        .await;
    let old = w.ca.leaf(&["a.test"]);
    let body = format!(
        "\n[[upstream]]\nname = \"api\"\nservers = [{{ address = \"{}\" }}]\n{}\n  [[site.route]]\n  path = \"/slow\"\n  upstream = \"api\"\n",
        up.addr(),
        site("a", &["a.test"], &files(w.dir(), "a", &old), "root")
    );
    let px = config(w.https, "", &body).start().await;

    let (stream, hs) = connect(w.https, "a.test", w.client.clone()).await.unwrap();
    assert_eq!(hs.leaf, old.der);
    let slow = tokio::spawn(async move { get_over(stream, &hs, "a.test", "/slow").await });
    assert!(
        eventually_async(patience(), || async { up.request_count() == 1 }).await,
        "the slow request never reached the upstream"
    );

    let new = w.ca.leaf(&["a.test"]);
    new.write(w.dir(), "a");
    px.ctl().args(["reload"]).assert().code(0);
    let (resp, hs) = tls_get(w.https, w.client.clone(), "a.test", "a.test", "/")
        .await
        .unwrap();
    assert_eq!(hs.leaf, new.der, "reload did not swap the certificate");
    assert_eq!(resp.text(), "root");

    let resp = slow
        .await
        .unwrap()
        .expect("the request on the old certificate failed");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text(), "slow done");

    let status = px.status().await;
    let certs = status["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{status}");
    assert_eq!(certs[0]["source"], "file");
    assert!(certs[0]["not_after"].is_string(), "{status}");
    assert!(certs[0]["last_error"].is_null(), "{status}");
    let metrics = get(px.health_addr(), "localhost", "/metrics").await.text();
    assert!(
        metrics.contains("proxyd_certificate_expiry_timestamp_seconds{site=\"a\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn bad_certificate_files_fail_startup_with_4_and_reload_keeps_the_old_ones() {
    let w = World::new();
    let a = w.ca.leaf(&["a.test"]);
    let body = site("a", &["a.test"], &files(w.dir(), "a", &a), "site a");
    let mut px = config(w.https, "", &body).start().await;

    // Reload with a key that does not match: rejected, old cert served.
    let other = w.ca.leaf(&["a.test"]);
    std::fs::write(w.dir().join("a.key"), &other.key_pem).unwrap();
    px.ctl().args(["reload"]).assert().code(1);
    assert_eq!(px.generation().await, 1);
    let (resp, hs) = tls_get(w.https, w.client.clone(), "a.test", "a.test", "/")
        .await
        .unwrap();
    assert_eq!(hs.leaf, a.der);
    assert_eq!(resp.status(), 200);

    // The same file at startup: exit 4; `--check` calls it invalid (1).
    px.sigterm();
    px.wait_exit(patience()).await;
    let out = std::process::Command::new(proxyd_e2e::bins::proxyd())
        .arg("--check")
        .arg("-c")
        .arg(px.config_path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = std::process::Command::new(proxyd_e2e::bins::proxyd())
        .arg("-c")
        .arg(px.config_path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a.key"), "{stderr}");
}
