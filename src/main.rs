//! The `hoist` binary: parse the command line, run it on the process's one
//! async runtime, map errors to exit codes.

mod cli;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(cli::run(cli)));
    if let Err(error) = result {
        eprintln!("hoist: error: {}", hoist::error::one_line(&error));
        std::process::exit(hoist::error::exit_code(&error));
    }
}
