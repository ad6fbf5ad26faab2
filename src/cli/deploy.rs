//! `hoist deploy`, `hoist rollback` and `hoist status`: flags in, ECS calls
//! through the library, results out (stdout carries the result; progress and
//! service events go to stderr).

use crate::cli::args::{
    key_values, AwsArgs, CodeDeployArgs, ConfigFileArgs, RegistryArgs, ServiceArgs, WaitArgs,
};
use crate::cli::output::{deploy_outputs, emit, OutputArgs};
use crate::cli::progress::RolloutDrawer;
use anyhow::{Context, Result};
use clap::Args;
use hoist::ecs::{
    deploy, rollback, service_status, short_arn, DeployOptions, DeployReport, EcsClient,
    ServiceStatus, ServiceTarget, TaskDefinitionPatch,
};
use hoist::registry::ImageReference;
use hoist::RegistryAccess;
use std::io::Write;

/// `hoist deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
    /// The container whose image is replaced.
    #[arg(long, value_name = "NAME")]
    pub container: String,
    /// The image: REGISTRY/REPO@sha256:… or REGISTRY/REPO:TAG (resolved to its digest).
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// Environment variable for the container, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Secret for the container, NAME=ARN (repeatable; ECS injects it at run time).
    #[arg(long = "secret", value_name = "NAME=ARN")]
    pub secrets: Vec<String>,
    /// Start from this family's latest revision instead of the service's task definition.
    #[arg(long, value_name = "FAMILY", conflicts_with = "task_definition")]
    pub task_family: Option<String>,
    /// Start from this task definition file (as kept in a repository, or DescribeTaskDefinition's output).
    #[arg(long, value_name = "FILE")]
    pub task_definition: Option<std::path::PathBuf>,
    /// Start new tasks even if the task definition did not change.
    #[arg(long)]
    pub force_new_deployment: bool,
    /// Print the task-definition diff and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// When the rollout fails, put the previous task definition back and wait for it.
    #[arg(long)]
    pub rollback_on_failure: bool,
    #[command(flatten)]
    pub codedeploy: CodeDeployArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `hoist rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
    /// The revision to go back to (default: the one before the current).
    #[arg(long, value_name = "N")]
    pub to_revision: Option<i64>,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub codedeploy: CodeDeployArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `hoist status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Every service of this environment of hoist.toml (the same as --env).
    #[arg(value_name = "ENV", conflicts_with_all = ["cluster", "service", "env"])]
    pub env_name: Option<String>,
    /// ECS cluster name or ARN (or give ENV).
    #[arg(long, value_name = "CLUSTER", required_unless_present_any = ["env", "env_name"])]
    pub cluster: Option<String>,
    /// ECS service name or ARN (or give ENV).
    #[arg(long, value_name = "SERVICE", required_unless_present_any = ["env", "env_name"])]
    pub service: Option<String>,
    /// Every service of this environment of hoist.toml instead.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["cluster", "service"])]
    pub env: Option<String>,
    /// The last N log lines of each latest stopped task's essential containers (0: none).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub log_lines: usize,
    /// The config file (with ENV or --env).
    #[command(flatten)]
    pub config: ConfigFileArgs,
    #[command(flatten)]
    pub codedeploy: CodeDeployArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The image reference pinned by digest, resolving a tag through the registry.
async fn pin_image(args: &DeployArgs) -> Result<String> {
    let reference = ImageReference::parse(&args.image).context("--image")?;
    if let Some(digest) = &reference.digest {
        return Ok(reference.pinned(digest));
    }
    let blob_dir = tempfile::tempdir().context("creating a scratch directory")?;
    let mut client = args.registry.client_options()?;
    client.aws = args.aws.options();
    let access = RegistryAccess::new(client, blob_dir.path().to_path_buf(), false)?;
    access
        .pin(&reference)
        .await
        .with_context(|| format!("resolving --image {} to a digest", args.image))
}

/// Writes a deploy's report (also on failure, so CI sees why) and prints the
/// result: the diff of a dry run, else the task definition deployed; on
/// failure the last service events go to stderr.
fn finish(report: &DeployReport, output: &OutputArgs, result: Result<()>) -> Result<()> {
    let human = match (&report.diff, &result) {
        (Some(diff), _) if diff.is_empty() => "no change to the task definition\n".to_string(),
        (Some(diff), _) => diff.clone(),
        (None, Ok(())) => report.task_definition_arn.clone(),
        (None, Err(_)) => String::new(),
    };
    crate::cli::output::deploy_details(report);
    crate::cli::output::timeline_lines(std::slice::from_ref(report));
    emit(report, output, &deploy_outputs(report), &human)?;
    if let (Err(_), false) = (&result, output.json) {
        for event in report.last_events.iter().rev() {
            eprintln!("event  {event}");
        }
    }
    if result.is_err() {
        crate::cli::output::diagnosis_lines(std::slice::from_ref(report));
    }
    result
}

/// `hoist deploy`.
pub async fn run_deploy(args: DeployArgs) -> Result<()> {
    let image = pin_image(&args).await?;
    let options = DeployOptions {
        target: args.service.target(),
        patch: TaskDefinitionPatch {
            container: args.container.clone(),
            more_containers: Vec::new(),
            image,
            environment: key_values("--env", &args.env)?,
            secrets: key_values("--secret", &args.secrets)?,
        },
        task_family: args.task_family.clone(),
        task_definition_file: args
            .task_definition
            .as_deref()
            .map(hoist::ecs::TaskDefinitionFile::read)
            .transpose()?,
        force_new_deployment: args.force_new_deployment,
        dry_run: args.dry_run,
        wait: args.wait.options()?,
        rollback_on_failure: args.rollback_on_failure,
        codedeploy: args.codedeploy.names(),
    };
    let drawer = RolloutDrawer::for_stderr();
    let mut report = DeployReport::default();
    let result = async {
        let client = EcsClient::new(&args.aws.options()).await?;
        deploy(&client, &options, &drawer, &mut report).await
    }
    .await;
    drop(drawer);
    crate::cli::summary::deploy("deploy", &report, result.is_ok());
    finish(&report, &args.output, result)
}

/// `hoist rollback`.
pub async fn run_rollback(args: RollbackArgs) -> Result<()> {
    let wait = args.wait.options()?;
    let drawer = RolloutDrawer::for_stderr();
    let mut report = DeployReport::default();
    let result = async {
        let client = EcsClient::new(&args.aws.options()).await?;
        rollback(
            &client,
            &args.service.target(),
            args.to_revision,
            wait,
            &args.codedeploy.names(),
            &drawer,
            &mut report,
        )
        .await
    }
    .await;
    drop(drawer);
    crate::cli::summary::deploy("rollback", &report, result.is_ok());
    finish(&report, &args.output, result)
}

/// The tags naming each pinned image of `containers` (`name=image`), or why
/// they could not be read: one entry per image, in order.
async fn running_tags(args: &StatusArgs, containers: &[String]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let access = async {
        let mut client = args.registry.client_options()?;
        client.aws = args.aws.options();
        let dir = tempfile::tempdir().context("creating a scratch directory")?;
        let access = RegistryAccess::new(client, dir.path().to_path_buf(), false)?;
        anyhow::Ok((dir, access))
    }
    .await;
    let Ok((_dir, access)) = access else {
        return found;
    };
    for container in containers {
        let image = container
            .split_once('=')
            .map_or(container.as_str(), |(_, i)| i);
        let Some(reference) = ImageReference::parse(image)
            .ok()
            .filter(|r| r.digest.is_some())
        else {
            continue;
        };
        let tags = match access.tags_of(&reference).await {
            Ok(None) => "(not in the repository: deleted or expired?)".to_string(),
            Ok(Some(tags)) if tags.is_empty() => "(untagged)".to_string(),
            Ok(Some(tags)) => tags.join(", "),
            Err(e) => format!("? ({})", hoist::error::one_line(&e)),
        };
        found.push((image.to_string(), tags));
    }
    found
}

/// `hoist status`: one service, or every service of an environment.
pub async fn run_status(args: StatusArgs) -> Result<()> {
    let mut aws = args.aws.options();
    let mut codedeploy = args.codedeploy.names();
    let env_name = args.env.clone().or_else(|| args.env_name.clone());
    let targets: Vec<ServiceTarget> = match &env_name {
        Some(name) => {
            let config = args.config.load()?;
            let env = config.environment(name)?;
            aws.region = aws.region.or_else(|| env.region.clone());
            aws.profile = aws.profile.or_else(|| env.profile.clone());
            codedeploy.application = codedeploy
                .application
                .or_else(|| env.codedeploy_application.clone());
            codedeploy.deployment_group = codedeploy
                .deployment_group
                .or_else(|| env.codedeploy_group.clone());
            env.targets()
                .into_iter()
                .map(|t| ServiceTarget {
                    cluster: env.cluster.clone(),
                    service: t.service,
                })
                .collect()
        }
        None => vec![ServiceTarget {
            cluster: args.cluster.clone().unwrap_or_default(),
            service: args.service.clone().unwrap_or_default(),
        }],
    };
    let client = EcsClient::new(&aws).await?;
    let mut values = Vec::new();
    let mut text = String::new();
    for target in &targets {
        let (value, human) = one_status(&args, &client, target, &codedeploy).await?;
        values.push(value);
        text.push_str(&human);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = match &env_name {
            Some(name) => serde_json::json!({"env": name, "services": values}),
            None => values.remove(0),
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        write!(out, "{text}")?;
    }
    Ok(())
}

/// One service's status as JSON and as text.
async fn one_status(
    args: &StatusArgs,
    client: &EcsClient,
    target: &ServiceTarget,
    codedeploy: &hoist::ecs::CodeDeployNames,
) -> Result<(serde_json::Value, String)> {
    use std::fmt::Write as _;
    let ServiceStatus {
        snapshot,
        images,
        codedeploy,
    } = service_status(client, target, codedeploy).await?;
    let running = images
        .get(&snapshot.task_definition)
        .cloned()
        .unwrap_or_default();
    let tags = running_tags(args, &running).await;
    let deployments: Vec<serde_json::Value> = snapshot
        .deployments
        .iter()
        .map(|d| {
            serde_json::json!({
                "id": d.id, "status": d.status, "taskDefinitionArn": d.task_definition,
                "rolloutState": d.rollout_state, "running": d.running, "pending": d.pending,
                "desired": d.desired, "failed": d.failed, "images": images.get(&d.task_definition),
            })
        })
        .collect();
    let stopped = hoist::ecs::latest_stopped_tasks(client, target, &snapshot, args.log_lines).await;
    let events: Vec<&str> = snapshot
        .events
        .iter()
        .take(10)
        .map(|e| e.message.as_str())
        .collect();
    let value = serde_json::json!({
        "cluster": target.cluster, "service": target.service,
        "deploymentController": snapshot.controller,
        "taskDefinitionArn": snapshot.task_definition,
        "images": images.get(&snapshot.task_definition),
        "deployments": deployments, "events": events,
        "stoppedTasks": stopped.stopped_tasks, "targetGroups": stopped.target_groups,
        "hints": stopped.hints, "notes": stopped.notes,
        "codedeploy": codedeploy.as_ref().map(|(id, status)| serde_json::json!({"deploymentId": id, "status": status})),
        "tags": tags.iter().map(|(image, tags)| (image.clone(), serde_json::json!(tags))).collect::<serde_json::Map<_, _>>(),
    });
    let mut out = String::new();
    writeln!(
        out,
        "service {} in {}: {} ({} deployments)",
        target.service,
        target.cluster,
        short_arn(&snapshot.task_definition),
        snapshot.controller
    )?;
    if let Some((id, status)) = &codedeploy {
        writeln!(out, "CodeDeploy: newest deployment {id}, {status}")?;
        if let Some(images) = images.get(&snapshot.task_definition) {
            writeln!(out, "images: {}", images.join(", "))?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<20} {:<8} {:<12} {:>7} {:>7} {:>7}  {:<20} IMAGES",
        "DEPLOYMENT", "STATUS", "ROLLOUT", "RUNNING", "PENDING", "DESIRED", "TASK DEFINITION"
    )?;
    for d in &snapshot.deployments {
        writeln!(
            out,
            "{:<20} {:<8} {:<12} {:>7} {:>7} {:>7}  {:<20} {}",
            d.id,
            d.status,
            d.rollout_state.as_deref().unwrap_or("-"),
            d.running,
            d.pending,
            d.desired,
            short_arn(&d.task_definition),
            images
                .get(&d.task_definition)
                .map(|i| i.join(", "))
                .unwrap_or_default()
        )?;
    }
    if !tags.is_empty() {
        writeln!(out)?;
        for (image, tags) in &tags {
            writeln!(out, "TAGS {image}: {tags}")?;
        }
    }
    writeln!(out)?;
    for event in snapshot.events.iter().take(5) {
        writeln!(out, "{}  {}", event.created_at, event.message)?;
    }
    writeln!(out)?;
    if !stopped.is_empty() {
        let header = if stopped.stopped_tasks.is_empty() {
            "LOAD BALANCER"
        } else {
            "LATEST STOPPED TASKS"
        };
        writeln!(out, "{header}")?;
        for line in stopped.lines() {
            writeln!(out, "{line}")?;
        }
        writeln!(out)?;
    }
    Ok((value, out))
}
