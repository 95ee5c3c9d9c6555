//! systemd notifications (`Type=notify-reload`). Without `NOTIFY_SOCKET`
//! the crate sends nothing and reports success, so nothing here can fail
//! the daemon; errors are logged once at debug level.

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
            format!("{base}; last reload FAILED: {first}")
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
