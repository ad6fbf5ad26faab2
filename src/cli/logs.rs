//! `hoist logs ENV`: the last lines of the environment's running tasks'
//! containers from CloudWatch Logs on stdout, and with `--follow` the new
//! ones until interrupted; notes (no tasks, another log driver, a read
//! refused) on stderr.

use crate::cli::args::{AwsArgs, ConfigFileArgs};
use anyhow::Result;
use clap::Args;
use hoist::ecs::{tail_logs, EcsClient, LogSink, LogsOptions, ServiceTarget};
use std::io::Write;

/// `hoist logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The environment ([env.NAME] in hoist.toml).
    pub env: String,
    #[command(flatten)]
    pub config: ConfigFileArgs,
    /// The last N lines of each container first (0: only new ones with --follow).
    #[arg(short = 'n', long, value_name = "N", default_value_t = 20)]
    pub lines: usize,
    /// Keep printing new lines (and new tasks' lines) until interrupted.
    #[arg(short, long)]
    pub follow: bool,
    /// With --follow: poll CloudWatch Logs this often.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub poll_interval: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Prints lines as `container/TASK | message`, TASK the first 12
/// characters of the task id (with `[service] ` first when the environment
/// has several).
struct Printer {
    several: bool,
}

impl LogSink for Printer {
    fn line(&self, service: &str, container: &str, task: &str, message: &str) {
        let short: String = task.chars().take(12).collect();
        let mut out = std::io::stdout().lock();
        let _ = if self.several {
            writeln!(out, "[{service}] {container}/{short} | {message}")
        } else {
            writeln!(out, "{container}/{short} | {message}")
        };
        let _ = out.flush();
    }

    fn note(&self, text: &str) {
        eprintln!("==> {text}");
    }
}

/// `hoist logs ENV`.
pub async fn run_logs(args: LogsArgs) -> Result<()> {
    let config = args.config.load()?;
    let env = config.environment(&args.env)?;
    let mut aws = args.aws.options();
    aws.region = aws.region.or_else(|| env.region.clone());
    aws.profile = aws.profile.or_else(|| env.profile.clone());
    let interval = humantime::parse_duration(&args.poll_interval).map_err(|_| {
        hoist::error::usage_hint(
            format!("--poll-interval {:?}: not a duration", args.poll_interval),
            "e.g. 2s, 500ms",
        )
    })?;
    let targets: Vec<ServiceTarget> = env
        .targets()
        .into_iter()
        .map(|t| ServiceTarget {
            cluster: env.cluster.clone(),
            service: t.service,
        })
        .collect();
    let printer = Printer {
        several: targets.len() > 1,
    };
    let client = EcsClient::new(&aws).await?;
    tail_logs(
        &client,
        &LogsOptions {
            targets,
            lines: args.lines,
            follow: args.follow,
            interval: interval.max(std::time::Duration::from_millis(100)),
        },
        &printer,
    )
    .await
}
