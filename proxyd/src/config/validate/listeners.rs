//! `[[listener]]` and `[[tcp]]`: names (one shared namespace), addresses,
//! and the rule that no two sockets (listeners, tcp proxies and the health
//! port together) may be bound to one address.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;

use super::values::{count, owner, quoted_list, required, socket_addr};
use crate::config::file::{Entry, FileConfig, FileListener, FileTcp, SStr};
use crate::config::report::Report;
use crate::config::{Health, Listener, TcpProxy, Upstream};

const DEFAULT_HEALTH_PATH: &str = "/.well-known/proxyd/health";

/// Remembers names and reports the second use of one.
#[derive(Default)]
pub(super) struct Names<'a>(HashMap<&'a str, Range<usize>>);

impl<'a> Names<'a> {
    /// Room for `n` names.
    pub(super) fn with_capacity(n: usize) -> Self {
        Names(HashMap::with_capacity(n))
    }

    /// Records `name`; false (and an error) when it was already taken.
    pub(super) fn claim(
        &mut self,
        r: &mut Report<'_>,
        name: &'a SStr,
        kind: &str,
        taken_by: &str,
    ) -> bool {
        let n = name.get_ref().as_str();
        if n.is_empty() {
            r.error(name.span(), format!("{kind} name must not be empty"));
            return false;
        }
        if let Some(first) = self.0.get(n) {
            let (line, _) = r.position(first.start);
            r.error(
                name.span(),
                format!("duplicate {kind} name \"{n}\": already used by {taken_by} at line {line}"),
            );
            return false;
        }
        self.0.insert(n, name.span());
        true
    }
}

pub(super) fn listeners(r: &mut Report<'_>, entries: &[Entry<FileListener>]) -> Vec<Listener> {
    let mut names = Names::default();
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let v = &e.value;
        let who = owner("listener", v.name.as_ref(), i);
        let name = required(r, e, &v.name, "name", &who)
            .filter(|n| names.claim(r, n, "listener", "another listener"));
        let http = v
            .http
            .as_ref()
            .and_then(|a| socket_addr(r, a, &format!("http of {who}")));
        let https = v
            .https
            .as_ref()
            .and_then(|a| socket_addr(r, a, &format!("https of {who}")));
        if v.http.is_none() && v.https.is_none() && !e.is_bad("http") && !e.is_bad("https") {
            r.error(
                e.span.clone(),
                format!("{who} has neither \"http\" nor \"https\""),
            );
        }
        let redirect_to_https = match &v.redirect_to_https {
            Some(b) if *b.get_ref() && (v.http.is_none() || v.https.is_none()) => {
                r.error(
                    b.span(),
                    format!("redirect_to_https of {who} needs both \"http\" and \"https\""),
                );
                false
            }
            Some(b) => *b.get_ref(),
            None => false,
        };
        let health_path = match &v.health_path {
            None => Some(DEFAULT_HEALTH_PATH.to_string()),
            Some(p) if p.get_ref().is_empty() => None,
            Some(p) if !p.get_ref().starts_with('/') => {
                r.error(
                    p.span(),
                    format!(
                        "invalid health_path \"{}\" of {who}: expected a path starting with \"/\"",
                        p.get_ref()
                    ),
                );
                None
            }
            Some(p) => Some(p.get_ref().clone()),
        };
        let max_connections = count(
            r,
            v.max_connections.as_ref(),
            10_000,
            1,
            &format!("max_connections of {who}"),
        );
        if let Some(n) = name {
            out.push(Listener {
                name: n.get_ref().clone(),
                http,
                https,
                redirect_to_https,
                health_path,
                max_connections: max_connections as usize,
            });
        }
    }
    out
}

pub(super) fn tcp(
    r: &mut Report<'_>,
    entries: &[Entry<FileTcp>],
    listeners: &[Listener],
    upstreams: &[Upstream],
) -> Vec<TcpProxy> {
    let mut names = Names::default();
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let v = &e.value;
        let who = owner("tcp", v.name.as_ref(), i);
        let name = required(r, e, &v.name, "name", &who);
        if let Some(n) = name {
            if listeners.iter().any(|l| &l.name == n.get_ref()) {
                r.error(
                    n.span(),
                    format!(
                        "duplicate name \"{}\": a listener already has it (listeners and tcp proxies share one namespace)",
                        n.get_ref()
                    ),
                );
            } else {
                names.claim(r, n, "tcp", "another tcp proxy");
            }
        }
        let listen = required(r, e, &v.listen, "listen", &who)
            .and_then(|a| socket_addr(r, a, &format!("listen of {who}")));
        let upstream = required(r, e, &v.upstream, "upstream", &who);
        if let Some(u) = upstream {
            if !upstreams.iter().any(|up| &up.name == u.get_ref()) {
                r.error(
                    u.span(),
                    format!(
                        "{who} names upstream \"{}\", which does not exist (upstreams: {})",
                        u.get_ref(),
                        quoted_list(upstreams.iter().map(|u| u.name.as_str()))
                    ),
                );
            }
        }
        if let (Some(n), Some(listen), Some(u)) = (name, listen, upstream) {
            out.push(TcpProxy {
                name: n.get_ref().clone(),
                listen,
                upstream: u.get_ref().clone(),
            });
        }
    }
    out
}

/// Two sockets conflict on the same port when their IPs are equal or one of
/// them is a wildcard (`0.0.0.0`, `[::]`). Port 0 (any free port) never does.
fn conflicts(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

pub(super) fn unique_addresses(r: &mut Report<'_>, fc: &FileConfig, health: &Health) {
    let mut sockets: Vec<(SocketAddr, Range<usize>, String)> = Vec::new();
    if let (Some(addr), Some(s)) = (health.listen, &fc.health.value.listen) {
        sockets.push((addr, s.span(), "listen of [health]".into()));
    }
    for (i, e) in fc.listeners.iter().enumerate() {
        let who = owner("listener", e.value.name.as_ref(), i);
        for (key, value) in [("http", &e.value.http), ("https", &e.value.https)] {
            if let Some(s) = value {
                if let Ok(addr) = s.get_ref().parse() {
                    sockets.push((addr, s.span(), format!("{key} of {who}")));
                }
            }
        }
    }
    for (i, e) in fc.tcp.iter().enumerate() {
        if let Some(s) = &e.value.listen {
            if let Ok(addr) = s.get_ref().parse() {
                let who = owner("tcp", e.value.name.as_ref(), i);
                sockets.push((addr, s.span(), format!("listen of {who}")));
            }
        }
    }
    // Report in file order: the later of two conflicting sockets is wrong.
    sockets.sort_by_key(|(_, span, _)| span.start);
    for (j, (addr, span, what)) in sockets.iter().enumerate() {
        if let Some((first, first_span, first_what)) =
            sockets[..j].iter().find(|(a, _, _)| conflicts(*a, *addr))
        {
            let (line, _) = r.position(first_span.start);
            r.error(
                span.clone(),
                format!("address {addr} of {what} conflicts with {first} of {first_what} (line {line}): two sockets cannot be bound to one address"),
            );
        }
    }
}
