//! Balancing algorithms. Only healthy servers are picked.
//!
//! The walking skeleton implements round robin for every algorithm name;
//! the others share its skip-unhealthy / skip-tried logic.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use super::Upstream;

pub(super) fn pick(up: &Upstream, _client: IpAddr, tried: &[usize]) -> Option<usize> {
    let n = up.servers.len();
    if n == 0 {
        return None;
    }
    let start = up.cursor.fetch_add(1, Ordering::Relaxed);
    (0..n)
        .map(|k| (start + k) % n)
        .find(|&i| !tried.contains(&i) && up.servers[i].is_healthy())
}

#[cfg(test)]
mod tests {
    use super::super::Registry;
    use crate::config::{Algorithm, Scheme, Server, Upstream as FileUp};
    use std::net::Ipv4Addr;
    use std::sync::atomic::Ordering;

    fn upstream(n: usize) -> super::Upstream {
        let servers = (0..n)
            .map(|i| Server {
                address: format!("127.0.0.1:{}", 9000 + i),
                host: "127.0.0.1".into(),
                port: 9000 + i as u16,
                weight: 1,
            })
            .collect();
        Registry::default().upstream(&FileUp {
            name: "u".into(),
            algorithm: Algorithm::RoundRobin,
            servers,
            scheme: Scheme::Http,
            preserve_host: true,
            retries: 1,
            health_check: None,
            passive: None,
        })
    }

    #[test]
    fn round_robin_is_exact_and_skips_unhealthy_and_tried() {
        let up = upstream(3);
        let ip = Ipv4Addr::LOCALHOST.into();
        let picks: Vec<_> = (0..6).map(|_| up.pick(ip, &[]).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
        up.servers[1].healthy.store(false, Ordering::Relaxed);
        let picks: Vec<_> = (0..4).map(|_| up.pick(ip, &[]).unwrap()).collect();
        assert!(!picks.contains(&1), "{picks:?}");
        assert_eq!(up.pick(ip, &[0, 2]), None);
    }
}
