//! Many sites: routing cost, memory, and proxyd's reload time.
//!
//! Each proxy is measured under the keep-alive load twice: with a config of
//! 1 site and with one of N sites (`siteI.bench.test` and `*.siteI...`),
//! the request's Host naming the site in the middle. Routing that is flat in
//! the number of sites gives the same req/s in both rows. For proxyd, with N
//! sites loaded, `proxyctl reload` of an N-site config (one header rule
//! changed, so the reload has work to do) is timed a few times; the median
//! wall time, proxyctl's own start included, is reported.

use std::time::Instant;

use crate::error::{BenchError, Result};
use crate::proxies::{self, site_host, Proxy, Setup};
use crate::report::{Outcome, Row};

use super::traffic::{row, wrk_figures};
use super::{Bench, Running};

/// Timed reloads per run; the median is reported.
const RELOADS: u32 = 3;

pub(super) async fn run(bench: &mut Bench) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for sites in [1, bench.opts.sites.max(1)] {
        let label = format!("sites-{sites}");
        let host = site_host(sites / 2);
        for proxy in bench.proxies.clone() {
            rows.push(row(
                &label,
                proxy,
                measure(bench, &label, proxy, sites, &host).await,
            )?);
        }
    }
    Ok(rows)
}

async fn measure(
    bench: &Bench,
    label: &str,
    proxy: Proxy,
    sites: usize,
    host: &str,
) -> Result<Outcome> {
    let running = bench
        .start(proxy, label, None, sites, 1024, Some(host))
        .await?;
    let headers = [format!("Host: {host}")];
    let mut outcome = wrk_figures(bench, &running, label, proxy, &running.url, &headers).await?;
    if let (Outcome::Measured(figures), Proxy::Proxyd) = (&mut outcome, proxy) {
        figures.reload_ms = Some(reload_ms(bench, &running, sites).await?);
    }
    running.server.stop();
    Ok(outcome)
}

/// Median wall time of `proxyctl reload` after rewriting the config.
async fn reload_ms(bench: &Bench, running: &Running, sites: usize) -> Result<f64> {
    let socket = running
        .launch
        .admin_socket
        .clone()
        .ok_or(BenchError::Load {
            tool: "proxyctl",
            reason: "proxyd has no admin socket".into(),
        })?;
    let dir = running
        .launch
        .config
        .parent()
        .unwrap_or(&bench.work)
        .to_path_buf();
    let setup = Setup {
        dir: &dir,
        port: running.port,
        tls: None,
        backend: bench.backend,
        sites,
        max_connections: 1024,
        same_headers: bench.opts.same_headers,
    };
    let mut times = Vec::new();
    for variant in 1..=RELOADS {
        let text = proxies::render_proxyd(&setup, &socket, variant);
        proxies::write(&running.launch.config, &text)?;
        let started = Instant::now();
        let out = tokio::process::Command::new(&bench.proxyctl)
            .arg("--socket")
            .arg(&socket)
            .args(["--json", "--timeout", "30s", "reload"])
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|source| BenchError::Spawn {
                what: "proxyctl".into(),
                source,
            })?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        let reply = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !reply.contains("\"status\":\"ok\"") {
            return Err(BenchError::Load {
                tool: "proxyctl",
                reason: format!(
                    "reload failed ({}): {}{}",
                    out.status,
                    reply.trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
