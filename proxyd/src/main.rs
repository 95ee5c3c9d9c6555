//! The `proxyd` binary: parse the command line, load the config, run.

use std::process::ExitCode;

use clap::Parser;
use proxyd::cli::{Cli, LogFormatArg};
use proxyd::config::{self, LogFormat};

/// mimalloc, not glibc's malloc: a proxied request makes about nine
/// allocations, on which glibc spent 1.6× mimalloc's instructions and
/// showed `malloc_consolidate` in profiles (docs/performance.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();

    let loaded = match config::load(&cli.config) {
        Ok(loaded) => loaded,
        Err(e) => {
            for d in e.errors.iter() {
                eprintln!("error: {d}");
            }
            for d in e.warnings.iter() {
                eprintln!("warning: {d}");
            }
            // A file that cannot be read is one sentence; a file with
            // mistakes gets a count after its list of positions.
            if e.errors.iter().any(|d| d.line > 0) {
                eprintln!(
                    "proxyd: {} is invalid ({} error{})",
                    cli.config.display(),
                    e.errors.len(),
                    if e.errors.len() == 1 { "" } else { "s" }
                );
            }
            // Unusable certificate files are a configuration mistake for
            // --check (exit 1), but a TLS initialisation failure when
            // starting (exit 4, SPEC §3).
            if e.tls_only && !cli.check {
                eprintln!(
                    "proxyd: TLS initialisation failed: certificate or key files are unusable"
                );
                return ExitCode::from(4);
            }
            return ExitCode::from(1);
        }
    };
    if cli.check {
        for d in &loaded.warnings {
            eprintln!("warning: {d}");
        }
        println!("{}: config OK", cli.config.display());
        return ExitCode::SUCCESS;
    }

    let format = match cli.log_format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        Some(LogFormatArg::Text) => LogFormat::Text,
        None => loaded.config.runtime.log_format,
    };
    proxyd::logging::init(format, &loaded.config.runtime.log_level);

    // One worker: tokio's current-thread scheduler does the same work
    // without the work-stealing machinery (no other worker to steal from).
    let mut rt = match loaded.config.runtime.worker_threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    rt.enable_all();
    if loaded.config.runtime.worker_threads > 1 {
        rt.worker_threads(loaded.config.runtime.worker_threads);
    }
    let rt = match rt.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("proxyd: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(proxyd::startup::run(loaded, cli.config.clone()));
    // Connections still open after the drain budget are cut here.
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line naming the culprit (the logs already went to stderr).
            eprintln!("proxyd: {}", proxyd::logging::chain(&e));
            ExitCode::from(e.exit_code())
        }
    }
}
