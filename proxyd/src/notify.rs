//! systemd notifications (`Type=notify-reload`). Without `NOTIFY_SOCKET`
//! the crate sends nothing and reports success, so nothing here can fail
//! the daemon; errors are logged once at debug level.
//!
//! Sequence: `READY=1` + `STATUS=` once every listener accepts;
//! `RELOADING=1` + `MONOTONIC_USEC=` … `READY=1` + `STATUS=` around each
//! reload (`STATUS=` names the error when it failed); `STOPPING=1` at
//! shutdown; `WATCHDOG=1` every half `WATCHDOG_USEC` when systemd asks.

use std::time::Duration;

use sd_notify::NotifyState;

use crate::state::Shared;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// A one-line summary for `STATUS=`.
fn summary(shared: &Shared, reload_error: Option<&str>) -> String {
    let snap = shared.snapshot.load();
    let base = format!(
        "serving {} sites on {} listeners, config generation {}",
        snap.config.sites.len(),
        snap.config.listeners.len() + snap.config.tcp.len(),
        snap.generation
    );
    match reload_error {
        Some(e) => {
            let first = e.lines().next().unwrap_or(e);
            format!("{base}; reload failed: {first}")
        }
        None => base,
    }
}

/// `READY=1` and `STATUS=`: after startup, and after every reload attempt
/// (the old config still serves when a reload failed).
pub fn ready(shared: &Shared, reload_error: Option<&str>) {
    let status = summary(shared, reload_error);
    send(&[NotifyState::Ready, NotifyState::Status(&status)]);
}

/// `RELOADING=1` with `MONOTONIC_USEC`, at the start of a reload.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// `STOPPING=1`, at the start of shutdown.
pub fn stopping() {
    send(&[
        NotifyState::Stopping,
        NotifyState::Status("draining connections"),
    ]);
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when it is set
/// and `WATCHDOG_PID` (if present) names this process (sd_watchdog_enabled).
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|u| *u > 0)?;
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok() != Some(own_pid) {
            return None;
        }
    }
    Some(Duration::from_micros(usec / 2).max(Duration::from_millis(1)))
}

/// Starts the `WATCHDOG=1` pings if systemd enabled the watchdog for us.
/// They run until the process exits (through a drain as well: a stuck
/// drain is for `TimeoutStopSec` to judge, not the watchdog).
pub fn spawn_watchdog() {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    let Some(every) = watchdog_interval(usec.as_deref(), pid.as_deref(), std::process::id()) else {
        return;
    };
    tracing::info!(?every, "systemd watchdog enabled");
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            send(&[NotifyState::Watchdog]);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_runs_at_half_the_interval_for_this_pid_only() {
        let half = Some(Duration::from_millis(500));
        assert_eq!(watchdog_interval(Some("1000000"), None, 7), half);
        assert_eq!(watchdog_interval(Some("1000000"), Some("7"), 7), half);
        assert_eq!(watchdog_interval(Some("1000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("soon"), None, 7), None);
        assert_eq!(watchdog_interval(None, Some("7"), 7), None);
    }
}
