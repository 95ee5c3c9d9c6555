//! Per-client-IP token buckets (`rate_limit = { per_second, burst }`).
//!
//! One bucket per client address, shared by every site; a request is
//! charged against the parameters of the site it is for. The map is split
//! into shards, each behind its own short `std` mutex (never held across
//! an `.await`), so concurrent clients rarely contend.
//!
//! Memory: an entry is an `IpAddr` (17 bytes) and a [`Bucket`] (8 bytes);
//! with hashbrown's control byte and padding that is about 32 bytes, so a
//! million live addresses cost about 32 MiB (plus up to 2× while a shard's
//! table grows). Buckets that have refilled completely carry no
//! information and are evicted by a sweep every few seconds
//! ([`RateLimiter::evict_idle`]), and inline when a shard reaches
//! [`SHARD_CAP`], so the map holds only addresses seen within about
//! `burst / per_second` seconds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::RateLimit;

const SHARDS: usize = 64;
/// Entries per shard before an inline sweep (64 × 32 768 ≈ 2 million
/// addresses, about 64 MiB). When a sweep frees nothing, new addresses
/// are admitted without a bucket rather than grow the map further.
pub const SHARD_CAP: usize = 32_768;

/// One client's bucket: tokens left and when it was last charged, in
/// milliseconds since the limiter was created (u32: 49 days; a bucket
/// idle that long was evicted long before).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f32,
    last_ms: u32,
}

/// Token buckets keyed by client IP.
#[derive(Debug)]
pub struct RateLimiter {
    epoch: Instant,
    shards: Box<[Mutex<Shard>]>,
}

#[derive(Debug, Default)]
struct Shard {
    buckets: HashMap<IpAddr, Bucket>,
    /// The longest refill time seen, used to decide what is idle.
    full_after_ms: u32,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            epoch: Instant::now(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go on.
    Allow,
    /// Refuse; a token is available again after this many whole seconds.
    Limited {
        /// `Retry-After` in seconds (at least 1).
        retry_after_secs: u64,
    },
}

impl RateLimiter {
    /// Charges one token to `ip` under `limit`.
    pub fn check(&self, ip: IpAddr, limit: &RateLimit) -> Verdict {
        self.check_at(ip, limit, self.now_ms())
    }

    fn now_ms(&self) -> u32 {
        u32::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u32::MAX)
    }

    fn shard(&self, ip: &IpAddr) -> &Mutex<Shard> {
        let h = match ip {
            IpAddr::V4(a) => u32::from(*a) as usize,
            // The /64 prefix would share one shard per network; mix the
            // whole address instead.
            IpAddr::V6(a) => {
                let v = u128::from(*a);
                (v ^ (v >> 64) ^ (v >> 29)) as usize
            }
        };
        // Fibonacci hashing spreads consecutive addresses over shards.
        let i = h.wrapping_mul(0x9E37_79B9) >> 7;
        &self.shards[i % SHARDS]
    }

    fn check_at(&self, ip: IpAddr, limit: &RateLimit, now: u32) -> Verdict {
        let rate = limit.per_second.max(1) as f32;
        let burst = limit.burst.max(1) as f32;
        let mut shard = self.shard(&ip).lock().unwrap_or_else(|e| e.into_inner());
        let full_after = ((burst / rate) * 1000.0).ceil() as u32;
        shard.full_after_ms = shard.full_after_ms.max(full_after);
        if shard.buckets.len() >= SHARD_CAP && !shard.buckets.contains_key(&ip) {
            sweep(&mut shard, now);
            if shard.buckets.len() >= SHARD_CAP {
                return Verdict::Allow;
            }
        }
        let b = shard.buckets.entry(ip).or_insert(Bucket {
            tokens: burst,
            last_ms: now,
        });
        let elapsed = now.saturating_sub(b.last_ms) as f32 / 1000.0;
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.last_ms = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Verdict::Allow
        } else {
            let wait = (1.0 - b.tokens) / rate;
            Verdict::Limited {
                retry_after_secs: (wait.ceil() as u64).max(1),
            }
        }
    }

    /// Drops every bucket that has refilled completely: forgetting it
    /// changes no future verdict.
    pub fn evict_idle(&self) -> usize {
        let now = self.now_ms();
        self.shards
            .iter()
            .map(|s| sweep(&mut s.lock().unwrap_or_else(|e| e.into_inner()), now))
            .sum()
    }

    /// Buckets currently held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).buckets.len())
            .sum()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn sweep(shard: &mut Shard, now: u32) -> usize {
    let before = shard.buckets.len();
    let idle = shard.full_after_ms;
    shard
        .buckets
        .retain(|_, b| now.saturating_sub(b.last_ms) < idle);
    before - shard.buckets.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LIMIT: RateLimit = RateLimit {
        per_second: 2,
        burst: 3,
    };

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    #[test]
    fn burst_then_refill_at_the_rate() {
        let rl = RateLimiter::default();
        for _ in 0..3 {
            assert_eq!(rl.check_at(ip(1), &LIMIT, 0), Verdict::Allow);
        }
        assert_eq!(
            rl.check_at(ip(1), &LIMIT, 0),
            Verdict::Limited {
                retry_after_secs: 1
            }
        );
        // Another client has its own bucket.
        assert_eq!(rl.check_at(ip(2), &LIMIT, 0), Verdict::Allow);
        // Half a second later one token (2/s) is back.
        assert_eq!(rl.check_at(ip(1), &LIMIT, 500), Verdict::Allow);
        assert!(matches!(
            rl.check_at(ip(1), &LIMIT, 500),
            Verdict::Limited { .. }
        ));
    }

    #[test]
    fn retry_after_is_whole_seconds_until_a_token() {
        let rl = RateLimiter::default();
        let slow = RateLimit {
            per_second: 1,
            burst: 1,
        };
        assert_eq!(rl.check_at(ip(1), &slow, 0), Verdict::Allow);
        assert_eq!(
            rl.check_at(ip(1), &slow, 100),
            Verdict::Limited {
                retry_after_secs: 1
            }
        );
    }

    #[test]
    fn a_million_addresses_leave_no_idle_buckets_behind() {
        let rl = RateLimiter::default();
        for n in 0..1_000_000 {
            rl.check_at(ip(n), &LIMIT, n / 1000);
        }
        // Never more than the cap, even before any sweep.
        assert!(rl.len() <= SHARDS * SHARD_CAP);
        // Long after, a sweep leaves nothing.
        let now = 1_000_000 / 1000 + 10_000;
        let left: usize = rl
            .shards
            .iter()
            .map(|s| {
                let mut s = s.lock().unwrap();
                sweep(&mut s, now);
                s.buckets.len()
            })
            .sum();
        assert_eq!(left, 0);
    }

    #[test]
    fn recently_charged_buckets_survive_a_sweep() {
        let rl = RateLimiter::default();
        rl.check_at(ip(7), &LIMIT, 0);
        rl.check_at(ip(8), &LIMIT, 1400);
        for s in rl.shards.iter() {
            sweep(&mut s.lock().unwrap(), 1600);
        }
        // 3 tokens at 2/s refill in 1.5 s: ip 7 is idle, ip 8 is not.
        assert_eq!(rl.len(), 1);
    }
}
