//! A server's state as the admin `status` reply shows it.

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use proxyd_protocol::status::{CheckResult, ServerStatus, Transition};

use super::{lock, ServerState};

fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl ServerState {
    /// Counters, verdict, last check and last transition, for `status`.
    pub fn status(&self) -> ServerStatus {
        let healthy = self.is_healthy();
        let rec = lock(&self.record).clone();
        ServerStatus {
            address: self.address.clone(),
            healthy,
            active_connections: self.active.load(Ordering::Relaxed),
            requests_total: self.requests.load(Ordering::Relaxed),
            failures_total: self.failures.load(Ordering::Relaxed),
            last_check: rec.last_check.map(|c| CheckResult {
                result: match c.failure {
                    None => "pass".into(),
                    Some(why) => format!("fail: {why}"),
                },
                latency_ms: u64::try_from(c.latency.as_millis()).unwrap_or(u64::MAX),
                at: timestamp(c.at),
            }),
            consecutive_passes: rec.consecutive_passes,
            consecutive_failures: rec.consecutive_failures,
            last_transition: rec.last_transition.map(|t| Transition {
                at: timestamp(t.at),
                reason: t.reason,
            }),
        }
    }
}
