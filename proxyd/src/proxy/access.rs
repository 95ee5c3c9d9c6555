//! The response body as the client receives it: counted, and carrying the
//! access-log record, which is written when the body is finished (or
//! dropped, if the client went away), so the line has real byte counts and
//! the whole duration.
//!
//! Also holds whatever must live exactly as long as the response: the
//! listener's in-flight slot.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;

use crate::body::{Body, BoxError, Tally};
use crate::limit::InFlight;
use crate::upstream::wire::Fields;
use crate::upstream::ServerState;

/// Everything an access-log line says besides the byte counts.
#[derive(Debug)]
pub struct Record {
    /// When the request arrived.
    pub started: Instant,
    /// The request id sent upstream and echoed to the client.
    pub request_id: HeaderValue,
    /// The client address.
    pub client_ip: IpAddr,
    /// Listener name, once known.
    pub listener: Option<Arc<str>>,
    /// Site name, once known.
    pub site: Option<Arc<str>>,
    /// The request method.
    pub method: Method,
    /// The Host the client sent.
    pub host: String,
    /// The path only: query strings often carry tokens.
    pub path: String,
    /// The status sent.
    pub status: StatusCode,
    /// The upstream server that answered.
    pub server: Option<Arc<ServerState>>,
    /// Why the request failed, if it did.
    pub error: Option<String>,
    /// Request body accounting.
    pub tally: Arc<Tally>,
}

impl Record {
    fn write(&self, bytes_out: u64) {
        tracing::info!(
            target: "proxyd::access",
            request_id = self.request_id.to_str().unwrap_or("-"),
            client_ip = %self.client_ip,
            listener = self.listener.as_deref().unwrap_or("-"),
            site = self.site.as_deref().unwrap_or("-"),
            method = %self.method,
            host = %self.host,
            path = %self.path,
            status = self.status.as_u16(),
            bytes_in = self.tally.bytes_in.load(Ordering::Relaxed),
            bytes_out,
            upstream_server = self.server.as_ref().map_or("-", |s| s.address.as_str()),
            duration_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            error = self.error.as_deref().unwrap_or(""),
            "request"
        );
    }
}

/// A response body on its way to the client.
#[derive(Debug)]
pub struct ClientBody {
    inner: Body,
    sent: Counter,
    bytes_out: u64,
    record: Option<Box<Record>>,
    _in_flight: Option<InFlight>,
    /// The `X-Request-Id` to send, when the connection's server writes it
    /// from here rather than from the header map ([`ClientBody::echo_id`]).
    request_id: Option<HeaderValue>,
}

impl ClientBody {
    /// Wraps `inner`, counting into `sent`; writes `record` (if any) when done.
    pub fn new(
        inner: Body,
        sent: Counter,
        record: Option<Box<Record>>,
        in_flight: Option<InFlight>,
    ) -> Self {
        ClientBody {
            inner,
            sent,
            bytes_out: 0,
            record,
            _in_flight: in_flight,
            request_id: None,
        }
    }

    /// Carries the response's `X-Request-Id` for proxyd's HTTP/1.1 server,
    /// which writes it after the header fields
    /// ([`crate::proxy::ConnInfo::raw_fields`]): on the usual path the
    /// response's map is empty, and one insert would cost its allocation.
    pub fn echo_id(mut self, id: HeaderValue) -> Self {
        self.request_id = Some(id);
        self
    }

    /// The `X-Request-Id` carried by [`ClientBody::echo_id`].
    pub fn request_id(&self) -> Option<&HeaderValue> {
        self.request_id.as_ref()
    }

    /// The upstream response's header fields that are part of this
    /// response but not in its header map ([`Body::raw_fields`]).
    pub fn raw_fields(&self) -> Option<&Fields> {
        self.inner.raw_fields()
    }
}

impl Drop for ClientBody {
    fn drop(&mut self) {
        if let Some(r) = self.record.take() {
            r.write(self.bytes_out);
        }
    }
}

impl HttpBody for ClientBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(f))) = &polled {
            if let Some(d) = f.data_ref() {
                let n = d.len() as u64;
                self.bytes_out += n;
                self.sent.inc_by(n);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
