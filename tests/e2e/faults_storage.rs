//! ACME storage that cannot be written (issue #9): the certificate Pebble
//! issues cannot be stored, yet the proxy keeps serving and `status` shows
//! the error. Two ways to break the storage:
//!
//! - the key's path is a directory (`certs/web.key/`): the final rename
//!   fails with `EISDIR` for every user, root included, so this runs
//!   everywhere (a stand-in for a full or read-only disk);
//! - the `certs/` directory is mode 0500: real permissions, but root
//!   ignores them, so that variant runs only as non-root (notice otherwise).

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use proxyd_e2e::pebble::Pebble;
use proxyd_e2e::{
    eventually_async, get, patience, ports, q, short_tempdir, ProxyConfig, TestProxy,
};
use serde_json::Value;

const NAME: &str = "web.example.test";

fn config(http: SocketAddr, https: SocketAddr, pebble: &Pebble, storage: &Path) -> ProxyConfig {
    ProxyConfig::raw(&format!(
        "[admin]\nsocket = \"{{socket}}\"\n\n[health]\nlisten = \"{{health}}\"\n\n\
         [runtime]\nlog_format = \"text\"\ndrain_timeout = \"1s\"\n\n\
         [acme]\ndirectory = {}\nstorage = {}\nca_certificate = {}\nchallenge = \"http-01\"\n\n\
         [[listener]]\nname = \"main\"\nhttp = \"{http}\"\nhttps = \"{https}\"\nredirect_to_https = false\n\n\
         [[site]]\nname = \"web\"\nhosts = [{}]\ntls = \"acme\"\n  [[site.route]]\n  path = \"/\"\n  \
         respond = {{ status = 200, body = \"secure\", content_type = \"text/plain\" }}\n\n\
         [[site]]\nname = \"plain\"\nhosts = [\"plain.test\"]\n  [[site.route]]\n  path = \"/\"\n  \
         respond = {{ status = 200, body = \"plain\", content_type = \"text/plain\" }}\n",
        q(&pebble.directory_url()),
        q(storage.to_str().unwrap()),
        q(pebble.tls_ca_path().to_str().unwrap()),
        q(NAME),
    ))
}

async fn web_status(px: &TestProxy) -> Value {
    let status = px.status().await;
    status["certificates"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["site"] == "web").cloned())
        .unwrap_or_else(|| panic!("no certificate status for site web: {status}"))
}

/// Starts Pebble and proxyd with `break_storage` applied to a fresh
/// storage dir (which already has `certs/`); checks the outcome.
async fn unwritable(break_storage: impl FnOnce(&Path)) {
    let (http, https) = (ports::free_addr(), ports::free_addr());
    let pebble = Pebble::start(http.port(), https.port(), 7_776_000).await;
    let dir = short_tempdir();
    let storage = dir.path().join("acme");
    std::fs::create_dir_all(storage.join("certs")).unwrap();
    std::fs::set_permissions(&storage, std::fs::Permissions::from_mode(0o700)).unwrap();
    break_storage(&storage);
    let px = config(http, https, &pebble, &storage).start().await;
    let reported = eventually_async(patience() * 3, || async {
        web_status(&px).await["last_error"].is_string()
    })
    .await;
    let st = web_status(&px).await;
    assert!(
        reported,
        "no storage error reported: {st}\n{}",
        px.log_tail(20)
    );
    let error = st["last_error"].as_str().unwrap_or_default();
    assert!(error.contains(storage.to_str().unwrap()), "{error}");
    assert!(st["not_after"].is_null(), "{st}");
    // The proxy serves on, with and without the admin socket's help.
    assert_eq!(get(http, "plain.test", "/").await.text(), "plain");
    assert_eq!(px.status().await["ready"], true);
    eprintln!("unwritable ACME storage reported as: {error}");
}

#[tokio::test]
async fn an_unstorable_certificate_is_reported_and_the_proxy_serves_on() {
    unwritable(|storage| {
        std::fs::create_dir(storage.join("certs").join("web.key")).unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_read_only_certs_directory_is_reported_and_the_proxy_serves_on() {
    if nix::unistd::geteuid().is_root() {
        eprintln!("NOTICE: running as root, which ignores mode 0500: read-only variant skipped (the EISDIR variant covers it)");
        return;
    }
    unwritable(|storage| {
        let certs = storage.join("certs");
        std::fs::set_permissions(certs, std::fs::Permissions::from_mode(0o500)).unwrap();
    })
    .await;
}
