//! Per-listener load: requests in flight (`max_in_flight`) and the latency
//! average that drives adaptive shedding (`shed_latency_target`).
//!
//! Counters are keyed by listener *name* so they survive reloads and count
//! a listener's HTTP and HTTPS addresses together (SPEC §11: `max_in_flight`
//! counts per listener). The map is read-locked once per request to clone
//! an `Arc`; the write lock is taken only the first time a name is seen.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Weight of a new sample in the latency average (about the last 20
/// requests dominate).
const EWMA_ALPHA: f64 = 0.05;
/// Never shed more than this share, so some requests still get through
/// and keep the latency average current.
const MAX_SHED: f64 = 0.95;

/// Load counters for one listener.
#[derive(Debug, Default)]
pub struct ListenerLoad {
    in_flight: AtomicUsize,
    /// EWMA of upstream latency in microseconds, stored as `f64` bits.
    ewma_us: AtomicU64,
}

/// Held while a request is in flight; dropping it frees the slot.
#[derive(Debug)]
pub struct InFlight(Arc<ListenerLoad>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ListenerLoad {
    /// Takes an in-flight slot, or `None` when `max` (> 0) are taken.
    /// `max == 0` means unlimited (the slot is still counted).
    pub fn enter(self: &Arc<Self>, max: usize) -> Option<InFlight> {
        let prev = self.in_flight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight(self.clone());
        if max > 0 && prev >= max {
            return None; // `guard` drops and gives the slot back.
        }
        Some(guard)
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Folds one observed upstream latency into the average.
    pub fn observe(&self, latency: Duration) {
        let sample = latency.as_secs_f64() * 1e6;
        // A lost update under a race only skips one sample.
        let old = f64::from_bits(self.ewma_us.load(Ordering::Relaxed));
        let new = if old == 0.0 {
            sample
        } else {
            old + EWMA_ALPHA * (sample - old)
        };
        self.ewma_us.store(new.to_bits(), Ordering::Relaxed);
    }

    /// The latency average.
    pub fn latency(&self) -> Duration {
        Duration::from_secs_f64(f64::from_bits(self.ewma_us.load(Ordering::Relaxed)) / 1e6)
    }

    /// Whether to shed this request: above `target`, a share proportional
    /// to the excess, `(avg - target) / avg`, capped at 95 %.
    pub fn should_shed(&self, target: Duration) -> bool {
        let share = shed_share(self.latency(), target);
        share > 0.0 && fastrand::f64() < share
    }
}

/// The share of requests to shed at average latency `avg`.
fn shed_share(avg: Duration, target: Duration) -> f64 {
    let (avg, target) = (avg.as_secs_f64(), target.as_secs_f64());
    if target <= 0.0 || avg <= target {
        return 0.0;
    }
    ((avg - target) / avg).min(MAX_SHED)
}

/// Load counters by listener name.
#[derive(Debug, Default)]
pub struct Loads {
    by_name: RwLock<HashMap<Arc<str>, Arc<ListenerLoad>>>,
}

impl Loads {
    /// The counters of listener `name`, created on first use.
    pub fn of(&self, name: &Arc<str>) -> Arc<ListenerLoad> {
        if let Some(l) = self
            .by_name
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return l.clone();
        }
        self.by_name
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.clone())
            .or_default()
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_slots_are_capped_and_given_back() {
        let load = Arc::new(ListenerLoad::default());
        let a = load.enter(2).unwrap();
        let _b = load.enter(2).unwrap();
        assert!(load.enter(2).is_none());
        assert_eq!(load.in_flight(), 2);
        drop(a);
        assert!(load.enter(2).is_some());
        assert!(load.enter(0).is_some(), "0 = unlimited");
    }

    #[test]
    fn shed_share_grows_with_the_excess() {
        let ms = Duration::from_millis;
        assert_eq!(shed_share(ms(50), ms(100)), 0.0);
        assert_eq!(shed_share(ms(200), ms(100)), 0.5);
        assert_eq!(shed_share(ms(100_000), ms(100)), MAX_SHED);
        assert_eq!(shed_share(ms(200), ms(0)), 0.0);
    }

    #[test]
    fn latency_average_follows_samples() {
        let load = ListenerLoad::default();
        load.observe(Duration::from_millis(100));
        assert_eq!(load.latency(), Duration::from_millis(100));
        for _ in 0..200 {
            load.observe(Duration::from_millis(10));
        }
        assert!(load.latency() < Duration::from_millis(11));
    }
}
