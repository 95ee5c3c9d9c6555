//! One server pick per algorithm, through the same API the proxy uses:
//! `Registry::upstream(&config::Upstream)` then `Upstream::pick`.

use std::net::{IpAddr, Ipv4Addr};

use divan::{black_box, Bencher};
use proxyd::config::{Algorithm, Scheme, Server, Upstream};
use proxyd::upstream::Registry;

/// Every algorithm. The `match` makes a new variant a compile error here,
/// so it cannot be left out of the benchmark by accident.
fn all_algorithms() -> Vec<Algorithm> {
    let all = [
        Algorithm::RoundRobin,
        Algorithm::Weighted,
        Algorithm::LeastConnections,
        Algorithm::IpHash,
    ];
    for a in all {
        match a {
            Algorithm::RoundRobin
            | Algorithm::Weighted
            | Algorithm::LeastConnections
            | Algorithm::IpHash => {}
        }
    }
    all.to_vec()
}

fn upstream(algorithm: Algorithm, servers: usize) -> Upstream {
    Upstream {
        name: "bench".into(),
        algorithm,
        servers: (0..servers)
            .map(|i| Server {
                address: format!("127.0.0.1:{}", 9000 + i),
                host: "127.0.0.1".into(),
                port: 9000 + i as u16,
                weight: 1 + (i % 3) as u32,
            })
            .collect(),
        scheme: Scheme::Http,
        preserve_host: true,
        retries: 1,
        health_check: None,
        passive: None,
    }
}

#[divan::bench(args = all_algorithms(), consts = [4, 64])]
fn pick<const SERVERS: usize>(bencher: Bencher, algorithm: &Algorithm) {
    let registry = Registry::default();
    let up = registry.upstream(&upstream(*algorithm, SERVERS));
    let client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    assert!(up.pick(client, &[]).is_some());
    bencher.bench_local(|| up.pick(black_box(client), black_box(&[])));
}
