//! The `hoist` binary: parse, run, map errors to exit codes.

use clap::Parser;

fn main() {
    let cli = hoist::cli::Cli::parse();
    if let Err(error) = hoist::cli::run(cli) {
        eprintln!("hoist: error: {}", hoist::error::one_line(&error));
        std::process::exit(hoist::error::exit_code(&error));
    }
}
