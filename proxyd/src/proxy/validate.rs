//! Checks on a request head before it is routed: what hyper's parser lets
//! through but a proxy must not pass on (SPEC §6, smuggling-safe).
//!
//! hyper already rejects with 400 (verified by `tests/e2e/smuggling.rs`):
//! differing duplicate `Content-Length`s, `Transfer-Encoding` whose last
//! coding is not `chunked` or on HTTP/1.0, obs-fold, bare CR, and malformed
//! request lines. Ambiguities it resolves silently (equal duplicate
//! `Content-Length`s, `Content-Length` beside `Transfer-Encoding`) are
//! caught on the wire by `proxy::framing`. This module covers the rest:
//! request-target forms, Host conflicts and path tricks aimed at routing
//! and `strip_prefix`.

use http::{header, HeaderMap, Method, Request, Uri};

use super::error::ProxyError;

/// Checks `req`; the error says what was wrong (for the log, not the client).
pub fn check<B>(req: &Request<B>, max_header_size: usize) -> Result<(), ProxyError> {
    if header_bytes(req.headers()) > max_header_size {
        return Err(ProxyError::HeadersTooLarge);
    }
    let bad = |what| Err(ProxyError::BadRequest(what));
    if req
        .extensions()
        .get::<super::framing::Ambiguous>()
        .is_some()
    {
        return bad("ambiguous Content-Length / Transfer-Encoding");
    }
    if req.method() == Method::CONNECT {
        return bad("CONNECT is not supported");
    }
    let uri = req.uri();
    target(uri, req.method())?;
    let headers = req.headers();
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return bad("more than one Host header");
    }
    if let (Some(auth), Some(host)) = (uri.authority(), host) {
        if !auth
            .as_str()
            .as_bytes()
            .eq_ignore_ascii_case(host.as_bytes())
        {
            return bad("Host differs from the request target");
        }
    }
    let mut lengths = headers.get_all(header::CONTENT_LENGTH).iter();
    if lengths.next().is_some() {
        if lengths.next().is_some() {
            return bad("more than one Content-Length");
        }
        if headers.contains_key(header::TRANSFER_ENCODING) {
            return bad("both Content-Length and Transfer-Encoding");
        }
    }
    Ok(())
}

/// Size of the header block as HTTP/1 would send it (`name: value\r\n`).
fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum()
}

/// The request target: origin-form, or absolute-form with an http(s)
/// scheme; `*` only for OPTIONS; then the path checks.
fn target(uri: &Uri, method: &Method) -> Result<(), ProxyError> {
    let bad = |what| Err(ProxyError::BadRequest(what));
    match (uri.scheme_str(), uri.authority()) {
        (None, None) => {}
        (Some(s), Some(_)) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
        }
        (None, Some(_)) => return bad("authority-form target"),
        _ => return bad("unsupported request target"),
    }
    let path = uri.path();
    if path == "*" {
        return if method == Method::OPTIONS {
            Ok(())
        } else {
            bad("asterisk-form target")
        };
    }
    if !path.starts_with('/') {
        return bad("path does not start with /");
    }
    check_path(path)
}

/// Rejects dot segments (`..`, `.`, also percent-encoded), encoded `/` and
/// `\` (`%2F`, `%5C`), raw `\` and encoded NUL: each can make a path match
/// one route prefix here and mean another path upstream.
pub fn check_path(path: &str) -> Result<(), ProxyError> {
    // Hot path: a path without `%`, `.` or a backslash has nothing to check.
    if memchr::memchr3(b'%', b'\\', b'.', path.as_bytes()).is_none() {
        return Ok(());
    }
    let bad = |what| Err(ProxyError::BadRequest(what));
    if path.contains('\\') {
        return bad("backslash in path");
    }
    let bytes = path.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let hex = bytes.get(i + 1..i + 3);
            match hex.map(|h| [h[0].to_ascii_uppercase(), h[1].to_ascii_uppercase()]) {
                Some([b'2', b'F']) | Some([b'5', b'C']) => return bad("encoded slash in path"),
                Some([b'0', b'0']) => return bad("encoded NUL in path"),
                Some([a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => {}
                _ => return bad("invalid percent-encoding in path"),
            }
        }
    }
    for seg in path.split('/') {
        if is_dot_segment(seg) {
            return bad("dot segment in path");
        }
    }
    Ok(())
}

/// `.` or `..`, with any of the dots written as `%2e`.
fn is_dot_segment(seg: &str) -> bool {
    let mut rest = seg.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        if rest[0] == b'.' {
            rest = &rest[1..];
        } else if rest.len() >= 3 && rest[0] == b'%' && rest[1] == b'2' && (rest[2] | 0x20) == b'e'
        {
            rest = &rest[3..];
        } else {
            return false;
        }
        dots += 1;
    }
    dots == 1 || dots == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> bool {
        check_path(p).is_ok()
    }

    #[test]
    fn path_tricks_are_refused() {
        for p in [
            "/api/../admin",
            "/api/..",
            "/api/%2e%2e/admin",
            "/api/.%2E/admin",
            "/api/%2E./x",
            "/./x",
            "/api%2Fadmin",
            "/api%2fadmin",
            "/a%5cb",
            "/a\\b",
            "/a%00",
            "/a%zz",
            "/a%2",
        ] {
            assert!(!ok(p), "{p} should be refused");
        }
    }

    #[test]
    fn ordinary_paths_pass() {
        for p in [
            "/",
            "/api/x",
            "/a..b/c",
            "/.well-known/x",
            "/a%20b",
            "/...",
            "/x.y",
        ] {
            assert!(ok(p), "{p} should pass");
        }
    }

    #[test]
    fn targets_and_hosts() {
        let req = |uri: &str, host: Option<&str>| {
            let mut b = Request::builder().uri(uri);
            if let Some(h) = host {
                b = b.header("host", h);
            }
            check(&b.body(()).unwrap(), 65536)
        };
        assert!(req("/x", Some("a.test")).is_ok());
        assert!(req("http://a.test/x", Some("a.test")).is_ok());
        assert!(req("http://a.test/x", Some("b.test")).is_err());
        assert!(req("ftp://a.test/x", None).is_err());
        assert!(req("a.test:80", Some("a.test")).is_err());
        assert!(req("*", Some("a.test")).is_err());
    }

    #[test]
    fn oversized_header_blocks_are_431() {
        let req = Request::builder()
            .uri("/")
            .header("x-big", "a".repeat(100))
            .body(())
            .unwrap();
        assert!(matches!(check(&req, 64), Err(ProxyError::HeadersTooLarge)));
        assert!(check(&req, 1000).is_ok());
    }
}
