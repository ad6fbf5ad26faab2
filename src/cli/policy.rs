//! `hoist policy ENV`: prints the least-privilege IAM policy (JSON) for the
//! role that runs `ship`, `promote`, `verify`, `logs` and `status` for one
//! environment of hoist.toml, ready for `aws iam put-role-policy`.

use crate::cli::args::ConfigFileArgs;
use anyhow::{Context, Result};
use clap::Args;

/// `hoist policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The environment ([env.NAME] in hoist.toml).
    pub env: String,
    #[command(flatten)]
    pub config: ConfigFileArgs,
}

/// `hoist policy ENV`.
pub async fn run_policy(args: PolicyArgs) -> Result<()> {
    let config = args.config.load()?;
    let policy = hoist::environment_policy(&config, &args.env).await?;
    let text = serde_json::to_string_pretty(&policy).context("writing the policy")?;
    println!("{text}");
    Ok(())
}
