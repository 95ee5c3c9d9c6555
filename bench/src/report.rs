//! The results table: one row per (scenario, proxy), each peer's figures
//! also given as a ratio to proxyd's in the same scenario.
//!
//! Ratios are peer ÷ proxyd, so for req/s a ratio above 1 means the peer is
//! faster, and for CPU, latency and memory a ratio above 1 means the peer
//! uses more. Columns that no row has are left out. A scenario run more
//! than once (`--repeat`) is compared run by run, and [`summarize`] sums
//! the runs up.

use comfy_table::{presets::ASCII_MARKDOWN, Table};

use crate::proxies::Proxy;

/// What one proxy did in one scenario.
#[derive(Debug, Clone)]
pub struct Row {
    /// Scenario label, e.g. `keepalive` or `sites-5000`.
    pub scenario: String,
    /// Which proxy.
    pub proxy: Proxy,
    /// Which run of the scenario (a scenario asked for twice, or
    /// `--repeat`): rows are compared within their run.
    pub run: usize,
    /// The figures, or why there are none.
    pub outcome: Outcome,
}

/// A row's result.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Measured.
    Measured(Figures),
    /// The proxy cannot serve this scenario yet (e.g. proxyd without TLS):
    /// reported, not a failure of the tool.
    Unavailable(String),
    /// Something that should have worked did not; the run exits non-zero.
    Failed(String),
}

/// Measured figures; `None` where the scenario does not measure it.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Completed requests.
    pub requests: u64,
    /// Requests per second.
    pub rps: Option<f64>,
    /// Median latency, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile latency, ms.
    pub p99_ms: Option<f64>,
    /// Proxy CPU seconds per 100,000 requests.
    pub cpu_s_per_100k: Option<f64>,
    /// Peak resident memory of the proxy's processes, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Memory per idle connection, KiB.
    pub kib_per_conn: Option<f64>,
    /// Median `proxyctl reload` time, ms.
    pub reload_ms: Option<f64>,
    /// Hypervisor steal during the measured load, percent of all CPU time.
    pub steal_pct: Option<f64>,
    /// Errors seen by the load generator.
    pub errors: u64,
}

/// Reads one figure of a row.
type Getter = fn(&Figures) -> Option<f64>;

/// A column: its name, its figure, its digits, and whether peers get a
/// ratio to proxyd in it.
type Column = (&'static str, Getter, usize, bool);

const COLUMNS: [Column; 8] = [
    ("req/s", |f| f.rps, 0, true),
    ("p50 ms", |f| f.p50_ms, 3, true),
    ("p99 ms", |f| f.p99_ms, 3, true),
    ("CPU s/100k req", |f| f.cpu_s_per_100k, 2, true),
    ("peak RSS MiB", |f| f.peak_rss_mib, 1, true),
    ("KiB/idle conn", |f| f.kib_per_conn, 2, true),
    ("reload ms", |f| f.reload_ms, 1, true),
    ("steal %", |f| f.steal_pct, 1, false),
];

/// Hypervisor steal above this (percent, during a row's load) makes its
/// latencies noise: `../shared/bench/BASELINE.md` saw p99 wrecked by it.
pub const QUIET_STEAL: f64 = 2.0;

/// Renders `rows` as a Markdown-compatible table.
pub fn render(rows: &[Row]) -> String {
    let measured = |r: &Row| match &r.outcome {
        Outcome::Measured(f) => Some(f.clone()),
        _ => None,
    };
    let used: Vec<&Column> = COLUMNS
        .iter()
        .filter(|(_, get, _, _)| rows.iter().filter_map(measured).any(|f| get(&f).is_some()))
        .collect();
    let mut table = Table::new();
    table.load_preset(ASCII_MARKDOWN);
    let mut header = vec!["scenario".to_string(), "proxy".to_string()];
    header.extend(used.iter().map(|(name, _, _, ratio)| {
        if *ratio {
            format!("{name} (×)")
        } else {
            name.to_string()
        }
    }));
    header.push("errors / note".into());
    table.set_header(header);
    for row in rows {
        let base = proxyd_row(rows, row).and_then(measured);
        let mut cells = vec![row.scenario.clone(), row.proxy.name().to_string()];
        match &row.outcome {
            Outcome::Measured(f) => {
                for (_, get, digits, ratio) in &used {
                    let base = base.as_ref().and_then(get).filter(|_| *ratio);
                    cells.push(cell(get(f), base, *digits, row.proxy));
                }
                cells.push(f.errors.to_string());
            }
            Outcome::Unavailable(why) => {
                cells.extend(used.iter().map(|_| "-".to_string()));
                cells.push(format!("not available: {why}"));
            }
            Outcome::Failed(why) => {
                cells.extend(used.iter().map(|_| "-".to_string()));
                cells.push(format!("FAILED: {why}"));
            }
        }
        table.add_row(cells);
    }
    table.to_string()
}

/// proxyd's row of the same scenario and run as `row`.
fn proxyd_row<'a>(rows: &'a [Row], row: &Row) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.scenario == row.scenario && r.run == row.run && r.proxy == Proxy::Proxyd)
}

/// The columns [`summarize`] reports, whether a ratio above 1 means
/// proxyd did better (the peer used more) or worse (the peer served more),
/// and whether only quiet runs count (steal at most [`QUIET_STEAL`] in
/// both rows).
const SUMMARY: [(&str, Getter, bool, bool); 3] = [
    ("req/s", |f| f.rps, false, false),
    ("p99", |f| f.p99_ms, true, true),
    ("CPU/req", |f| f.cpu_s_per_100k, true, false),
];

/// Whether a row's load ran with little enough steal for its latencies to
/// mean something (a row that did not measure steal counts as quiet).
fn quiet(f: &Figures) -> bool {
    f.steal_pct.is_none_or(|s| s <= QUIET_STEAL)
}

/// For each scenario run more than once and each peer: its ratio to
/// proxyd over the runs where both were measured, as the median, the
/// range, and in how many runs proxyd did better. p99 counts only the
/// runs where both rows were quiet (see [`quiet`]), and says how many it
/// left out. `None` when no scenario ran twice.
pub fn summarize(rows: &[Row]) -> Option<String> {
    let mut lines = Vec::new();
    let mut seen: Vec<(&str, Proxy)> = Vec::new();
    for row in rows.iter().filter(|r| r.proxy != Proxy::Proxyd) {
        let key = (row.scenario.as_str(), row.proxy);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let pairs: Vec<(&Figures, &Figures)> = rows
            .iter()
            .filter(|r| r.scenario == row.scenario && r.proxy == row.proxy)
            .filter_map(|peer| {
                let Outcome::Measured(p) = &peer.outcome else {
                    return None;
                };
                match &proxyd_row(rows, peer)?.outcome {
                    Outcome::Measured(b) => Some((p, b)),
                    _ => None,
                }
            })
            .collect();
        if pairs.len() < 2 {
            continue;
        }
        let mut parts = Vec::new();
        for (name, get, more_is_worse, quiet_only) in SUMMARY {
            let counted = |(p, b): &&(&Figures, &Figures)| !quiet_only || (quiet(p) && quiet(b));
            let mut ratios: Vec<f64> = pairs
                .iter()
                .filter(counted)
                .filter_map(|(p, b)| Some(get(p)? / get(b).filter(|b| *b > 0.0)?))
                .collect();
            let noisy = pairs.len() - pairs.iter().filter(counted).count();
            let left_out = if noisy > 0 {
                format!("; {noisy} with steal above {QUIET_STEAL}% left out")
            } else {
                String::new()
            };
            if ratios.is_empty() {
                if noisy > 0 {
                    parts.push(format!("{name}: every run had steal above {QUIET_STEAL}%"));
                }
                continue;
            }
            ratios.sort_by(f64::total_cmp);
            let n = ratios.len();
            let median = if n % 2 == 1 {
                ratios[n / 2]
            } else {
                (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0
            };
            let led = ratios
                .iter()
                .filter(|r| if more_is_worse { **r > 1.0 } else { **r < 1.0 })
                .count();
            parts.push(format!(
                "{name} {median:.2} ({:.2}-{:.2}; proxyd better in {led} of {n}{left_out})",
                ratios[0],
                ratios[n - 1]
            ));
        }
        lines.push(format!(
            "{:<10} {:<8} {}",
            row.scenario,
            row.proxy.name(),
            parts.join(", ")
        ));
    }
    if lines.is_empty() {
        return None;
    }
    lines.insert(
        0,
        "Over the runs, peer ÷ proxyd: median (min-max; runs where proxyd did better)".into(),
    );
    Some(lines.join("\n"))
}

/// `12345 (1.05)`: the value, and for peers its ratio to proxyd's.
fn cell(value: Option<f64>, base: Option<f64>, digits: usize, proxy: Proxy) -> String {
    let Some(v) = value else {
        return "-".into();
    };
    match base {
        Some(b) if proxy != Proxy::Proxyd && b > 0.0 => format!("{v:.digits$} ({:.2})", v / b),
        _ => format!("{v:.digits$}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(proxy: Proxy, rps: f64) -> Row {
        run_row(0, proxy, rps)
    }

    fn run_row(run: usize, proxy: Proxy, rps: f64) -> Row {
        Row {
            scenario: "keepalive".into(),
            proxy,
            run,
            outcome: Outcome::Measured(Figures {
                rps: Some(rps),
                p99_ms: Some(2.0),
                ..Figures::default()
            }),
        }
    }

    #[test]
    fn peers_get_a_ratio_to_proxyd_and_unused_columns_are_dropped() {
        let rows = [
            row(Proxy::Proxyd, 50_000.0),
            row(Proxy::Nginx, 60_000.0),
            Row {
                scenario: "tls".into(),
                proxy: Proxy::Proxyd,
                run: 1,
                outcome: Outcome::Unavailable("no TLS".into()),
            },
        ];
        let text = render(&rows);
        assert!(text.contains("60000 (1.20)"), "{text}");
        assert!(text.contains("| 50000 "), "{text}");
        assert!(text.contains("not available: no TLS"), "{text}");
        assert!(!text.contains("reload ms"), "{text}");
        assert!(text.contains("p99 ms"), "{text}");
    }

    #[test]
    fn a_repeated_scenario_is_compared_within_each_run_of_it() {
        // The second run's peer went first.
        let rows = [
            run_row(0, Proxy::Proxyd, 50_000.0),
            run_row(0, Proxy::Nginx, 60_000.0),
            run_row(1, Proxy::Nginx, 60_000.0),
            run_row(1, Proxy::Proxyd, 40_000.0),
        ];
        let text = render(&rows);
        assert!(text.contains("60000 (1.20)"), "{text}");
        assert!(text.contains("60000 (1.50)"), "{text}");
    }

    #[test]
    fn repeated_runs_are_summed_up_per_peer() {
        assert_eq!(
            summarize(&[row(Proxy::Proxyd, 1.0), row(Proxy::Nginx, 1.0)]),
            None
        );
        let mut rows = Vec::new();
        for (run, (ours, theirs)) in [(100.0, 90.0), (100.0, 120.0), (100.0, 95.0)]
            .into_iter()
            .enumerate()
        {
            rows.push(run_row(run, Proxy::Proxyd, ours));
            rows.push(run_row(run, Proxy::Nginx, theirs));
        }
        // A failed run of the peer is left out of its summary.
        rows.push(Row {
            scenario: "keepalive".into(),
            proxy: Proxy::Nginx,
            run: 3,
            outcome: Outcome::Failed("boom".into()),
        });
        let text = summarize(&rows).expect("a summary");
        assert!(
            text.contains("keepalive  nginx    req/s 0.95 (0.90-1.20; proxyd better in 2 of 3)"),
            "{text}"
        );
        assert!(
            text.contains("p99 1.00 (1.00-1.00; proxyd better in 0 of 3)"),
            "{text}"
        );
        assert!(!text.contains("CPU/req"), "{text}");
    }

    #[test]
    fn p99_of_runs_with_steal_is_left_out_of_the_summary() {
        let mut rows = Vec::new();
        // (proxyd p99, nginx p99, steal of proxyd's row, of nginx's row)
        let runs = [
            (2.0, 2.2, 0.1, 0.3),
            (2.0, 1.0, 5.0, 0.0),
            (2.0, 2.4, 0.0, 0.0),
            (2.0, 1.0, 0.0, 9.0),
        ];
        for (run, (ours, theirs, s_ours, s_theirs)) in runs.into_iter().enumerate() {
            for (proxy, p99, steal) in [
                (Proxy::Proxyd, ours, s_ours),
                (Proxy::Nginx, theirs, s_theirs),
            ] {
                rows.push(Row {
                    scenario: "keepalive".into(),
                    proxy,
                    run,
                    outcome: Outcome::Measured(Figures {
                        rps: Some(100.0),
                        p99_ms: Some(p99),
                        steal_pct: Some(steal),
                        ..Figures::default()
                    }),
                });
            }
        }
        let text = summarize(&rows).expect("a summary");
        assert!(
            text.contains(
                "p99 1.15 (1.10-1.20; proxyd better in 2 of 2; 2 with steal above 2% left out)"
            ),
            "{text}"
        );
        // req/s counts every run.
        assert!(
            text.contains("req/s 1.00 (1.00-1.00; proxyd better in 0 of 4)"),
            "{text}"
        );
        let table = render(&rows);
        assert!(table.contains("| steal % "), "{table}");
        assert!(table.contains("| 9.0 "), "{table}");
        assert!(!table.contains("9.0 ("), "no ratio for steal: {table}");

        for row in &mut rows {
            if let Outcome::Measured(f) = &mut row.outcome {
                f.steal_pct = Some(3.0);
            }
        }
        let text = summarize(&rows).expect("a summary");
        assert!(text.contains("p99: every run had steal above 2%"), "{text}");
    }
}
