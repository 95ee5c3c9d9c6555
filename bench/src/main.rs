//! `proxyd-bench`: measures proxyd side by side with nginx and HAProxy.
//!
//! Run with `cargo run -p proxyd-bench -- --help`; the method and the
//! targets are in `docs/performance.md`.
//!
//! # Layout
//! - `cli`: the command line.
//! - `scenario`: the scenarios (`traffic`, `idle`, `sites`) and the shared
//!   run context (backend, work dir, starting a proxy until it answers).
//! - `proxies`: equivalent configs for proxyd, nginx (also the backend) and
//!   HAProxy.
//! - `procs`: pinned server processes, tracked by PID, always stopped.
//! - `load`: wrk and h2load runs and their output parsers.
//! - `measure`: CPU ticks and RSS of a process group from `/proc`.
//! - `report`: the results table with ratios to proxyd.
//! - `error`: `BenchError`.

mod cli;
mod error;
mod load;
mod measure;
mod procs;
mod proxies;
mod report;
mod run;
mod scenario;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("proxyd-bench: starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run::main(cli)) {
        Ok(code) => code,
        Err(e @ error::BenchError::Interrupted) => {
            eprintln!("proxyd-bench: {e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("proxyd-bench: {:#}", anyhow::Error::from(e));
            ExitCode::from(1)
        }
    }
}
