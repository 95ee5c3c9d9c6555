//! Active health checks: one task per checked server.
//!
//! [`plan`] is called at startup and after every reload swap. It compares
//! the running snapshot's `[upstream.health_check]` sections with the
//! tasks it runs (kept in the [`Registry`](super::Registry)): tasks of
//! servers that left, or whose check settings changed, are stopped; missing
//! ones are started. A server's verdict, counters and last transition live
//! in its [`ServerState`], which the registry keeps for servers that stay,
//! so a reload never resets health. A server starts healthy (like nginx and
//! HAProxy) and is checked at once; it leaves rotation after
//! `unhealthy_threshold` consecutive failures and returns after
//! `healthy_threshold` consecutive passes. Only transitions are logged.
//!
//! A check is a TCP connect, or — with `path` — `GET path` over a fresh
//! connection (the same connector as live traffic) expecting 2xx or 3xx,
//! all within `timeout`. Tasks stop when the daemon shuts down.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http::{header, HeaderValue, Request};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::{connect, lock, SendError, ServerState};
use crate::body::Body;
use crate::config::{HealthCheck, Scheme};
use crate::state::Shared;

/// A server's check history, for `status`.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// The last active check.
    pub last_check: Option<Check>,
    /// Consecutive passed checks.
    pub consecutive_passes: u64,
    /// Consecutive failed checks.
    pub consecutive_failures: u64,
    /// The last change of health (active or passive).
    pub last_transition: Option<Transition>,
}

/// The outcome of one check.
#[derive(Debug, Clone)]
pub struct Check {
    /// `None` if it passed, else why not.
    pub failure: Option<String>,
    /// How long it took.
    pub latency: Duration,
    /// When it finished.
    pub at: SystemTime,
}

/// A change of a server's health.
#[derive(Debug, Clone)]
pub struct Transition {
    /// When.
    pub at: SystemTime,
    /// Why, in a few words.
    pub reason: String,
}

/// A running check task.
#[derive(Debug)]
pub(super) struct Planned {
    check: HealthCheck,
    server: Arc<ServerState>,
    task: AbortHandle,
}

/// Starts, stops and re-plans check tasks to match the running snapshot.
pub fn plan(shared: &Arc<Shared>) {
    let snap = shared.snapshot.load_full();
    let mut want = HashMap::new();
    for up in snap.upstreams.values() {
        let Some(check) = &up.health_check else {
            continue;
        };
        for s in &up.servers {
            let key = (
                up.name.to_string(),
                s.address.clone(),
                up.scheme == Scheme::Https,
            );
            want.insert(key, (check.clone(), s.clone()));
        }
    }
    let mut checks = lock(&shared.registry.checks);
    checks.retain(|key, planned| {
        let same = want
            .get(key)
            .is_some_and(|(c, s)| *c == planned.check && Arc::ptr_eq(s, &planned.server));
        if !same {
            planned.task.abort();
            if !want.contains_key(key) {
                unchecked(&planned.server);
            }
        }
        same
    });
    for (key, (check, server)) in want {
        if checks.contains_key(&key) {
            continue;
        }
        let task = tokio::spawn(run(
            server.clone(),
            check.clone(),
            shared.shutdown.subscribe(),
        ));
        checks.insert(
            key,
            Planned {
                check,
                server,
                task: task.abort_handle(),
            },
        );
    }
}

/// A server's checks were removed (not replaced): it no longer has an
/// active verdict and is healthy again.
fn unchecked(server: &ServerState) {
    let mut rec = lock(&server.record);
    rec.consecutive_passes = 0;
    rec.consecutive_failures = 0;
    if !server.healthy.swap(true, Ordering::AcqRel) {
        tracing::info!(upstream = %server.upstream, server = %server.address, "health checks removed; server back in rotation");
        rec.last_transition = Some(Transition {
            at: SystemTime::now(),
            reason: "health checks removed".into(),
        });
    }
}

/// Checks `server` every `interval` until shutdown (or until aborted by a
/// re-plan).
async fn run(server: Arc<ServerState>, check: HealthCheck, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(check.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            // Shutdown began (or its sender is gone): stop checking.
            _ = shutdown.wait_for(|v| *v) => return,
        }
        let started = Instant::now();
        let result = match tokio::time::timeout(check.timeout, probe(&server, &check)).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {:?}", check.timeout)),
        };
        apply(&server, &check, result, started.elapsed());
    }
}

async fn probe(server: &ServerState, check: &HealthCheck) -> Result<(), String> {
    let Some(path) = &check.path else {
        return TcpStream::connect((server.host.as_str(), server.port))
            .await
            .map(drop)
            .map_err(|e| e.to_string());
    };
    let conn = connect(&server.host, server.port, server.tls, check.timeout)
        .await
        .map_err(|e| crate::logging::chain(&e))?;
    let mut req = Request::get(path.as_str())
        .body(Body::Empty)
        .map_err(|e| format!("invalid check path: {e}"))?;
    let headers = req.headers_mut();
    if let Ok(host) = HeaderValue::from_str(&server.address) {
        headers.insert(header::HOST, host);
    }
    headers.insert(
        header::USER_AGENT,
        HeaderValue::from_static("proxyd-health-check"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    let resp = conn
        .send(req, &Default::default(), None)
        .await
        .map_err(|e| match e {
            SendError::Unsent(_, e) | SendError::Failed(e) => crate::logging::chain(&e),
            SendError::TimedOut => "timed out".to_owned(),
        })?;
    let status = resp.status();
    if status.is_success() || status.is_redirection() {
        Ok(())
    } else {
        Err(format!("status {}", status.as_u16()))
    }
}

/// Counts one check result and flips the verdict at a threshold.
fn apply(server: &ServerState, check: &HealthCheck, result: Result<(), String>, latency: Duration) {
    let mut rec = lock(&server.record);
    let now = SystemTime::now();
    rec.last_check = Some(Check {
        failure: result.as_ref().err().cloned(),
        latency,
        at: now,
    });
    match result {
        Ok(()) => {
            rec.consecutive_passes += 1;
            rec.consecutive_failures = 0;
            let n = rec.consecutive_passes;
            if n >= u64::from(check.healthy_threshold)
                && !server.healthy.swap(true, Ordering::AcqRel)
            {
                let reason = format!("{n} consecutive checks passed");
                tracing::info!(upstream = %server.upstream, server = %server.address, "server healthy: {reason}");
                rec.last_transition = Some(Transition { at: now, reason });
            }
        }
        Err(why) => {
            rec.consecutive_failures += 1;
            rec.consecutive_passes = 0;
            let n = rec.consecutive_failures;
            if n >= u64::from(check.unhealthy_threshold)
                && server.healthy.swap(false, Ordering::AcqRel)
            {
                let reason = format!("{n} consecutive checks failed: {why}");
                tracing::warn!(upstream = %server.upstream, server = %server.address, "server unhealthy: {reason}");
                rec.last_transition = Some(Transition { at: now, reason });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Server;

    fn server() -> ServerState {
        ServerState::new(
            "u",
            &Server {
                address: "127.0.0.1:1".into(),
                host: "127.0.0.1".into(),
                port: 1,
                weight: 1,
            },
            false,
        )
    }

    fn check() -> HealthCheck {
        HealthCheck {
            path: Some("/healthz".into()),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            healthy_threshold: 2,
            unhealthy_threshold: 3,
        }
    }

    #[test]
    fn thresholds_flip_the_verdict_once() {
        let s = server();
        let c = check();
        let fail = || Err("status 503".to_string());
        apply(&s, &c, fail(), Duration::ZERO);
        apply(&s, &c, fail(), Duration::ZERO);
        assert!(s.is_healthy());
        apply(&s, &c, fail(), Duration::ZERO);
        assert!(!s.is_healthy());
        let down = lock(&s.record).last_transition.clone().unwrap();
        assert_eq!(down.reason, "3 consecutive checks failed: status 503");
        apply(&s, &c, fail(), Duration::ZERO);
        let rec = lock(&s.record).clone();
        assert_eq!(rec.consecutive_failures, 4);
        assert_eq!(rec.last_transition.unwrap().at, down.at, "logged once");
        apply(&s, &c, Ok(()), Duration::ZERO);
        assert!(!s.is_healthy());
        apply(&s, &c, Ok(()), Duration::ZERO);
        assert!(s.is_healthy());
        let rec = lock(&s.record).clone();
        assert_eq!((rec.consecutive_passes, rec.consecutive_failures), (2, 0));
        assert_eq!(
            rec.last_transition.unwrap().reason,
            "2 consecutive checks passed"
        );
    }

    #[tokio::test]
    async fn a_tcp_check_fails_on_a_closed_port_and_passes_on_an_open_one() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut s = server();
        s.port = port;
        let tcp = HealthCheck {
            path: None,
            ..check()
        };
        assert_eq!(probe(&s, &tcp).await, Ok(()));
        drop(listener);
        assert!(probe(&s, &tcp).await.is_err());
    }
}
