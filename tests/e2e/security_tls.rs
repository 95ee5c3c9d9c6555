//! TLS settings as an outside client sees them (SPEC §7), with the
//! `openssl` command line tool (Debian `openssl`, on every machine that has
//! `curl`): nothing below TLS 1.2, no cipher suite without forward secrecy,
//! no CBC suite, and what *is* negotiated is TLS 1.3 or ECDHE + AEAD.
//! The full scan (`testssl.sh`) is in `docs/resilience.md`; it is too slow
//! for CI. Skipped with a notice when `openssl` is missing.

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use proxyd_e2e::certs::TestCa;
use proxyd_e2e::{ports, q, short_tempdir, ProxyConfig, TestProxy};
use tempfile::TempDir;

const NAME: &str = "secure.test";

/// A proxy with one HTTPS site whose certificate uses `alg`.
async fn world(alg: &'static rcgen::SignatureAlgorithm) -> (TestProxy, SocketAddr, TempDir) {
    let ca = TestCa::new();
    let dir = short_tempdir();
    let (cert, key) = ca.leaf_with(&[NAME], alg).write(dir.path(), "site");
    let https = ports::free_addr();
    let px = ProxyConfig::raw(&format!(
        "[admin]\nsocket = \"{{socket}}\"\n\n[health]\nlisten = \"{{health}}\"\n\n\
         [runtime]\nlog_format = \"text\"\ndrain_timeout = \"1s\"\n\n\
         [[listener]]\nname = \"main\"\nhttp = \"{{http}}\"\nhttps = \"{https}\"\n\n\
         [[site]]\nname = \"s\"\nhosts = [{}]\ntls = {{ cert = {}, key = {} }}\n  [[site.route]]\n  \
         path = \"/\"\n  respond = {{ status = 200, body = \"ok\", content_type = \"text/plain\" }}\n",
        q(NAME),
        q(cert.to_str().unwrap()),
        q(key.to_str().unwrap()),
    ))
    .start()
    .await;
    (px, https, dir)
}

/// Runs `openssl s_client` against `addr` with `args`; returns whether the
/// handshake completed and the output. `None` when openssl is missing.
fn s_client(addr: SocketAddr, args: &[&str]) -> Option<(bool, String)> {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            "-servername",
            NAME,
        ])
        .args(args)
        .stdin(Stdio::null())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            eprintln!("NOTICE: openssl not available ({e}); TLS settings not checked here");
            return None;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A completed handshake prints the negotiated protocol and cipher.
    let done = text.contains("Cipher is ") && !text.contains("Cipher is (NONE)");
    Some((done, text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_protocols_and_weak_suites_are_refused() {
    for alg in [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_RSA_SHA256] {
        let (px, https, _dir) = world(alg).await;
        // The control: a default TLS 1.2 client gets ECDHE with an AEAD.
        let Some((ok, text)) = s_client(https, &["-tls1_2"]) else {
            return;
        };
        assert!(ok, "TLS 1.2 handshake failed:\n{text}\n{}", px.log_tail(10));
        assert!(text.contains("ECDHE-"), "TLS 1.2 without ECDHE:\n{text}");
        assert!(text.contains("GCM") || text.contains("CHACHA20"), "{text}");
        let (ok, text) = s_client(https, &["-tls1_3"]).unwrap();
        assert!(
            ok && text.contains("TLSv1.3"),
            "TLS 1.3 handshake failed:\n{text}"
        );

        // SECLEVEL=0 lifts openssl's own client-side bans, so a refusal
        // below is the server's.
        let weak: &[(&str, &[&str])] = &[
            ("TLS 1.0", &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]),
            ("TLS 1.1", &["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]),
            ("RSA key exchange (no forward secrecy)", &["-tls1_2", "-cipher", "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA:@SECLEVEL=0"]),
            ("CBC suites", &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:@SECLEVEL=0"]),
            ("3DES and RC4", &["-tls1_2", "-cipher", "DES-CBC3-SHA:ECDHE-RSA-DES-CBC3-SHA:RC4-SHA:@SECLEVEL=0"]),
            ("anonymous and NULL", &["-tls1_2", "-cipher", "aNULL:eNULL:@SECLEVEL=0"]),
        ];
        for (what, args) in weak {
            let (ok, text) = s_client(https, args).unwrap();
            if text.contains("no cipher match") || text.contains("no protocols available") {
                eprintln!("NOTICE: this openssl cannot offer {what}; not checked");
                continue;
            }
            assert!(!ok, "{what} was accepted ({alg:?}):\n{text}");
            eprintln!(
                "{what}: {}",
                text.lines()
                    .find(|l| l.contains("alert") || l.contains("error"))
                    .unwrap_or("refused")
            );
        }
    }
}
