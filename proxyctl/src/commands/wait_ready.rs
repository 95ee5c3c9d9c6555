//! `proxyctl wait-ready`: poll the daemon until it is ready (and, if asked,
//! runs generation ≥ N, has a healthy server in every upstream, holds every
//! certificate), or the deadline passes.
//!
//! The daemon may still be starting, so a missing socket, a refused
//! connection, a closed connection or a slow reply only mean "not yet" until
//! the deadline; the last such reason is what the timeout error reports.
//! Anything that will not fix itself (a reply that is not the admin protocol,
//! an error reply, credentials refused) fails at once. Polls back off from
//! 50 ms, doubling to 500 ms.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use proxyd_protocol::{Command, ReadyBody, StatusReport};
use serde::Serialize;

use crate::cli::{WaitReadyArgs, DEFAULT_REQUEST_TIMEOUT, DEFAULT_WAIT_TIMEOUT};
use crate::client::Client;
use crate::error::{CtlError, Unreachable};
use crate::render::time::{compact_duration, seconds_until};
use crate::render::Output;

const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// The `--json` document of a successful `wait-ready`.
#[derive(Debug, Serialize)]
struct WaitReport {
    ready: bool,
    /// The running generation, when the daemon said.
    generation: Option<u64>,
    waited_ms: u128,
}

/// One poll's verdict.
enum Poll {
    /// Everything asked for holds; the running generation if known.
    Ready(Option<u64>),
    /// Not yet, and why.
    NotYet(String),
}

/// Runs `wait-ready`; `timeout` is the whole deadline (default 30 s).
pub fn run(
    socket: &Path,
    timeout: Option<Duration>,
    args: &WaitReadyArgs,
    out: &mut Output<'_>,
) -> Result<(), CtlError> {
    let started = Instant::now();
    let total = timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT);
    let deadline = started + total;
    let client = Client::new(socket, DEFAULT_REQUEST_TIMEOUT);
    let mut backoff = FIRST_BACKOFF;
    let mut reason = String::from("no attempt finished in time");
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(CtlError::NotReady {
                waited: total,
                reason,
            });
        }
        let client = client.with_timeout(left.min(DEFAULT_REQUEST_TIMEOUT));
        reason = match poll(&client, args)? {
            Poll::Ready(generation) => {
                let waited = started.elapsed();
                if out.is_json() {
                    return out.json(&WaitReport {
                        ready: true,
                        generation,
                        waited_ms: waited.as_millis(),
                    });
                }
                let generation =
                    generation.map_or_else(String::new, |g| format!(": generation {g}"));
                return out.text(&format!(
                    "ready{generation} (waited {})\n",
                    compact_duration(waited)
                ));
            }
            Poll::NotYet(reason) => reason,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        thread::sleep(backoff.min(left));
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Asks once. Transient failures become `NotYet`; others are errors.
fn poll(client: &Client, args: &WaitReadyArgs) -> Result<Poll, CtlError> {
    let wants_status = args.generation.is_some() || args.healthy || args.certificates;
    if !wants_status {
        let body = match client.request::<ReadyBody>(Command::Ready) {
            Ok(response) => response.body,
            Err(e) => return transient(e),
        };
        return match body {
            Ok(b) if b.ready => Ok(Poll::Ready((b.generation > 0).then_some(b.generation))),
            Ok(_) => Ok(Poll::NotYet("proxyd reports not ready".into())),
            Err(err) => Err(CtlError::Daemon {
                command: "ready",
                message: err.message,
            }),
        };
    }
    let report = match client.request::<StatusReport>(Command::Status) {
        Ok(response) => response.body.map_err(|err| CtlError::Daemon {
            command: "status",
            message: err.message,
        })?,
        Err(e) => return transient(e),
    };
    Ok(match unmet(&report, args) {
        Some(reason) => Poll::NotYet(reason),
        None => Poll::Ready(Some(report.config.generation)),
    })
}

/// The first condition `report` does not meet, if any.
fn unmet(report: &StatusReport, args: &WaitReadyArgs) -> Option<String> {
    if report.draining {
        return Some("proxyd is draining".into());
    }
    if !report.ready {
        return Some("proxyd reports not ready".into());
    }
    if let Some(want) = args.generation {
        let running = report.config.generation;
        if running < want {
            return Some(format!(
                "generation {running} is running, waiting for {want}"
            ));
        }
    }
    if args.healthy {
        if let Some(u) = report
            .upstreams
            .iter()
            .find(|u| !u.servers.iter().any(|s| s.healthy))
        {
            return Some(format!("upstream `{}` has no healthy server", u.name));
        }
    }
    if args.certificates {
        return certificates_unmet(report, SystemTime::now());
    }
    None
}

/// The first TLS site without a usable certificate: none yet, or one that
/// has expired (an ACME site still waits for its renewal; a file site for
/// new files and a reload). A `not_after` that is not RFC 3339 counts as
/// held: the daemon vouches for it.
fn certificates_unmet(report: &StatusReport, now: SystemTime) -> Option<String> {
    report.certificates.iter().find_map(|c| {
        let Some(not_after) = &c.not_after else {
            return Some(format!("site `{}` has no certificate yet", c.site));
        };
        match seconds_until(not_after, now) {
            Some(left) if left <= 0 => Some(format!(
                "the certificate of site `{}` expired at {not_after}",
                c.site
            )),
            _ => None,
        }
    })
}

/// Errors that may go away while the daemon starts are "not yet", with a
/// short reason (the timeout error adds its own hint).
fn transient(error: CtlError) -> Result<Poll, CtlError> {
    let reason = match &error {
        CtlError::Unreachable {
            reason: Unreachable::NotFound { socket },
        } => format!("socket {} not found", socket.display()),
        CtlError::Unreachable {
            reason: Unreachable::Refused { socket },
        } => format!("connection to socket {} refused", socket.display()),
        CtlError::Timeout { command, after, .. } => {
            format!(
                "no reply to `{command}` within {}",
                compact_duration(*after)
            )
        }
        CtlError::NoReply { detail, .. } => format!("connection closed without a reply: {detail}"),
        _ => return Err(error),
    };
    Ok(Poll::NotYet(reason))
}

#[cfg(test)]
mod tests {
    use proxyd_protocol::status::CertificateStatus;

    use super::*;

    fn report(certs: &[(&str, Option<&str>)]) -> StatusReport {
        StatusReport {
            certificates: certs
                .iter()
                .map(|(site, not_after)| CertificateStatus {
                    site: (*site).into(),
                    not_after: not_after.map(str::to_owned),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn every_site_needs_a_certificate_that_has_not_expired() {
        let now = humantime::parse_rfc3339("2026-11-22T00:00:00Z").unwrap();
        let future = Some("2027-01-01T00:00:00Z");
        assert_eq!(certificates_unmet(&report(&[("a", future)]), now), None);
        assert_eq!(certificates_unmet(&report(&[]), now), None);
        assert_eq!(
            certificates_unmet(&report(&[("a", future), ("b", None)]), now).as_deref(),
            Some("site `b` has no certificate yet")
        );
        assert_eq!(
            certificates_unmet(&report(&[("a", Some("2026-11-21T23:59:59Z"))]), now).as_deref(),
            Some("the certificate of site `a` expired at 2026-11-21T23:59:59Z")
        );
    }
}
