//! `idle_timeout` for client connections (HTTP/1.1 keep-alive and HTTP/2):
//! a connection with no request in flight for that long is closed.
//!
//! hyper has no such timer for HTTP/2 (its keep-alive pings find dead
//! peers, not idle ones), and for HTTP/1.1 only `header_read_timeout`, so
//! the connection watches its own requests: each one holds a [`Busy`] mark
//! from the moment hyper hands it to the service until its response body
//! is finished or dropped (the response body carries the mark, see
//! [`Tracked`]). [`Activity::idle_for`] resolves once no mark has been held
//! for the whole timeout; the caller then shuts the connection down
//! gracefully, which closes an idle HTTP/1.1 connection at once and sends
//! an HTTP/2 GOAWAY. A request in flight is never cut by this timer.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;

/// One connection's request activity.
#[derive(Debug, Clone)]
pub struct Activity(Arc<State>);

#[derive(Debug)]
struct State {
    /// Requests in flight (their response bodies not yet finished).
    busy: AtomicUsize,
    /// When the last request finished (or the connection opened).
    last: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity(Arc::new(State {
            busy: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        }))
    }
}

impl Activity {
    /// Marks a request as in flight until the returned mark is dropped.
    pub fn begin(&self) -> Busy {
        self.0.busy.fetch_add(1, Ordering::AcqRel);
        Busy(self.0.clone())
    }

    /// Requests in flight now.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.0.busy.load(Ordering::Acquire)
    }

    /// When the last request ended (or the connection opened).
    pub fn last(&self) -> Instant {
        *self.0.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resolves once the connection has had no request in flight for
    /// `timeout`. Wakes at most once per `timeout` while requests run.
    pub async fn idle_for(&self, timeout: Duration) {
        loop {
            let last = self.last();
            let deadline = last + timeout;
            if Instant::now() < deadline {
                tokio::time::sleep_until(deadline).await;
            } else if self.0.busy.load(Ordering::Acquire) == 0 {
                return;
            } else {
                // Busy past the deadline: look again one timeout later;
                // the request's end moves `last` forward.
                tokio::time::sleep(timeout).await;
            }
        }
    }
}

/// A request in flight; dropping it records the end of the request.
#[derive(Debug)]
pub struct Busy(Arc<State>);

impl Drop for Busy {
    fn drop(&mut self) {
        // `last` first, so a timer that sees `busy == 0` also sees it.
        *self.0.last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request marked busy until it is
/// finished or dropped.
#[derive(Debug)]
pub struct Tracked<B> {
    inner: B,
    busy: Option<Busy>,
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None | Some(Err(_))) = polled {
            self.busy = None;
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

pin_project_lite::pin_project! {
    /// A request's future that hands its [`Busy`] mark to the response
    /// body when it resolves. A named future rather than an `async` block:
    /// a block awaiting the handler's future holds it twice (the captured
    /// value and the awaited one), and hyper moves the service's future
    /// into its own slot, so the block cost a copy of twice the handler's
    /// future (8 KiB) per request; this costs one (4 KiB).
    pub struct Tracking<F> {
        #[pin]
        inner: F,
        busy: Option<Busy>,
    }
}

impl<F> Tracking<F> {
    /// Wraps `inner`, the handler's future for the request marked `busy`.
    pub fn new(inner: F, busy: Busy) -> Self {
        Tracking {
            inner,
            busy: Some(busy),
        }
    }
}

impl<F, B, E> Future for Tracking<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<Tracked<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let resp = std::task::ready!(this.inner.poll(cx))?;
        // `busy` is taken once, when `inner` first resolves; a future is
        // never polled again after that, but if it were, the response
        // would simply not hold the mark.
        Poll::Ready(Ok(resp.map(|inner| Tracked {
            inner,
            busy: this.busy.take(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_only_after_the_last_request_ends() {
        let activity = Activity::default();
        let t = Duration::from_secs(10);
        let busy = activity.begin();
        tokio::time::sleep(Duration::from_secs(25)).await;
        let waiter = tokio::spawn({
            let a = activity.clone();
            async move { a.idle_for(t).await }
        });
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!waiter.is_finished(), "idle while a request is in flight");
        drop(busy);
        let ended = Instant::now();
        waiter.await.unwrap();
        assert!(Instant::now() >= ended + t);
    }

    #[tokio::test]
    async fn the_mark_moves_from_the_request_future_to_its_response_body() {
        use http_body_util::{BodyExt, Full};
        let activity = Activity::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handler = async move {
            let _ = rx.await;
            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                bytes::Bytes::from_static(b"hello"),
            )))
        };
        let fut = tokio::spawn(Tracking::new(handler, activity.begin()));
        tokio::task::yield_now().await;
        assert_eq!(activity.in_flight(), 1, "marked while the handler runs");
        tx.send(()).unwrap();
        let Ok(resp) = fut.await.unwrap();
        assert_eq!(activity.in_flight(), 1, "the response body holds the mark");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"hello");
        assert_eq!(activity.in_flight(), 0, "released when the body ends");
    }

    #[tokio::test(start_paused = true)]
    async fn a_fresh_connection_is_idle_after_the_timeout() {
        let activity = Activity::default();
        let opened = Instant::now();
        activity.idle_for(Duration::from_secs(3)).await;
        assert!(Instant::now() >= opened + Duration::from_secs(3));
    }
}
