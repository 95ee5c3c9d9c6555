//! Sending a request to an upstream: pick a server, reuse or open a
//! connection, retry on connect failure, time out waiting for headers.
//! An idempotent request without a body whose connection broke before any
//! response arrived (the server died or closed a reused connection) is
//! retried like a connect failure: it can be sent again as it was.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use http::{header, HeaderValue, Method, Request, Response};

use super::error::ProxyError;
use crate::body::Body;
use crate::config::{Limits, Scheme};
use crate::upstream::wire::ExtraFields;
use crate::upstream::{connect, SendError, ServerState, Upstream, UpstreamBody};

/// A response from an upstream server, and which server sent it.
pub struct Forwarded {
    /// The response head with its streaming body, which holds the
    /// connection until it ends (then back to the pool, or closed).
    pub response: Response<UpstreamBody>,
    /// The server that answered.
    pub server: Arc<ServerState>,
}

enum AttemptError {
    /// The request was not sent: another server may try it.
    Retryable(Box<Request<Body>>, ProxyError),
    /// The request was (maybe partly) sent: no retry.
    Fatal(ProxyError),
}

/// Sends `req` (origin-form URI, headers already rewritten; `fields` go
/// into the head after its map's) to a server of
/// `up`. On a connect failure the next healthy server is tried, up to
/// `retries` more times; a sent request is retried only when it is
/// idempotent, has no body and got no response at all ([`replayable`]).
pub async fn forward(
    up: &Upstream,
    mut req: Request<Body>,
    fields: &ExtraFields,
    limits: &Limits,
    client: IpAddr,
) -> Result<Forwarded, ProxyError> {
    let https = up.scheme == Scheme::Https;
    let attempts = 1 + up.retries as usize;
    let mut tried = Tried::default();
    let mut last_err = None;
    while tried.len() < attempts {
        let Some(i) = up.pick(client, tried.as_slice()) else {
            break;
        };
        tried.push(i);
        let server = &up.servers[i];
        if !up.preserve_host {
            if let Ok(v) = HeaderValue::from_str(&server.address) {
                req.headers_mut().insert(header::HOST, v);
            }
        }
        server.requests.fetch_add(1, Ordering::Relaxed);
        server.active.fetch_add(1, Ordering::Relaxed);
        // Keep a copy to replay only when another server could take it.
        let replay = (tried.len() < attempts && tried.len() < up.servers.len())
            .then(|| replayable(&req))
            .flatten();
        match attempt(server, req, fields, replay, limits, https).await {
            Ok(response) => {
                up.observe(server, Ok(()));
                let server = server.clone();
                // The connection is busy until the response body has been
                // read to the end; the body returns it to the pool then.
                let response = response.map(|body| body.lease(server.clone()));
                return Ok(Forwarded { response, server });
            }
            Err(AttemptError::Retryable(r, e)) => {
                server.active.fetch_sub(1, Ordering::Relaxed);
                server.failures.fetch_add(1, Ordering::Relaxed);
                up.observe(server, Err(&e));
                tracing::debug!(upstream = %up.name, server = %server.address, error = %e, "attempt failed; trying another server");
                req = *r;
                last_err = Some(e);
            }
            Err(AttemptError::Fatal(e)) => {
                server.active.fetch_sub(1, Ordering::Relaxed);
                if !e.is_client_fault() {
                    server.failures.fetch_add(1, Ordering::Relaxed);
                    up.observe(server, Err(&e));
                }
                return Err(e);
            }
        }
    }
    Err(last_err.unwrap_or(ProxyError::NoHealthyServer))
}

async fn attempt(
    server: &ServerState,
    mut req: Request<Body>,
    fields: &ExtraFields,
    replay: Option<Box<Request<Body>>>,
    limits: &Limits,
    https: bool,
) -> Result<Response<UpstreamBody>, AttemptError> {
    let mut pooled = server.pool.checkout();
    loop {
        let from_pool = pooled.is_some();
        let conn = match pooled.take() {
            Some(c) => c,
            // Boxed: the connect future (TCP, TLS) is several KiB, and
            // inline it would be part of every request's future (moved,
            // not just allocated) even when a pooled connection is reused,
            // which is the usual case.
            None => match Box::pin(connect(
                &server.host,
                server.port,
                https,
                limits.connect_timeout,
            ))
            .await
            {
                Ok(c) => c,
                Err(source) => {
                    let e = ProxyError::Connect {
                        server: server.address.clone(),
                        source,
                    };
                    return Err(AttemptError::Retryable(Box::new(req), e));
                }
            },
        };
        let upstream = |source| ProxyError::Upstream {
            server: server.address.clone(),
            source,
        };
        match conn.send(req, fields, Some(limits.request_timeout)).await {
            Ok(resp) => return Ok(resp),
            Err(SendError::TimedOut) => {
                return Err(AttemptError::Fatal(ProxyError::Timeout {
                    server: server.address.clone(),
                }))
            }
            // A pooled connection the server closed meanwhile: the request
            // never left, send it on a fresh connection.
            Err(SendError::Unsent(r, _)) if from_pool => req = *r,
            Err(SendError::Unsent(r, e)) => {
                return Err(AttemptError::Retryable(r, upstream(e)));
            }
            Err(SendError::Failed(e)) => {
                return Err(match replay {
                    Some(again) if !e.is_client_fault() => {
                        AttemptError::Retryable(again, upstream(e))
                    }
                    _ => AttemptError::Fatal(upstream(e)),
                });
            }
        }
    }
}

/// A copy of `req` to send again if the connection breaks before any
/// response: only for idempotent methods (RFC 9110 §9.2.2) without a body
/// and outside upgrades, where a second delivery changes nothing. Boxed:
/// inline, the usually absent copy would be moved along with every
/// request's future.
fn replayable(req: &Request<Body>) -> Option<Box<Request<Body>>> {
    let idempotent = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    );
    if !idempotent
        || !matches!(req.body(), Body::Empty)
        || req.headers().contains_key(header::UPGRADE)
    {
        return None;
    }
    let mut copy = Request::new(Body::Empty);
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    Some(Box::new(copy))
}

/// The servers a request has tried, kept on the stack for the usual small
/// `retries` (no allocation per request); a longer list spills to the heap.
#[derive(Default)]
struct Tried {
    inline: [usize; 8],
    len: usize,
    spill: Vec<usize>,
}

impl Tried {
    fn push(&mut self, i: usize) {
        if self.len < self.inline.len() {
            self.inline[self.len] = i;
        } else {
            if self.spill.is_empty() {
                self.spill.extend_from_slice(&self.inline);
            }
            self.spill.push(i);
        }
        self.len += 1;
    }

    fn len(&self) -> usize {
        self.len
    }

    fn as_slice(&self) -> &[usize] {
        if self.len <= self.inline.len() {
            &self.inline[..self.len]
        } else {
            &self.spill
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tried_spills_past_eight_in_order() {
        let mut t = Tried::default();
        for i in 0..20 {
            t.push(i * 3);
            assert_eq!(t.len(), i + 1);
            assert_eq!(t.as_slice(), (0..=i).map(|k| k * 3).collect::<Vec<_>>());
        }
    }

    #[test]
    fn only_idempotent_bodiless_requests_are_replayable() {
        let req =
            |m: Method, body: Body| Request::builder().method(m).uri("/x").body(body).unwrap();
        let again = replayable(&req(Method::GET, Body::Empty)).unwrap();
        assert_eq!((again.method(), again.uri().path()), (&Method::GET, "/x"));
        assert!(replayable(&req(Method::DELETE, Body::Empty)).is_some());
        assert!(replayable(&req(Method::POST, Body::Empty)).is_none());
        assert!(replayable(&req(Method::PATCH, Body::Empty)).is_none());
        assert!(replayable(&req(Method::PUT, Body::full("data"))).is_none());
        let mut upgrade = req(Method::GET, Body::Empty);
        upgrade
            .headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(replayable(&upgrade).is_none());
    }
}
