//! Admission limits applied before a request is routed: the per-client-IP
//! token bucket ([`rate`]), the per-listener in-flight cap and adaptive
//! shedding ([`load`]).
//!
//! All of it lives in [`Limiters`], beside the snapshot in `Shared`, so a
//! reload keeps buckets and counters. Nothing here awaits or holds a lock
//! across an `.await`; the per-request cost is a few atomics and one short
//! shard lock.

pub mod load;
pub mod rate;

use std::sync::Arc;
use std::time::Duration;

use crate::state::Shared;

pub use load::{InFlight, ListenerLoad};
pub use rate::RateLimiter;

/// How often idle rate-limit buckets are swept.
const EVICT_EVERY: Duration = Duration::from_secs(10);

/// Every admission limiter the daemon keeps across reloads.
#[derive(Debug, Default)]
pub struct Limiters {
    /// Token buckets by client IP.
    pub rate: RateLimiter,
    /// In-flight counts and latency averages by listener name.
    pub load: load::Loads,
}

/// Spawns the task that evicts idle rate-limit buckets until shutdown, so
/// memory stays bounded however many addresses come and go.
pub fn spawn_eviction(shared: &Arc<Shared>) {
    let shared = shared.clone();
    tokio::spawn(async move {
        let mut shutdown = shared.shutdown.subscribe();
        let mut tick = tokio::time::interval(EVICT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => { shared.limits.rate.evict_idle(); }
                // Shutdown: buckets die with the process.
                _ = shutdown.wait_for(|v| *v) => break,
            }
        }
    });
}
