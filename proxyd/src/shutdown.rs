//! Graceful shutdown: one signal to stop accepting, and a count of live
//! connections to wait for (mini-redis's pattern, with a budget).
//!
//! Every accept loop and connection task holds a [`Shutdown`] clone's
//! receiver; every connection holds a [`DrainGuard`]. `drain` waits until
//! the guards are gone or `drain_timeout` passes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

/// The shutdown signal plus the count of connections still open.
#[derive(Debug)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
    live: Arc<Live>,
}

#[derive(Debug, Default)]
struct Live {
    count: AtomicUsize,
    zero: Notify,
}

/// Held by each connection; dropping it tells the drain one fewer remains.
#[derive(Debug)]
pub struct DrainGuard(Arc<Live>);

impl Drop for DrainGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.zero.notify_waiters();
        }
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            tx: watch::channel(false).0,
            live: Arc::default(),
        }
    }
}

impl Shutdown {
    /// A receiver that sees `true` once shutdown begins.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }

    /// Registers a live connection.
    pub fn guard(&self) -> DrainGuard {
        self.live.count.fetch_add(1, Ordering::AcqRel);
        DrainGuard(self.live.clone())
    }

    /// Connections still open.
    pub fn live(&self) -> usize {
        self.live.count.load(Ordering::Acquire)
    }

    /// Tells every accept loop and connection to wind down.
    pub fn begin(&self) {
        self.tx.send_replace(true);
    }

    /// Waits until every connection is closed or `budget` passes. Returns
    /// the number still open when it gave up (0 = clean).
    pub async fn drain(&self, budget: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + budget;
        loop {
            let notified = self.live.zero.notified();
            if self.live() == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.live();
            }
        }
    }
}
