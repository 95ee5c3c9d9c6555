//! nginx configs: the fixed backend every scenario uses, and nginx as a
//! proxy peer.
//!
//! The backend is one nginx worker answering `GET /` with `hello\n` and
//! `GET /static/1m` with a 1 MiB file; it is the same process for every row
//! of a run, so the work behind each proxy is identical. The proxy peer keeps
//! nginx's defaults except what makes it comparable: upstream keep-alive
//! (`keepalive 64`, HTTP/1.1, `Connection ""`), no `keepalive_requests` cap,
//! no access log. `proxy_buffering` stays on (the default), which matters
//! only for the 1 MiB scenario.

use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{site_host, write, Launch, Setup};
use crate::error::Result;

/// The backend's large response, served at [`LARGE_PATH`].
pub const LARGE_BYTES: usize = 1 << 20;
/// Path of the 1 MiB response.
pub const LARGE_PATH: &str = "/static/1m";
/// Body of every small response; readiness probes expect it.
pub const HELLO: &str = "hello\n";

/// nginx settings every instance shares: foreground, own pid and temp paths.
fn preamble(dir: &Path, workers: usize) -> String {
    let d = dir.display();
    format!(
        "worker_processes 1;\ndaemon off;\nmaster_process on;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\nworker_rlimit_nofile {files};\n\
         events {{ worker_connections {workers}; }}\n",
        files = workers * 2 + 64,
    )
}

fn temp_paths(dir: &Path) -> String {
    let d = dir.display();
    ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        .iter()
        .map(|k| format!("    {k}_temp_path {d}/tmp_{k};\n"))
        .collect()
}

/// Writes the backend's config and body file; returns how to start it.
pub fn prepare_backend(dir: &Path, addr: SocketAddr) -> Result<Launch> {
    fs::create_dir_all(dir.join("static"))?;
    let body: Vec<u8> = (0..LARGE_BYTES).map(|i| b'a' + (i % 26) as u8).collect();
    fs::write(dir.join("static/1m"), body)?;
    let text = format!(
        "# proxyd-bench backend: fixed, fast origin shared by every row\n{}http {{\n\
         access_log off;\ndefault_type text/plain;\nsendfile on;\n{}\
         keepalive_requests 1000000;\nkeepalive_timeout 75s;\n\
         server {{\n  listen {addr} backlog=4096;\n  root {root};\n\
         location / {{ return 200 \"{hello}\"; }}\n  location /static/ {{ }}\n}}\n}}\n",
        preamble(dir, 4096),
        temp_paths(dir),
        root = dir.display(),
        hello = HELLO.escape_default(),
    );
    launch(dir, &text)
}

/// Writes nginx's proxy config for `setup`.
pub(super) fn prepare_proxy(setup: &Setup<'_>) -> Result<Launch> {
    // Listen options (backlog, ssl, http2) may appear on one server only.
    let options = |first: bool| if first { " backlog=4096" } else { "" };
    let listen = |first: bool| match setup.tls {
        Some(c) => format!(
            "listen 127.0.0.1:{} ssl http2{};\n  ssl_certificate {};\n  \
             ssl_certificate_key {};\n  ssl_protocols TLSv1.2 TLSv1.3;\n  \
             ssl_session_cache shared:SSL:1m;\n",
            setup.port,
            options(first),
            c.cert.display(),
            c.key.display()
        ),
        None => format!("listen 127.0.0.1:{}{};\n", setup.port, options(first)),
    };
    let headers = if setup.same_headers {
        "    proxy_set_header Host $http_host;\n    \
         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    \
         proxy_set_header X-Forwarded-Proto $scheme;\n    \
         proxy_set_header X-Forwarded-Host $http_host;\n    \
         proxy_set_header X-Real-IP $remote_addr;\n    \
         proxy_set_header X-Request-Id $request_id;\n    \
         add_header X-Request-Id $request_id always;\n"
    } else {
        ""
    };
    let location = format!(
        "  location / {{\n    proxy_pass http://backend;\n    \
         proxy_http_version 1.1;\n    proxy_set_header Connection \"\";\n{headers}  }}\n"
    );
    let mut text = format!(
        "{}http {{\n{}access_log off;\nkeepalive_requests 1000000;\nkeepalive_timeout 75s;\n\
         server_names_hash_max_size 65536;\nserver_names_hash_bucket_size 128;\n\
         upstream backend {{\n  server {};\n  keepalive 64;\n  keepalive_requests 1000000;\n}}\n",
        // nginx counts upstream connections against worker_connections too.
        preamble(setup.dir, setup.max_connections * 2 + 64),
        temp_paths(setup.dir),
        setup.backend,
    );
    if setup.sites == 0 {
        let _ = write!(text, "server {{\n  {}{location}}}\n", listen(true));
    } else {
        for i in 0..setup.sites {
            let host = site_host(i);
            let _ = write!(
                text,
                "server {{\n  {}  server_name {host} *.{host};\n{location}}}\n",
                listen(i == 0)
            );
        }
    }
    text.push_str("}\n");
    launch(setup.dir, &text)
}

fn launch(dir: &Path, text: &str) -> Result<Launch> {
    let config: PathBuf = dir.join("nginx.conf");
    write(&config, text)?;
    Ok(Launch {
        program: "nginx".into(),
        args: vec![
            "-p".into(),
            dir.display().to_string(),
            "-c".into(),
            config.display().to_string(),
            "-e".into(),
            dir.join("error.log").display().to_string(),
        ],
        config,
        admin_socket: None,
    })
}
