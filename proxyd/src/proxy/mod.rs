//! The per-request pipeline: check, admit, route, then respond, redirect or
//! forward.
//!
//! A request loads the current snapshot once and uses it to the end. The
//! order is SPEC §6: rate limit → in-flight limit → body size limit →
//! forwarding headers → routing → respond/redirect/proxy. The limits are
//! those of the site the Host names (or `[defaults]` when none does), so
//! the host lookup happens first, but a missing site is only reported
//! after the limits. Errors become responses in one place
//! (`error::ProxyError::response`) and are logged once, in the access log
//! line, written when the response body is done (`access`).

pub mod access;
pub mod error;
pub mod forward;
pub mod framing;
pub mod headers;
mod outbound;
pub mod upgrade;
pub mod validate;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use http::{header, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body::Body as _;

use crate::body::{Body, Inbound, Tally};
use crate::config::Limits;
use crate::limit::{rate::Verdict, InFlight, ListenerLoad};
use crate::metrics::{
    self, ListenerHandles, ListenerLabels, Name, RequestLabels, SiteLabels, UpstreamErrorLabels,
};
use crate::snapshot::{routing, Action, ListenerRoutes, Snapshot};
use crate::state::Shared;
use crate::upstream::wire::Fields;
use access::{ClientBody, Record};
use error::ProxyError;
use prometheus_client::metrics::counter::Counter;

/// What a connection knows about itself, shared by its requests.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The configured address of the listener that accepted it.
    pub listen: SocketAddr,
    /// The client.
    pub peer: SocketAddr,
    /// Whether it arrived over TLS.
    pub tls: bool,
    /// The TLS server name the client asked for, if any.
    pub sni: Option<Arc<str>>,
    /// The client address as a header value, made once per connection for
    /// `X-Forwarded-For` / `X-Real-IP`.
    pub peer_value: HeaderValue,
    /// The connection's server writes an upstream response's header fields
    /// as they arrived ([`crate::upstream::wire::Fields`]; proxyd's
    /// HTTP/1.1 server does). Otherwise (hyper's servers) they are moved
    /// into the response's header map.
    pub raw_fields: bool,
}

impl ConnInfo {
    /// What a connection accepted on `listen` from `peer` knows of itself.
    pub fn new(listen: SocketAddr, peer: SocketAddr, tls: bool, sni: Option<Arc<str>>) -> Self {
        ConnInfo {
            listen,
            peer,
            tls,
            sni,
            peer_value: headers::ip_value(peer.ip()),
            raw_fields: false,
        }
    }
}

/// Fields of the access log line gathered along the way, and the
/// in-flight slot the response holds until it is sent.
#[derive(Default)]
struct Outcome {
    listener: Option<Arc<str>>,
    site: Option<Arc<str>>,
    /// The listener's metric handles and the site's index, once known.
    handles: Option<Arc<ListenerHandles>>,
    site_idx: Option<usize>,
    upstream: Option<Arc<str>>,
    server: Option<Arc<crate::upstream::ServerState>>,
    error: Option<String>,
    in_flight: Option<InFlight>,
}

/// Answers one request. Never fails: every error is a response.
pub async fn handle(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    req: Request<Inbound>,
) -> Result<Response<ClientBody>, Infallible> {
    let started = Instant::now();
    let snap = shared.snapshot.load_full();
    let request_id = headers::request_id(req.headers());
    let tally = Arc::new(Tally::default());
    let line = shared.access_log.then(|| RequestLine::of(&req));

    let mut outcome = Outcome::default();
    let answered = answer(
        &shared,
        &snap,
        &conn,
        req,
        &request_id,
        &tally,
        &mut outcome,
    )
    .await;
    let mut resp = match answered {
        Ok(resp) => resp,
        Err(e) => {
            if let (Some(kind), Some(upstream)) = (e.upstream_kind(), &outcome.upstream) {
                tracing::debug!(kind, error = %crate::logging::chain(&e), "upstream error");
                shared
                    .metrics
                    .upstream_errors
                    .get_or_create(&UpstreamErrorLabels {
                        upstream: Name(upstream.clone()),
                        kind,
                    })
                    .inc();
            }
            outcome.error = Some(crate::logging::chain(&e));
            e.response()
        }
    };
    // proxyd's HTTP/1.1 server writes the id from the body (no insert
    // into the usually empty map); hyper's needs it in the map.
    let echo = conn.raw_fields.then(|| request_id.clone());
    if echo.is_none() {
        resp.headers_mut()
            .insert(headers::X_REQUEST_ID.clone(), request_id.clone());
    } else if !resp.headers().is_empty() {
        resp.headers_mut().remove(&headers::X_REQUEST_ID);
    }
    shared.requests_total.fetch_add(1, Ordering::Relaxed);
    let sent = record_metrics(&shared, &outcome, resp.status().as_u16(), started);
    let record = line.map(|line| {
        Box::new(Record {
            started,
            request_id,
            client_ip: conn.peer.ip(),
            listener: outcome.listener.clone(),
            site: outcome.site.clone(),
            method: line.method,
            host: line.host,
            path: line.path,
            status: resp.status(),
            server: outcome.server.take(),
            error: outcome.error.take(),
            tally,
        })
    });
    let (parts, body) = resp.into_parts();
    let mut body = ClientBody::new(body, sent, record, outcome.in_flight.take());
    if let Some(id) = echo {
        body = body.echo_id(id);
    }
    Ok(Response::from_parts(parts, body))
}

fn listener_labels(outcome: &Outcome) -> ListenerLabels {
    ListenerLabels {
        listener: outcome
            .listener
            .clone()
            .map_or_else(|| Name(Arc::from("-")), Name),
    }
}

/// Counts the request and its duration, and returns the counter of bytes
/// sent to the client. Through the snapshot's handles when the listener is
/// known (the usual case: no label hashing); by label set otherwise.
fn record_metrics(shared: &Shared, outcome: &Outcome, status: u16, started: Instant) -> Counter {
    let m = &shared.metrics;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(h) = &outcome.handles {
        m.record_request(h, outcome.site_idx, status, seconds);
        return h.bytes_sent.clone();
    }
    let unknown = || Name(Arc::from("-"));
    let listener = outcome.listener.clone().map_or_else(unknown, Name);
    let site = outcome.site.clone().map_or_else(unknown, Name);
    m.requests
        .get_or_create(&RequestLabels {
            listener: listener.clone(),
            site: site.clone(),
            status: metrics::status_class(status),
        })
        .inc();
    m.request_duration
        .get_or_create(&SiteLabels { listener, site })
        .observe(seconds);
    m.bytes_sent
        .get_or_create(&listener_labels(outcome))
        .clone()
}

/// The request fields the access log needs, copied before the request is
/// consumed. Only built when the access log is on.
struct RequestLine {
    method: Method,
    host: String,
    path: String,
}

impl RequestLine {
    fn of(req: &Request<Inbound>) -> Self {
        RequestLine {
            method: req.method().clone(),
            host: raw_host(req).unwrap_or("-").to_string(),
            // The path only: query strings often carry tokens.
            path: req.uri().path().to_string(),
        }
    }
}

/// The Host as sent: `:authority` for HTTP/2 and absolute-form, else `Host`.
fn raw_host<B>(req: &Request<B>) -> Option<&str> {
    req.uri()
        .authority()
        .map(|a| a.as_str())
        .or_else(|| req.headers().get(header::HOST)?.to_str().ok())
}

async fn answer(
    shared: &Arc<Shared>,
    snap: &Snapshot,
    conn: &ConnInfo,
    mut req: Request<Inbound>,
    request_id: &HeaderValue,
    tally: &Arc<Tally>,
    outcome: &mut Outcome,
) -> Result<Response<Body>, ProxyError> {
    let Some(listener) = snap.listeners.get(&conn.listen) else {
        // The listener was removed by a reload while this connection lived.
        return Err(ProxyError::NoSite { tls: conn.tls });
    };
    outcome.listener = Some(listener.name.clone());
    outcome.handles = Some(listener.metrics.clone());

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
    // No domain fronting: Host must route to the site the SNI chose. The
    // 421 is a routing outcome, reported after the limits (of [defaults]:
    // no site serves the request), like a Host no site claims.
    let misdirected = crate::tls::front::misdirected(listener, conn, site_idx);
    let site = site_idx.filter(|_| !misdirected).map(|i| &snap.sites[i]);
    outcome.site = site.map(|s| s.name.clone());
    outcome.site_idx = site_idx;
    let limits = site.map_or(&snap.config.defaults, |s| &s.limits);
    validate::check(&req, limits.max_header_size)?;

    let load = admit(shared, listener, limits, conn, outcome)?;
    if let Some(len) = req.body().size_hint().exact() {
        if len > limits.max_body_size {
            return Err(ProxyError::BodyTooLarge);
        }
    }

    if misdirected {
        return Err(ProxyError::Misdirected);
    }
    let site = site.ok_or(ProxyError::NoSite { tls: conn.tls })?;
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
            let client_upgrade = upgrade::requested(&req).then(|| upgrade::on(&mut req));
            let received = listener.metrics.bytes_received.clone();
            let ctx = outbound::Context {
                conn,
                site,
                route,
                request_id,
                tally,
                received,
                upgrade: client_upgrade.is_some(),
            };
            let (upstream_req, fields) = outbound::request(req, &ctx).await?;
            // Read the clock only when the load limits need the latency.
            let asked = load.as_ref().map(|_| Instant::now());
            let fwd =
                forward::forward(up, upstream_req, &fields, &site.limits, conn.peer.ip()).await;
            let fwd = fwd.map_err(|e| client_fault(tally).unwrap_or(e))?;
            if let (Some(load), Some(asked)) = (&load, asked) {
                load.observe(asked.elapsed());
            }
            outcome.server = Some(fwd.server.clone());
            let response = fwd.response;
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                let Some(client) = client_upgrade else {
                    return Err(invalid(&fwd.server));
                };
                let (mut parts, mut body) = response.into_parts();
                body.fields_into(&mut parts.headers)
                    .map_err(|_| invalid(&fwd.server))?;
                let Some(server) = body.into_upgraded() else {
                    return Err(invalid(&fwd.server));
                };
                upgrade::splice(
                    shared,
                    conn.listen,
                    client,
                    server,
                    site.limits.idle_timeout,
                );
                upgrade::keep_upgrade_headers(&mut parts.headers);
                headers::apply_rules(&mut parts.headers, &route.response_headers);
                return Ok(Response::from_parts(parts, Body::Empty));
            }
            let (mut parts, mut body) = response.into_parts();
            // Usually the upstream's fields go to the client as they are,
            // without a header map (see `raw_fields`).
            let as_received = conn.raw_fields
                && route.response_headers.is_empty()
                && body.raw_fields().is_some_and(Fields::plain);
            if !as_received {
                body.fields_into(&mut parts.headers)
                    .map_err(|_| invalid(&fwd.server))?;
                headers::remove_hop_by_hop_keeping_trailer(&mut parts.headers);
                headers::apply_rules(&mut parts.headers, &route.response_headers);
            }
            Ok(Response::from_parts(parts, Body::Stream(body)))
        }
    }
}

/// An upstream's response proxyd cannot pass on.
fn invalid(server: &crate::upstream::ServerState) -> ProxyError {
    ProxyError::InvalidResponse {
        server: server.address.clone(),
    }
}

/// Rate limit, in-flight limit and adaptive shedding, in that order.
/// Returns the listener's load counters when a load limit is on (to record
/// the upstream latency).
fn admit(
    shared: &Shared,
    listener: &ListenerRoutes,
    limits: &Limits,
    conn: &ConnInfo,
    outcome: &mut Outcome,
) -> Result<Option<Arc<ListenerLoad>>, ProxyError> {
    let labels = || ListenerLabels {
        listener: Name(listener.name.clone()),
    };
    if let Some(rl) = &limits.rate_limit {
        if let Verdict::Limited { retry_after_secs } = shared.limits.rate.check(conn.peer.ip(), rl)
        {
            shared.metrics.rate_limited.get_or_create(&labels()).inc();
            return Err(ProxyError::RateLimited { retry_after_secs });
        }
    }
    if limits.max_in_flight == 0 && limits.shed_latency_target.is_none() {
        return Ok(None);
    }
    let load = shared.limits.load.of(&listener.name);
    let Some(slot) = load.enter(limits.max_in_flight) else {
        shared.metrics.shed.get_or_create(&labels()).inc();
        return Err(ProxyError::Overloaded);
    };
    if let Some(target) = limits.shed_latency_target {
        if load.should_shed(target) {
            shared.metrics.shed.get_or_create(&labels()).inc();
            return Err(ProxyError::Shed);
        }
    }
    outcome.in_flight = Some(slot);
    Ok(Some(load))
}

/// When forwarding failed because of the client's body, the client's
/// error: 413 past the limit, 400 for broken framing.
fn client_fault(tally: &Tally) -> Option<ProxyError> {
    if tally.too_large.load(Ordering::Relaxed) {
        Some(ProxyError::BodyTooLarge)
    } else if tally.client_failed.load(Ordering::Relaxed) {
        Some(ProxyError::BadBody)
    } else {
        None
    }
}

/// A bare status response, for callers outside the pipeline.
pub fn status(status: StatusCode) -> Response<Body> {
    error::status_response(status)
}
