//! Proxy errors and the one place they become HTTP statuses.
//!
//! Each error records which side failed (the client, the upstream, or us),
//! in the spirit of pingora's `ErrorSource`, so the access log and metrics
//! can say so. Bodies are short and plain, never an internal message.

use http::{header, HeaderValue, Response, StatusCode};

use crate::body::Body;
use crate::upstream::ConnectError;

/// Why a request was not proxied normally.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No site on this listener matches the Host.
    #[error("no site for host")]
    NoSite {
        /// The request came over TLS (421 rather than 404).
        tls: bool,
    },
    /// A TLS request whose Host routes to another site than the server
    /// name (SNI) its connection was made with: no domain fronting.
    #[error("host does not match the TLS server name")]
    Misdirected,
    /// The site has no route for the path.
    #[error("no route for path")]
    NoRoute,
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The body is larger than `max_body_size`.
    #[error("request body too large")]
    BodyTooLarge,
    /// The request head is larger than `max_header_size`.
    #[error("request headers too large")]
    HeadersTooLarge,
    /// The client's body broke off or had invalid framing.
    #[error("request body broken")]
    BadBody,
    /// The client did not send its body in time.
    #[error("request body not sent in time")]
    ClientTimeout,
    /// The upstream answered something we cannot pass on (e.g. an
    /// unrequested 101).
    #[error("upstream {server} sent an invalid response")]
    InvalidResponse {
        /// The server address.
        server: String,
    },
    /// The client's token bucket is empty.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until a token is available.
        retry_after_secs: u64,
    },
    /// `max_in_flight` requests are already in flight on this listener.
    #[error("too many requests in flight")]
    Overloaded,
    /// Adaptive shedding refused the request (latency above target).
    #[error("shed: latency above target")]
    Shed,
    /// Every server is unhealthy or already tried.
    #[error("no healthy server")]
    NoHealthyServer,
    /// Could not connect to the upstream server.
    #[error("connecting to {server}")]
    Connect {
        /// The server address.
        server: String,
        /// Why.
        #[source]
        source: ConnectError,
    },
    /// The upstream did not send response headers within `request_timeout`.
    #[error("upstream {server} timed out")]
    Timeout {
        /// The server address.
        server: String,
    },
    /// The upstream connection failed mid-exchange or sent garbage.
    #[error("upstream {server} failed")]
    Upstream {
        /// The server address.
        server: String,
        /// Why.
        #[source]
        source: crate::upstream::conn::Error,
    },
}

impl ProxyError {
    /// The status the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::NoSite { tls: true } | ProxyError::Misdirected => {
                StatusCode::MISDIRECTED_REQUEST
            }
            ProxyError::NoSite { tls: false } | ProxyError::NoRoute => StatusCode::NOT_FOUND,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ProxyError::BadBody => StatusCode::BAD_REQUEST,
            ProxyError::ClientTimeout => StatusCode::REQUEST_TIMEOUT,
            ProxyError::InvalidResponse { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::NoHealthyServer | ProxyError::Overloaded | ProxyError::Shed => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ProxyError::Connect { .. } | ProxyError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// Whether the exchange failed because of the client's request body
    /// (too large, broken off): not the server's fault, so it must not
    /// count against the server's health.
    pub fn is_client_fault(&self) -> bool {
        matches!(self, ProxyError::Upstream { source, .. } if source.is_client_fault())
    }

    /// The metric `kind` of an upstream failure, `None` for client-side errors:
    /// - `timeout`: no connection within `connect_timeout` (TCP or TLS), or
    ///   no response head within `request_timeout`;
    /// - `connection`: the connection was refused, reset or failed its TLS
    ///   handshake (certificate not trusted, wrong name);
    /// - `invalid_request`: the request could not be sent as built: the
    ///   client's body broke off or passed its limit (the client's fault,
    ///   not counted against the server's health);
    /// - `response_read`: the connection failed after the request was sent,
    ///   or the answer was not valid HTTP or not one we can pass on;
    /// - `internal`: proxyd could not even try (a server name unusable for
    ///   TLS, an HTTP handshake that failed before any byte was sent).
    pub fn upstream_kind(&self) -> Option<&'static str> {
        match self {
            ProxyError::Connect { source, .. } => Some(match source {
                ConnectError::Timeout(_) => "timeout",
                ConnectError::Io(_) | ConnectError::Tls(_) => "connection",
                ConnectError::ServerName(_) => "internal",
            }),
            ProxyError::Timeout { .. } => Some("timeout"),
            ProxyError::Upstream { source, .. } if source.is_client_fault() => {
                Some("invalid_request")
            }
            ProxyError::Upstream { .. } | ProxyError::InvalidResponse { .. } => {
                Some("response_read")
            }
            _ => None,
        }
    }

    /// The short response the client gets.
    pub fn response(&self) -> Response<Body> {
        let status = self.status();
        let mut resp = status_response(status);
        let retry_after = match self {
            ProxyError::RateLimited { retry_after_secs } => HeaderValue::from(*retry_after_secs),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => HeaderValue::from_static("1"),
            _ => return resp,
        };
        resp.headers_mut().insert(header::RETRY_AFTER, retry_after);
        resp
    }
}

/// A plain-text response whose body is the status line, e.g. `404 Not Found`.
pub fn status_response(status: StatusCode) -> Response<Body> {
    let text = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}\n", status.as_u16()),
        None => format!("{}\n", status.as_u16()),
    };
    let mut resp = Response::new(Body::full(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn connect(source: ConnectError) -> ProxyError {
        ProxyError::Connect {
            server: "s:1".into(),
            source,
        }
    }

    #[test]
    fn upstream_kinds_follow_what_failed() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let bad_cert = std::io::Error::other("invalid peer certificate: UnknownIssuer");
        for (e, kind) in [
            (
                connect(ConnectError::Timeout(Duration::from_secs(1))),
                Some("timeout"),
            ),
            (connect(ConnectError::Io(refused)), Some("connection")),
            (connect(ConnectError::Tls(bad_cert)), Some("connection")),
            (
                connect(ConnectError::ServerName("a b".into())),
                Some("internal"),
            ),
            (
                ProxyError::Timeout {
                    server: "s:1".into(),
                },
                Some("timeout"),
            ),
            (
                ProxyError::InvalidResponse {
                    server: "s:1".into(),
                },
                Some("response_read"),
            ),
            (
                ProxyError::Upstream {
                    server: "s:1".into(),
                    source: crate::upstream::conn::Error::Closed,
                },
                Some("response_read"),
            ),
            (
                ProxyError::Upstream {
                    server: "s:1".into(),
                    source: crate::upstream::conn::Error::Body("cut off".into()),
                },
                Some("invalid_request"),
            ),
            (ProxyError::Misdirected, None),
            (ProxyError::BodyTooLarge, None),
        ] {
            assert_eq!(e.upstream_kind(), kind, "{e}");
        }
    }

    #[test]
    fn misdirected_is_421_and_says_why() {
        let e = ProxyError::Misdirected;
        assert_eq!(e.status(), StatusCode::MISDIRECTED_REQUEST);
        assert_eq!(e.to_string(), "host does not match the TLS server name");
        assert_eq!(
            ProxyError::NoSite { tls: true }.to_string(),
            "no site for host"
        );
    }
}
