//! Micro-benchmarks of proxyd's per-request decisions: routing a Host and a
//! path, and picking an upstream server.
//!
//! Run with `cargo bench -p proxyd --bench micro` (optionally a filter, e.g.
//! `-- routing`). These are divan benchmarks (`harness = false`): they are
//! compiled by `cargo clippy --all-targets` but never run by `cargo test`,
//! so the test suite stays deterministic. A regression shows as a number here,
//! never as a failed test. See `docs/performance.md`.

mod balance;
mod routing;

fn main() {
    divan::main();
}
