//! Header rewriting: hop-by-hop removal, forwarding headers, request ids and
//! the per-route `set` / `remove` rules.
//!
//! Multi-value headers are preserved: we append, never collapse.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

use crate::config::HeaderRules;

/// `X-Forwarded-For`.
pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`.
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`.
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `X-Real-IP`.
pub static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
/// `X-Request-Id`.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `Forwarded` (RFC 7239): passed on from trusted proxies only.
pub static FORWARDED: HeaderName = HeaderName::from_static("forwarded");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// The hop-by-hop headers of RFC 9110 §7.6.1 (plus `Proxy-Connection`).
static HOP_BY_HOP: [&HeaderName; 7] = [
    &header::CONNECTION,
    &KEEP_ALIVE,
    &PROXY_CONNECTION,
    &header::TE,
    &header::TRAILER,
    &header::TRANSFER_ENCODING,
    &header::UPGRADE,
];

/// Bit of `Connection` (index 0) in [`hop_by_hop_present`]'s mask.
const CONNECTION_BIT: u8 = 1;
/// Bit of `Trailer` (index 4) in [`hop_by_hop_present`]'s mask.
const TRAILER_BIT: u8 = 1 << 4;

/// Which of [`HOP_BY_HOP`] are present, as a bit mask by index: one pass
/// over the names, no hashing.
fn hop_by_hop_present(headers: &HeaderMap) -> u8 {
    let mut present = 0u8;
    for name in headers.keys() {
        if let Some(i) = HOP_BY_HOP.iter().position(|h| *h == name) {
            present |= 1 << i;
        }
    }
    present
}

/// Removes hop-by-hop headers: `Connection` and every header it names, plus
/// the fixed list of RFC 9110 §7.6.1.
///
/// Hot path: one pass over the names finds which fixed headers are present,
/// so absent ones are never looked up, and the usual `Connection:
/// keep-alive` / `close` tokens (not header names, or already in the list)
/// allocate nothing.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let present = hop_by_hop_present(headers);
    remove_present(headers, present);
}

fn remove_present(headers: &mut HeaderMap, present: u8) {
    if present == 0 {
        return;
    }
    if present & CONNECTION_BIT != 0 {
        let mut named: Vec<HeaderName> = Vec::new();
        for value in headers.get_all(header::CONNECTION) {
            let Ok(value) = value.to_str() else { continue };
            for token in value.split(',').map(str::trim) {
                if token.is_empty()
                    || token.eq_ignore_ascii_case("close")
                    || token.eq_ignore_ascii_case("keep-alive")
                {
                    continue;
                }
                if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
                    named.push(name);
                }
            }
        }
        for name in named {
            headers.remove(name);
        }
    }
    for (i, name) in HOP_BY_HOP.iter().enumerate() {
        if present & (1 << i) != 0 {
            headers.remove(*name);
        }
    }
}

/// Removes a response's hop-by-hop headers but keeps its `Trailer`
/// announcement: an HTTP/1.1 server (hyper included) sends only the trailer
/// fields the response head announced, so without it the upstream's
/// trailers would be dropped on the way to the client.
pub fn remove_hop_by_hop_keeping_trailer(headers: &mut HeaderMap) {
    let present = hop_by_hop_present(headers);
    if present & TRAILER_BIT == 0 {
        return remove_present(headers, present);
    }
    let announced: Vec<HeaderValue> = headers.get_all(header::TRAILER).iter().cloned().collect();
    remove_present(headers, present);
    for value in announced {
        headers.append(header::TRAILER, value);
    }
}

/// Whether the client said it accepts trailers (`TE: trailers`); `TE` is
/// hop-by-hop, but this one value is passed on so trailers flow through.
pub fn accepts_trailers(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::TE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("trailers"))
}

/// Whether `peer` is one of the `trusted_proxies`.
pub fn is_trusted(peer: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&peer))
}

/// What the forwarding headers are computed from.
pub struct Forwarding<'a> {
    /// The TCP peer.
    pub peer: IpAddr,
    /// The peer address as a header value (made once per connection).
    pub peer_value: &'a HeaderValue,
    /// Whether the peer's own forwarding headers are believed.
    pub trusted: bool,
    /// `https` or `http`.
    pub proto: &'static str,
    /// The Host the client sent, if any.
    pub host: Option<&'a HeaderValue>,
}

/// Sets `X-Forwarded-For`, `X-Real-IP`, `X-Forwarded-Proto` and
/// `X-Forwarded-Host`. From an untrusted peer, incoming values are replaced,
/// never passed on (and `Forwarded` is dropped); from a trusted one, the
/// chain is extended.
pub fn set_forwarding(headers: &mut HeaderMap, fwd: &Forwarding<'_>) {
    let forwarded = remove_aliases(headers);
    if !fwd.trusted && forwarded {
        headers.remove(&FORWARDED);
    }
    let prior: Option<String> = if fwd.trusted {
        let values: Vec<&str> = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| format!("{}, {}", values.join(", "), fwd.peer))
    } else {
        None
    };
    let xff = prior
        .and_then(|chain| HeaderValue::from_str(&chain).ok())
        .unwrap_or_else(|| fwd.peer_value.clone());
    headers.insert(X_FORWARDED_FOR.clone(), xff);
    if !(fwd.trusted && headers.contains_key(&X_REAL_IP)) {
        headers.insert(X_REAL_IP.clone(), fwd.peer_value.clone());
    }
    if !(fwd.trusted && headers.contains_key(&X_FORWARDED_PROTO)) {
        headers.insert(
            X_FORWARDED_PROTO.clone(),
            HeaderValue::from_static(fwd.proto),
        );
    }
    if !(fwd.trusted && headers.contains_key(&X_FORWARDED_HOST)) {
        match fwd.host {
            Some(h) => {
                headers.insert(X_FORWARDED_HOST.clone(), h.clone());
            }
            None => {
                headers.remove(&X_FORWARDED_HOST);
            }
        }
    }
}

/// Drops `_` spellings of the headers managed here (`X_Forwarded_For`,
/// `x-real_ip`, …): many upstream stacks (CGI, WSGI, PHP) fold `_` and `-`
/// into one name, so such a header would stand in for the real one.
/// Returns whether `Forwarded` is present (found in the same pass, which
/// spares a lookup when it is not).
fn remove_aliases(headers: &mut HeaderMap) -> bool {
    let managed = [
        &X_FORWARDED_FOR,
        &X_FORWARDED_PROTO,
        &X_FORWARDED_HOST,
        &X_REAL_IP,
        &X_REQUEST_ID,
        &FORWARDED,
    ];
    let mut forwarded = false;
    let mut aliases: Vec<HeaderName> = Vec::new();
    for k in headers.keys() {
        if *k == FORWARDED {
            forwarded = true;
        } else if k.as_str().contains('_')
            && managed
                .iter()
                .any(|m| same_but_underscores(k.as_str(), m.as_str()))
        {
            aliases.push(k.clone());
        }
    }
    for name in aliases {
        headers.remove(name);
    }
    forwarded
}

/// Whether `name` is `managed` with some `-` written as `_`.
fn same_but_underscores(name: &str, managed: &str) -> bool {
    name.len() == managed.len()
        && name
            .bytes()
            .zip(managed.bytes())
            .all(|(a, b)| a == b || (a == b'_' && b == b'-'))
}

/// `ip` as a header value, e.g. `127.0.0.1` or `::1`.
pub fn ip_value(ip: IpAddr) -> HeaderValue {
    HeaderValue::from_str(&ip.to_string()).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// Returns the request id: the incoming `X-Request-Id` if it is sane (1–128
/// characters of `[A-Za-z0-9._:-]`), else a new random one.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    if let Some(v) = headers.get(&X_REQUEST_ID) {
        let b = v.as_bytes();
        if !b.is_empty()
            && b.len() <= 128
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
        {
            return v.clone();
        }
    }
    // 32 lowercase hex digits, written on the stack: no `format!`.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut n = fastrand::u128(..);
    let mut id = [0u8; 32];
    for b in id.iter_mut().rev() {
        *b = HEX[(n & 0xf) as usize];
        n >>= 4;
    }
    HeaderValue::from_bytes(&id).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// Applies a route's `set` and `remove` rules.
pub fn apply_rules(headers: &mut HeaderMap, rules: &HeaderRules) {
    for name in &rules.remove {
        headers.remove(name);
    }
    for (name, value) in &rules.set {
        headers.insert(name.clone(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, X-Secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.append("x-multi", HeaderValue::from_static("a"));
        h.append("x-multi", HeaderValue::from_static("b"));
        remove_hop_by_hop(&mut h);
        assert!(h.get("x-secret").is_none());
        assert!(h.get("keep-alive").is_none());
        assert!(h.get(header::CONNECTION).is_none());
        assert_eq!(h.get_all("x-multi").iter().count(), 2);
    }

    #[test]
    fn forwarded_and_underscore_spellings_from_untrusted_peers_go() {
        let mut h = HeaderMap::new();
        h.insert(FORWARDED.clone(), HeaderValue::from_static("for=6.6.6.6"));
        h.insert("x_forwarded_for", HeaderValue::from_static("6.6.6.6"));
        h.insert("x_real_ip", HeaderValue::from_static("6.6.6.6"));
        h.insert("x-request_id", HeaderValue::from_static("x"));
        h.insert("x_other", HeaderValue::from_static("kept"));
        let peer_value = HeaderValue::from_static("10.0.0.1");
        let fwd = Forwarding {
            peer: "10.0.0.1".parse().unwrap(),
            peer_value: &peer_value,
            trusted: false,
            proto: "http",
            host: None,
        };
        set_forwarding(&mut h, &fwd);
        for gone in ["forwarded", "x_forwarded_for", "x_real_ip", "x-request_id"] {
            assert!(!h.contains_key(gone), "{gone} kept");
        }
        assert_eq!(h["x_other"], "kept");
        assert_eq!(h[&X_FORWARDED_FOR], "10.0.0.1");

        let mut h = HeaderMap::new();
        h.insert(FORWARDED.clone(), HeaderValue::from_static("for=1.2.3.4"));
        h.insert("x_forwarded_for", HeaderValue::from_static("6.6.6.6"));
        set_forwarding(
            &mut h,
            &Forwarding {
                trusted: true,
                ..fwd
            },
        );
        assert_eq!(h[&FORWARDED], "for=1.2.3.4");
        assert!(!h.contains_key("x_forwarded_for"));
    }

    #[test]
    fn untrusted_forwarding_headers_are_replaced_trusted_ones_extended() {
        let host = HeaderValue::from_static("app.test");
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR.clone(), HeaderValue::from_static("6.6.6.6"));
        h.insert(X_FORWARDED_HOST.clone(), HeaderValue::from_static("evil"));
        let peer_value = HeaderValue::from_static("10.0.0.1");
        let fwd = Forwarding {
            peer: "10.0.0.1".parse().unwrap(),
            peer_value: &peer_value,
            trusted: false,
            proto: "http",
            host: Some(&host),
        };
        set_forwarding(&mut h, &fwd);
        assert_eq!(h[&X_FORWARDED_FOR], "10.0.0.1");
        assert_eq!(h[&X_FORWARDED_HOST], "app.test");
        assert_eq!(h[&X_REAL_IP], "10.0.0.1");
        assert_eq!(h[&X_FORWARDED_PROTO], "http");

        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR.clone(), HeaderValue::from_static("1.2.3.4"));
        set_forwarding(
            &mut h,
            &Forwarding {
                trusted: true,
                ..fwd
            },
        );
        assert_eq!(h[&X_FORWARDED_FOR], "1.2.3.4, 10.0.0.1");
    }

    #[test]
    fn request_ids_are_kept_when_sane() {
        let mut h = HeaderMap::new();
        h.insert(X_REQUEST_ID.clone(), HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert(
            X_REQUEST_ID.clone(),
            HeaderValue::from_static("bad id<script>"),
        );
        let id = request_id(&h);
        assert_eq!(id.len(), 32);
    }
}
