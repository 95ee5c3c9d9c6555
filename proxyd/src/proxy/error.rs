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
    /// The site has no route for the path.
    #[error("no route for path")]
    NoRoute,
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The body is larger than `max_body_size`.
    #[error("request body too large")]
    BodyTooLarge,
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
        source: hyper::Error,
    },
}

impl ProxyError {
    /// The status the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::NoSite { tls: true } => StatusCode::MISDIRECTED_REQUEST,
            ProxyError::NoSite { tls: false } | ProxyError::NoRoute => StatusCode::NOT_FOUND,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::NoHealthyServer => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Connect { .. } | ProxyError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The metric `kind` of an upstream failure, `None` for client-side errors.
    pub fn upstream_kind(&self) -> Option<&'static str> {
        match self {
            ProxyError::Connect { .. } => Some("connection"),
            ProxyError::Timeout { .. } => Some("timeout"),
            ProxyError::Upstream { .. } => Some("response_read"),
            _ => None,
        }
    }

    /// The short response the client gets.
    pub fn response(&self) -> Response<Body> {
        let status = self.status();
        let mut resp = status_response(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

/// A plain-text response whose body is the status line, e.g. `404 Not Found`.
pub fn status_response(status: StatusCode) -> Response<Body> {
    let text = format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let mut resp = Response::new(Body::full(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
