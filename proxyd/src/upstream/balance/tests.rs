//! Distribution of each algorithm over many picks.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering;

use super::super::{Registry, Upstream};
use crate::config::{Algorithm, Scheme, Server, Upstream as ConfigUpstream};

fn config(algorithm: Algorithm, weights: &[u32]) -> ConfigUpstream {
    let servers = weights
        .iter()
        .enumerate()
        .map(|(i, &weight)| Server {
            address: format!("127.0.0.1:{}", 9000 + i),
            host: "127.0.0.1".into(),
            port: 9000 + i as u16,
            weight,
        })
        .collect();
    ConfigUpstream {
        name: "u".into(),
        algorithm,
        servers,
        scheme: Scheme::Http,
        preserve_host: true,
        retries: 1,
        health_check: None,
        passive: None,
    }
}

fn upstream(algorithm: Algorithm, n: usize) -> Upstream {
    Registry::default().upstream(&config(algorithm, &vec![1; n]))
}

fn local() -> IpAddr {
    Ipv4Addr::LOCALHOST.into()
}

fn client(i: u32) -> IpAddr {
    Ipv4Addr::from(0x0a00_0000 + i).into()
}

fn counts(up: &Upstream, picks: usize) -> Vec<usize> {
    let mut c = vec![0; up.servers.len()];
    for _ in 0..picks {
        c[up.pick(local(), &[]).unwrap()] += 1;
    }
    c
}

#[test]
fn round_robin_is_exact_and_skips_unhealthy_and_tried() {
    let up = upstream(Algorithm::RoundRobin, 3);
    let picks: Vec<_> = (0..6).map(|_| up.pick(local(), &[]).unwrap()).collect();
    assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    assert_eq!(counts(&up, 3000), [1000, 1000, 1000]);
    up.servers[1].healthy.store(false, Ordering::Relaxed);
    let picks: Vec<_> = (0..4).map(|_| up.pick(local(), &[]).unwrap()).collect();
    assert!(!picks.contains(&1), "{picks:?}");
    assert_eq!(up.pick(local(), &[0, 2]), None);
}

#[test]
fn weighted_follows_the_weights_and_interleaves() {
    let up = Registry::default().upstream(&config(Algorithm::Weighted, &[5, 1, 1]));
    let cycle: Vec<_> = (0..7).map(|_| up.pick(local(), &[]).unwrap()).collect();
    // nginx's documented sequence for 5:1:1.
    assert_eq!(cycle, [0, 0, 1, 0, 2, 0, 0]);

    let up = Registry::default().upstream(&config(Algorithm::Weighted, &[3, 2, 1]));
    let c = counts(&up, 6000);
    assert_eq!(c, [3000, 2000, 1000], "exact over whole cycles");
    // Any window of picks stays within one cycle's worth of the ratio.
    let c = counts(&up, 1001);
    for (i, w) in [3.0, 2.0, 1.0].iter().enumerate() {
        let expected = 1001.0 * w / 6.0;
        assert!((c[i] as f64 - expected).abs() <= 3.0, "{c:?}");
    }
}

#[test]
fn weighted_skips_unhealthy_servers_and_keeps_ratio_among_the_rest() {
    let up = Registry::default().upstream(&config(Algorithm::Weighted, &[3, 2, 1]));
    up.servers[0].healthy.store(false, Ordering::Relaxed);
    assert_eq!(counts(&up, 3000), [0, 2000, 1000]);
    assert_eq!(up.pick(local(), &[1, 2]), None);
}

#[test]
fn weighted_state_survives_a_rebuild_by_the_same_registry() {
    let reg = Registry::default();
    let cfg = config(Algorithm::Weighted, &[2, 1]);
    let first = reg.upstream(&cfg);
    assert_eq!(first.pick(local(), &[]), Some(0));
    // A reload builds a new Upstream; the sequence continues, not restarts.
    let second = reg.upstream(&cfg);
    let rest: Vec<_> = (0..2).map(|_| second.pick(local(), &[]).unwrap()).collect();
    assert_eq!(rest, [1, 0]);
}

#[test]
fn least_connections_prefers_the_idle_server() {
    let up = upstream(Algorithm::LeastConnections, 3);
    up.servers[0].active.store(5, Ordering::Relaxed);
    up.servers[1].active.store(1, Ordering::Relaxed);
    for _ in 0..100 {
        assert_eq!(up.pick(local(), &[]), Some(2));
    }
    // Equal load: the cursor spreads picks evenly.
    up.servers[0].active.store(0, Ordering::Relaxed);
    up.servers[1].active.store(0, Ordering::Relaxed);
    assert_eq!(counts(&up, 300), [100, 100, 100]);
    // The idle server is unhealthy: the next least loaded wins.
    up.servers[2].healthy.store(false, Ordering::Relaxed);
    up.servers[0].active.store(2, Ordering::Relaxed);
    up.servers[1].active.store(1, Ordering::Relaxed);
    assert_eq!(up.pick(local(), &[]), Some(1));
    assert_eq!(up.pick(local(), &[1]), Some(0));
}

#[test]
fn least_connections_tracks_requests_in_flight() {
    let up = upstream(Algorithm::LeastConnections, 2);
    // Simulate forward.rs: a picked server is busy until released.
    let a = up.pick(local(), &[]).unwrap();
    up.servers[a].active.fetch_add(1, Ordering::Relaxed);
    let b = up.pick(local(), &[]).unwrap();
    assert_ne!(a, b);
    up.servers[b].active.fetch_add(1, Ordering::Relaxed);
    up.servers[a].active.fetch_sub(1, Ordering::Relaxed);
    assert_eq!(up.pick(local(), &[]), Some(a));
}

fn assignment(up: &Upstream, clients: u32) -> Vec<String> {
    (0..clients)
        .map(|c| up.servers[up.pick(client(c), &[]).unwrap()].address.clone())
        .collect()
}

#[test]
fn ip_hash_is_sticky_and_spreads_clients() {
    let up = upstream(Algorithm::IpHash, 4);
    let first = assignment(&up, 4000);
    assert_eq!(first, assignment(&up, 4000), "same client, same server");
    let mut per: HashMap<&str, usize> = HashMap::new();
    for a in &first {
        *per.entry(a).or_default() += 1;
    }
    assert_eq!(per.len(), 4);
    for (addr, n) in per {
        assert!((800..=1200).contains(&n), "{addr} got {n} of 4000");
    }
    // A rebuilt upstream (a reload) keeps every assignment.
    let again = Registry::default().upstream(&config(Algorithm::IpHash, &[1; 4]));
    assert_eq!(first, assignment(&again, 4000));
}

#[test]
fn ip_hash_moves_only_the_clients_that_must_move() {
    let four = upstream(Algorithm::IpHash, 4);
    let five = upstream(Algorithm::IpHash, 5);
    let before = assignment(&four, 5000);
    let after = assignment(&five, 5000);
    let added = &five.servers[4].address;
    let moved: Vec<_> = (0..before.len())
        .filter(|&i| before[i] != after[i])
        .collect();
    assert!(moved.iter().all(|&i| &after[i] == added), "moved elsewhere");
    // About 1/5 of the clients move to the new server.
    assert!((800..=1200).contains(&moved.len()), "{} moved", moved.len());

    // Removing a server moves exactly its clients; an unhealthy server is
    // treated the same way, and its clients come back when it recovers.
    five.servers[4].healthy.store(false, Ordering::Relaxed);
    assert_eq!(assignment(&five, 5000), before);
    five.servers[4].healthy.store(true, Ordering::Relaxed);
    assert_eq!(assignment(&five, 5000), after);
}

#[test]
fn ip_hash_falls_back_when_tried_and_treats_mapped_v4_as_v4() {
    let up = upstream(Algorithm::IpHash, 3);
    let c = client(7);
    let first = up.pick(c, &[]).unwrap();
    let second = up.pick(c, &[first]).unwrap();
    assert_ne!(first, second);
    assert_eq!(up.pick(c, &[0, 1, 2]), None);
    let IpAddr::V4(v4) = c else { unreachable!() };
    assert_eq!(up.pick(IpAddr::V6(v4.to_ipv6_mapped()), &[]), Some(first));
}
