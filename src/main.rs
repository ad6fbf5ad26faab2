//! The `hoist` binary: parse the command line, run it on the process's one
//! async runtime, map errors to exit codes. SIGINT and SIGTERM end the run
//! here: the library removes this process's temporary files (and lets no
//! output be renamed into place after that), then hoist exits 130 or 143.

mod cli;

use clap::Parser;
use tokio::signal::unix::{signal, Signal, SignalKind};

fn main() {
    let cli = cli::Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            runtime.block_on(async {
                // Listening before any work starts, on a worker thread: the
                // command's own thread may be busy writing layers.
                let interrupt = signal(SignalKind::interrupt())?;
                let terminate = signal(SignalKind::terminate())?;
                tokio::spawn(exit_on_signal(interrupt, terminate));
                cli::run(cli).await
            })
        });
    if let Err(error) = result {
        eprintln!("hoist: error: {}", hoist::error::one_line(&error));
        std::process::exit(hoist::error::exit_code(&error));
    }
}

/// Waits for SIGINT or SIGTERM, removes this process's temporary files and
/// exits 128 + the signal's number.
async fn exit_on_signal(mut interrupt: Signal, mut terminate: Signal) {
    let (name, code) = tokio::select! {
        _ = interrupt.recv() => ("SIGINT", 130),
        _ = terminate.recv() => ("SIGTERM", 143),
    };
    let removed = hoist::remove_temp_files_and_hold();
    eprintln!("hoist: interrupted ({name}); removed {removed} temporary files and directories");
    std::process::exit(code);
}
