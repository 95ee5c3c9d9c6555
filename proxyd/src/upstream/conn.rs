//! One upstream connection as the pool lends it: hyper's sending half and
//! the connection's `request_timeout` timer.
//!
//! A `tokio::time::timeout` per request registers a timer in tokio's wheel
//! and removes it again (each under the wheel's lock): about 1,270
//! instructions per proxied request. Here each connection keeps one timer
//! for its whole life and *moves its deadline later* for each request. A
//! later deadline is one atomic store; the wheel sees it only if the old
//! deadline passes (at most once per `request_timeout` while the
//! connection is busy), and then files the timer under the new one. A
//! timer that fires while the connection waits in the pool wakes the task
//! of its last request once, for nothing; the next request arms it again.
//! An earlier deadline (a site with a shorter `request_timeout`) is
//! registered again, as a fresh timer would be.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::{http1, TrySendError};
use tokio::time::{Instant, Sleep};

use crate::body::Body;

/// The response head did not arrive within the timeout.
#[derive(Debug, thiserror::Error)]
#[error("no response head within the timeout")]
pub struct TimedOut;

/// The sending half of an upstream HTTP/1.1 connection, with its request
/// timer (see the module docs).
pub struct Sender {
    send: http1::SendRequest<Body>,
    /// Made on the first request; re-armed for every later one.
    timer: Option<Pin<Box<Sleep>>>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("ready", &self.send.is_ready())
            .finish()
    }
}

impl Sender {
    /// Wraps a fresh connection's sending half.
    pub(super) fn new(send: http1::SendRequest<Body>) -> Self {
        Sender { send, timer: None }
    }

    /// Whether the connection can take a request now.
    pub fn is_ready(&self) -> bool {
        self.send.is_ready()
    }

    /// Waits until the connection can take a request (its last exchange is
    /// complete), or fails if it closed.
    pub async fn ready(&mut self) -> hyper::Result<()> {
        self.send.ready().await
    }

    /// Sends `req` without a timeout (the caller bounds the whole exchange).
    pub async fn send_request(&mut self, req: Request<Body>) -> hyper::Result<Response<Incoming>> {
        self.send.send_request(req).await
    }

    /// Sends `req` and waits at most `timeout` for the response head. A
    /// request the connection could not take (it closed while idle) is
    /// handed back in the [`TrySendError`].
    pub async fn send_timed(
        &mut self,
        req: Request<Body>,
        timeout: Duration,
    ) -> Result<Result<Response<Incoming>, TrySendError<Request<Body>>>, TimedOut> {
        let deadline = Instant::now() + timeout;
        let mut response = pin!(self.send.try_send_request(req));
        let timer = match &mut self.timer {
            Some(timer) => {
                timer.as_mut().reset(deadline);
                timer
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        poll_fn(|cx| {
            if let Poll::Ready(r) = response.as_mut().poll(cx) {
                return Poll::Ready(Ok(r));
            }
            timer.as_mut().poll(cx).map(|()| Err(TimedOut))
        })
        .await
    }
}
