//! Scenarios, selectable by name, and what they share: the work dir, the
//! one backend, the CPU split, and starting a proxy until it answers.
//!
//! A scenario turns each selected proxy into one or more report rows. A
//! proxy that does not start or answer becomes a `Failed` row (or
//! `Unavailable`, where the scenario says so) and the run goes on; only a
//! broken tool or backend aborts the run.

mod idle;
mod sites;
mod traffic;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result};
use crate::procs::Server;
use crate::proxies::{self, nginx, CertFiles, Launch, Proxy, Setup};
use crate::report::Row;

/// How long a proxy may take to start answering.
const START_PATIENCE: Duration = Duration::from_secs(20);
/// Wrong answers in a row (port open, but no `hello`) before giving up.
const BAD_ANSWERS: u32 = 20;

/// A benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Small responses over HTTP/1.1 keep-alive (wrk).
    Keepalive,
    /// A new connection per request (wrk, `Connection: close`).
    Close,
    /// 1 MiB responses over keep-alive: throughput (wrk).
    Large,
    /// TLS 1.3 termination, HTTP/2 (h2load), keep-alive.
    Tls,
    /// A TLS 1.3 handshake per request, resuming the session (openssl
    /// s_time -reuse, one connection at a time).
    TlsResume,
    /// N idle keep-alive connections: memory per connection.
    Idle,
    /// 1 vs N sites: routing cost, memory, and proxyd reload time.
    Sites,
}

impl Scenario {
    /// Every scenario, in report order.
    pub const ALL: [Scenario; 7] = [
        Scenario::Keepalive,
        Scenario::Close,
        Scenario::Large,
        Scenario::Tls,
        Scenario::TlsResume,
        Scenario::Idle,
        Scenario::Sites,
    ];
}

/// Knobs of a run (see the CLI for their meaning and defaults).
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds of measured load per row.
    pub duration: u64,
    /// Seconds of unmeasured load before each row.
    pub warmup: u64,
    /// Load connections.
    pub connections: u32,
    /// Connections held open in the idle scenario.
    pub idle_connections: usize,
    /// Sites in the many-sites config.
    pub sites: usize,
    /// CPUs of the load generator and the backend.
    pub load_cpus: String,
    /// CPUs of the proxy under test.
    pub proxy_cpus: String,
    /// Peers add proxyd's headers (see `Setup::same_headers`).
    pub same_headers: bool,
}

/// What every scenario shares during one run.
#[derive(Debug)]
pub struct Bench {
    /// Knobs.
    pub opts: Options,
    /// Proxies to compare, in the order they run (proxyd first, unless
    /// `--repeat` gives the others a turn).
    pub proxies: Vec<Proxy>,
    /// The run's temp dir: configs, logs, raw tool output.
    pub work: PathBuf,
    /// The backend's address.
    pub backend: SocketAddr,
    /// proxyd binary.
    pub proxyd: PathBuf,
    /// proxyctl binary.
    pub proxyctl: PathBuf,
    /// Generated once, for the TLS scenario.
    certs: Option<CertFiles>,
    /// Keeps the backend running for the whole run.
    _backend: Server,
}

/// A proxy started for one row, answering on `url`.
#[derive(Debug)]
pub struct Running {
    /// The process group.
    pub server: Server,
    /// `http(s)://127.0.0.1:PORT/`.
    pub url: String,
    /// How it was started (config path, admin socket).
    pub launch: Launch,
    /// The setup it was given, minus borrowed parts.
    pub port: u16,
}

impl Bench {
    /// Starts the backend and waits until it answers.
    pub async fn new(
        opts: Options,
        proxies: Vec<Proxy>,
        work: PathBuf,
        proxyd: PathBuf,
        proxyctl: PathBuf,
    ) -> Result<Bench> {
        let backend: SocketAddr = ([127, 0, 0, 1], free_port()?).into();
        let dir = work.join("backend");
        let launch = nginx::prepare_backend(&dir, backend)?;
        let mut server = Server::spawn(
            "backend",
            &opts.load_cpus,
            &launch.program,
            &launch.args,
            dir.join("stdout.log"),
        )?;
        let url = format!("http://{backend}/");
        wait_ready(&mut server, &url, None).await?;
        Ok(Bench {
            opts,
            proxies,
            work,
            backend,
            proxyd,
            proxyctl,
            certs: None,
            _backend: server,
        })
    }

    /// Runs one scenario for every selected proxy.
    pub async fn run(&mut self, scenario: Scenario) -> Result<Vec<Row>> {
        match scenario {
            Scenario::Keepalive
            | Scenario::Close
            | Scenario::Large
            | Scenario::Tls
            | Scenario::TlsResume => traffic::run(self, scenario).await,
            Scenario::Idle => idle::run(self).await,
            Scenario::Sites => sites::run(self).await,
        }
    }

    /// The TLS certificate, generated on first use.
    pub fn certs(&mut self) -> Result<CertFiles> {
        if let Some(c) = &self.certs {
            return Ok(c.clone());
        }
        let dir = self.work.join("tls");
        std::fs::create_dir_all(&dir)?;
        let certs = CertFiles::generate(&dir)?;
        self.certs = Some(certs.clone());
        Ok(certs)
    }

    /// Starts `proxy` for the row `label` and waits until it answers `host`
    /// (or any host when `None`) with the backend's body.
    pub async fn start(
        &self,
        proxy: Proxy,
        label: &str,
        tls: Option<&CertFiles>,
        sites: usize,
        max_connections: usize,
        host: Option<&str>,
    ) -> Result<Running> {
        let dir = self.work.join(format!("{label}-{}", proxy.name()));
        let port = free_port()?;
        let setup = Setup {
            dir: &dir,
            port,
            tls,
            backend: self.backend,
            sites,
            max_connections,
            same_headers: self.opts.same_headers,
        };
        let launch = proxies::prepare(proxy, &setup, &self.proxyd)?;
        let mut server = Server::spawn(
            proxy.name(),
            &self.opts.proxy_cpus,
            &launch.program,
            &launch.args,
            dir.join("output.log"),
        )?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://127.0.0.1:{port}/");
        wait_ready(&mut server, &url, host).await?;
        Ok(Running {
            server,
            url,
            launch,
            port,
        })
    }

    /// A per-row file in the work dir.
    pub fn file(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `url` with curl until it returns the backend's body, the server
/// exits, it answers wrongly [`BAD_ANSWERS`] times, or patience runs out.
async fn wait_ready(server: &mut Server, url: &str, host: Option<&str>) -> Result<()> {
    let deadline = Instant::now() + START_PATIENCE;
    let mut bad = 0;
    let mut last = String::new();
    let not_ready = |server: &Server, reason: String| BenchError::NotReady {
        what: server.name().to_string(),
        reason: format!("{reason}; log tail:\n{}", server.log_tail()),
    };
    while Instant::now() < deadline {
        if let Some(status) = server.exited() {
            return Err(not_ready(
                server,
                format!("exited during start-up ({status})"),
            ));
        }
        let mut curl = tokio::process::Command::new("curl");
        curl.args(["-sSk", "--http1.1", "--max-time", "2", url]);
        if let Some(h) = host {
            curl.args(["-H", &format!("Host: {h}")]);
        }
        let out = curl
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|source| BenchError::Spawn {
                what: "curl".into(),
                source,
            })?;
        if out.status.success() && out.stdout == nginx::HELLO.as_bytes() {
            return Ok(());
        }
        // curl exit 7: nothing listens yet. Anything else is a wrong answer.
        if out.status.code() != Some(7) {
            bad += 1;
            last = format!(
                "curl {}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout)
                    .chars()
                    .take(200)
                    .collect::<String>()
            );
            if bad >= BAD_ANSWERS {
                return Err(not_ready(
                    server,
                    format!("answers wrongly on {url}: {last}"),
                ));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(not_ready(
        server,
        format!(
            "no answer on {url} within {} s {last}",
            START_PATIENCE.as_secs()
        ),
    ))
}

/// Where proxyd's siblings are: `--proxyd`, else next to this binary.
pub fn sibling_binary(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(name))
}

/// True when `path` is an existing file.
pub fn exists(path: &Path) -> bool {
    path.is_file()
}
