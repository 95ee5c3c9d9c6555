//! Load generators: `wrk` (HTTP/1.1), `h2load` (HTTP/2 over TLS) and
//! `openssl s_time` (TLS handshakes resuming a session).
//!
//! Each run is pinned to the load CPU, aimed at 127.0.0.1 only, bounded by
//! its own duration plus a hard timeout after which it is killed, and its
//! output is parsed into a [`Load`]. Parsing is pure and unit-tested on real
//! output samples; the tools' raw output is kept in the work dir.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::error::{BenchError, Result};

/// Extra time a load run gets beyond its duration before it is killed.
const OVERRUN: Duration = Duration::from_secs(15);

/// What one load run measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Load {
    /// Completed requests.
    pub requests: u64,
    /// Requests per second over the run.
    pub rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Socket errors, failed requests and non-2xx/3xx responses.
    pub errors: u64,
}

/// A `wrk` run: `-t1 -cCONNS -dSECS --latency [-H HEADER]... URL`.
#[derive(Debug, Clone)]
pub struct Wrk<'a> {
    /// CPU list for taskset.
    pub cpus: &'a str,
    /// Target, `http://127.0.0.1:PORT/...`.
    pub url: &'a str,
    /// Open connections.
    pub connections: u32,
    /// Run length.
    pub seconds: u64,
    /// Extra request headers (`Connection: close`, `Host: ...`).
    pub headers: &'a [String],
}

impl Wrk<'_> {
    /// Runs wrk; its output is also written to `out`.
    pub async fn run(&self, out: &Path) -> Result<Load> {
        let mut args = vec![
            "-c".to_string(),
            self.cpus.to_string(),
            "wrk".into(),
            "-t1".into(),
            format!("-c{}", self.connections.max(1)),
            format!("-d{}s", self.seconds),
            "--latency".into(),
        ];
        for h in self.headers {
            args.extend(["-H".to_string(), h.clone()]);
        }
        args.push(self.url.to_string());
        let text = run_bounded("wrk", self.url, &args, self.seconds, out).await?;
        parse_wrk(&text).ok_or_else(|| BenchError::Load {
            tool: "wrk",
            reason: format!("unexpected output: {}", text.trim()),
        })
    }
}

/// An `h2load` run over TLS: `-D SECS -cCONNS -mSTREAMS -t1 --log-file`.
#[derive(Debug, Clone)]
pub struct H2load<'a> {
    /// CPU list for taskset.
    pub cpus: &'a str,
    /// Target, `https://127.0.0.1:PORT/`.
    pub url: &'a str,
    /// Open connections.
    pub connections: u32,
    /// Concurrent streams per connection.
    pub streams: u32,
    /// Run length.
    pub seconds: u64,
}

/// What `h2load` negotiated, to tell "served h2 over TLS 1.3" from not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// `TLSv1.3`, or empty when no handshake completed.
    pub tls: String,
    /// `h2`, or empty.
    pub alpn: String,
}

impl H2load<'_> {
    /// Runs h2load; output to `out`, per-request log to `out` + `.log`.
    pub async fn run(&self, out: &Path) -> Result<(Load, Negotiated)> {
        let log = out.with_extension("requests.log");
        let args = vec![
            "-c".to_string(),
            self.cpus.to_string(),
            "h2load".into(),
            "-t1".into(),
            format!("-c{}", self.connections.max(1)),
            format!("-m{}", self.streams.max(1)),
            format!("-D{}", self.seconds),
            format!("--log-file={}", log.display()),
            self.url.to_string(),
        ];
        let text = run_bounded("h2load", self.url, &args, self.seconds, out).await?;
        let negotiated = parse_h2load_negotiated(&text);
        let mut load = parse_h2load(&text).ok_or_else(|| BenchError::Load {
            tool: "h2load",
            reason: format!("unexpected output: {}", text.trim()),
        })?;
        let mut micros = parse_h2load_log(&std::fs::read_to_string(&log).unwrap_or_default());
        micros.sort_unstable();
        load.p50_ms = percentile(&micros, 50.0) / 1000.0;
        load.p99_ms = percentile(&micros, 99.0) / 1000.0;
        Ok((load, negotiated))
    }
}

/// An `openssl s_time -reuse` run: one connection after another, each a
/// TLS handshake resuming the first connection's session, then
/// `GET / HTTP/1.0` and the answer to the close.
#[derive(Debug, Clone)]
pub struct STime<'a> {
    /// CPU list for taskset.
    pub cpus: &'a str,
    /// Target, `https://127.0.0.1:PORT/`.
    pub url: &'a str,
    /// Run length.
    pub seconds: u64,
}

/// What an `s_time -reuse` run did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Resumed {
    /// Connections made (each one request).
    pub connections: u64,
    /// Of them, handshakes that resumed the session.
    pub resumed: u64,
    /// Connections per second of wall time.
    pub per_second: f64,
}

impl STime<'_> {
    /// Runs s_time; its output is also written to `out`.
    pub async fn run(&self, out: &Path) -> Result<Resumed> {
        let addr = self
            .url
            .strip_prefix("https://")
            .map(|rest| rest.trim_end_matches('/'))
            .unwrap_or_default();
        let args = vec![
            "-c".to_string(),
            self.cpus.to_string(),
            "openssl".into(),
            "s_time".into(),
            "-connect".into(),
            addr.to_string(),
            "-www".into(),
            "/".into(),
            "-reuse".into(),
            "-time".into(),
            self.seconds.max(1).to_string(),
        ];
        let started = std::time::Instant::now();
        let text = run_bounded("openssl s_time", self.url, &args, self.seconds, out).await?;
        let elapsed = started.elapsed().as_secs_f64();
        let mut resumed = parse_s_time(&text).ok_or_else(|| BenchError::Load {
            tool: "openssl s_time",
            reason: format!("unexpected output: {}", text.trim()),
        })?;
        resumed.per_second = resumed.connections as f64 / elapsed.max(1e-9);
        Ok(resumed)
    }
}

/// Parses `openssl s_time -reuse` output: the connections of the timed
/// part (`N connections in S real seconds`) and, from its progress line
/// after `starting`, how many resumed (`r`; a full handshake prints its
/// version, `*` for TLS 1.3). `per_second` is left to the caller.
pub fn parse_s_time(text: &str) -> Option<Resumed> {
    let mut lines = text.lines().map(str::trim);
    lines.by_ref().find(|l| *l == "starting")?;
    let progress = lines.next()?;
    let resumed = progress.bytes().filter(|b| *b == b'r').count() as u64;
    let connections = lines
        .filter_map(|l| {
            let (n, rest) = l.split_once(' ')?;
            rest.contains("real seconds")
                .then(|| n.parse::<u64>().ok())?
        })
        .next_back()?;
    Some(Resumed {
        connections,
        resumed,
        per_second: 0.0,
    })
}

/// Runs `taskset ARGS` (the load tool) with a hard timeout; returns stdout+stderr.
async fn run_bounded(
    tool: &'static str,
    url: &str,
    args: &[String],
    seconds: u64,
    out: &Path,
) -> Result<String> {
    if !(url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:")) {
        return Err(BenchError::NotLoopback(url.to_string()));
    }
    let child = Command::new("taskset")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| BenchError::Spawn {
            what: tool.to_string(),
            source,
        })?;
    let limit = Duration::from_secs(seconds) + OVERRUN;
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| BenchError::Load {
            tool,
            reason: format!("still running after {} s, killed", limit.as_secs()),
        })??;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    std::fs::write(out, &text).map_err(|source| BenchError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(text)
}

/// Parses wrk's `--latency` report.
pub fn parse_wrk(text: &str) -> Option<Load> {
    let mut load = Load::default();
    let mut seen = (false, false);
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", rps] => {
                load.rps = rps.parse().ok()?;
                seen.0 = true;
            }
            [n, "requests", "in", ..] => {
                load.requests = n.parse().ok()?;
                seen.1 = true;
            }
            ["50%", v] => load.p50_ms = duration_ms(v)?,
            ["99%", v] => load.p99_ms = duration_ms(v)?,
            ["Socket", "errors:", rest @ ..] => {
                // connect 0, read 0, write 0, timeout 0
                load.errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => load.errors += n.parse::<u64>().ok()?,
            _ => {}
        }
    }
    (seen.0 && seen.1).then_some(load)
}

/// wrk durations: `373.00us`, `1.02ms`, `1.10s`, `2.00m` → milliseconds.
fn duration_ms(v: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        return None;
    };
    Some(num.parse::<f64>().ok()? * scale)
}

/// Parses h2load's summary (latency percentiles come from its log file).
pub fn parse_h2load(text: &str) -> Option<Load> {
    let mut load = Load::default();
    let mut seen = (false, false);
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("finished in ") {
            // finished in 1.00s, 51234.00 req/s, 5.00MB/s
            let rps = rest.split(", ").nth(1)?.strip_suffix(" req/s")?;
            load.rps = rps.parse().ok()?;
            seen.0 = true;
        } else if let Some(rest) = line.strip_prefix("requests: ") {
            // requests: 100 total, 100 started, 100 done, 98 succeeded, 2 failed, 0 errored, 0 timeout
            for part in rest.split(", ") {
                let (n, what) = part.split_once(' ')?;
                let n: u64 = n.parse().ok()?;
                match what {
                    "succeeded" => load.requests = n,
                    "failed" | "errored" | "timeout" => load.errors += n,
                    _ => {}
                }
            }
            seen.1 = true;
        }
    }
    (seen.0 && seen.1).then_some(load)
}

/// TLS version and ALPN protocol h2load reports (empty when none).
pub fn parse_h2load_negotiated(text: &str) -> Negotiated {
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    Negotiated {
        tls: field("TLS Protocol:"),
        alpn: field("Application protocol:"),
    }
}

/// h2load `--log-file` lines: `start_us <TAB> status <TAB> duration_us`.
/// Only successful (2xx/3xx) requests count toward latency.
pub fn parse_h2load_log(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let _start = f.next()?;
            let status: u16 = f.next()?.trim().parse().ok()?;
            let micros: u64 = f.next()?.trim().parse().ok()?;
            (200..400).contains(&status).then_some(micros)
        })
        .collect()
}

/// Nearest-rank percentile of sorted samples; 0 when there are none.
pub fn percentile(sorted: &[u64], pct: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s_time_reports_connections_and_resumed_handshakes() {
        let text = "Collecting connection statistics for 3 seconds

Now timing with session id reuse.
starting
rrrrrr*rrr

983 connections in 0.74s; 1328.38 connections/user sec, bytes read 332254
983 connections in 4 real seconds, 338 bytes read per connection
";
        let r = parse_s_time(text).expect("parsed");
        assert_eq!(r.connections, 983);
        assert_eq!(r.resumed, 9);
        assert_eq!(parse_s_time("Unable to get connection\n"), None);
    }

    const WRK: &str = "Running 1s test @ http://127.0.0.1:18081/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.93ms  208.09us   4.70ms   86.59%
    Req/Sec    68.76k     3.09k   71.53k    80.00%
  Latency Distribution
     50%  910.00us
     75%    1.02ms
     90%    1.14ms
     99%    1.99ms
  68396 requests in 1.00s, 10.57MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  68396.12
Transfer/sec:     10.57MB
";

    #[test]
    fn wrk_report_is_parsed() {
        let load = parse_wrk(WRK).unwrap();
        assert_eq!(load.requests, 68396);
        assert!((load.rps - 68396.12).abs() < 1e-6);
        assert!((load.p50_ms - 0.91).abs() < 1e-9);
        assert!((load.p99_ms - 1.99).abs() < 1e-9);
        assert_eq!(load.errors, 7);
        assert_eq!(parse_wrk("unable to connect to 127.0.0.1:1"), None);
    }

    const H2LOAD: &str = "starting benchmark...
TLS Protocol: TLSv1.3
Cipher: TLS_AES_256_GCM_SHA384
Server Temp Key: X25519 253 bits
Application protocol: h2

finished in 1.00s, 45123.00 req/s, 1.70MB/s
requests: 45123 total, 45187 started, 45123 done, 45120 succeeded, 3 failed, 0 errored, 0 timeout
status codes: 45120 2xx, 0 3xx, 0 4xx, 3 5xx
";

    #[test]
    fn h2load_report_and_log_are_parsed() {
        let load = parse_h2load(H2LOAD).unwrap();
        assert_eq!((load.requests, load.errors), (45120, 3));
        assert!((load.rps - 45123.0).abs() < 1e-6);
        let n = parse_h2load_negotiated(H2LOAD);
        assert_eq!((n.tls.as_str(), n.alpn.as_str()), ("TLSv1.3", "h2"));
        assert_eq!(parse_h2load_negotiated("connect failed").alpn, "");
        let log =
            "1700000000000000\t200\t900\n1700000000000100\t502\t5\n1700000000000200\t200\t1100\n";
        assert_eq!(parse_h2load_log(log), vec![900, 1100]);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
