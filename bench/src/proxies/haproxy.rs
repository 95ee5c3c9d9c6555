//! HAProxy's config: one thread, `http-reuse always` (upstream keep-alive),
//! keep-alive to clients, no logging.
//!
//! With many sites, hosts are looked up in a map file (HAProxy's usual way
//! to route thousands of hosts, a hash lookup), exact names only: HAProxy has
//! no built-in equivalent of the `*.host` wildcard the other two get.

use std::fmt::Write as _;

use super::{site_host, write, Launch, Setup};
use crate::error::Result;

pub(super) fn prepare(setup: &Setup<'_>) -> Result<Launch> {
    let bind = match setup.tls {
        Some(c) => format!(
            "bind 127.0.0.1:{} ssl crt {} alpn h2,http/1.1",
            setup.port,
            c.combined.display()
        ),
        None => format!("bind 127.0.0.1:{}", setup.port),
    };
    let mut route = "    default_backend be\n".to_string();
    if setup.sites > 0 {
        let map = setup.dir.join("hosts.map");
        let mut lines = String::new();
        for i in 0..setup.sites {
            let _ = writeln!(lines, "{} be", site_host(i));
        }
        write(&map, &lines)?;
        route = format!(
            "    use_backend %[req.hdr(host),field(1,:),lower,map({})]\n",
            map.display()
        );
    }
    let headers = if setup.same_headers {
        format!(
            "    option forwardfor\n\
             \x20   http-request set-header X-Forwarded-Proto {proto}\n\
             \x20   http-request set-header X-Forwarded-Host %[req.hdr(host)]\n\
             \x20   http-request set-header X-Real-IP %[src]\n\
             \x20   unique-id-format %[uuid()]\n\
             \x20   unique-id-header X-Request-Id\n\
             \x20   http-response set-header X-Request-Id %[unique-id]\n",
            proto = if setup.tls.is_some() { "https" } else { "http" },
        )
    } else {
        String::new()
    };
    let text = format!(
        // `no strict-limits`: HAProxy sizes its FD needs for two sockets per
        // connection; idle clients need one, so a lower limit is only a warning.
        "global\n    nbthread 1\n    maxconn {max}\n    no strict-limits\n\
         defaults\n    mode http\n    option http-keep-alive\n    http-reuse always\n\
         \x20   timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n\
         \x20   timeout http-keep-alive 60s\n\
         frontend fe\n    {bind}\n{headers}{route}\
         backend be\n    server s1 {backend}\n",
        max = setup.max_connections + 64,
        backend = setup.backend,
    );
    let config = setup.dir.join("haproxy.cfg");
    write(&config, &text)?;
    Ok(Launch {
        program: "haproxy".into(),
        args: vec!["-db".into(), "-f".into(), config.display().to_string()],
        config,
        admin_socket: None,
    })
}
