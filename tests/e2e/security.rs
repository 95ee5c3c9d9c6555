//! Security review of the defaults (SPEC §4, §6, §7), one test per finding:
//! the admin socket refuses a peer the file mode would let in, forwarding
//! headers cannot be spoofed past `trusted_proxies` (also through `Forwarded`
//! and `_` spellings), and HTTP/2 → HTTP/1.1 translation smuggles nothing
//! (connection-specific headers, pseudo-header abuse, `Content-Length`
//! disagreeing with the DATA frames). TLS settings: `security_tls.rs`.

use proxyd_e2e::h2raw::{self, Outcome};
use proxyd_e2e::{ProxyConfig, Route, Site, TestProxy, TestUpstream, Upstream};

async fn world() -> (TestUpstream, TestProxy) {
    let up = TestUpstream::http1()
        .route("/x", "x")
        .route("/after", "after")
        .echo("/post")
        .echo("/short")
        .spawn()
        .await;
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(Site::new("app", ["app.test"]).route(Route::upstream("/", "api")))
        .start()
        .await;
    (up, px)
}

// === HTTP/2 → HTTP/1.1 ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_formed_h2_request_is_forwarded() {
    // The control: the raw client itself is understood.
    let (up, px) = world().await;
    let out = h2raw::exchange(px.http_addr(), &h2raw::get("app.test", "/x"), None).await;
    assert_eq!(out, Outcome::Response(Some(200)), "{}", px.log_tail(20));
    assert_eq!(up.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_specific_headers_in_h2_are_refused() {
    let (up, px) = world().await;
    let cases: [&[(&[u8], &[u8])]; 5] = [
        &[(b"connection", b"keep-alive")],
        &[(b"transfer-encoding", b"chunked")],
        &[(b"keep-alive", b"timeout=5")],
        &[(b"proxy-connection", b"keep-alive")],
        &[(b"te", b"gzip")],
    ];
    for extra in cases {
        let mut fields = h2raw::get("app.test", "/x");
        fields.extend_from_slice(extra);
        let out = h2raw::exchange(px.http_addr(), &fields, None).await;
        assert!(out.is_refusal(), "{extra:?} got {out:?}");
    }
    assert_eq!(up.request_count(), 0, "{:?}", up.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pseudo_header_abuse_is_refused() {
    let (up, px) = world().await;
    type Fields = Vec<(&'static [u8], &'static [u8])>;
    let cases: Vec<(&str, Fields)> = vec![
        (
            "no :path",
            vec![
                (b":method", b"GET"),
                (b":scheme", b"http"),
                (b":authority", b"app.test"),
            ],
        ),
        (
            "two :path",
            vec![
                (b":method", b"GET"),
                (b":scheme", b"http"),
                (b":authority", b"app.test"),
                (b":path", b"/a"),
                (b":path", b"/b"),
            ],
        ),
        (
            "pseudo after regular",
            vec![
                (b":method", b"GET"),
                (b":scheme", b"http"),
                (b"x-a", b"1"),
                (b":authority", b"app.test"),
                (b":path", b"/a"),
            ],
        ),
        (
            "unknown pseudo",
            vec![
                (b":method", b"GET"),
                (b":scheme", b"http"),
                (b":authority", b"app.test"),
                (b":path", b"/a"),
                (b":smuggle", b"1"),
            ],
        ),
        (
            "uppercase name",
            vec![
                (b":method", b"GET"),
                (b":scheme", b"http"),
                (b":authority", b"app.test"),
                (b":path", b"/a"),
                (b"X-Upper", b"1"),
            ],
        ),
        (
            "CRLF in a value",
            vec![
                (b":method", b"GET"),
                (b":scheme", b"http"),
                (b":authority", b"app.test"),
                (b":path", b"/a"),
                (b"x-a", b"1\r\nx-injected: 1"),
            ],
        ),
        (
            "request line in :path",
            vec![
                (b":method", b"GET"),
                (b":scheme", b"http"),
                (b":authority", b"app.test"),
                (
                    b":path",
                    b"/ HTTP/1.1\r\nHost: app.test\r\n\r\nGET /smuggled",
                ),
            ],
        ),
        (
            "space in :method",
            vec![
                (b":method", b"GET /smuggled HTTP/1.1\r\n"),
                (b":scheme", b"http"),
                (b":authority", b"app.test"),
                (b":path", b"/a"),
            ],
        ),
        (
            "dot segments in :path",
            vec![
                (b":method", b"GET"),
                (b":scheme", b"http"),
                (b":authority", b"app.test"),
                (b":path", b"/a/../admin"),
            ],
        ),
        (
            "authority and host disagree",
            vec![
                (b":method", b"GET"),
                (b":scheme", b"http"),
                (b":authority", b"app.test"),
                (b":path", b"/a"),
                (b"host", b"other.test"),
            ],
        ),
    ];
    for (what, fields) in cases {
        let out = h2raw::exchange(px.http_addr(), &fields, None).await;
        assert!(out.is_refusal(), "{what}: got {out:?}");
    }
    assert_eq!(up.request_count(), 0, "{:?}", up.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_longer_than_its_content_length_never_becomes_a_second_request() {
    let (up, px) = world().await;
    let smuggled = b"GET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n";
    for cl in [&b"0"[..], b"3"] {
        let mut fields = h2raw::get("app.test", "/post");
        fields[0] = (b":method", b"POST");
        fields.push((b"content-length", cl));
        let out = h2raw::exchange(px.http_addr(), &fields, Some(smuggled)).await;
        assert!(
            matches!(
                out,
                Outcome::Reset(_) | Outcome::GoAway(_) | Outcome::Closed
            ) || out.is_refusal(),
            "content-length {cl:?}: {out:?}"
        );
    }
    // A body shorter than its Content-Length is cut off too.
    let mut fields = h2raw::get("app.test", "/short");
    fields[0] = (b":method", b"POST");
    fields.push((b"content-length", b"100"));
    let out = h2raw::exchange(px.http_addr(), &fields, Some(b"abc")).await;
    assert!(out.is_refusal(), "short body: {out:?}");
    // One more clean request: the upstream connection was not poisoned.
    let ok = h2raw::exchange(px.http_addr(), &h2raw::get("app.test", "/after"), None).await;
    assert_eq!(ok, Outcome::Response(Some(200)));
    let paths: Vec<String> = up
        .requests()
        .iter()
        .map(|r| r.path_and_query().to_owned())
        .collect();
    assert!(!paths.iter().any(|p| p == "/smuggled"), "{paths:?}");
    assert_eq!(
        paths.last().map(String::as_str),
        Some("/after"),
        "{paths:?}"
    );
}

// === forwarding headers ===

/// Sends `GET /x` with `headers` from 127.0.0.1; returns what the upstream saw.
async fn spoof(
    trusted: Option<&str>,
    headers: &[(&str, &str)],
) -> (proxyd_e2e::RecordedRequest, TestProxy) {
    use bytes::Bytes;
    use http_body_util::Empty;
    use proxyd_e2e::client::{fetch, request};
    let up = TestUpstream::http1().route("/x", "x").spawn().await;
    let mut site = Site::new("app", ["app.test"]).route(Route::upstream("/", "api"));
    if let Some(cidr) = trusted {
        site = site.set("trusted_proxies", &format!("[\"{cidr}\"]"));
    }
    let px = ProxyConfig::new()
        .upstream(Upstream::new("api", [up.addr()]))
        .site(site)
        .start()
        .await;
    let mut b = request(http::Method::GET, "app.test", "/x");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = fetch(px.http_addr(), b.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", px.log_tail(20));
    (up.last_request(), px)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_cannot_be_spoofed_from_an_untrusted_peer() {
    let hostile = [
        ("forwarded", "for=6.6.6.6;proto=https;host=evil.test"),
        ("x_forwarded_for", "6.6.6.6"),
        ("x_real_ip", "6.6.6.6"),
        ("x-forwarded_proto", "https"),
        ("x_forwarded_host", "evil.test"),
        ("x-forwarded-for", "6.6.6.6"),
        ("x-forwarded-for", "7.7.7.7"),
        // Hop-by-hop abuse: asking the proxy to drop its own headers.
        (
            "connection",
            "x-forwarded-for, x-real-ip, x-forwarded-proto",
        ),
    ];
    // No trusted proxies, and trusted proxies that do not include the peer.
    for trusted in [None, Some("10.0.0.0/8")] {
        let (seen, px) = spoof(trusted, &hostile).await;
        let names: Vec<&str> = seen.headers.keys().map(|k| k.as_str()).collect();
        for name in [
            "forwarded",
            "x_forwarded_for",
            "x_real_ip",
            "x-forwarded_proto",
            "x_forwarded_host",
        ] {
            assert!(
                !seen.headers.contains_key(name),
                "trusted {trusted:?}: `{name}` reached the upstream: {names:?}\n{}",
                px.log_tail(5)
            );
        }
        assert_eq!(seen.headers.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
        assert_eq!(seen.header("x-real-ip"), Some("127.0.0.1"));
        assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
        assert_eq!(seen.header("x-forwarded-host"), Some("app.test"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_may_pass_forwarded_on() {
    // The other side of the rule: a trusted peer's chain is believed.
    let (seen, _px) = spoof(
        Some("127.0.0.0/8"),
        &[
            ("forwarded", "for=203.0.113.7"),
            ("x-forwarded-for", "203.0.113.7"),
        ],
    )
    .await;
    assert_eq!(seen.header("forwarded"), Some("for=203.0.113.7"));
    assert_eq!(
        seen.header("x-forwarded-for"),
        Some("203.0.113.7, 127.0.0.1")
    );
}

// === admin socket ===

/// Runs `proxyctl --json status` as `nobody` through `setpriv`; `None` with
/// a notice when that is not possible here (not root, or no `setpriv`).
fn ctl_as_nobody(px: &TestProxy) -> Option<std::process::Output> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("NOTICE: not root: cannot run a client as another user; SO_PEERCRED refusal not exercised");
        return None;
    }
    // `nobody` must reach the socket: open the temp dir (0700) for it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(px.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(proxyd_e2e::bins::proxyctl())
        .arg("--socket")
        .arg(px.socket_path())
        .args(["--json", "status"])
        .output();
    match out {
        Ok(o) => Some(o),
        Err(e) => {
            eprintln!("NOTICE: setpriv not available ({e}); SO_PEERCRED refusal not exercised");
            None
        }
    }
}

fn admin_config(admin_extra: &str) -> ProxyConfig {
    let base = ProxyConfig::new().site(Site::new("app", ["app.test"]).route(Route::respond(
        "/",
        200,
        "ok",
        "text/plain",
    )));
    ProxyConfig::raw(&base.template().replace(
        "socket = \"{socket}\"",
        &format!("socket = \"{{socket}}\"\nsocket_mode = \"0666\"\n{admin_extra}"),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_world_writable_admin_socket_still_refuses_other_users() {
    let px = admin_config("").start().await;
    let Some(out) = ctl_as_nobody(&px) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stderr.contains("permission denied") && stdout.contains("\"status\":\"error\""),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        !stdout.contains("\"pid\""),
        "status leaked to nobody: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_users_lets_that_user_in() {
    let px = admin_config("allowed_users = [\"nobody\"]").start().await;
    let Some(out) = ctl_as_nobody(&px) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"pid\""), "{stdout}");
}
