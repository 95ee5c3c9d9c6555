//! Request-rate scenarios: keep-alive, connection per request, 1 MiB
//! responses (wrk), TLS 1.3 + HTTP/2 (h2load) and TLS handshakes with
//! session resumption (openssl s_time).
//!
//! Per proxy: start it, run an unmeasured warm-up (fills its upstream
//! pool), then the measured run while reading the proxy group's CPU ticks
//! before and after; peak RSS is read at the end. proxyd's TLS is still
//! being built: if proxyd does not serve h2 over TLS, its row says "not
//! available" and the run goes on.

use crate::error::{BenchError, Result};
use crate::load::{H2load, Load, STime, Wrk};
use crate::measure;
use crate::proxies::{nginx, Proxy};
use crate::report::{Figures, Outcome, Row};

use super::{Bench, Running, Scenario};

/// Concurrent HTTP/2 streams per connection in the TLS scenario.
const H2_STREAMS: u32 = 10;

pub(super) async fn run(bench: &mut Bench, scenario: Scenario) -> Result<Vec<Row>> {
    let label = match scenario {
        Scenario::Keepalive => "keepalive",
        Scenario::Close => "close",
        Scenario::Large => "large-1MiB",
        Scenario::TlsResume => "tls-resume",
        _ => "tls-h2",
    };
    let certs = match scenario {
        Scenario::Tls | Scenario::TlsResume => Some(bench.certs()?),
        _ => None,
    };
    let mut rows = Vec::new();
    for proxy in bench.proxies.clone() {
        let started = bench
            .start(proxy, label, certs.as_ref(), 0, 1024, None)
            .await;
        let measured = match started {
            Ok(running) => measure_row(bench, scenario, label, proxy, running).await,
            Err(e) => Err(e),
        };
        let outcome = match measured {
            Ok(outcome) => outcome,
            Err(e @ BenchError::Interrupted) => return Err(e),
            Err(e)
                if proxy == Proxy::Proxyd
                    && matches!(scenario, Scenario::Tls | Scenario::TlsResume) =>
            {
                Outcome::Unavailable(explain(proxy, label, &e))
            }
            Err(e) => Outcome::Failed(explain(proxy, label, &e)),
        };
        rows.push(Row {
            scenario: label.to_string(),
            proxy,
            run: 0,
            outcome,
        });
    }
    Ok(rows)
}

async fn measure_row(
    bench: &Bench,
    scenario: Scenario,
    label: &str,
    proxy: Proxy,
    running: Running,
) -> Result<Outcome> {
    let outcome = match scenario {
        Scenario::Tls => h2_figures(bench, &running, label, proxy).await?,
        Scenario::TlsResume => resume_figures(bench, &running, label, proxy).await?,
        Scenario::Large => {
            let url = format!("{}{}", running.url, &nginx::LARGE_PATH[1..]);
            wrk_figures(bench, &running, label, proxy, &url, &[]).await?
        }
        Scenario::Close => {
            let close = ["Connection: close".to_string()];
            wrk_figures(bench, &running, label, proxy, &running.url, &close).await?
        }
        _ => wrk_figures(bench, &running, label, proxy, &running.url, &[]).await?,
    };
    running.server.stop();
    Ok(outcome)
}

/// Warm-up, then a measured wrk run against `url`, with the proxy's CPU
/// time over the run and its peak RSS. Leaves the proxy running.
pub(super) async fn wrk_figures(
    bench: &Bench,
    running: &Running,
    label: &str,
    proxy: Proxy,
    url: &str,
    headers: &[String],
) -> Result<Outcome> {
    let opts = &bench.opts;
    let out = |phase: &str| bench.file(&format!("{label}-{}-{phase}.txt", proxy.name()));
    let wrk = |seconds| Wrk {
        cpus: &opts.load_cpus,
        url,
        connections: opts.connections,
        seconds,
        headers,
    };
    if opts.warmup > 0 {
        wrk(opts.warmup).run(&out("warmup")).await?;
    }
    let (load, ticks, steal) = measured(running, wrk(opts.duration).run(&out("load"))).await?;
    Ok(figures(load, ticks, steal, running, &out("load")))
}

/// Runs the measured load `run`; returns its result with the proxy's CPU
/// ticks and the machine's steal (percent) over it.
async fn measured<T>(
    running: &Running,
    run: impl std::future::Future<Output = Result<T>>,
) -> Result<(T, u64, f64)> {
    let ticks0 = running.server.cpu_ticks();
    let cpu0 = measure::cpu_times();
    let result = run.await?;
    let steal = measure::steal_percent(cpu0, measure::cpu_times());
    let ticks = running.server.cpu_ticks().saturating_sub(ticks0);
    Ok((result, ticks, steal))
}

/// The same with h2load over TLS; a proxy that does not negotiate h2 over
/// TLS 1.3 gets no figures.
async fn h2_figures(
    bench: &Bench,
    running: &Running,
    label: &str,
    proxy: Proxy,
) -> Result<Outcome> {
    let opts = &bench.opts;
    let out = |phase: &str| bench.file(&format!("{label}-{}-{phase}.txt", proxy.name()));
    let h2 = |seconds| H2load {
        cpus: &opts.load_cpus,
        url: &running.url,
        connections: opts.connections,
        streams: H2_STREAMS,
        seconds,
    };
    if opts.warmup > 0 {
        h2(opts.warmup).run(&out("warmup")).await?;
    }
    let ((load, negotiated), ticks, steal) =
        measured(running, h2(opts.duration).run(&out("load"))).await?;
    if negotiated.alpn != "h2" || negotiated.tls != "TLSv1.3" {
        let why = format!(
            "negotiated {:?} over {:?}, expected h2 over TLSv1.3",
            negotiated.alpn, negotiated.tls
        );
        return Ok(match proxy {
            Proxy::Proxyd => Outcome::Unavailable(why),
            _ => Outcome::Failed(why),
        });
    }
    Ok(figures(load, ticks, steal, running, &out("load")))
}

/// Handshakes resuming a session, one connection at a time (`openssl
/// s_time -reuse`): connections per second and the proxy's CPU per
/// connection. A proxy that resumed fewer than 90% of them fails the row.
async fn resume_figures(
    bench: &Bench,
    running: &Running,
    label: &str,
    proxy: Proxy,
) -> Result<Outcome> {
    let opts = &bench.opts;
    let out = |phase: &str| bench.file(&format!("{label}-{}-{phase}.txt", proxy.name()));
    let s_time = |seconds| STime {
        cpus: &opts.load_cpus,
        url: &running.url,
        seconds,
    };
    if opts.warmup > 0 {
        s_time(opts.warmup).run(&out("warmup")).await?;
    }
    let (r, ticks, steal) = measured(running, s_time(opts.duration).run(&out("load"))).await?;
    if r.connections == 0 || r.resumed * 10 < r.connections * 9 {
        return Ok(Outcome::Failed(format!(
            "{} of {} handshakes resumed the session; see {}",
            r.resumed,
            r.connections,
            out("load").display()
        )));
    }
    Ok(Outcome::Measured(Figures {
        requests: r.connections,
        rps: Some(r.per_second),
        cpu_s_per_100k: Some(cpu_seconds_per_100k(ticks, r.connections)),
        peak_rss_mib: Some(running.server.peak_rss_kib() as f64 / 1024.0),
        steal_pct: Some(steal),
        ..Figures::default()
    }))
}

fn figures(
    load: Load,
    ticks: u64,
    steal: f64,
    running: &Running,
    raw: &std::path::Path,
) -> Outcome {
    if load.requests == 0 {
        return Outcome::Failed(format!(
            "no request completed ({} errors); see {}",
            load.errors,
            raw.display()
        ));
    }
    Outcome::Measured(Figures {
        requests: load.requests,
        rps: Some(load.rps),
        p50_ms: Some(load.p50_ms),
        p99_ms: Some(load.p99_ms),
        cpu_s_per_100k: Some(cpu_seconds_per_100k(ticks, load.requests)),
        peak_rss_mib: Some(running.server.peak_rss_kib() as f64 / 1024.0),
        steal_pct: Some(steal),
        errors: load.errors,
        ..Figures::default()
    })
}

/// Proxy CPU seconds per 100,000 requests.
pub(super) fn cpu_seconds_per_100k(ticks: u64, requests: u64) -> f64 {
    let seconds = ticks as f64 / measure::clock_ticks_per_second() as f64;
    seconds / requests.max(1) as f64 * 100_000.0
}

/// Prints an error with its causes and log tail on stderr; returns its
/// first line, shortened, for the table cell.
/// One proxy's row in a scenario: its figures, or the reason it failed. An
/// interruption (Ctrl-C) is not a row: it ends the whole run.
pub(super) fn row(label: &str, proxy: Proxy, measured: Result<Outcome>) -> Result<Row> {
    let outcome = match measured {
        Ok(outcome) => outcome,
        Err(e @ BenchError::Interrupted) => return Err(e),
        Err(e) => Outcome::Failed(explain(proxy, label, &e)),
    };
    Ok(Row {
        scenario: label.to_string(),
        proxy,
        run: 0,
        outcome,
    })
}

pub(super) fn explain(proxy: Proxy, label: &str, e: &BenchError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    eprintln!("   {} in {label}: {text}", proxy.name());
    // The first line says what failed; a log tail's last line says why.
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or_default();
    let last = lines
        .next_back()
        .map(|l| format!(" … {}", l.trim()))
        .unwrap_or_default();
    let short = |s: &str, n: usize| match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    };
    format!("{}{}", short(first, 100), short(&last, 100))
}
