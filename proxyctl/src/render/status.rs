//! `proxyctl status` as text: a header block about the daemon and its config,
//! then one table each for listeners, upstream servers and certificates
//! (a table with no rows is left out).
//!
//! Columns are fixed so scripts that cut them keep working:
//! - listeners: `NAME KIND HTTP HTTPS ACTIVE`
//! - upstream servers: `UPSTREAM ADDRESS HEALTH ACTIVE REQUESTS FAILURES`
//! - certificates: `SITE SOURCE EXPIRES NEXT RENEWAL LAST ERROR`

use std::time::{Duration, SystemTime};

use proxyd_protocol::status::{CertificateStatus, StatusReport};

use super::time::{compact_duration, relative, seconds_until};
use super::{table_text, Output, Tone};

/// Days of certificate validity below which the expiry is shown as a warning.
const EXPIRY_WARN_DAYS: i64 = 7;

/// The whole human `status` output, relative to `now`.
pub fn render(report: &StatusReport, out: &Output<'_>, now: SystemTime) -> String {
    let mut text = header(report, out, now);
    if !report.listeners.is_empty() {
        text.push_str("\nlisteners:\n");
        text.push_str(&listeners(report, out));
    }
    if report.upstreams.iter().any(|u| !u.servers.is_empty()) {
        text.push_str("\nupstream servers:\n");
        text.push_str(&servers(report, out));
    }
    if !report.certificates.is_empty() {
        text.push_str("\ncertificates:\n");
        text.push_str(&certificates(report, out, now));
    }
    text
}

fn header(report: &StatusReport, out: &Output<'_>, now: SystemTime) -> String {
    let state = if report.draining {
        out.paint("draining", Tone::Warn)
    } else if report.ready {
        out.paint("ready", Tone::Good)
    } else {
        out.paint("not ready", Tone::Bad)
    };
    let config = &report.config;
    let sha: String = config.sha256.chars().take(12).collect();
    let last_reload = match &config.last_reload {
        None => "none since start".to_string(),
        Some(last) => {
            let tone = if last.result == "ok" {
                Tone::Good
            } else {
                Tone::Bad
            };
            let mut line = format!(
                "{}, {}",
                out.paint(&last.result, tone),
                relative(&last.at, now)
            );
            if let Some(message) = last.message.as_deref().filter(|m| !m.is_empty()) {
                // A multi-line reload error stays readable under the header.
                line.push_str(": ");
                line.push_str(&message.replace('\n', "\n              "));
            }
            line
        }
    };
    let rows = [
        ("version", report.version.clone()),
        ("pid", report.pid.to_string()),
        (
            "uptime",
            // Whole seconds from the daemon: 0 means "under a second", not 0 ms.
            if report.uptime_secs == 0 {
                "<1s".to_string()
            } else {
                compact_duration(Duration::from_secs(report.uptime_secs))
            },
        ),
        ("state", state),
        ("config", config.path.clone()),
        (
            "generation",
            format!("{} (sha256 {sha})", config.generation),
        ),
        ("loaded", relative(&config.loaded_at, now)),
        ("last reload", last_reload),
        ("sites", report.sites.to_string()),
        ("requests", report.requests_total.to_string()),
    ];
    rows.iter()
        .map(|(k, v)| format!("{:<14}{v}\n", format!("{k}:")))
        .collect()
}

fn listeners(report: &StatusReport, out: &Output<'_>) -> String {
    let mut table = out.table(&["NAME", "KIND", "HTTP", "HTTPS", "ACTIVE"]);
    for l in &report.listeners {
        table.add_row(vec![
            l.name.clone(),
            l.kind.clone().unwrap_or_else(|| "http".into()),
            dash(l.http.as_deref()),
            dash(l.https.as_deref()),
            l.active_connections.to_string(),
        ]);
    }
    table_text(&table)
}

fn servers(report: &StatusReport, out: &Output<'_>) -> String {
    let mut table = out.table(&[
        "UPSTREAM", "ADDRESS", "HEALTH", "ACTIVE", "REQUESTS", "FAILURES",
    ]);
    for u in &report.upstreams {
        for s in &u.servers {
            let health = if s.healthy {
                out.cell("healthy", Some(Tone::Good))
            } else {
                out.cell("unhealthy", Some(Tone::Bad))
            };
            table.add_row(vec![
                out.cell(&u.name, None),
                out.cell(&s.address, None),
                health,
                out.cell(&s.active_connections.to_string(), None),
                out.cell(&s.requests_total.to_string(), None),
                out.cell(&s.failures_total.to_string(), None),
            ]);
        }
    }
    table_text(&table)
}

fn certificates(report: &StatusReport, out: &Output<'_>, now: SystemTime) -> String {
    let mut table = out.table(&["SITE", "SOURCE", "EXPIRES", "NEXT RENEWAL", "LAST ERROR"]);
    for c in &report.certificates {
        let (expires, tone) = expiry(c, now);
        table.add_row(vec![
            out.cell(&c.site, None),
            out.cell(&c.source, None),
            out.cell(&expires, tone),
            out.cell(
                &c.next_renewal
                    .as_deref()
                    .map_or_else(|| "-".into(), |t| relative(t, now)),
                None,
            ),
            out.cell(
                &one_line(c.last_error.as_deref()),
                c.last_error.as_ref().map(|_| Tone::Bad),
            ),
        ]);
    }
    table_text(&table)
}

/// "45 days (2027-01-06)", "expired (2026-11-01)", or "none" when no
/// certificate is loaded yet.
fn expiry(c: &CertificateStatus, now: SystemTime) -> (String, Option<Tone>) {
    let Some(not_after) = c.not_after.as_deref() else {
        return ("none".into(), Some(Tone::Bad));
    };
    let date: String = not_after.chars().take(10).collect();
    match seconds_until(not_after, now) {
        None => (not_after.to_string(), None),
        Some(s) if s <= 0 => (format!("expired ({date})"), Some(Tone::Bad)),
        Some(s) => {
            let days = s / 86_400;
            let tone = if days < EXPIRY_WARN_DAYS {
                Tone::Warn
            } else {
                Tone::Good
            };
            let word = if days == 1 { "day" } else { "days" };
            (format!("{days} {word} ({date})"), Some(tone))
        }
    }
}

fn dash(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => "-".into(),
    }
}

/// Table cells must stay on one line.
fn one_line(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.split_whitespace().collect::<Vec<_>>().join(" "),
        _ => "-".into(),
    }
}
