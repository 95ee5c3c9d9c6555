//! Host and path lookups with 10 and 5,000 sites: the cost must stay flat.
//!
//! Every site `i` claims the exact host `site{i}.example.com` and the
//! wildcard `*.site{i}.example.org`; the looked-up host belongs to the site
//! in the middle of the table, so no lookup benefits from being first.

use divan::{black_box, Bencher};
use proxyd::config::HostPattern;
use proxyd::snapshot::routing::{normalize_host, HostTable, RouteTable};

const SITES: [usize; 2] = [10, 5_000];

fn host_table(sites: usize) -> HostTable {
    let mut table = HostTable::default();
    for i in 0..sites {
        table.insert(&HostPattern::Exact(format!("site{i}.example.com")), i);
        table.insert(&HostPattern::Wildcard(format!(".site{i}.example.org")), i);
    }
    table.insert(&HostPattern::Any, sites);
    table
}

#[divan::bench(args = SITES)]
fn host_exact(bencher: Bencher, sites: usize) {
    let table = host_table(sites);
    let host = format!("site{}.example.com", sites / 2);
    assert_eq!(table.find(&host), Some(sites / 2));
    bencher.bench_local(|| table.find(black_box(&host)));
}

#[divan::bench(args = SITES)]
fn host_wildcard(bencher: Bencher, sites: usize) {
    let table = host_table(sites);
    let host = format!("www.site{}.example.org", sites / 2);
    assert_eq!(table.find(&host), Some(sites / 2));
    bencher.bench_local(|| table.find(black_box(&host)));
}

#[divan::bench(args = SITES)]
fn host_default(bencher: Bencher, sites: usize) {
    let table = host_table(sites);
    let host = "unknown.example.net";
    assert_eq!(table.find(host), Some(sites));
    bencher.bench_local(|| table.find(black_box(host)));
}

/// A host with uppercase letters: lowered into a new string.
#[divan::bench]
fn host_normalize(bencher: Bencher) {
    bencher.bench_local(|| normalize_host(black_box("Site2500.Example.COM:8080")));
}

/// The usual case, a lowercase host with a port: borrowed as it is.
#[divan::bench]
fn host_normalize_lowercase(bencher: Bencher) {
    bencher.bench_local(|| normalize_host(black_box("site2500.example.com:8080")));
}

#[divan::bench(args = [1, 10, 100])]
fn path_longest_prefix(bencher: Bencher, routes: usize) {
    let prefixes: Vec<String> = std::iter::once("/".to_string())
        .chain((1..routes).map(|i| format!("/api/v{i}/")))
        .collect();
    let table = RouteTable::new(prefixes.iter().map(String::as_str));
    let path = "/api/v1/users/42";
    assert!(table.find(path).is_some());
    bencher.bench_local(|| table.find(black_box(path)));
}
