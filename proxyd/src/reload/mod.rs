//! Reload: read → validate → build → bind new listeners → swap.
//!
//! One code path for SIGHUP, the admin `reload` command and `watch_config`
//! (`crate::watch`). Reloads are serialized by `Shared::reload_lock`; one requested
//! while another runs waits, then reads the file anew. Any failure before
//! the swap leaves the running generation untouched.

pub mod diff;

use std::sync::Arc;
use std::time::SystemTime;

use proxyd_protocol::ReloadBody;

use crate::config;
use crate::metrics::ResultLabels;
use crate::notify;
use crate::snapshot::Snapshot;
use crate::state::{ReloadRecord, Shared};

/// A rejected reload.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ReloadError {
    /// Why, with `file:line:col` for config errors (one per line).
    pub message: String,
    /// The generation still running.
    pub generation: u64,
}

/// Reloads the config file and swaps it in, or explains why not.
pub async fn reload(shared: &Arc<Shared>) -> Result<ReloadBody, ReloadError> {
    let _serial = shared.reload_lock.lock().await;
    notify::reloading();
    let result = apply(shared).await;
    let record = match &result {
        Ok(body) => {
            tracing::info!(
                generation = body.generation,
                warnings = body.warnings.len(),
                "config reloaded"
            );
            for w in &body.warnings {
                tracing::warn!("{w}");
            }
            ReloadRecord {
                at: SystemTime::now(),
                ok: true,
                message: (!body.warnings.is_empty()).then(|| body.warnings.join("\n")),
            }
        }
        Err(e) => {
            tracing::error!(
                generation = e.generation,
                "reload rejected, the running config stays:\n{}",
                e.message
            );
            ReloadRecord {
                at: SystemTime::now(),
                ok: false,
                message: Some(e.message.clone()),
            }
        }
    };
    let m = &shared.metrics;
    let labels = ResultLabels {
        result: if record.ok { "ok" } else { "error" },
    };
    m.config_reloads.get_or_create(&labels).inc();
    m.config_last_reload_successful.set(i64::from(record.ok));
    m.config_generation
        .set(i64::try_from(shared.generation()).unwrap_or(i64::MAX));
    *shared.last_reload.lock().unwrap_or_else(|e| e.into_inner()) = Some(record);
    notify::ready(shared, result.as_ref().err().map(|e| e.message.as_str()));
    result
}

async fn apply(shared: &Arc<Shared>) -> Result<ReloadBody, ReloadError> {
    let old = shared.snapshot.load_full();
    let fail = |message: String| ReloadError {
        message,
        generation: old.generation,
    };
    let path = shared.config_path.clone();
    let loaded = tokio::task::spawn_blocking(move || config::load(&path))
        .await
        .map_err(|e| fail(format!("internal error while loading the config: {e}")))?
        .map_err(|e| fail(e.to_string()))?;

    let file = loaded.path.display().to_string();
    let mut warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    warnings.extend(diff::static_warnings(
        &shared.startup_config,
        &loaded.config,
        &file,
    ));

    let pending = shared
        .listeners
        .bind_new(&loaded.config)
        .await
        .map_err(|e| fail(format!("{e}: {}", e.source)))?;
    let config = Arc::new(loaded.config);
    let snap = Snapshot::build(
        config.clone(),
        loaded.sha256,
        old.generation + 1,
        &shared.registry,
        &shared.metrics,
    )
    .map_err(|e| fail(e.to_string()))?;
    // TLS: load the new config's certificates before the swap; a failure
    // rejects the reload and the running certificates stay.
    let tls = shared.tls.prepare(&snap).map_err(|e| fail(e.to_string()))?;
    let changes = diff::changes(&old.config, &config);
    let generation = snap.generation;

    shared.tls.install(tls, &shared.metrics);
    shared.snapshot.store(Arc::new(snap));
    let stopping = shared.listeners.activate(shared, pending, &config);
    shared.registry.retain(&config);
    crate::upstream::health::plan(shared);
    // Freeing the old generation (thousands of sites) is not the caller's
    // wait: it happens beside the reply (or later, when the last request
    // holding it ends).
    tokio::task::spawn_blocking(move || drop(old));
    // Addresses that switched kind or went away: once the reply is out,
    // their old accept loops accept nothing more.
    stopping.ended().await;
    Ok(ReloadBody {
        generation,
        changes,
        warnings,
    })
}
