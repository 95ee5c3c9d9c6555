//! When to look at a certificate again: renewal times with jitter, and
//! exponential backoff with jitter after failures.
//!
//! Jitter spreads sites (and daemons) that were issued together, so their
//! renewals do not become a thundering herd of orders.

use std::time::{Duration, SystemTime};

/// First retry after a failure; doubles per consecutive failure.
const BACKOFF_BASE: Duration = Duration::from_secs(5);
/// Retries are never further apart than this.
const BACKOFF_MAX: Duration = Duration::from_secs(3600);
/// A certificate is looked at least this often, whatever its expiry.
pub(super) const MAX_SLEEP: Duration = Duration::from_secs(12 * 3600);

/// A random factor in [1 - spread, 1 + spread].
fn jitter(spread: f64) -> f64 {
    1.0 + spread * (fastrand::f64() * 2.0 - 1.0)
}

/// When to retry after `failures` consecutive failures (≥ 1): 5 s, 10 s,
/// 20 s, … up to an hour, each ±25 %.
pub(super) fn backoff(now: SystemTime, failures: u32) -> SystemTime {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    now + exp.min(BACKOFF_MAX).mul_f64(jitter(0.25))
}

/// When a certificate valid `not_before..not_after` is due for renewal:
/// `renew_before` ahead of expiry, plus up to 1 % of its lifetime (at most
/// an hour) of jitter, and never sooner than a tenth of its lifetime (at
/// least 5 s) from `now`, so a `renew_before` longer than the lifetime
/// renews often, not in a tight loop.
pub(super) fn renewal(
    now: SystemTime,
    not_before: SystemTime,
    not_after: SystemTime,
    renew_before: Duration,
) -> SystemTime {
    let lifetime = not_after
        .duration_since(not_before)
        .unwrap_or(Duration::ZERO);
    let due = not_after
        .checked_sub(renew_before)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let spread = lifetime.div_f64(100.0).min(Duration::from_secs(3600));
    let due = due + spread.mul_f64(fastrand::f64());
    let floor = now + (lifetime / 10).max(Duration::from_secs(5));
    due.max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let after = |n| backoff(now, n).duration_since(now).unwrap();
        assert!(after(1) >= Duration::from_millis(3750) && after(1) <= Duration::from_millis(6250));
        assert!(after(3) >= Duration::from_secs(15) && after(3) <= Duration::from_secs(25));
        assert!(after(40) <= Duration::from_secs(4500));
    }

    #[test]
    fn renewal_is_before_expiry_and_never_a_tight_loop() {
        let day = Duration::from_secs(86_400);
        let start = SystemTime::UNIX_EPOCH + day * 1000;
        let end = start + day * 90;
        let at = renewal(start, start, end, day * 30);
        assert!(at >= end - day * 30 && at <= end - day * 30 + Duration::from_secs(3600));
        // renew_before longer than the lifetime: not now, a tenth later.
        let at = renewal(start, start, end, day * 100);
        assert_eq!(at, start + day * 9);
        // very short certificates still wait 5 s
        let short_end = start + Duration::from_secs(20);
        let at = renewal(start, start, short_end, Duration::from_secs(30));
        assert!(at >= start + Duration::from_secs(5));
    }
}
