//! `hoist verify ENV`: the environment's ECS setup checked before a deploy,
//! one line per check on stdout (`ok`, `problem`, `could not check`) and a
//! summary; `--json` for the report. Exit 2 when there is a problem.

use crate::cli::args::ConfigFileArgs;
use crate::cli::output::{emit, OutputArgs};
use anyhow::Result;
use clap::Args;
use hoist::error::usage_hint;

/// `hoist verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The environment ([env.NAME] in hoist.toml).
    pub env: String,
    #[command(flatten)]
    pub config: ConfigFileArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `hoist verify ENV`.
pub async fn run_verify(args: VerifyArgs) -> Result<()> {
    let config = args.config.load()?;
    let report = hoist::verify(&config, &args.env).await?;
    let mut human = report.lines().join("\n");
    if !human.is_empty() {
        human.push('\n');
    }
    human.push_str(&report.summary());
    emit(&report, &args.output, &[], &human)?;
    if report.problems > 0 {
        return Err(usage_hint(
            format!("{}: {}", report.summary(), report.problem_text()),
            format!("fix it, then run hoist verify {} again", args.env),
        ));
    }
    Ok(())
}
