//! The command line of `proxyd-bench`.

use std::path::PathBuf;

use clap::Parser;

use crate::proxies::Proxy;
use crate::scenario::Scenario;

/// Side-by-side benchmark of proxyd, nginx and HAProxy on loopback.
///
/// Starts one fixed backend (nginx), then each proxy in turn with an
/// equivalent config, drives it with wrk, h2load or openssl s_time pinned to other CPUs than
/// the proxy, and prints req/s, p50/p99 latency, proxy CPU seconds per 100k
/// requests and peak RSS, each peer also as a ratio to proxyd. Only
/// 127.0.0.1 is used; every process started is stopped on exit and on
/// Ctrl-C. See docs/performance.md.
#[derive(Debug, Parser)]
#[command(name = "proxyd-bench", version)]
pub struct Cli {
    /// Scenarios to run, in this order (default: all).
    #[arg(value_enum)]
    pub scenarios: Vec<Scenario>,

    /// Proxies to compare, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Proxy::Proxyd, Proxy::Nginx, Proxy::Haproxy])]
    pub proxies: Vec<Proxy>,

    /// Runs each scenario this many times. From the second run on, the
    /// proxies take turns going first, and a summary of each peer's ratios
    /// to proxyd over the runs (median, range, runs proxyd led) follows the
    /// table: one run of a few seconds moves either proxy by 10% or more on
    /// a shared VM.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,

    /// Seconds of measured load per row.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub duration: u64,

    /// Seconds of unmeasured warm-up load before each row.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=10))]
    pub warmup: u64,

    /// Connections of the load generator.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub connections: u32,

    /// Idle keep-alive connections held open in the `idle` scenario.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=100_000))]
    pub idle_connections: u64,

    /// Sites in the many-sites config of the `sites` scenario.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(2..=100_000))]
    pub sites: u64,

    /// CI smoke mode: only prove the tool works (1 s runs, no warm-up,
    /// 500 idle connections, 500 sites). Its numbers mean nothing.
    #[arg(long)]
    pub smoke: bool,

    /// The proxyd binary [default: next to this binary].
    #[arg(long, env = "PROXYD_BIN")]
    pub proxyd: Option<PathBuf>,

    /// The proxyctl binary [default: next to the proxyd binary].
    #[arg(long, env = "PROXYCTL_BIN")]
    pub proxyctl: Option<PathBuf>,

    /// CPUs (taskset list) of the load generator and the backend.
    #[arg(long, default_value = "0")]
    pub load_cpus: String,

    /// CPUs (taskset list) of the proxy under test.
    #[arg(long, default_value = "1")]
    pub proxy_cpus: String,

    /// Keep the work dir (configs, logs, raw tool output) and print its path.
    #[arg(long)]
    pub keep: bool,

    /// Peers add no headers (their minimal proxy configs, as before
    /// session 8). By default nginx and HAProxy are set to add what proxyd
    /// adds by contract: X-Forwarded-For/-Proto/-Host, X-Real-IP and
    /// X-Request-Id upstream, X-Request-Id in the response, the client's
    /// Host passed on.
    #[arg(long)]
    pub bare_peers: bool,
}
