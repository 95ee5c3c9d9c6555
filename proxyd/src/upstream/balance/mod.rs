//! Balancing algorithms. Only healthy servers not yet tried by this
//! request are candidates; every algorithm returns `None` when none is left.
//!
//! - `round_robin`: in turn, from a cursor shared across generations.
//! - `weighted`: smooth weighted round robin, as nginx does it: each pick
//!   adds every candidate's weight to its current weight, takes the highest
//!   and subtracts the candidates' total from it. Picks interleave (5:1:1
//!   gives `a a b a c a a`, not `a a a a a b c`) and follow the weights
//!   exactly over every cycle.
//! - `least_connections`: fewest requests in flight; ties are broken by
//!   the round-robin cursor so idle servers share the load.
//! - `ip_hash`: rendezvous (highest random weight) hashing of the client
//!   address with each server address. A client keeps its server while the
//!   set is unchanged — across reloads too, because only addresses go into
//!   the hash — and adding or removing a server moves only the clients that
//!   must move (to the new server, or off the removed one).

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use super::{lock, Upstream};
use crate::config::Algorithm;

pub(super) fn pick(up: &Upstream, client: IpAddr, tried: &[usize]) -> Option<usize> {
    let candidate = |i: usize| !tried.contains(&i) && up.servers[i].is_healthy();
    match up.algorithm {
        Algorithm::RoundRobin => round_robin(up, candidate),
        Algorithm::Weighted => weighted(up, candidate),
        Algorithm::LeastConnections => least_connections(up, candidate),
        Algorithm::IpHash => ip_hash(up, client, candidate),
    }
}

fn round_robin(up: &Upstream, candidate: impl Fn(usize) -> bool) -> Option<usize> {
    let n = up.servers.len();
    if n == 0 {
        return None;
    }
    let start = up.balancer.cursor.fetch_add(1, Ordering::Relaxed);
    (0..n).map(|k| (start + k) % n).find(|&i| candidate(i))
}

fn weighted(up: &Upstream, candidate: impl Fn(usize) -> bool) -> Option<usize> {
    let mut current = lock(&up.balancer.current);
    let mut total: i64 = 0;
    let mut best: Option<(usize, i64)> = None;
    for (i, server) in up.servers.iter().enumerate() {
        if !candidate(i) {
            continue;
        }
        let weight = i64::from(up.weights.get(i).copied().unwrap_or(1));
        total += weight;
        let cw = current.entry(server.address.clone()).or_insert(0);
        *cw += weight;
        if best.is_none_or(|(_, b)| *cw > b) {
            best = Some((i, *cw));
        }
    }
    let (i, _) = best?;
    if let Some(cw) = current.get_mut(&up.servers[i].address) {
        *cw -= total;
    }
    Some(i)
}

fn least_connections(up: &Upstream, candidate: impl Fn(usize) -> bool) -> Option<usize> {
    let n = up.servers.len();
    if n == 0 {
        return None;
    }
    let start = up.balancer.cursor.fetch_add(1, Ordering::Relaxed);
    (0..n)
        .map(|k| (start + k) % n)
        .filter(|&i| candidate(i))
        // `min_by_key` keeps the first of equals: the one nearest the cursor.
        .min_by_key(|&i| up.servers[i].active.load(Ordering::Relaxed))
}

fn ip_hash(up: &Upstream, client: IpAddr, candidate: impl Fn(usize) -> bool) -> Option<usize> {
    let key = match client {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.octets().to_vec(), |v4| v4.octets().to_vec()),
    };
    (0..up.servers.len())
        .filter(|&i| candidate(i))
        .max_by_key(|&i| (score(&key, &up.servers[i].address), std::cmp::Reverse(i)))
}

/// The rendezvous score of `client` on the server at `address`: FNV-1a
/// over both, then the splitmix64 finalizer so that similar inputs (ports
/// 8081 and 8082) get unrelated scores. Fixed, so it is the same in every
/// process and every generation.
fn score(client: &[u8], address: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in client
        .iter()
        .chain([0xffu8].iter())
        .chain(address.as_bytes())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}
