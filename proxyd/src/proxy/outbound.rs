//! The request sent upstream, built from the client's: origin-form URI
//! (prefix stripped if asked), HTTP/1.1, hop-by-hop headers removed (kept
//! for upgrades), forwarding headers and route rules applied, and the body
//! counted and capped at `max_body_size`.

use std::borrow::Cow;
use std::sync::Arc;

use http::uri::PathAndQuery;
use http::{header, HeaderValue, Request, Uri, Version};
use http_body::Body as _;
use prometheus_client::metrics::counter::Counter;

use super::error::ProxyError;
use super::headers::{self, ExtraFields};
use super::{upgrade, ConnInfo};
use crate::body::{Body, Capped, Inbound, Tally};
use crate::snapshot::{Route, Site};

/// What the upstream request is built from besides the request itself.
pub(super) struct Context<'a> {
    pub conn: &'a ConnInfo,
    pub site: &'a Site,
    pub route: &'a Route,
    pub request_id: &'a HeaderValue,
    pub tally: &'a Arc<Tally>,
    pub received: Counter,
    /// The client asked for a protocol upgrade: keep `Upgrade`.
    pub upgrade: bool,
}

/// Turns the client's request into the one sent upstream, and the fields
/// to write after its map's (forwarding fields, request id). A body without a
/// known length (chunked) has its first frame read here, so broken framing
/// is refused with 400 before the upstream is contacted.
pub(super) async fn request(
    req: Request<Inbound>,
    cx: &Context<'_>,
) -> Result<(Request<Body>, ExtraFields), ProxyError> {
    let limits = &cx.site.limits;
    let (mut parts, body) = req.into_parts();

    // `:authority` (HTTP/2) or an absolute-form target names the host;
    // otherwise the `Host` field already in the map does.
    let authority = parts
        .uri
        .authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok());
    let from_authority = authority.is_some();
    let host = authority.or_else(|| parts.headers.get(header::HOST).cloned());
    let upgrade_to = cx
        .upgrade
        .then(|| parts.headers.get(header::UPGRADE).cloned())
        .flatten();
    let wants_trailers = headers::accepts_trailers(&parts.headers);

    parts.uri = origin_form(&parts.uri, cx.route)?;
    parts.version = Version::HTTP_11;
    headers::remove_hop_by_hop(&mut parts.headers);
    if let Some(proto) = upgrade_to {
        upgrade::set_upgrade_headers(&mut parts.headers, proto);
    } else if wants_trailers {
        parts
            .headers
            .insert(header::TE, HeaderValue::from_static("trailers"));
    }
    let trusted = headers::is_trusted(cx.conn.peer.ip(), &limits.trusted_proxies);
    let added = headers::plan_forwarding(
        &mut parts.headers,
        &headers::Forwarding {
            peer: cx.conn.peer.ip(),
            peer_value: &cx.conn.peer_value,
            trusted,
            proto: if cx.conn.tls { "https" } else { "http" },
            host: host.as_ref(),
            request_id: cx.request_id,
        },
    );
    if from_authority {
        if let Some(h) = host {
            parts.headers.insert(header::HOST, h);
        }
    }
    // The planned fields go straight into the upstream head, after the
    // map's. Route rules cannot name them (config validation refuses it),
    // so applying the rules to the map alone keeps their meaning.
    let rules = &cx.route.request_headers;
    headers::apply_rules(&mut parts.headers, rules);

    if body.is_end_stream() {
        return Ok((Request::from_parts(parts, Body::Empty), added));
    }
    let sized = body.size_hint().exact().is_some();
    let mut body = Box::new(Capped::new(
        body,
        limits.max_body_size,
        cx.tally.clone(),
        cx.received.clone(),
    ));
    if !sized {
        let first = tokio::time::timeout(limits.request_timeout, body.read_ahead()).await;
        match first {
            Err(_) => return Err(ProxyError::ClientTimeout),
            Ok(Err(_))
                if cx
                    .tally
                    .too_large
                    .load(std::sync::atomic::Ordering::Relaxed) =>
            {
                return Err(ProxyError::BodyTooLarge)
            }
            Ok(Err(_)) => return Err(ProxyError::BadBody),
            Ok(Ok(false)) => return Ok((Request::from_parts(parts, Body::Empty), added)),
            Ok(Ok(true)) => {}
        }
    }
    Ok((Request::from_parts(parts, Body::Capped(body)), added))
}

/// The path and query to send upstream, with the route prefix removed when
/// `strip_prefix` is set (the result always starts with `/`). Without
/// `strip_prefix` the client's path-and-query is reused as is (a reference
/// count, not a copy or a re-parse).
fn origin_form(uri: &Uri, route: &Route) -> Result<Uri, ProxyError> {
    if !route.strip_prefix {
        let mut parts = http::uri::Parts::default();
        parts.path_and_query = Some(
            uri.path_and_query()
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
        );
        return Uri::from_parts(parts)
            .map_err(|_| ProxyError::BadRequest("invalid request target"));
    }
    let path = uri.path();
    let rest = path.strip_prefix(route.path.as_str()).unwrap_or(path);
    let path = if rest.starts_with('/') {
        Cow::Borrowed(rest)
    } else {
        Cow::Owned(format!("/{rest}"))
    };
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.into_owned(),
    };
    pq.parse::<Uri>()
        .map_err(|_| ProxyError::BadRequest("invalid request target"))
}
