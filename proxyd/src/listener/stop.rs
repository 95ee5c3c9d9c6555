//! Watching the shutdown flag from a busy connection without paying for it
//! on every wake-up.
//!
//! `accept::stopped` (a `watch::Receiver::wait_for`) takes the watch's
//! lock and its `Notify`'s lock each time it is polled, and a connection's
//! task is polled several times per request (about 490 instructions per
//! proxied request). [`Stopped`] polls it once, which registers the task
//! to be woken by a change, and afterwards only when the watch's version
//! moved (one atomic load) or the task's waker changed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::sync::watch;

/// Resolves like `accept::stopped(rx)`, with cheap polls while nothing
/// changed; see the module docs.
pub(super) struct Stopped<'a, F> {
    /// A second receiver, only to see whether the flag may have changed.
    probe: watch::Receiver<bool>,
    /// `accept::stopped` on the connection's receiver.
    inner: Pin<&'a mut F>,
    /// The waker `inner` was last polled with.
    waker: Option<Waker>,
}

impl<'a, F: Future<Output = ()>> Stopped<'a, F> {
    /// Watches `inner`, made from a receiver of which `probe` is a clone
    /// taken before `inner` was first polled.
    pub(super) fn new(probe: watch::Receiver<bool>, inner: Pin<&'a mut F>) -> Self {
        Stopped {
            probe,
            inner,
            waker: None,
        }
    }
}

impl<F: Future<Output = ()>> Future for Stopped<'_, F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let same_waker = this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        // `Err` (the sender is gone) resolves `inner` too: look.
        let quiet = same_waker && matches!(this.probe.has_changed(), Ok(false));
        if quiet {
            return Poll::Pending;
        }
        if !same_waker {
            this.waker = Some(cx.waker().clone());
        }
        this.inner.as_mut().poll(cx)
    }
}
