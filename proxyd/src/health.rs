//! The health port: `/health`, `/ready` and `/metrics`.
//!
//! `router(shared)` is a plain axum `Router`, testable without a socket.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::Shared;

/// The health port's routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(shared)
}

async fn health(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    Json(json!({
        "status": "ok",
        "generation": shared.generation(),
        "draining": shared.draining.load(Ordering::Acquire),
    }))
}

async fn ready(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let ready = shared.ready.load(Ordering::Acquire);
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(json!({ "ready": ready })))
}

/// The skeleton's metrics: request count, config generation and open
/// connections. The full SPEC §9 set comes with the metrics work.
async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP proxyd_requests_total Requests answered since start."
    );
    let _ = writeln!(out, "# TYPE proxyd_requests_total counter");
    let _ = writeln!(
        out,
        "proxyd_requests_total {}",
        shared.requests_total.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP proxyd_config_generation The running config generation."
    );
    let _ = writeln!(out, "# TYPE proxyd_config_generation gauge");
    let _ = writeln!(out, "proxyd_config_generation {}", shared.generation());
    let _ = writeln!(
        out,
        "# HELP proxyd_active_connections Open client connections."
    );
    let _ = writeln!(out, "# TYPE proxyd_active_connections gauge");
    let _ = writeln!(out, "proxyd_active_connections {}", shared.shutdown.live());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
