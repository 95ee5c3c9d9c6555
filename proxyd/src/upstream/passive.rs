//! Passive health checks: failures in live traffic.
//!
//! `[upstream.passive]` marks a server down for `cooldown` after
//! `max_failures` consecutive failed attempts (connect failures, timeouts,
//! connections reset or closed mid-exchange); any success resets the count.
//! The cooldown ends by itself: the first look at the server after it
//! expires puts it back in rotation and records the transition, so no timer
//! task is needed. Failures caused by the client (its body broke off or was
//! too large) never count against a server.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

use super::health::Transition;
use super::{lock, ServerState, Upstream};
use crate::proxy::error::ProxyError;

/// A server's live-traffic failure count and cooldown.
#[derive(Debug, Default)]
pub struct PassiveState {
    /// Consecutive failed attempts since the last success.
    consecutive: AtomicU32,
    /// End of the cooldown in [`now_ms`] units; 0 = not cooling down.
    down_until: AtomicU64,
}

/// Milliseconds on a process-wide monotonic clock, never 0.
fn now_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_millis()).unwrap_or(u64::MAX) + 1
}

impl Upstream {
    /// Records the outcome of one attempt on `server` for passive checks
    /// (a no-op unless `[upstream.passive]` is set).
    pub fn observe(&self, server: &ServerState, outcome: Result<(), &ProxyError>) {
        let Some(cfg) = &self.passive else {
            return;
        };
        let state = &server.passive;
        match outcome {
            Ok(()) => state.consecutive.store(0, Ordering::Relaxed),
            Err(e) if server_fault(e) => {
                let n = state.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
                if n < cfg.max_failures {
                    return;
                }
                state.consecutive.store(0, Ordering::Relaxed);
                let cooldown = u64::try_from(cfg.cooldown.as_millis()).unwrap_or(u64::MAX);
                let until = now_ms().saturating_add(cooldown);
                if state.down_until.swap(until, Ordering::AcqRel) == 0 {
                    let reason = format!("{n} consecutive failures in live traffic: {e}");
                    tracing::warn!(upstream = %self.name, server = %server.address, cooldown = ?cfg.cooldown, "server marked down: {reason}");
                    lock(&server.record).last_transition = Some(Transition {
                        at: SystemTime::now(),
                        reason,
                    });
                }
            }
            Err(_) => {}
        }
    }
}

/// Whether `e` says something about the server rather than the client.
fn server_fault(e: &ProxyError) -> bool {
    match e {
        ProxyError::Connect { .. } | ProxyError::Timeout { .. } => true,
        // A user error is ours or the client's: the request body failed.
        ProxyError::Upstream { source, .. } => !source.is_client_fault(),
        _ => false,
    }
}

impl ServerState {
    /// False while a passive cooldown runs; the first call after it ends
    /// logs the server's return and records the transition.
    pub(super) fn passive_available(&self) -> bool {
        let until = self.passive.down_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        if now_ms() < until {
            return false;
        }
        let ended = self
            .passive
            .down_until
            .compare_exchange(until, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if ended && self.healthy.load(Ordering::Relaxed) {
            tracing::info!(upstream = %self.upstream, server = %self.address, "passive cooldown over; server back in rotation");
            lock(&self.record).last_transition = Some(Transition {
                at: SystemTime::now(),
                reason: "passive cooldown over".into(),
            });
        }
        true
    }

    /// Starts a passive cooldown of `ms` now (tests).
    #[cfg(test)]
    pub(crate) fn cool_down_for(&self, ms: u64) {
        self.passive
            .down_until
            .store(now_ms() + ms, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::config::{Algorithm, Passive, Scheme, Server, Upstream as ConfigUpstream};
    use crate::upstream::Registry;

    fn upstream(max_failures: u32, cooldown: Duration) -> Upstream {
        Registry::default().upstream(&ConfigUpstream {
            name: "u".into(),
            algorithm: Algorithm::RoundRobin,
            servers: vec![Server {
                address: "127.0.0.1:1".into(),
                host: "127.0.0.1".into(),
                port: 1,
                weight: 1,
            }],
            scheme: Scheme::Http,
            preserve_host: true,
            retries: 0,
            health_check: None,
            passive: Some(Passive {
                max_failures,
                cooldown,
            }),
        })
    }

    fn timeout() -> ProxyError {
        ProxyError::Timeout {
            server: "127.0.0.1:1".into(),
        }
    }

    #[test]
    fn consecutive_failures_mark_down_and_a_success_resets_the_count() {
        let up = upstream(3, Duration::from_secs(60));
        let s: Arc<ServerState> = up.servers[0].clone();
        up.observe(&s, Err(&timeout()));
        up.observe(&s, Err(&timeout()));
        up.observe(&s, Ok(()));
        up.observe(&s, Err(&timeout()));
        up.observe(&s, Err(&timeout()));
        assert!(s.is_healthy(), "2 in a row is below max_failures");
        up.observe(&s, Err(&ProxyError::NoHealthyServer));
        assert!(s.is_healthy(), "not a server fault");
        up.observe(&s, Err(&timeout()));
        assert!(!s.is_healthy());
        let t = lock(&s.record).last_transition.clone().unwrap();
        assert!(t.reason.starts_with("3 consecutive failures"), "{t:?}");
        assert_eq!(up.pick(std::net::Ipv4Addr::LOCALHOST.into(), &[]), None);
    }

    #[test]
    fn the_cooldown_ends_by_itself() {
        let up = upstream(1, Duration::from_secs(60));
        let s = up.servers[0].clone();
        s.cool_down_for(0);
        assert!(s.is_healthy());
        assert_eq!(
            lock(&s.record).last_transition.as_ref().unwrap().reason,
            "passive cooldown over"
        );
        s.cool_down_for(60_000);
        assert!(!s.is_healthy());
    }
}
