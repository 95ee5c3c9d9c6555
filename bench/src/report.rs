//! The results table: one row per (scenario, proxy), each peer's figures
//! also given as a ratio to proxyd's in the same scenario.
//!
//! Ratios are peer ÷ proxyd, so for req/s a ratio above 1 means the peer is
//! faster, and for CPU, latency and memory a ratio above 1 means the peer
//! uses more. Columns that no row has are left out.

use comfy_table::{presets::ASCII_MARKDOWN, Table};

use crate::proxies::Proxy;

/// What one proxy did in one scenario.
#[derive(Debug, Clone)]
pub struct Row {
    /// Scenario label, e.g. `keepalive` or `sites-5000`.
    pub scenario: String,
    /// Which proxy.
    pub proxy: Proxy,
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
    /// Errors seen by the load generator.
    pub errors: u64,
}

type Column = (&'static str, fn(&Figures) -> Option<f64>, usize);

const COLUMNS: [Column; 7] = [
    ("req/s", |f| f.rps, 0),
    ("p50 ms", |f| f.p50_ms, 3),
    ("p99 ms", |f| f.p99_ms, 3),
    ("CPU s/100k req", |f| f.cpu_s_per_100k, 2),
    ("peak RSS MiB", |f| f.peak_rss_mib, 1),
    ("KiB/idle conn", |f| f.kib_per_conn, 2),
    ("reload ms", |f| f.reload_ms, 1),
];

/// Renders `rows` as a Markdown-compatible table.
pub fn render(rows: &[Row]) -> String {
    let measured = |r: &Row| match &r.outcome {
        Outcome::Measured(f) => Some(f.clone()),
        _ => None,
    };
    let used: Vec<&Column> = COLUMNS
        .iter()
        .filter(|(_, get, _)| rows.iter().filter_map(measured).any(|f| get(&f).is_some()))
        .collect();
    let mut table = Table::new();
    table.load_preset(ASCII_MARKDOWN);
    let mut header = vec!["scenario".to_string(), "proxy".to_string()];
    header.extend(used.iter().map(|(name, _, _)| format!("{name} (×)")));
    header.push("errors / note".into());
    table.set_header(header);
    for (i, row) in rows.iter().enumerate() {
        // The nearest proxyd row of the scenario, before this one first: a
        // scenario asked for twice gets two sets of rows, each compared
        // within itself.
        let same = |r: &&Row| r.scenario == row.scenario && r.proxy == Proxy::Proxyd;
        let base = rows[..=i]
            .iter()
            .rev()
            .find(same)
            .or_else(|| rows[i..].iter().find(same))
            .and_then(measured);
        let mut cells = vec![row.scenario.clone(), row.proxy.name().to_string()];
        match &row.outcome {
            Outcome::Measured(f) => {
                for (_, get, digits) in &used {
                    cells.push(cell(
                        get(f),
                        base.as_ref().and_then(get),
                        *digits,
                        row.proxy,
                    ));
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
        Row {
            scenario: "keepalive".into(),
            proxy,
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
        let rows = [
            row(Proxy::Proxyd, 50_000.0),
            row(Proxy::Nginx, 60_000.0),
            row(Proxy::Proxyd, 40_000.0),
            row(Proxy::Nginx, 60_000.0),
        ];
        let text = render(&rows);
        assert!(text.contains("60000 (1.20)"), "{text}");
        assert!(text.contains("60000 (1.50)"), "{text}");
    }
}
