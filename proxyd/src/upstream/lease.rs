//! A response body from an upstream server that carries its connection:
//! the connection goes back to the server's pool the moment the body is
//! known to be complete, and is closed if the body ends any other way.
//!
//! This replaces a task per request that waited for the connection to be
//! ready again (spawning it cost about 1,000 instructions per request).
//! "Complete" means the body yielded its end (or reports it has none left,
//! which is how hyper's server stops polling a sized body after its last
//! byte) without an error. hyper's client connection becomes ready for a
//! new request only when its response was read to the end *and* its
//! request was fully sent; a connection that is not ready at that moment
//! (a request body still streaming, or the server announced a close) is
//! handed to a small task that waits for it, as before. A body dropped
//! early or failed drops the connection instead: hyper then closes it.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;

use super::{Sender, ServerState};

/// An upstream response body holding its connection until it ends; see the
/// module docs.
#[derive(Debug)]
pub struct UpstreamBody {
    inner: Incoming,
    lease: Option<Lease>,
}

/// A connection on loan to one request, counted in its server's `active`.
struct Lease {
    sender: Sender,
    server: Arc<ServerState>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("server", &self.server.address)
            .finish()
    }
}

impl Lease {
    /// The exchange completed cleanly: back to the pool once hyper says the
    /// connection can take another request.
    fn release(self) {
        let Lease { mut sender, server } = self;
        server.active.fetch_sub(1, Ordering::Relaxed);
        if sender.is_ready() {
            server.pool.checkin(sender);
            return;
        }
        // Outside a runtime (never on the serving path) it is just dropped.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if sender.ready().await.is_ok() {
                    server.pool.checkin(sender);
                }
            });
        }
    }

    /// The exchange did not complete: the connection is dropped (closed).
    fn abandon(self) {
        self.server.active.fetch_sub(1, Ordering::Relaxed);
    }
}

impl UpstreamBody {
    /// `inner`, whose connection `sender` (to `server`, already counted in
    /// its `active`) is returned or dropped when the body ends.
    pub fn new(inner: Incoming, sender: Sender, server: Arc<ServerState>) -> Self {
        UpstreamBody {
            inner,
            lease: Some(Lease { sender, server }),
        }
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            if self.inner.is_end_stream() {
                lease.release();
            } else {
                lease.abandon();
            }
        }
    }
}

impl HttpBody for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => {
                if let Some(lease) = self.lease.take() {
                    lease.release();
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(lease) = self.lease.take() {
                    lease.abandon();
                }
            }
            _ => {}
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
