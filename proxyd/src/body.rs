//! The body type that flows through the proxy in both directions.
//!
//! An enum rather than a boxed trait object: a proxied body is forwarded
//! as-is without a heap allocation per request, and local answers (respond,
//! redirect, errors) are a single `Bytes`.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::{Full, Limited};
use hyper::body::Incoming;

/// Errors a body can yield while streaming.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request or response body: empty, fixed bytes, or streamed from a peer
/// (optionally capped at a byte limit).
#[derive(Debug)]
pub enum Body {
    /// No body.
    Empty,
    /// A body we generated.
    Full(Full<Bytes>),
    /// A body streamed from the other side, unchanged.
    Stream(Incoming),
    /// A body streamed from a client, failing once it passes `max_body_size`.
    Limited(Limited<Incoming>),
}

impl Body {
    /// A body of fixed bytes.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Body::Full(Full::new(bytes.into()))
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
            Body::Limited(b) => Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(b) => b.is_end_stream(),
            Body::Stream(b) => b.is_end_stream(),
            Body::Limited(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(b) => b.size_hint(),
            Body::Stream(b) => b.size_hint(),
            Body::Limited(b) => b.size_hint(),
        }
    }
}
