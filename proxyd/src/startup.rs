//! The ordered, fail-fast startup of SPEC §3, and the run until shutdown.
//!
//! parse + validate (done by the caller) → shared state → bind health port
//! → bind admin socket → bind every listener → load TLS → start accepting
//! → background tasks → ready. No connection is accepted before every port
//! is bound.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::admin::{self, Allowed};
use crate::config::{ConfigError, Loaded};
use crate::listener::{BindError, ListenerSet};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::snapshot::Snapshot;
use crate::state::Shared;
use crate::upstream::Registry;
use crate::{health, notify, reload, watch};

/// Why startup failed; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The config is invalid (exit 1).
    #[error("invalid config:\n{0}")]
    Config(#[from] ConfigError),
    /// A listener port could not be bound (exit 3).
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The health port could not be bound (exit 3).
    #[error("binding the health port on {addr}")]
    Health {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The admin socket could not be set up (exit 3).
    #[error(transparent)]
    Admin(#[from] admin::AdminError),
    /// TLS or ACME could not be initialised (exit 4).
    #[error("initialising TLS: {0}")]
    Tls(String),
    /// Signal handlers could not be installed (exit 1).
    #[error("installing signal handlers")]
    Signals(#[source] std::io::Error),
    /// The validated config could not be compiled (exit 1).
    #[error("{0}")]
    Build(#[from] crate::snapshot::BuildError),
}

impl StartupError {
    /// The process exit code (SPEC §3).
    pub fn exit_code(&self) -> u8 {
        match self {
            StartupError::Config(_) | StartupError::Signals(_) | StartupError::Build(_) => 1,
            StartupError::Bind(_) | StartupError::Health { .. } | StartupError::Admin(_) => 3,
            StartupError::Tls(_) => 4,
        }
    }
}

/// Runs the daemon until a graceful shutdown completes.
pub async fn run(loaded: Loaded, config_path: PathBuf) -> Result<(), StartupError> {
    // Signals first, so a SIGTERM during startup is handled, not fatal.
    let mut sigterm = signal(SignalKind::terminate()).map_err(StartupError::Signals)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(StartupError::Signals)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(StartupError::Signals)?;

    // Shared state.
    let registry = Registry::default();
    let config = Arc::new(loaded.config);
    let metrics = Metrics::default();
    let snapshot = Snapshot::build(config.clone(), loaded.sha256, 1, &registry, &metrics)?;
    let shared = Arc::new(Shared {
        snapshot: ArcSwap::from_pointee(snapshot),
        registry,
        reload_lock: tokio::sync::Mutex::new(()),
        config_path,
        startup_config: (*config).clone(),
        access_log: config.runtime.access_log,
        started: Instant::now(),
        ready: AtomicBool::new(false),
        draining: AtomicBool::new(false),
        requests_total: AtomicU64::new(0),
        last_reload: Mutex::new(None),
        listeners: ListenerSet::default(),
        shutdown: Shutdown::default(),
        metrics,
        limits: Default::default(),
        tls: crate::tls::Tls::default(),
    });
    shared.metrics.config_generation.set(1);
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }

    // Health port.
    let health = match config.health.listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartupError::Health { addr, source })?,
        ),
        None => None,
    };

    // Admin socket.
    let admin = admin::bind(&config.admin).await?;

    // Every listener port.
    let pending = shared.listeners.bind_new(&config).await?;

    // TLS: certificates, ACME storage and account key (exit 4 on failure).
    crate::tls::start(&shared).map_err(|e| StartupError::Tls(e.to_string()))?;

    // Start accepting.
    // Nothing was running yet, so nothing stops.
    let _ = shared.listeners.activate(&shared, pending, &config);

    // Background tasks.
    crate::upstream::health::plan(&shared);
    crate::limit::spawn_eviction(&shared);
    if let Some(listener) = health {
        let app = health::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "health port stopped");
            }
        });
    }
    let mut socket_file = None;
    if let Some(admin) = admin {
        tracing::info!(socket = %admin.path().display(), "admin socket ready");
        let allowed = Allowed::resolve(&config.admin.allowed_users, &config.admin.allowed_groups);
        socket_file = Some(admin.spawn(shared.clone(), allowed));
    }
    if config.runtime.watch_config {
        watch::spawn(shared.clone());
    }
    notify::spawn_watchdog();

    shared.ready.store(true, Ordering::Release);
    notify::ready(&shared, None);
    tracing::info!(
        generation = 1,
        sites = config.sites.len(),
        listeners = config.listeners.len(),
        "proxyd ready"
    );

    loop {
        tokio::select! {
            _ = sighup.recv() => {
                tracing::info!("SIGHUP: reloading");
                let shared = shared.clone();
                // Errors are logged and recorded by reload itself.
                tokio::spawn(async move { let _ = reload::reload(&shared).await; });
            }
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
        }
    }

    // Graceful shutdown.
    tracing::info!("shutting down: no new connections, draining");
    notify::stopping();
    shared.ready.store(false, Ordering::Release);
    shared.draining.store(true, Ordering::Release);
    shared.listeners.stop_all();
    shared.shutdown.begin();
    let budget = shared.startup_config.runtime.drain_timeout;
    tokio::select! {
        left = shared.shutdown.drain(budget) => {
            if left > 0 {
                tracing::warn!(connections = left, ?budget, "drain budget spent; closing what is left");
            } else {
                tracing::info!("drained; bye");
            }
        }
        _ = sigterm.recv() => tracing::warn!("second signal: exiting now"),
        _ = sigint.recv() => tracing::warn!("second signal: exiting now"),
    }
    if let Some(file) = socket_file {
        file.remove();
    }
    Ok(())
}
