//! The per-request pipeline: route, then respond, redirect or forward.
//!
//! A request loads the current snapshot once and uses it to the end. Errors
//! become responses in one place (`error::ProxyError::response`) and are
//! logged once, in the access log line.

pub mod error;
pub mod forward;
pub mod headers;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use http::{header, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use http_body::Body as _;
use http_body_util::Limited;
use hyper::body::Incoming;

use crate::body::Body;
use crate::metrics::{self, Name, RequestLabels, SiteLabels, UpstreamErrorLabels};
use crate::snapshot::{routing, Action, Route, Site, Snapshot};
use crate::state::Shared;
use error::ProxyError;

/// What a connection knows about itself, shared by its requests.
#[derive(Debug)]
pub struct ConnInfo {
    /// The configured address of the listener that accepted it.
    pub listen: SocketAddr,
    /// The client.
    pub peer: SocketAddr,
    /// Whether it arrived over TLS.
    pub tls: bool,
    /// The TLS server name the client asked for, if any.
    pub sni: Option<Arc<str>>,
}

/// Fields of the access log line gathered along the way.
#[derive(Default)]
struct Outcome {
    listener: Option<Arc<str>>,
    site: Option<Arc<str>>,
    upstream: Option<Arc<str>>,
    server: Option<String>,
    error: Option<String>,
}

/// Answers one request. Never fails: every error is a response.
pub async fn handle(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let snap = shared.snapshot.load_full();
    let request_id = headers::request_id(req.headers());
    let log = shared.access_log.then(|| RequestLine::of(&req));
    let bytes_in = req.body().size_hint().exact();

    let mut outcome = Outcome::default();
    let mut resp = match answer(&shared, &snap, &conn, req, &request_id, &mut outcome).await {
        Ok(resp) => resp,
        Err(e) => {
            if let (Some(kind), Some(upstream)) = (e.upstream_kind(), &outcome.upstream) {
                tracing::debug!(kind, error = %error_chain(&e), "upstream error");
                shared
                    .metrics
                    .upstream_errors
                    .get_or_create(&UpstreamErrorLabels {
                        upstream: Name(upstream.clone()),
                        kind,
                    })
                    .inc();
            }
            outcome.error = Some(error_chain(&e));
            e.response()
        }
    };
    resp.headers_mut()
        .insert(headers::X_REQUEST_ID.clone(), request_id.clone());
    shared.requests_total.fetch_add(1, Ordering::Relaxed);
    record_metrics(&shared, &outcome, resp.status().as_u16(), started);

    if let Some(line) = log {
        tracing::info!(
            target: "proxyd::access",
            request_id = request_id.to_str().unwrap_or("-"),
            client_ip = %conn.peer.ip(),
            listener = outcome.listener.as_deref().unwrap_or("-"),
            site = outcome.site.as_deref().unwrap_or("-"),
            method = %line.method,
            host = %line.host,
            path = %line.path,
            status = resp.status().as_u16(),
            bytes_in = bytes_in.unwrap_or(0),
            bytes_out = resp.body().size_hint().exact().unwrap_or(0),
            upstream_server = outcome.server.as_deref().unwrap_or("-"),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            error = outcome.error.as_deref().unwrap_or(""),
            "request"
        );
    }
    Ok(resp)
}

fn record_metrics(shared: &Shared, outcome: &Outcome, status: u16, started: Instant) {
    let unknown = || Name(Arc::from("-"));
    let listener = outcome.listener.clone().map_or_else(unknown, Name);
    let site = outcome.site.clone().map_or_else(unknown, Name);
    let m = &shared.metrics;
    m.requests
        .get_or_create(&RequestLabels {
            listener: listener.clone(),
            site: site.clone(),
            status: metrics::status_class(status),
        })
        .inc();
    m.request_duration
        .get_or_create(&SiteLabels { listener, site })
        .observe(started.elapsed().as_secs_f64());
}

/// The request fields the access log needs, copied before the request is
/// consumed. Only built when the access log is on.
struct RequestLine {
    method: Method,
    host: String,
    path: String,
}

impl RequestLine {
    fn of(req: &Request<Incoming>) -> Self {
        RequestLine {
            method: req.method().clone(),
            host: raw_host(req).unwrap_or("-").to_string(),
            // The path only: query strings often carry tokens.
            path: req.uri().path().to_string(),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The Host as sent: `:authority` for HTTP/2 and absolute-form, else `Host`.
fn raw_host<B>(req: &Request<B>) -> Option<&str> {
    req.uri()
        .authority()
        .map(|a| a.as_str())
        .or_else(|| req.headers().get(header::HOST)?.to_str().ok())
}

async fn answer(
    shared: &Shared,
    snap: &Snapshot,
    conn: &ConnInfo,
    req: Request<Incoming>,
    request_id: &HeaderValue,
    outcome: &mut Outcome,
) -> Result<Response<Body>, ProxyError> {
    let Some(listener) = snap.listeners.get(&conn.listen) else {
        // The listener was removed by a reload while this connection lived.
        return Err(ProxyError::NoSite { tls: conn.tls });
    };
    outcome.listener = Some(listener.name.clone());

    if listener.health_path.as_deref() == Some(req.uri().path()) {
        let mut resp = Response::new(Body::full("ok\n"));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        return Ok(resp);
    }
    // ACME HTTP-01 and redirect_to_https, before any routing.
    if let Some(resp) = crate::tls::front::before_routing(shared, snap, listener, conn, &req) {
        return Ok(resp);
    }

    let site_idx = match raw_host(&req) {
        Some(raw) => {
            let host =
                routing::normalize_host(raw).ok_or(ProxyError::BadRequest("invalid host"))?;
            listener.hosts.find(&host)
        }
        None if req.version() == Version::HTTP_11 => {
            return Err(ProxyError::BadRequest("missing host"));
        }
        None => listener.hosts.default_site(),
    };
    // No domain fronting: Host must route to the site the SNI chose.
    if crate::tls::front::misdirected(listener, conn, site_idx) {
        return Err(ProxyError::NoSite { tls: true });
    }
    let site = &snap.sites[site_idx.ok_or(ProxyError::NoSite { tls: conn.tls })?];
    outcome.site = Some(site.name.clone());

    let route_idx = site
        .table
        .find(req.uri().path())
        .ok_or(ProxyError::NoRoute)?;
    let route = &site.routes[route_idx];

    match &route.action {
        Action::Respond {
            status,
            body,
            content_type,
        } => {
            let mut resp = Response::new(if req.method() == Method::HEAD {
                Body::Empty
            } else {
                Body::full(body.clone())
            });
            *resp.status_mut() = *status;
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, content_type.clone());
            headers::apply_rules(resp.headers_mut(), &route.response_headers);
            Ok(resp)
        }
        Action::Redirect { status, location } => {
            let mut resp = Response::new(Body::Empty);
            *resp.status_mut() = *status;
            resp.headers_mut()
                .insert(header::LOCATION, location.clone());
            headers::apply_rules(resp.headers_mut(), &route.response_headers);
            Ok(resp)
        }
        Action::Upstream(up) => {
            outcome.upstream = Some(up.name.clone());
            let upstream_req = upstream_request(req, conn, site, route, request_id)?;
            let fwd = forward::forward(up, upstream_req, &site.limits, conn.peer.ip()).await;
            let fwd = fwd.inspect_err(|_| outcome.server = None)?;
            outcome.server = Some(fwd.server.address.clone());
            let (mut parts, body) = fwd.response.into_parts();
            headers::remove_hop_by_hop(&mut parts.headers);
            headers::apply_rules(&mut parts.headers, &route.response_headers);
            Ok(Response::from_parts(parts, Body::Stream(body)))
        }
    }
}

/// Turns the client's request into the one sent upstream: origin-form URI
/// (prefix stripped if asked), HTTP/1.1, hop-by-hop headers removed,
/// forwarding headers and route rules applied, body capped at the limit.
fn upstream_request(
    req: Request<Incoming>,
    conn: &ConnInfo,
    site: &Site,
    route: &Route,
    request_id: &HeaderValue,
) -> Result<Request<Body>, ProxyError> {
    let limit = site.limits.max_body_size;
    if let Some(len) = req.body().size_hint().exact() {
        if len > limit {
            return Err(ProxyError::BodyTooLarge);
        }
    }
    let (mut parts, body) = req.into_parts();

    let host = parts
        .uri
        .authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        .or_else(|| parts.headers.get(header::HOST).cloned());

    parts.uri = origin_form(&parts.uri, route)?;
    parts.version = Version::HTTP_11;
    headers::remove_hop_by_hop(&mut parts.headers);
    let trusted = headers::is_trusted(conn.peer.ip(), &site.limits.trusted_proxies);
    headers::set_forwarding(
        &mut parts.headers,
        &headers::Forwarding {
            peer: conn.peer.ip(),
            trusted,
            proto: if conn.tls { "https" } else { "http" },
            host: host.as_ref(),
        },
    );
    if let Some(h) = host {
        parts.headers.insert(header::HOST, h);
    }
    parts
        .headers
        .insert(headers::X_REQUEST_ID.clone(), request_id.clone());
    headers::apply_rules(&mut parts.headers, &route.request_headers);

    let body = if body.is_end_stream() {
        Body::Empty
    } else {
        Body::Limited(Limited::new(
            body,
            usize::try_from(limit).unwrap_or(usize::MAX),
        ))
    };
    Ok(Request::from_parts(parts, body))
}

/// The path and query to send upstream, with the route prefix removed when
/// `strip_prefix` is set (the result always starts with `/`).
fn origin_form(uri: &Uri, route: &Route) -> Result<Uri, ProxyError> {
    let path = uri.path();
    let query = uri.query();
    let path = if route.strip_prefix {
        let rest = path.strip_prefix(route.path.as_str()).unwrap_or(path);
        if rest.starts_with('/') {
            std::borrow::Cow::Borrowed(rest)
        } else {
            std::borrow::Cow::Owned(format!("/{rest}"))
        }
    } else {
        std::borrow::Cow::Borrowed(path)
    };
    let pq = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.into_owned(),
    };
    pq.parse::<Uri>()
        .map_err(|_| ProxyError::BadRequest("invalid request target"))
}

/// A bare status response, for callers outside the pipeline.
pub fn status(status: StatusCode) -> Response<Body> {
    error::status_response(status)
}
