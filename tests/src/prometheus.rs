//! A small, strict parser for the Prometheus text format 0.0.4 that
//! `/metrics` serves, so tests assert on values rather than substrings and
//! a malformed exposition fails the test.
//!
//! Checked: every line is `# HELP`, `# TYPE` or a sample (no OpenMetrics
//! `# EOF` / `# UNIT`); metric and label names are valid; label values are
//! quoted with valid escapes; values are floats; every sample belongs to a
//! family declared by `# TYPE` under its own name (counters as `…_total`,
//! histograms with `_bucket`/`_sum`/`_count`); no family is declared twice
//! and no sample repeats; counters are not negative; histogram buckets are
//! cumulative and the `+Inf` bucket equals `_count`.

use std::collections::{BTreeMap, HashMap, HashSet};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample name (with its suffix, e.g. `proxyd_requests_total`).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// A parsed exposition.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    /// Family name → type.
    pub types: HashMap<String, String>,
    /// Every sample, in order.
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// Samples called `name` whose labels include every pair of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The value of the one sample called `name` with `labels` (a subset);
    /// `None` if there is none, panics if several match.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<_> = self.matching(name, labels).collect();
        assert!(
            found.len() <= 1,
            "several samples match {name} {labels:?}: {found:?}"
        );
        found.first().map(|s| s.value)
    }

    /// The sum over samples called `name` with `labels` (0 if none).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }
}

const TYPES: &[&str] = &["counter", "gauge", "histogram", "summary", "untyped"];

fn suffixes(kind: &str) -> &'static [&'static str] {
    match kind {
        "histogram" => &["_bucket", "_count", "_sum"],
        "summary" => &["", "_count", "_sum"],
        _ => &[""],
    }
}

fn valid_name(s: &str, colon: bool) -> bool {
    let mut chars = s.chars();
    let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':');
    chars.next().is_some_and(ok_first)
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse::<f64>().map_err(|_| format!("invalid value {s:?}")),
    }
}

/// Parses `{a="x",b="y"}` at the start of `s`; returns the labels and the rest.
fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s.strip_prefix('{').ok_or("expected {")?;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_name(name, false) {
            return Err(format!("invalid label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    other => return Err(format!("invalid escape {other:?}")),
                },
                Some((_, '\n')) => return Err("newline in label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label {name} repeated"));
        }
        rest = &rest[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("sample without value")?;
    let name = &line[..name_end];
    if !valid_name(name, true) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let (labels, rest) = if line[name_end..].starts_with('{') {
        parse_labels(&line[name_end..])?
    } else {
        (BTreeMap::new(), &line[name_end..])
    };
    let rest = rest
        .strip_prefix(' ')
        .ok_or("expected one space before the value")?;
    let mut fields = rest.split(' ');
    let value = parse_value(fields.next().unwrap_or(""))?;
    if let Some(ts) = fields.next() {
        parse_value(ts).map_err(|_| format!("invalid timestamp {ts:?}"))?;
    }
    if fields.next().is_some() {
        return Err("trailing fields".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Parses and checks `text`; the error names the offending line.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut out = Exposition::default();
    let body = text;
    let mut seen = HashSet::new();
    for (n, line) in body.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (word, family) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if !valid_name(family, true) {
                return Err(at(format!("invalid family name {family:?}")));
            }
            match word {
                "TYPE" => {
                    let kind = parts.next().unwrap_or("");
                    if !TYPES.contains(&kind) {
                        return Err(at(format!("unknown type {kind:?}")));
                    }
                    if out
                        .types
                        .insert(family.to_owned(), kind.to_owned())
                        .is_some()
                    {
                        return Err(at("family declared twice".into()));
                    }
                }
                "HELP" => {}
                _ => return Err(at(format!("unknown comment {word:?}"))),
            }
            continue;
        }
        let sample = parse_sample(line).map_err(at)?;
        let family = out
            .types
            .iter()
            .find(|(f, kind)| {
                suffixes(kind)
                    .iter()
                    .any(|suf| sample.name.strip_suffix(suf) == Some(f.as_str()))
            })
            .ok_or_else(|| at("sample of no declared family".into()))?;
        if family.1 == "counter" && sample.value < 0.0 {
            return Err(at("negative counter".into()));
        }
        if !seen.insert((sample.name.clone(), sample.labels.clone())) {
            return Err(at("sample repeated".into()));
        }
        out.samples.push(sample);
    }
    check_histograms(&out)?;
    Ok(out)
}

fn check_histograms(exp: &Exposition) -> Result<(), String> {
    for (family, _) in exp.types.iter().filter(|(_, k)| *k == "histogram") {
        let bucket = format!("{family}_bucket");
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for s in exp.samples.iter().filter(|s| s.name == bucket) {
            let mut key = s.labels.clone();
            let le = key
                .remove("le")
                .ok_or_else(|| format!("{bucket} without le"))?;
            series
                .entry(key)
                .or_default()
                .push((parse_value(&le)?, s.value));
        }
        for (labels, buckets) in series {
            if buckets
                .windows(2)
                .any(|w| w[1].0 <= w[0].0 || w[1].1 < w[0].1)
            {
                return Err(format!("{bucket} {labels:?} not cumulative: {buckets:?}"));
            }
            let count = exp
                .samples
                .iter()
                .find(|s| s.name == format!("{family}_count") && s.labels == labels)
                .map(|s| s.value);
            let inf = buckets.last().filter(|b| b.0.is_infinite()).map(|b| b.1);
            if inf.is_none() || inf != count {
                return Err(format!(
                    "{family} {labels:?}: +Inf bucket {inf:?} != count {count:?}"
                ));
            }
        }
    }
    Ok(())
}

/// `GET /metrics` on the proxy's health port, checked and parsed; panics
/// with the text if it does not parse.
pub async fn scrape(px: &crate::TestProxy) -> Exposition {
    let resp = crate::get(px.health_addr(), "metrics.test", "/metrics").await;
    assert_eq!(resp.status(), 200, "/metrics: {}", resp.text());
    let text = resp.text();
    parse(&text).unwrap_or_else(|e| panic!("/metrics does not parse: {e}\n{text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "# HELP x_requests_total Requests.\n# TYPE x_requests_total counter\n\
x_requests_total{listener=\"main\",site=\"a\\\"b\"} 3\n\
# TYPE x_up gauge\nx_up 1\n\
# TYPE x_d histogram\nx_d_sum{s=\"a\"} 0.5\nx_d_count{s=\"a\"} 2\n\
x_d_bucket{le=\"0.1\",s=\"a\"} 1\nx_d_bucket{le=\"+Inf\",s=\"a\"} 2\n";

    #[test]
    fn parses_a_valid_exposition() {
        let e = parse(GOOD).unwrap();
        assert_eq!(e.value("x_requests_total", &[("site", "a\"b")]), Some(3.0));
        assert_eq!(e.value("x_up", &[]), Some(1.0));
        assert_eq!(e.sum("x_d_bucket", &[("s", "a")]), 3.0);
    }

    #[test]
    fn rejects_malformed_expositions() {
        let bad = [
            format!("{GOOD}# EOF\n"),
            GOOD.replace(
                "# TYPE x_requests_total counter",
                "# TYPE x_requests counter",
            ),
            GOOD.replace("x_up 1", "x_up one"),
            GOOD.replace("x_up 1", "x_up  1"),
            GOOD.replace("x_up 1", "x_down 1"),
            GOOD.replace("listener=\"main\"", "listener=main"),
            GOOD.replace("listener=\"main\"", "1listener=\"main\""),
            GOOD.replace("x_up 1", "x_up 1\nx_up 2"),
            GOOD.replace(
                "x_requests_total{listener=\"main\",site=\"a\\\"b\"} 3",
                "x_requests_total -1",
            ),
            GOOD.replace("le=\"+Inf\",s=\"a\"} 2", "le=\"+Inf\",s=\"a\"} 3"),
            GOOD.replace("# TYPE x_up gauge", "# TYPE x_up thing"),
        ];
        for text in bad {
            assert!(parse(&text).is_err(), "accepted:\n{text}");
        }
    }
}
