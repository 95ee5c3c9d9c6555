//! `[[upstream]]`: names, servers (`host:port`, weights), algorithm, scheme,
//! active and passive health checks; and the warning for unused upstreams.

use std::net::Ipv6Addr;
use std::time::Duration;

use super::listeners::Names;
use super::values::{count, int_in, is_dns_name, nonzero_duration, one_of, owner, required};
use crate::config::file::{Entry, FileUpstream, SStr};
use crate::config::report::Report;
use crate::config::{
    Algorithm, HealthCheck, Passive, RouteAction, Scheme, Server, Site, TcpProxy, Upstream,
};

const ALGORITHMS: &[(&str, Algorithm)] = &[
    ("round_robin", Algorithm::RoundRobin),
    ("weighted", Algorithm::Weighted),
    ("least_connections", Algorithm::LeastConnections),
    ("ip_hash", Algorithm::IpHash),
];

/// Largest server weight (keeps weight sums far from overflow).
const MAX_WEIGHT: u32 = 65_535;

/// Splits `host:port` / `[v6]:port`; the error says what is wrong.
pub(super) fn split_host_port(s: &str) -> Result<(String, u16), &'static str> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (v6, port) = rest.split_once("]:").ok_or("expected [ipv6]:port")?;
        v6.parse::<Ipv6Addr>()
            .map_err(|_| "the part in brackets is not an IPv6 address")?;
        (v6, port)
    } else {
        let (host, port) = s.rsplit_once(':').ok_or("the port is missing")?;
        if host.contains(':') {
            return Err("an IPv6 address must be written in brackets, e.g. \"[::1]:8080\"");
        }
        if !is_dns_name(host) {
            return Err("the host is not a valid IP address or DNS name");
        }
        (host, port)
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok((host.to_string(), p)),
        _ => Err("the port must be a number from 1 to 65535"),
    }
}

pub(super) fn upstreams(r: &mut Report<'_>, entries: &[Entry<FileUpstream>]) -> Vec<Upstream> {
    let mut names = Names::default();
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let v = &e.value;
        let who = owner("upstream", v.name.as_ref(), i);
        let name = required(r, e, &v.name, "name", &who)
            .filter(|n| names.claim(r, n, "upstream", "another upstream"));
        let algorithm = one_of(
            r,
            v.algorithm.as_ref(),
            Algorithm::RoundRobin,
            ALGORITHMS,
            "algorithm",
        );
        let servers = servers(r, e, &who, algorithm);
        let scheme = one_of(
            r,
            v.scheme.as_ref(),
            Scheme::Http,
            &[("http", Scheme::Http), ("https", Scheme::Https)],
            "scheme",
        );
        let retries = int_in(
            r,
            v.retries.as_ref(),
            1,
            (0, 100),
            &format!("retries of {who}"),
        );
        let health_check = v.health_check.as_ref().map(|hc| {
            let (span, hc) = (hc.span(), hc.get_ref());
            let what = |k: &str| format!("health_check.{k} of {who}");
            if let Some(p) = &hc.path {
                if !p.get_ref().starts_with('/') {
                    r.error(
                        p.span(),
                        format!("invalid health_check.path \"{}\" of {who}: expected a path starting with \"/\"", p.get_ref()),
                    );
                }
            }
            let interval = nonzero_duration(r, hc.interval.as_ref(), Duration::from_secs(5), &what("interval"));
            let timeout = nonzero_duration(r, hc.timeout.as_ref(), Duration::from_secs(2), &what("timeout"));
            if timeout > interval {
                r.warn(
                    hc.timeout.as_ref().map_or(span, |t| t.span()),
                    format!("{} ({timeout:?}) is longer than the interval ({interval:?}): checks never overlap, so a server that does not answer is checked only once per timeout", what("timeout")),
                );
            }
            HealthCheck {
                path: hc.path.as_ref().map(|p| p.get_ref().clone()),
                interval,
                timeout,
                healthy_threshold: count(r, hc.healthy_threshold.as_ref(), 2, 1, &what("healthy_threshold")),
                unhealthy_threshold: count(r, hc.unhealthy_threshold.as_ref(), 3, 1, &what("unhealthy_threshold")),
            }
        });
        let passive = v.passive.as_ref().map(|p| {
            let p = p.get_ref();
            Passive {
                max_failures: count(
                    r,
                    p.max_failures.as_ref(),
                    3,
                    1,
                    &format!("passive.max_failures of {who}"),
                ),
                cooldown: nonzero_duration(
                    r,
                    p.cooldown.as_ref(),
                    Duration::from_secs(10),
                    &format!("passive.cooldown of {who}"),
                ),
            }
        });
        if let Some(n) = name {
            out.push(Upstream {
                name: n.get_ref().clone(),
                algorithm,
                servers,
                scheme,
                preserve_host: v.preserve_host.unwrap_or(true),
                retries: u32::try_from(retries).unwrap_or(1),
                health_check,
                passive,
            });
        }
    }
    out
}

fn servers(
    r: &mut Report<'_>,
    e: &Entry<FileUpstream>,
    who: &str,
    algorithm: Algorithm,
) -> Vec<Server> {
    let Some(list) = required(r, e, &e.value.servers, "servers", &who) else {
        return Vec::new();
    };
    if list.get_ref().is_empty() {
        r.error(
            list.span(),
            format!("servers of {who} must list at least one server"),
        );
    }
    let mut out: Vec<Server> = Vec::new();
    for (j, s) in list.get_ref().iter().enumerate() {
        let (span, s) = (s.span(), s.get_ref());
        let what = format!("server #{} of {who}", j + 1);
        let weight =
            count(r, s.weight.as_ref(), 1, 1, &format!("weight of {what}")).min(MAX_WEIGHT);
        if let Some(w) = &s.weight {
            if *w.get_ref() > i64::from(MAX_WEIGHT) {
                r.error(
                    w.span(),
                    format!("weight of {what} must be at most {MAX_WEIGHT}"),
                );
            } else if algorithm != Algorithm::Weighted && weight != 1 {
                r.warn(
                    w.span(),
                    format!(
                        "weight of {what} is ignored: algorithm is \"{}\", not \"weighted\"",
                        algorithm.as_str()
                    ),
                );
            }
        }
        let Some(address) = &s.address else {
            r.error(span, format!("{what} is missing \"address\""));
            continue;
        };
        match parse_address(r, address, &what) {
            Some((host, port)) => {
                if out.iter().any(|o| o.address == *address.get_ref()) {
                    r.error(
                        address.span(),
                        format!("server \"{}\" is listed twice in {who}", address.get_ref()),
                    );
                }
                out.push(Server {
                    address: address.get_ref().clone(),
                    host,
                    port,
                    weight,
                });
            }
            None => continue,
        }
    }
    out
}

fn parse_address(r: &mut Report<'_>, address: &SStr, what: &str) -> Option<(String, u16)> {
    split_host_port(address.get_ref())
        .map_err(|why| {
            r.error(
                address.span(),
                format!(
                    "invalid address \"{}\" of {what}: {why} (expected host:port such as \"10.0.0.5:8080\", \"[::1]:8080\" or \"backend.internal:8080\")",
                    address.get_ref()
                ),
            )
        })
        .ok()
}

/// Warns about upstreams that no route and no tcp proxy uses.
pub(super) fn warn_unused(
    r: &mut Report<'_>,
    entries: &[Entry<FileUpstream>],
    sites: &[Site],
    tcp: &[TcpProxy],
) {
    for e in entries {
        let Some(name) = &e.value.name else { continue };
        let n = name.get_ref();
        let used = tcp.iter().any(|t| &t.upstream == n)
            || sites
                .iter()
                .flat_map(|s| &s.routes)
                .any(|route| matches!(&route.action, RouteAction::Upstream(u) if u == n));
        if !used {
            r.warn(
                name.span(),
                format!("upstream \"{n}\" is not used by any route or tcp proxy"),
            );
        }
    }
}
