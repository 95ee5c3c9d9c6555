//! What the request path answers for TLS before (and while) routing:
//! ACME HTTP-01 challenges and the redirect to HTTPS on plain listeners,
//! and the SNI/Host agreement check on TLS connections.
//!
//! Order on a plain listener (after `health_path`): a pending HTTP-01 token
//! is answered first, then `redirect_to_https` sends 308 to the same host
//! and path on the listener's HTTPS port. Requests under
//! `/.well-known/acme-challenge/` are never redirected, so a validation for
//! a token another process or a previous run owns still reaches routing.

use http::{header, HeaderValue, Request, Response, StatusCode};

use crate::body::Body;
use crate::proxy::ConnInfo;
use crate::snapshot::routing::normalize_host;
use crate::snapshot::{ListenerRoutes, Snapshot};
use crate::state::Shared;

/// The path prefix of HTTP-01 validations (RFC 8555 §8.3).
pub const ACME_CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// Answers a request on a plain listener before routing, if it must be:
/// a pending ACME HTTP-01 token, or the redirect to HTTPS.
pub fn before_routing<B>(
    shared: &Shared,
    snap: &Snapshot,
    listener: &ListenerRoutes,
    conn: &ConnInfo,
    req: &Request<B>,
) -> Option<Response<Body>> {
    if conn.tls {
        return None;
    }
    let path = req.uri().path();
    if let Some(token) = path.strip_prefix(ACME_CHALLENGE_PREFIX) {
        let key_auth = shared.tls.acme()?.http01(token)?;
        let mut resp = Response::new(Body::full(key_auth));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        return Some(resp);
    }
    let config = snap
        .config
        .listeners
        .iter()
        .find(|l| *l.name == *listener.name)?;
    let https = config.https.filter(|_| config.redirect_to_https)?;
    let raw = req
        .uri()
        .authority()
        .map(|a| a.as_str())
        .or_else(|| req.headers().get(header::HOST)?.to_str().ok())?;
    let host = normalize_host(raw)?;
    let port = match https.port() {
        443 => String::new(),
        p => format!(":{p}"),
    };
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let location = HeaderValue::from_str(&format!("https://{host}{port}{target}")).ok()?;
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::PERMANENT_REDIRECT;
    resp.headers_mut().insert(header::LOCATION, location);
    Some(resp)
}

/// True when a TLS request's Host routes to another site than the SNI its
/// connection was made with (domain fronting): the caller answers 421.
/// Connections without SNI are not checked: they were given the default
/// site's certificate, and their Host routes as usual.
pub fn misdirected(listener: &ListenerRoutes, conn: &ConnInfo, site: Option<usize>) -> bool {
    match (&conn.sni, conn.tls) {
        (Some(sni), true) => listener.hosts.find(sni) != site,
        _ => false,
    }
}
