//! `[[site]]`: names, hosts (and which site owns a host on each listener),
//! listeners, `tls`, limit overrides; routes are in `routes`.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use super::limits;
use super::listeners::Names;
use super::routes::routes;
use super::tls_files;
use super::values::{is_dns_name, path_in, quoted_list, required, Owner};
use crate::config::file::{FileConfig, SStr, SiteEntry};
use crate::config::report::Report;
use crate::config::{HostPattern, Limits, Listener, Site, TlsSource, Upstream};

/// What sites may refer to.
pub(super) struct Known<'a> {
    pub listeners: &'a [Listener],
    pub upstreams: &'a [Upstream],
    pub defaults: &'a Limits,
    /// `[acme]` is present.
    pub acme: bool,
    /// Relative certificate paths resolve against this directory.
    pub base: &'a Path,
}

/// Parses one `hosts` entry.
/// The lowercased string is the pattern's own (one allocation per host).
pub(super) fn parse_host(raw: &str) -> Result<HostPattern, &'static str> {
    let mut s = raw.to_ascii_lowercase();
    if s == "*" {
        return Ok(HostPattern::Any);
    }
    if s.contains(':') {
        return Err("a host must not include a port");
    }
    if s.ends_with('.') {
        s.pop();
    }
    if let Some(suffix) = s.strip_prefix("*.") {
        return if is_dns_name(suffix) {
            s.remove(0); // "*.example.org" → ".example.org"
            Ok(HostPattern::Wildcard(s))
        } else {
            Err("expected a host name such as \"app.example.com\" or \"*.example.org\"")
        };
    }
    if s.contains('*') {
        return Err("a wildcard must be the whole first label, as in \"*.example.org\"");
    }
    if is_dns_name(&s) {
        Ok(HostPattern::Exact(s))
    } else {
        Err("expected a host name such as \"app.example.com\" or \"*.example.org\"")
    }
}

fn show(h: &HostPattern) -> String {
    match h {
        HostPattern::Exact(h) => h.clone(),
        HostPattern::Wildcard(s) => format!("*{s}"),
        HostPattern::Any => "*".into(),
    }
}

pub(super) fn sites(r: &mut Report<'_>, fc: &FileConfig, known: &Known<'_>) -> Vec<Site> {
    let mut names = Names::with_capacity(fc.sites.len());
    // (listener index, host) → (site index, position of the host)
    let mut claimed: HashMap<(usize, HostPattern), (usize, usize)> =
        HashMap::with_capacity(host_count(fc) * known.listeners.len().max(1));
    let mut out = Vec::with_capacity(fc.sites.len());
    let site_owner = |i: usize| Owner::new("site", fc.sites[i].site.value.name.as_ref(), i);
    for (i, entry) in fc.sites.iter().enumerate() {
        let SiteEntry {
            site: e,
            routes: route_entries,
        } = entry;
        let v = &e.value;
        let who = site_owner(i);
        let name = required(r, e, &v.name, "name", &who);
        if let Some(n) = name {
            names.claim(r, n, "site", "another site");
        }
        let hosts = hosts(r, e.span.clone(), v.hosts.as_ref(), e.is_bad("hosts"), &who);
        let listeners = listeners(r, v.listeners.as_deref(), known, &who);
        for (host, span) in &hosts {
            for l in &listeners {
                let listener = known
                    .listeners
                    .iter()
                    .position(|k| &k.name == l)
                    .unwrap_or(usize::MAX);
                let key = (listener, host.clone());
                if let Some(&(other, at)) = claimed.get(&key) {
                    let other = site_owner(other);
                    let (line, _) = r.position(at);
                    let message = if *host == HostPattern::Any {
                        format!("{who} is a second default site (\"*\") on listener \"{l}\": {other} already is (line {line})")
                    } else {
                        format!("host \"{}\" of {who} is already claimed by {other} on listener \"{l}\" (line {line})", show(host))
                    };
                    r.error(span.clone(), message);
                } else {
                    claimed.insert(key, (i, span.start));
                }
            }
        }
        let hosts: Vec<HostPattern> = hosts.into_iter().map(|(h, _)| h).collect();
        let tls = tls(r, v.tls.as_ref(), &hosts, &listeners, known, &who);
        if v.tls.is_none() && !e.is_bad("tls") && !listeners.is_empty() {
            let https_only = listeners.iter().all(|l| {
                known
                    .listeners
                    .iter()
                    .find(|k| &k.name == l)
                    .is_some_and(|k| k.http.is_none() && k.https.is_some())
            });
            if https_only {
                r.warn(
                    name.map_or(e.span.clone(), |n| n.span()),
                    format!("{who} has no tls but all of its listeners are HTTPS-only: it can never be served"),
                );
            }
        }
        let limits = limits::resolve(r, &v.limits(), known.defaults, &who);
        if route_entries.is_empty() {
            r.error(
                name.map_or(e.span.clone(), |n| n.span()),
                format!("{who} has no [[site.route]]: add at least one route"),
            );
        }
        let routes = routes(r, route_entries, &who, known.upstreams);
        if let Some(n) = name {
            out.push(Site {
                name: n.get_ref().clone(),
                hosts,
                listeners,
                tls,
                limits,
                routes,
            });
        }
    }
    out
}

/// How many `hosts` entries the sites list, to size the claim map once.
fn host_count(fc: &FileConfig) -> usize {
    fc.sites
        .iter()
        .filter_map(|s| s.site.value.hosts.as_ref())
        .map(|h| h.get_ref().len())
        .sum()
}

fn hosts(
    r: &mut Report<'_>,
    site_span: Range<usize>,
    list: Option<&toml::Spanned<Vec<SStr>>>,
    bad: bool,
    who: &dyn fmt::Display,
) -> Vec<(HostPattern, Range<usize>)> {
    let mut out: Vec<(HostPattern, Range<usize>)> = Vec::new();
    let Some(list) = list else {
        if !bad {
            r.error(site_span, format!("{who} is missing \"hosts\""));
        }
        return out;
    };
    if list.get_ref().is_empty() {
        r.error(
            list.span(),
            format!("hosts of {who} must list at least one host"),
        );
    }
    for h in list.get_ref() {
        match parse_host(h.get_ref()) {
            Err(why) => r.error(
                h.span(),
                format!("invalid host \"{}\" of {who}: {why}", h.get_ref()),
            ),
            Ok(p) if out.iter().any(|(o, _)| *o == p) => r.error(
                h.span(),
                format!("host \"{}\" is listed twice in {who}", h.get_ref()),
            ),
            Ok(p) => out.push((p, h.span())),
        }
    }
    out
}

fn listeners(
    r: &mut Report<'_>,
    list: Option<&[SStr]>,
    known: &Known<'_>,
    who: &dyn fmt::Display,
) -> Vec<String> {
    let Some(list) = list else {
        return known.listeners.iter().map(|l| l.name.clone()).collect();
    };
    let mut out = Vec::new();
    for l in list {
        if known.listeners.iter().any(|k| &k.name == l.get_ref()) {
            out.push(l.get_ref().clone());
        } else {
            r.error(
                l.span(),
                format!(
                    "{who} names listener \"{}\", which does not exist (listeners: {})",
                    l.get_ref(),
                    quoted_list(known.listeners.iter().map(|k| k.name.as_str()))
                ),
            );
        }
    }
    out
}

fn tls(
    r: &mut Report<'_>,
    value: Option<&toml::Spanned<toml::Value>>,
    hosts: &[HostPattern],
    listeners: &[String],
    known: &Known<'_>,
    who: &dyn fmt::Display,
) -> Option<TlsSource> {
    let value = value?;
    let span = value.span();
    let source = match value.get_ref() {
        toml::Value::String(s) if s == "acme" => TlsSource::Acme,
        toml::Value::Table(t)
            if t.len() == 2
                && t.get("cert").is_some_and(toml::Value::is_str)
                && t.get("key").is_some_and(toml::Value::is_str) =>
        {
            let path = |k: &str| {
                path_in(
                    known.base,
                    t.get(k).and_then(toml::Value::as_str).unwrap_or_default(),
                )
            };
            TlsSource::Files {
                cert: path("cert"),
                key: path("key"),
            }
        }
        _ => {
            r.error(
                span,
                format!("invalid tls of {who}: expected \"acme\" or {{ cert = \"/path/fullchain.pem\", key = \"/path/key.pem\" }}"),
            );
            return None;
        }
    };
    let has_https = listeners.iter().any(|l| {
        known
            .listeners
            .iter()
            .any(|k| &k.name == l && k.https.is_some())
    });
    if !has_https && !listeners.is_empty() {
        r.error(
            span.clone(),
            format!(
                "{who} has tls, but none of its listeners ({}) has \"https\"",
                quoted_list(listeners.iter().map(String::as_str))
            ),
        );
    }
    match &source {
        TlsSource::Acme if !known.acme => {
            r.error(
                span,
                format!("{who} has tls = \"acme\" but there is no [acme] section"),
            );
        }
        TlsSource::Acme => {
            for h in hosts.iter().filter(|h| !matches!(h, HostPattern::Exact(_))) {
                r.error(
                    span.clone(),
                    format!("{who} has tls = \"acme\" but ACME cannot issue a certificate for host \"{}\" (wildcards need DNS-01, which proxyd does not support)", show(h)),
                );
            }
        }
        TlsSource::Files { cert, key } => {
            tls_files::check_pair(r, span, cert, key, &who.to_string(), hosts)
        }
    }
    Some(source)
}
