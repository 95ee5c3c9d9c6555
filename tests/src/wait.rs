//! Waiting on facts, never on the clock.
//!
//! Every deadline derives from [`patience`], which `PROXYD_TEST_PATIENCE_MS`
//! stretches on slow machines (linkerd's `RUST_TEST_PATIENCE_MS` habit).

use std::future::Future;
use std::time::{Duration, Instant};

use crate::proxy::TestProxy;

const DEFAULT_PATIENCE_MS: u64 = 10_000;
const POLL: Duration = Duration::from_millis(20);

/// How long to wait for anything that should happen "soon": 10 s unless
/// `PROXYD_TEST_PATIENCE_MS` says otherwise.
pub fn patience() -> Duration {
    let ms = std::env::var("PROXYD_TEST_PATIENCE_MS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_PATIENCE_MS);
    Duration::from_millis(ms)
}

/// Polls `fact` until it holds or `deadline` passes; returns whether it held.
pub async fn eventually(deadline: Duration, mut fact: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if fact() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Like [`eventually`], for facts that need `.await` to check.
pub async fn eventually_async<F, Fut>(deadline: Duration, mut fact: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = Instant::now() + deadline;
    loop {
        if fact().await {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until the daemon's `status` reports `config.generation >= n`;
/// panics with the last status and the log tail otherwise.
pub async fn wait_for_generation(proxy: &TestProxy, n: u64) {
    let reached = eventually_async(patience(), || async move {
        proxy.try_generation().await.is_some_and(|g| g >= n)
    })
    .await;
    assert!(
        reached,
        "config generation never reached {n}; last status: {:?}\n{}",
        proxy.try_generation().await,
        proxy.log_tail(40)
    );
}
