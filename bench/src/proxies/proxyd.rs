//! proxyd's config: the SPEC §2 file, one listener, one upstream.
//!
//! Differences from the peers, by design of proxyd (SPEC §6): it always sets
//! `X-Forwarded-For/-Proto/-Host`, `X-Real-IP` and `X-Request-Id`, which
//! nginx and HAProxy do not do in their configs here, so proxyd does a little
//! more work per request.

use std::fmt::Write as _;
use std::path::Path;

use super::{site_host, write, Launch, Setup};
use crate::error::Result;

pub(super) fn prepare(setup: &Setup<'_>, bin: &Path) -> Result<Launch> {
    let config = setup.dir.join("proxyd.toml");
    let socket = setup.dir.join("admin.sock");
    write(&config, &render(setup, &socket, 0))?;
    Ok(Launch {
        program: bin.to_path_buf(),
        args: vec!["-c".into(), config.display().to_string()],
        config,
        admin_socket: Some(socket),
    })
}

/// The config text. `variant` changes one route's header rule so that two
/// otherwise identical configs differ (a reload then has something to do).
pub fn render(setup: &Setup<'_>, socket: &Path, variant: u32) -> String {
    let listen = match setup.tls {
        Some(_) => "https",
        None => "http",
    };
    let mut t = format!(
        r#"# proxyd-bench: one worker, access log off, limits off
[admin]
socket = "{socket}"

[health]
listen = ""

[runtime]
worker_threads = 1
access_log = false
log_format = "text"
log_level = "warn"
drain_timeout = "1s"

# As HAProxy's `timeout http-keep-alive`/`client` (60 s; nginx: 75 s): an
# idle keep-alive connection is kept as long as the peers keep theirs. The
# `idle` scenario's connections wait while the rest are opened, which can
# take over 30 s (proxyd's default) after the `close` scenario filled the
# ephemeral ports with TIME_WAIT.
[defaults]
idle_timeout = "60s"
header_read_timeout = "60s"

[[listener]]
name = "bench"
{listen} = "127.0.0.1:{port}"
health_path = ""
max_connections = {max}

[[upstream]]
name = "backend"
servers = [{{ address = "{backend}" }}]
"#,
        socket = socket.display(),
        port = setup.port,
        max = setup.max_connections,
        backend = setup.backend,
    );
    let tls = setup.tls.map(|c| {
        format!(
            "tls = {{ cert = \"{}\", key = \"{}\" }}\n",
            c.cert.display(),
            c.key.display()
        )
    });
    let site = |t: &mut String, name: &str, hosts: &str, header: Option<u32>| {
        let _ = write!(
            t,
            "\n[[site]]\nname = \"{name}\"\nhosts = [{hosts}]\n{}  [[site.route]]\n  path = \"/\"\n  upstream = \"backend\"\n",
            tls.as_deref().unwrap_or("")
        );
        if let Some(v) = header {
            let _ = writeln!(
                t,
                "  request_headers = {{ set = {{ \"X-Bench-Variant\" = \"{v}\" }} }}"
            );
        }
    };
    if setup.sites == 0 {
        site(&mut t, "bench", "\"*\"", None);
    } else {
        for i in 0..setup.sites {
            let host = site_host(i);
            site(
                &mut t,
                &format!("site{i}"),
                &format!("\"{host}\", \"*.{host}\""),
                (i == 0).then_some(variant),
            );
        }
    }
    t
}
