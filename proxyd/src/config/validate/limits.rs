//! `[defaults]` and the per-site limit overrides: a site's own value, then
//! `[defaults]`, then the built-in default.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use super::values::{count, int_in, nonzero_duration, nonzero_size};
use crate::config::file::{Entry, FileLimits};
use crate::config::report::Report;
use crate::config::{Limits, RateLimit};

/// The built-in defaults (SPEC §2).
pub(super) fn builtin() -> Limits {
    Limits {
        max_body_size: 10 * 1024 * 1024,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        header_read_timeout: Duration::from_secs(30),
        max_header_size: 64 * 1024,
        rate_limit: None,
        trusted_proxies: Vec::new(),
        max_in_flight: 0,
        shed_latency_target: None,
    }
}

/// `[defaults]` over the built-in defaults.
pub(super) fn defaults(r: &mut Report<'_>, e: &Entry<FileLimits>) -> Limits {
    resolve(r, &e.value, &builtin(), &"[defaults]")
}

/// `own` values over `base`; `who` names the owner in messages.
pub(super) fn resolve(
    r: &mut Report<'_>,
    own: &FileLimits,
    base: &Limits,
    who: &dyn fmt::Display,
) -> Limits {
    let what = |key: &'static str| move || format!("{key} of {who}");
    let rate_limit = match &own.rate_limit {
        None => base.rate_limit,
        Some(rl) => {
            let rl = rl.get_ref();
            let per_second = count(
                r,
                rl.per_second.as_ref(),
                1,
                1,
                what("rate_limit.per_second"),
            );
            let burst = count(
                r,
                rl.burst.as_ref(),
                per_second,
                1,
                what("rate_limit.burst"),
            );
            Some(RateLimit { per_second, burst })
        }
    };
    let trusted_proxies = match &own.trusted_proxies {
        None => base.trusted_proxies.clone(),
        Some(list) => {
            let mut nets = Vec::new();
            for entry in list {
                let s = entry.get_ref();
                match s.parse::<IpNet>() {
                    Ok(net) => nets.push(net),
                    Err(_) => match s.parse::<IpAddr>() {
                        Ok(ip) => nets.push(IpNet::from(ip)),
                        Err(_) => r.error(
                            entry.span(),
                            format!("invalid trusted_proxies entry \"{s}\" of {who}: expected a CIDR such as \"10.0.0.0/8\" or an IP address"),
                        ),
                    },
                }
            }
            nets
        }
    };
    let max_header_size = nonzero_size(
        r,
        own.max_header_size.as_ref(),
        base.max_header_size as u64,
        what("max_header_size"),
    );
    let max_in_flight = int_in(
        r,
        own.max_in_flight.as_ref(),
        base.max_in_flight as u64,
        (0, u32::MAX.into()),
        what("max_in_flight"),
    );
    let shed_latency_target = match &own.shed_latency_target {
        None => base.shed_latency_target,
        Some(d) if d.get_ref().0.is_zero() => None,
        Some(d) => Some(d.get_ref().0),
    };
    Limits {
        max_body_size: nonzero_size(
            r,
            own.max_body_size.as_ref(),
            base.max_body_size,
            what("max_body_size"),
        ),
        connect_timeout: nonzero_duration(
            r,
            own.connect_timeout.as_ref(),
            base.connect_timeout,
            what("connect_timeout"),
        ),
        request_timeout: nonzero_duration(
            r,
            own.request_timeout.as_ref(),
            base.request_timeout,
            what("request_timeout"),
        ),
        idle_timeout: nonzero_duration(
            r,
            own.idle_timeout.as_ref(),
            base.idle_timeout,
            what("idle_timeout"),
        ),
        header_read_timeout: nonzero_duration(
            r,
            own.header_read_timeout.as_ref(),
            base.header_read_timeout,
            what("header_read_timeout"),
        ),
        max_header_size: usize::try_from(max_header_size).unwrap_or(base.max_header_size),
        rate_limit,
        trusted_proxies,
        max_in_flight: usize::try_from(max_in_flight).unwrap_or(0),
        shed_latency_target,
    }
}
