//! The health port: `/health`, `/ready` and `/metrics`.
//!
//! `router(shared)` is a plain axum `Router`, testable without a socket.

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

/// Prometheus text exposition of [`crate::metrics::Metrics`].
async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::gauges::encode(&shared),
    )
}
