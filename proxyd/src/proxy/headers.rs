//! Header rewriting: hop-by-hop removal, forwarding headers, request ids and
//! the per-route `set` / `remove` rules.
//!
//! Multi-value headers are preserved: we append, never collapse.

use std::net::IpAddr;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

use crate::config::HeaderRules;
pub use crate::upstream::wire::ExtraFields;

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
    /// The request's id (`X-Request-Id` upstream).
    pub request_id: &'a HeaderValue,
}

/// Sets `X-Forwarded-For`, `X-Real-IP`, `X-Forwarded-Proto`,
/// `X-Forwarded-Host` and `X-Request-Id` in `headers` ([`plan_forwarding`],
/// then the planned fields inserted).
pub fn set_forwarding(headers: &mut HeaderMap, fwd: &Forwarding<'_>) {
    plan_forwarding(headers, fwd).insert_into(headers);
}

/// Decides `X-Forwarded-For`, `X-Real-IP`, `X-Forwarded-Proto`,
/// `X-Forwarded-Host` and `X-Request-Id`. From an untrusted peer, incoming
/// values are replaced, never passed on (and `Forwarded` is dropped); from
/// a trusted one, the chain is extended and its other values kept. What
/// must go is removed from `headers` here; what is new is returned, to be
/// written into the upstream request's head after the map's fields (five
/// map inserts of custom names cost about 1,000 instructions per request).
/// Route rules never name these fields (config validation refuses it).
pub fn plan_forwarding(headers: &mut HeaderMap, fwd: &Forwarding<'_>) -> ExtraFields {
    let present = managed_present(headers);
    if present & FORWARDED_BIT != 0 && !fwd.trusted {
        headers.remove(&FORWARDED);
    }
    let mut added = ExtraFields::default();
    let chain = if fwd.trusted && present & XFF_BIT != 0 {
        let values: Vec<&str> = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| format!("{}, {}", values.join(", "), fwd.peer))
    } else {
        None
    };
    if present & XFF_BIT != 0 {
        headers.remove(&X_FORWARDED_FOR);
    }
    let xff = chain
        .and_then(|chain| HeaderValue::from_str(&chain).ok())
        .unwrap_or_else(|| fwd.peer_value.clone());
    added.push(&X_FORWARDED_FOR, xff);
    // The others: a trusted peer's value stays; anything else is replaced.
    let keep = |bit: u8| fwd.trusted && present & bit != 0;
    let mut replace = |headers: &mut HeaderMap,
                       bit: u8,
                       name: &'static HeaderName,
                       value: Option<HeaderValue>| {
        if keep(bit) {
            return;
        }
        if present & bit != 0 {
            headers.remove(name);
        }
        if let Some(v) = value {
            added.push(name, v);
        }
    };
    replace(headers, XRI_BIT, &X_REAL_IP, Some(fwd.peer_value.clone()));
    replace(
        headers,
        XFP_BIT,
        &X_FORWARDED_PROTO,
        Some(HeaderValue::from_static(fwd.proto)),
    );
    replace(headers, XFH_BIT, &X_FORWARDED_HOST, fwd.host.cloned());
    if present & XRID_BIT != 0 {
        headers.remove(&X_REQUEST_ID);
    }
    added.push(&X_REQUEST_ID, fwd.request_id.clone());
    added
}

const XFF_BIT: u8 = 1;
const XFP_BIT: u8 = 1 << 1;
const XFH_BIT: u8 = 1 << 2;
const XRI_BIT: u8 = 1 << 3;
const XRID_BIT: u8 = 1 << 4;
const FORWARDED_BIT: u8 = 1 << 5;

/// Drops `_` spellings of the headers managed here (`X_Forwarded_For`,
/// `x-real_ip`, …): many upstream stacks (CGI, WSGI, PHP) fold `_` and `-`
/// into one name, so such a header would stand in for the real one.
/// Returns which managed headers are present (`*_BIT`), found in the same
/// pass over the names, which spares lookups of absent ones.
fn managed_present(headers: &mut HeaderMap) -> u8 {
    let managed: [(&HeaderName, u8); 6] = [
        (&X_FORWARDED_FOR, XFF_BIT),
        (&X_FORWARDED_PROTO, XFP_BIT),
        (&X_FORWARDED_HOST, XFH_BIT),
        (&X_REAL_IP, XRI_BIT),
        (&X_REQUEST_ID, XRID_BIT),
        (&FORWARDED, FORWARDED_BIT),
    ];
    let mut present = 0u8;
    let mut aliases: Vec<HeaderName> = Vec::new();
    for k in headers.keys() {
        if let Some((_, bit)) = managed.iter().find(|(m, _)| *m == k) {
            present |= bit;
        } else if k.as_str().contains('_')
            && managed
                .iter()
                .any(|(m, _)| same_but_underscores(k.as_str(), m.as_str()))
        {
            aliases.push(k.clone());
        }
    }
    for name in aliases {
        headers.remove(name);
    }
    present
}

/// Whether `name` is `managed` with some `-` written as `_`.
fn same_but_underscores(name: &str, managed: &str) -> bool {
    name.len() == managed.len()
        && name
            .bytes()
            .zip(managed.bytes())
            .all(|(a, b)| a == b || (a == b'_' && b == b'-'))
}

/// `ip` as a header value, e.g. `127.0.0.1` or `::1`. Once per
/// connection: an IPv4 address is written by hand, as `Display` through
/// the formatting machinery cost about 1,500 instructions.
pub fn ip_value(ip: IpAddr) -> HeaderValue {
    let IpAddr::V4(v4) = ip else {
        return HeaderValue::from_str(&ip.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("-"));
    };
    let mut text = [0u8; 15];
    let mut len = 0;
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text[len] = b'.';
            len += 1;
        }
        let digits = [octet / 100, octet / 10 % 10, octet % 10];
        let skip = if octet >= 100 {
            0
        } else if octet >= 10 {
            1
        } else {
            2
        };
        for d in &digits[skip..] {
            text[len] = b'0' + d;
            len += 1;
        }
    }
    HeaderValue::from_bytes(&text[..len]).unwrap_or_else(|_| HeaderValue::from_static("-"))
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
    // 32 lowercase hex digits, written on the stack: no `format!`. The
    // array becomes the value's storage as it is (one allocation, shared
    // by the clones for the upstream request and the response).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = [0u8; 32];
    for (pair, byte) in id.chunks_exact_mut(2).zip(fastrand::u128(..).to_be_bytes()) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    HeaderValue::from_maybe_shared(Bytes::from_owner(id))
        .unwrap_or_else(|_| HeaderValue::from_static("-"))
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
    fn ip_values_read_as_display_writes_them() {
        let mut cases: Vec<IpAddr> = [
            "0.0.0.0",
            "255.255.255.255",
            "127.0.0.1",
            "10.0.100.7",
            "192.168.9.99",
            "::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:10.1.2.3",
        ]
        .iter()
        .map(|s| s.parse().expect("test address"))
        .collect();
        // Every octet value, in each position.
        cases.extend((0..=255u8).map(|b| IpAddr::from([b, 255 - b, b / 3, b.wrapping_mul(7)])));
        for ip in cases {
            assert_eq!(
                ip_value(ip).to_str().ok(),
                Some(ip.to_string().as_str()),
                "{ip:?}"
            );
        }
    }

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
        let id = HeaderValue::from_static("req-1");
        let fwd = Forwarding {
            peer: "10.0.0.1".parse().unwrap(),
            peer_value: &peer_value,
            trusted: false,
            proto: "http",
            host: None,
            request_id: &id,
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
    fn the_plan_takes_the_clients_values_out_of_the_map_and_returns_ours() {
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR.clone(), HeaderValue::from_static("6.6.6.6"));
        h.insert(X_REQUEST_ID.clone(), HeaderValue::from_static("bad id"));
        h.insert("x-other", HeaderValue::from_static("1"));
        let peer_value = HeaderValue::from_static("10.0.0.1");
        let id = HeaderValue::from_static("req-1");
        let host = HeaderValue::from_static("app.test");
        let fwd = Forwarding {
            peer: "10.0.0.1".parse().unwrap(),
            peer_value: &peer_value,
            trusted: false,
            proto: "https",
            host: Some(&host),
            request_id: &id,
        };
        let added = plan_forwarding(&mut h, &fwd);
        let names: Vec<&str> = h.keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["x-other"], "the client's managed fields are gone");
        let added: Vec<(&str, &str)> = added
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            added,
            [
                ("x-forwarded-for", "10.0.0.1"),
                ("x-real-ip", "10.0.0.1"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "app.test"),
                ("x-request-id", "req-1"),
            ]
        );
    }

    #[test]
    fn untrusted_forwarding_headers_are_replaced_trusted_ones_extended() {
        let host = HeaderValue::from_static("app.test");
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR.clone(), HeaderValue::from_static("6.6.6.6"));
        h.insert(X_FORWARDED_HOST.clone(), HeaderValue::from_static("evil"));
        let peer_value = HeaderValue::from_static("10.0.0.1");
        let id = HeaderValue::from_static("req-1");
        let fwd = Forwarding {
            peer: "10.0.0.1".parse().unwrap(),
            peer_value: &peer_value,
            trusted: false,
            proto: "http",
            host: Some(&host),
            request_id: &id,
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
