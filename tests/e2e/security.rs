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
