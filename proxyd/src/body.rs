//! The body type that flows through the proxy in both directions.
//!
//! An enum rather than a boxed trait object: a proxied body is forwarded
//! as-is without a heap allocation per request, and local answers (respond,
//! redirect, errors) are a single `Bytes`. A client's request body is
//! [`Capped`]: counted (for the access log and `proxyd_bytes_received_total`)
//! and cut off at `max_body_size`, with the reason recorded in a [`Tally`]
//! so the pipeline can answer 413 (or 400) instead of 502.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use prometheus_client::metrics::counter::Counter;

use crate::listener::h1::RequestBody;
use crate::upstream::wire::Fields;
use crate::upstream::UpstreamBody;

/// Errors a body can yield while streaming.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request or response body: empty, fixed bytes, or streamed from a peer.
#[derive(Debug)]
pub enum Body {
    /// No body.
    Empty,
    /// A body we generated.
    Full(Full<Bytes>),
    /// An upstream's response body, streamed unchanged; its connection
    /// goes back to the pool when it ends ([`UpstreamBody`]).
    Stream(UpstreamBody),
    /// A client's request body, counted and capped at `max_body_size`.
    /// Boxed: it is the largest variant and the rarest (most proxied
    /// requests have no body), and every move of a `Request<Body>` or
    /// `Response<Body>` copies the whole enum.
    Capped(Box<Capped>),
}

impl Body {
    /// A body of fixed bytes.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Body::Full(Full::new(bytes.into()))
    }

    /// An upstream response's header fields not yet in its header map
    /// ([`UpstreamBody::raw_fields`]).
    pub fn raw_fields(&self) -> Option<&Fields> {
        match self {
            Body::Stream(b) => b.raw_fields(),
            _ => None,
        }
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        // Every variant is `Unpin`, so the enum is too and projecting is safe.
        match self.get_mut() {
            Body::Empty => Poll::Ready(None),
            Body::Full(b) => Pin::new(b).poll_frame(cx).map_err(|never| match never {}),
            Body::Stream(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            Body::Capped(b) => Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(b) => b.is_end_stream(),
            Body::Stream(b) => b.is_end_stream(),
            Body::Capped(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(b) => b.size_hint(),
            Body::Stream(b) => b.size_hint(),
            Body::Capped(b) => b.size_hint(),
        }
    }
}

/// A client's request body as the connection's server hands it over:
/// proxyd's own HTTP/1.1 server's (plain TCP), or hyper's (TLS, HTTP/2).
#[derive(Debug)]
pub enum Inbound {
    /// No body.
    Empty,
    /// From proxyd's HTTP/1.1 server.
    H1(RequestBody),
    /// From hyper.
    Hyper(Incoming),
}

impl HttpBody for Inbound {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        // Every variant is `Unpin`, so the enum is too.
        match self.get_mut() {
            Inbound::Empty => Poll::Ready(None),
            Inbound::H1(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            Inbound::Hyper(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Inbound::Empty => true,
            Inbound::H1(b) => b.is_end_stream(),
            Inbound::Hyper(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Inbound::Empty => SizeHint::with_exact(0),
            Inbound::H1(b) => b.size_hint(),
            Inbound::Hyper(b) => b.size_hint(),
        }
    }
}

/// What one request's body did, shared between the body (which may still
/// be streaming into the upstream) and the pipeline that answers.
#[derive(Debug, Default)]
pub struct Tally {
    /// Request body bytes received from the client.
    pub bytes_in: AtomicU64,
    /// The body passed `max_body_size` and was cut off.
    pub too_large: AtomicBool,
    /// The client's body framing was broken (bad chunk, early close).
    pub client_failed: AtomicBool,
}

/// The body grew past `max_body_size`.
#[derive(Debug, thiserror::Error)]
#[error("request body larger than {limit} bytes")]
pub struct TooLarge {
    /// The limit.
    pub limit: u64,
}

/// A client's request body: streamed as it arrives, counted, and failed
/// with [`TooLarge`] once it passes the limit.
#[derive(Debug)]
pub struct Capped {
    inner: Inbound,
    /// A frame read ahead (to check the framing before contacting the
    /// upstream), returned first.
    first: Option<Frame<Bytes>>,
    limit: u64,
    seen: u64,
    tally: Arc<Tally>,
    received: Counter,
}

impl Capped {
    /// Wraps `inner`, allowing `limit` bytes; counts into `tally` and the
    /// `received` metric.
    pub fn new(inner: Inbound, limit: u64, tally: Arc<Tally>, received: Counter) -> Self {
        Capped {
            inner,
            first: None,
            limit,
            seen: 0,
            tally,
            received,
        }
    }

    /// Reads the first frame now, so broken framing (an invalid chunk
    /// size) is found before anything is sent upstream. `Ok(false)` means
    /// the body turned out empty.
    pub async fn read_ahead(&mut self) -> Result<bool, BoxError> {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut *self).poll_frame(cx)).await;
        match frame {
            None => Ok(false),
            Some(Ok(f)) => {
                self.first = Some(f);
                Ok(true)
            }
            Some(Err(e)) => Err(e),
        }
    }
}

impl HttpBody for Capped {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(f) = self.first.take() {
            return Poll::Ready(Some(Ok(f)));
        }
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => {
                self.tally.client_failed.store(true, Ordering::Relaxed);
                return Poll::Ready(Some(Err(e)));
            }
            Poll::Ready(Some(Ok(f))) => f,
        };
        if let Some(data) = frame.data_ref() {
            let n = data.len() as u64;
            self.seen += n;
            self.tally.bytes_in.fetch_add(n, Ordering::Relaxed);
            self.received.inc_by(n);
            if self.seen > self.limit {
                self.tally.too_large.store(true, Ordering::Relaxed);
                let limit = self.limit;
                return Poll::Ready(Some(Err(Box::new(TooLarge { limit }))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.inner.size_hint();
        if let Some(n) = self
            .first
            .as_ref()
            .and_then(|f| f.data_ref())
            .map(|d| d.len())
        {
            let n = n as u64;
            // Upper first: a lower bound above the upper one panics.
            if let Some(u) = hint.upper() {
                hint.set_upper(u + n);
            }
            hint.set_lower(hint.lower() + n);
        }
        hint
    }
}
