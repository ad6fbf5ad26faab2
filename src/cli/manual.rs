//! `hoist completions SHELL` and `hoist man`: shell completion scripts
//! (clap_complete) and the man page (clap_mangen), both generated from the
//! same clap definitions as the command line itself, so they never drift.

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;
use std::io::Write;

/// The shells hoist writes completions for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CompletionShell {
    /// bash: `source <(hoist completions bash)`.
    Bash,
    /// zsh: write it to a directory on `$fpath` as `_hoist`.
    Zsh,
    /// fish: write it to `~/.config/fish/completions/hoist.fish`.
    Fish,
}

/// `hoist completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: CompletionShell,
}

/// Writes the completion script for the shell to stdout.
pub fn run_completions(args: CompletionsArgs) -> Result<()> {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut command = crate::cli::Cli::command();
    // Into memory first: clap_complete panics when its writer fails (a
    // closed pipe), hoist reports it instead.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "hoist", &mut script);
    std::io::stdout()
        .write_all(&script)
        .context("writing the completion script")
}

/// Writes the man page (roff) to stdout.
pub fn run_man() -> Result<()> {
    let mut roff = Vec::new();
    clap_mangen::Man::new(crate::cli::Cli::command())
        .render(&mut roff)
        .context("rendering the man page")?;
    std::io::stdout()
        .write_all(&roff)
        .context("writing the man page")
}
