//! `hoist ship`, `hoist promote` and `hoist init`: the hoist.toml commands.
//! Flags and `HOIST_*` variables win over the file.

use crate::cli::args::{ConfigFileArgs, WaitArgs};
use crate::cli::output::{deploy_outputs, emit, image_outputs, OutputArgs};
use crate::cli::progress::RolloutDrawer;
use anyhow::Result;
use clap::Args;
use hoist::ecs::short_arn;
use hoist::{promote, ship, PromoteOptions, ShipOptions};
use std::path::PathBuf;

/// Which hoist.toml, and whether a protected environment is confirmed.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub file: ConfigFileArgs,
    /// Confirm a protected environment.
    #[arg(long)]
    pub yes: bool,
}

/// `hoist ship`.
#[derive(Debug, Args)]
pub struct ShipArgs {
    /// The environment ([env.NAME] in hoist.toml).
    pub env: String,
    /// Base image, instead of [image] from.
    #[arg(long, value_name = "IMAGE", env = "HOIST_FROM")]
    pub from: Option<String>,
    /// Target repository, instead of [image] to.
    #[arg(long, value_name = "REPOSITORY", env = "HOIST_TO")]
    pub to: Option<String>,
    /// Jar glob, instead of [image] jar.
    #[arg(long, value_name = "GLOB", env = "HOIST_JAR")]
    pub jar: Option<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Do not run the configured build ([image] build or gradle-task); pack the jar as it is.
    /// --skip-gradle is its older name.
    #[arg(long, alias = "skip-gradle")]
    pub skip_build: bool,
    /// Build without pushing and print every service's task-definition diff; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// When a service fails, roll back every service that reached the new revision.
    #[arg(long)]
    pub rollback_on_failure: bool,
    /// Do not check the environment's ECS setup (hoist verify) before registering anything.
    #[arg(long)]
    pub no_verify: bool,
    /// With keep-revisions: deregister old revisions hoist did not register too.
    #[arg(long)]
    pub all_revisions: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Layer cache directory (default: $XDG_CACHE_HOME/hoist or ~/.cache/hoist).
    #[arg(long, value_name = "DIR", env = "HOIST_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `hoist promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The environment whose running image is promoted.
    pub from: String,
    /// The environment it goes to.
    pub to: String,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// When a service fails, roll back every service that reached the new revision.
    #[arg(long)]
    pub rollback_on_failure: bool,
    /// Do not check TO's ECS setup (hoist verify) before copying or registering anything.
    #[arg(long)]
    pub no_verify: bool,
    /// With keep-revisions: deregister old revisions hoist did not register too.
    #[arg(long)]
    pub all_revisions: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `hoist init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing hoist.toml.
    #[arg(long)]
    pub force: bool,
}

/// `hoist ship ENV`.
pub async fn run_ship(args: ShipArgs) -> Result<()> {
    let mut config = args.config.file.load()?;
    // Flags (and HOIST_* variables) win over the file.
    if let Some(from) = &args.from {
        config.image.from = from.clone();
    }
    if let Some(to) = &args.to {
        config.image.to = to.clone();
    }
    if let Some(jar) = &args.jar {
        config.image.jar = Some(jar.clone());
    }
    let options = ShipOptions {
        env: args.env.clone(),
        yes: args.config.yes,
        wait: args.wait.options()?,
        skip_build: args.skip_build,
        cache_dir: args.cache_dir.clone().or_else(hoist::default_cache_dir),
        dry_run: args.dry_run,
        rollback_on_failure: args.rollback_on_failure,
        no_verify: args.no_verify,
        all_revisions: args.all_revisions,
    };
    let push_progress = crate::cli::progress::for_stderr();
    let rollout = RolloutDrawer::for_stderr();
    let mut report = None;
    let result = ship(
        &config,
        &options,
        push_progress.as_ref(),
        &rollout,
        &mut report,
    )
    .await;
    drop(rollout);
    crate::cli::summary::ship(report.as_ref(), result.is_ok());
    let report = match settled(report, &args.output, result) {
        Ok(report) => report,
        Err(done) => return done,
    };
    if args.dry_run {
        let mut diffs = String::new();
        for one in &report.released.services {
            diffs.push_str(&format!("--- service {} ---\n", one.service));
            match one.diff.as_deref() {
                Some("") | None => diffs.push_str("no change to the task definition\n"),
                Some(diff) => diffs.push_str(diff),
            }
        }
        return emit(&report, &args.output, &[], &diffs);
    }
    service_lines(&report.released.services);
    crate::cli::output::layer_details(&report.build);
    crate::cli::output::deploy_details(&report.released.deploy);
    let push = report.build.push.as_ref();
    crate::cli::progress::say(format_args!(
        "shipped {} to {}: {} ({} uploaded, {} mounted, {} already there), {} {}, {:.1} s in all",
        report.env,
        report.released.deploy.service,
        report.image,
        push.map_or(0, |p| p.uploaded),
        push.map_or(0, |p| p.mounted),
        push.map_or(0, |p| p.present),
        short_arn(&report.released.deploy.task_definition_arn),
        report.released.deploy.outcome,
        report.seconds
    ));
    emit(
        &report,
        &args.output,
        &[
            image_outputs(
                &report.image,
                report.build.digest.as_str(),
                &report.build.tags,
            ),
            deploy_outputs(&report.released.deploy),
        ]
        .concat(),
        &report.image,
    )
}

/// `hoist promote FROM TO`.
pub async fn run_promote(args: PromoteArgs) -> Result<()> {
    let config = args.config.file.load()?;
    let push_progress = crate::cli::progress::for_stderr();
    let rollout = RolloutDrawer::for_stderr();
    let mut report = None;
    let options = PromoteOptions {
        from: args.from.clone(),
        to: args.to.clone(),
        yes: args.config.yes,
        wait: args.wait.options()?,
        rollback_on_failure: args.rollback_on_failure,
        no_verify: args.no_verify,
        all_revisions: args.all_revisions,
    };
    let result = promote(
        &config,
        &options,
        push_progress.as_ref(),
        &rollout,
        &mut report,
    )
    .await;
    drop(rollout);
    drop(push_progress);
    crate::cli::summary::promote(report.as_ref(), result.is_ok());
    let report = match settled(report, &args.output, result) {
        Ok(report) => report,
        Err(done) => return done,
    };
    service_lines(&report.released.services);
    eprintln!(
        "promoted {} from {} to {}: {} as {}{}, {} {}, {:.1} s in all",
        report.digest,
        report.from,
        report.to,
        report.image,
        report.tags.join(", "),
        report.copy.as_ref().map_or(String::new(), |c| format!(
            " (copied: {} uploaded, {} mounted, {} already there)",
            c.uploaded, c.mounted, c.present
        )),
        short_arn(&report.released.deploy.task_definition_arn),
        report.released.deploy.outcome,
        report.seconds
    );
    emit(
        &report,
        &args.output,
        &[
            image_outputs(&report.image, report.digest.as_str(), &report.tags),
            deploy_outputs(&report.released.deploy),
        ]
        .concat(),
        &report.image,
    )
}

/// A report with services (ship's, promote's).
trait HasServices: serde::Serialize {
    fn services(&self) -> &[hoist::ecs::DeployReport];
}

impl HasServices for hoist::ShipReport {
    fn services(&self) -> &[hoist::ecs::DeployReport] {
        &self.released.services
    }
}

impl HasServices for hoist::PromoteReport {
    fn services(&self) -> &[hoist::ecs::DeployReport] {
        &self.released.services
    }
}

/// After ship or promote: the report when all went well; else what the
/// command returns — the error, after the report (every service's outcome)
/// was written and one line per service said.
fn settled<T: HasServices>(
    report: Option<T>,
    output: &OutputArgs,
    result: Result<()>,
) -> std::result::Result<T, Result<()>> {
    let Some(report) = report else {
        return Err(result);
    };
    crate::cli::output::timeline_lines(report.services());
    if let Err(error) = result {
        crate::cli::output::diagnosis_lines(report.services());
        service_lines(report.services());
        return Err(emit(&report, output, &[], "").and(Err(error)));
    }
    Ok(report)
}

/// One summary line per service of a release of several.
fn service_lines(services: &[hoist::ecs::DeployReport]) {
    if services.len() < 2 {
        return;
    }
    for one in services {
        crate::cli::progress::say(format_args!(
            "service {}: {}{} {}",
            one.service,
            one.outcome,
            one.rolled_back_by
                .map(|by| format!(" (by {})", format!("{by:?}").to_lowercase()))
                .unwrap_or_default(),
            short_arn(&one.task_definition_arn)
        ));
    }
}

/// `hoist init`.
pub fn run_init(args: InitArgs) -> Result<()> {
    hoist::init(args.force)
}
