//! One benchmark run: check the tools are there, make the work dir, start
//! the backend, run the scenarios, print the table. Ctrl-C (or SIGTERM)
//! drops the run, and with it every process it started.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

use tokio::signal::unix::{signal, SignalKind};

use crate::cli::Cli;
use crate::error::{BenchError, Result};
use crate::measure;
use crate::proxies::Proxy;
use crate::report::{self, Outcome, Row};
use crate::scenario::{self, Bench, Options, Scenario};

/// File descriptors the bench keeps for itself besides idle connections.
const SPARE_FDS: u64 = 256;

/// Runs the benchmark; exit code 0 when every row was measured (or is a
/// known "not available"), 1 when a row failed.
pub async fn main(cli: Cli) -> Result<ExitCode> {
    let scenarios = if cli.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        cli.scenarios.clone()
    };
    let mut proxies = cli.proxies.clone();
    proxies.sort();
    proxies.dedup();
    check_programs(&scenarios, &proxies)?;
    let proxyd = cli
        .proxyd
        .clone()
        .or_else(|| scenario::sibling_binary("proxyd"))
        .unwrap_or_else(|| PathBuf::from("proxyd"));
    let proxyctl = cli
        .proxyctl
        .clone()
        .unwrap_or_else(|| proxyd.with_file_name("proxyctl"));
    if proxies.contains(&Proxy::Proxyd) {
        for bin in [&proxyd, &proxyctl] {
            if !scenario::exists(bin) {
                return Err(BenchError::MissingBinary { path: bin.clone() });
            }
        }
    }
    let fds = measure::raise_fd_limit();
    let opts = options(&cli, fds);

    let work = tempfile::Builder::new()
        .prefix("proxyd-bench.")
        .tempdir_in("/tmp")?;
    // nginx's workers run as `nobody` when started by root: they must read
    // the backend's body file.
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755))?;

    print_header(&cli, &opts, &scenarios, &proxies, &proxyd);
    let cpu_before = measure::cpu_times();
    let rows = tokio::select! {
        rows = run_scenarios(opts, proxies, work.path().into(), proxyd, proxyctl, &scenarios, cli.repeat) => rows?,
        // Dropping the other branch stops every server it started.
        () = interrupted() => return Err(BenchError::Interrupted),
    };
    let steal = measure::steal_percent(cpu_before, measure::cpu_times());

    println!();
    println!("{}", report::render(&rows));
    if let Some(summary) = report::summarize(&rows) {
        println!();
        println!("{summary}");
    }
    println!(
        "(x) = ratio to proxyd in the same scenario. Hypervisor steal during the run: {steal:.1}%{}",
        if steal > 2.0 { " - treat latencies as noise" } else { "" }
    );
    if cli.smoke {
        println!("smoke mode: these numbers only show the tool works; they are not results");
    }
    if cli.keep {
        println!("work dir kept: {}", work.keep().display());
    }
    let failed = rows.iter().any(|r| matches!(r.outcome, Outcome::Failed(_)));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn run_scenarios(
    opts: Options,
    proxies: Vec<Proxy>,
    work: PathBuf,
    proxyd: PathBuf,
    proxyctl: PathBuf,
    scenarios: &[Scenario],
    repeat: u32,
) -> Result<Vec<Row>> {
    let mut bench = Bench::new(opts, proxies.clone(), work, proxyd, proxyctl).await?;
    let mut rows = Vec::new();
    // Each call of `Bench::run` is one run: its rows are compared with
    // each other only (`Row::run`).
    let mut run = 0;
    for &s in scenarios {
        for turn in 0..repeat as usize {
            // The proxies take turns going first: an order effect (a
            // warmer backend, drifting steal) then cancels out.
            let mut order = proxies.clone();
            let first = turn % order.len().max(1);
            order.rotate_left(first);
            bench.proxies = order;
            if repeat > 1 {
                println!("-- {s:?} ({} of {repeat})", turn + 1);
            } else {
                println!("-- {s:?}");
            }
            let mut new = bench.run(s).await?;
            for row in &mut new {
                row.run = run;
                println!(
                    "   {:<16} {:<8} {}",
                    row.scenario,
                    row.proxy.name(),
                    summary(&row.outcome)
                );
            }
            rows.extend(new);
            run += 1;
        }
    }
    Ok(rows)
}

fn summary(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Measured(f) => match (f.rps, f.kib_per_conn) {
            (Some(rps), _) => format!(
                "{rps:.0} req/s, {} requests, {} errors",
                f.requests, f.errors
            ),
            (None, Some(kib)) => format!("{kib:.2} KiB per idle connection"),
            _ => "measured".into(),
        },
        Outcome::Unavailable(why) => format!("not available: {why}"),
        Outcome::Failed(why) => format!("FAILED: {why}"),
    }
}

fn options(cli: &Cli, fd_limit: u64) -> Options {
    let mut opts = Options {
        duration: cli.duration,
        warmup: cli.warmup,
        connections: cli.connections,
        idle_connections: cli.idle_connections as usize,
        sites: cli.sites as usize,
        load_cpus: cli.load_cpus.clone(),
        proxy_cpus: cli.proxy_cpus.clone(),
        same_headers: !cli.bare_peers,
    };
    if cli.smoke {
        opts.duration = 1;
        opts.warmup = 0;
        opts.idle_connections = opts.idle_connections.min(500);
        opts.sites = opts.sites.min(500);
    }
    let max_idle = fd_limit.saturating_sub(SPARE_FDS) as usize;
    if opts.idle_connections > max_idle {
        eprintln!(
            "note: open-file limit {fd_limit}: idle connections lowered to {max_idle} (raise `ulimit -n`)"
        );
        opts.idle_connections = max_idle;
    }
    opts
}

fn check_programs(scenarios: &[Scenario], proxies: &[Proxy]) -> Result<()> {
    let mut needed = vec![
        ("taskset", "util-linux"),
        ("curl", "curl"),
        ("nginx", "nginx"),
    ];
    if scenarios
        .iter()
        .any(|s| !matches!(s, Scenario::Idle | Scenario::Tls | Scenario::TlsResume))
    {
        needed.push(("wrk", "wrk"));
    }
    if scenarios.contains(&Scenario::Tls) {
        needed.push(("h2load", "nghttp2-client"));
    }
    if scenarios.contains(&Scenario::TlsResume) {
        needed.push(("openssl", "openssl"));
    }
    if proxies.contains(&Proxy::Haproxy) {
        needed.push(("haproxy", "haproxy"));
    }
    for (program, package) in needed {
        let found = std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
        });
        if !found {
            return Err(BenchError::MissingProgram { program, package });
        }
    }
    Ok(())
}

fn print_header(
    cli: &Cli,
    opts: &Options,
    scenarios: &[Scenario],
    proxies: &[Proxy],
    proxyd: &std::path::Path,
) {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let names: Vec<&str> = proxies.iter().map(|p| p.name()).collect();
    println!(
        "== proxyd-bench{}",
        if cli.smoke { " (smoke mode)" } else { "" }
    );
    println!(
        "   {} CPUs; load generator + backend on CPU {}, proxy on CPU {}; loadavg {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        opts.load_cpus,
        opts.proxy_cpus,
        loadavg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "   {} s per row after {} s warm-up, {} connections; proxies: {}; proxyd: {}",
        opts.duration,
        opts.warmup,
        opts.connections,
        names.join(", "),
        proxyd.display()
    );
    println!("   scenarios: {scenarios:?}");
    let versions: Vec<String> = [
        ("nginx", "-v"),
        ("haproxy", "-v"),
        ("wrk", "-v"),
        ("h2load", "--version"),
        ("openssl", "version"),
    ]
    .iter()
    .filter_map(|(program, flag)| version(program, flag))
    .collect();
    println!("   {}", versions.join("; "));
}

/// First line a program prints for its version flag (stdout or stderr).
fn version(program: &str, flag: &str) -> Option<String> {
    let out = std::process::Command::new(program)
        .arg(flag)
        .output()
        .ok()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(text.lines().next()?.trim().to_string())
}

/// Resolves on SIGINT or SIGTERM.
async fn interrupted() {
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Without signal handlers the default action (exit) still applies.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
