//! Memory per idle keep-alive connection.
//!
//! Per proxy: read the group's resident memory, open N connections from
//! this process, send one request on each (so every connection has been
//! through the proxy's HTTP path and sits idle in keep-alive), let them sit
//! idle for [`SETTLE`], read RSS again: (after − before) / N is the cost of
//! one idle connection. (proxyd drops a connection's HTTP state after 50 ms
//! without a request; nginx and HAProxy free theirs at once.) A sample
//! of the connections then sends a second request, proving they were still
//! open, not closed by the proxy.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::error::Result;
use crate::proxies::nginx::HELLO;
use crate::report::{Figures, Outcome, Row};

use super::traffic::row;
use super::Bench;

/// Connections opened at once.
const BATCH: usize = 200;
/// Connections re-used at the end to prove they were kept open.
const RECHECK: usize = 20;
/// How long the connections sit idle before memory is read.
const SETTLE: Duration = Duration::from_secs(2);
/// Time limit for one request on one connection.
const PER_REQUEST: Duration = Duration::from_secs(10);

pub(super) async fn run(bench: &mut Bench) -> Result<Vec<Row>> {
    let n = bench.opts.idle_connections;
    let label = format!("idle-{n}");
    let mut rows = Vec::new();
    for proxy in bench.proxies.clone() {
        rows.push(row(&label, proxy, measure(bench, &label, proxy, n).await)?);
    }
    Ok(rows)
}

async fn measure(
    bench: &Bench,
    label: &str,
    proxy: crate::proxies::Proxy,
    n: usize,
) -> Result<Outcome> {
    let running = bench.start(proxy, label, None, 0, n + 64, None).await?;
    let addr = format!("127.0.0.1:{}", running.port);
    let before = running.server.rss_kib();
    let opening = std::time::Instant::now();
    let mut open = Vec::with_capacity(n);
    let mut errors = 0u64;
    while open.len() + (errors as usize) < n {
        let mut batch = JoinSet::new();
        for _ in 0..BATCH.min(n - open.len() - errors as usize) {
            let addr = addr.clone();
            batch.spawn(async move {
                let mut conn = TcpStream::connect(&addr).await?;
                request(&mut conn).await?;
                Ok::<_, std::io::Error>(conn)
            });
        }
        while let Some(done) = batch.join_next().await {
            match done {
                Ok(Ok(conn)) => open.push(conn),
                _ => errors += 1,
            }
        }
    }
    let opened_in = opening.elapsed();
    tokio::time::sleep(SETTLE).await;
    let after = running.server.rss_kib();
    let peak = running.server.peak_rss_kib();
    let mut stale = 0;
    let mut why = String::new();
    for (i, conn) in open.iter_mut().enumerate().step_by((n / RECHECK).max(1)) {
        if let Err(e) = request(conn).await {
            if stale == 0 {
                // The first connections have been idle about this long: a
                // proxy's idle or header timeout may have closed them.
                let idle = opening.elapsed().as_secs_f64();
                why = format!(
                    " (connection {i}: {e}; opening all took {:.1} s, the first has been open {idle:.1} s)",
                    opened_in.as_secs_f64()
                );
            }
            stale += 1;
        }
    }
    drop(open);
    running.server.stop();
    if errors as usize > n / 100 || stale > 0 {
        return Ok(Outcome::Failed(format!(
            "{errors} of {n} connections failed, {stale} re-used connections were closed{why}"
        )));
    }
    Ok(Outcome::Measured(Figures {
        requests: n as u64,
        peak_rss_mib: Some(peak as f64 / 1024.0),
        kib_per_conn: Some(after.saturating_sub(before) as f64 / n as f64),
        errors,
        ..Figures::default()
    }))
}

/// One keep-alive `GET /` and its whole response (the body is `hello\n`).
async fn request(conn: &mut TcpStream) -> std::io::Result<()> {
    let exchange = async {
        conn.write_all(b"GET / HTTP/1.1\r\nHost: bench.test\r\n\r\n")
            .await?;
        let mut buf = Vec::with_capacity(512);
        let mut chunk = [0u8; 512];
        while !buf.ends_with(HELLO.as_bytes()) {
            let n = conn.read(&mut chunk).await?;
            if n == 0 || buf.len() > 16 * 1024 {
                return Err(std::io::Error::other("connection closed mid-response"));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        if !buf.starts_with(b"HTTP/1.1 200") {
            let head = String::from_utf8_lossy(&buf[..buf.len().min(80)]).into_owned();
            return Err(std::io::Error::other(format!(
                "not a 200 response: {head:?}"
            )));
        }
        Ok(())
    };
    tokio::time::timeout(PER_REQUEST, exchange)
        .await
        .map_err(|_| std::io::Error::other("timed out"))?
}
