//! The ECS commands of the CLI: `hoist deploy`, `hoist rollback` and
//! `hoist status` — flags in, library calls, results out (stdout carries the
//! result; progress and events go to stderr).

use crate::cli::{
    split_key_value, write_github_output_lines, DeployArgs, RollbackArgs, StatusArgs,
};
use crate::dest::registry::RegistryAccess;
use crate::ecs::client::EcsClient;
use crate::ecs::deploy::{deploy, rollback, DeployOptions, DeployReport};
use crate::ecs::render::TaskDefinitionPatch;
use crate::ecs::rollout::short_arn;
use crate::progress::RolloutDrawer;
use crate::registry::push::PushOptions;
use crate::registry::ImageReference;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the AWS runtime")
}

/// The image reference pinned by digest, resolving a tag through the registry.
fn pin_image(args: &DeployArgs) -> Result<String> {
    let reference = ImageReference::parse(&args.image).context("--image")?;
    if let Some(digest) = &reference.digest {
        return Ok(reference.pinned(digest));
    }
    let blob_dir = std::env::temp_dir().join(format!("hoist-pin-{}", std::process::id()));
    let mut client = args.registry.client_options()?;
    client.aws = args.aws.options();
    let access = RegistryAccess::new(client, blob_dir.clone(), PushOptions::default(), false)?;
    let pinned = access.pin(&reference);
    let _ = std::fs::remove_dir_all(&blob_dir);
    pinned.with_context(|| format!("resolving --image {} to a digest", args.image))
}

fn finish(
    report: &DeployReport,
    metadata_file: Option<&PathBuf>,
    json: bool,
    result: Result<()>,
) -> Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    if let Some(path) = metadata_file {
        crate::dest::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing --metadata-file {}", path.display()))?;
    }
    if let Ok(path) = std::env::var("GITHUB_OUTPUT") {
        if !report.task_definition_arn.is_empty() {
            write_github_output_lines(
                Path::new(&path),
                &[
                    ("task-definition-arn", report.task_definition_arn.clone()),
                    ("task-definition-revision", report.revision.to_string()),
                ],
            )?;
        }
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{text}")?;
    } else if let Some(diff) = &report.diff {
        if diff.is_empty() {
            writeln!(out, "no change to the task definition")?;
        } else {
            write!(out, "{diff}")?;
        }
    } else if result.is_ok() && !report.task_definition_arn.is_empty() {
        writeln!(out, "{}", report.task_definition_arn)?;
    }
    if let (Err(_), false) = (&result, json) {
        for event in report.last_events.iter().rev() {
            eprintln!("event  {event}");
        }
    }
    result
}

/// `hoist deploy`.
pub fn run_deploy(args: DeployArgs) -> Result<()> {
    let image = pin_image(&args)?;
    let options = DeployOptions {
        target: args.service.target(),
        patch: TaskDefinitionPatch {
            container: args.container.clone(),
            image,
            environment: args
                .env
                .iter()
                .map(|e| split_key_value("--env", e))
                .collect::<Result<_>>()?,
            secrets: args
                .secrets
                .iter()
                .map(|e| split_key_value("--secret", e))
                .collect::<Result<_>>()?,
        },
        task_family: args.task_family.clone(),
        force_new_deployment: args.force_new_deployment,
        dry_run: args.dry_run,
        wait: args.wait.options()?,
        rollback_on_failure: args.rollback_on_failure,
    };
    let drawer = RolloutDrawer::for_stderr();
    let mut report = DeployReport::default();
    let result = runtime()?.block_on(async {
        let client = EcsClient::new(&args.aws.options()).await?;
        deploy(&client, &options, &drawer, &mut report).await
    });
    drop(drawer);
    finish(&report, args.metadata_file.as_ref(), args.json, result)
}

/// `hoist rollback`.
pub fn run_rollback(args: RollbackArgs) -> Result<()> {
    let wait = args.wait.options()?;
    let drawer = RolloutDrawer::for_stderr();
    let mut report = DeployReport::default();
    let result = runtime()?.block_on(async {
        let client = EcsClient::new(&args.aws.options()).await?;
        rollback(
            &client,
            &args.service.target(),
            args.to_revision,
            wait,
            &drawer,
            &mut report,
        )
        .await
    });
    drop(drawer);
    finish(&report, args.metadata_file.as_ref(), args.json, result)
}

/// `hoist status`.
pub fn run_status(args: StatusArgs) -> Result<()> {
    let target = args.service.target();
    let (snapshot, images) = runtime()?.block_on(async {
        let client = EcsClient::new(&args.aws.options()).await?;
        let snapshot = client.snapshot(&target.cluster, &target.service).await?;
        let mut images = std::collections::BTreeMap::new();
        for deployment in &snapshot.deployments {
            if images.contains_key(&deployment.task_definition) {
                continue;
            }
            let described = client
                .describe_task_definition_raw(&deployment.task_definition)
                .await?;
            let containers: Vec<String> = described["taskDefinition"]["containerDefinitions"]
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .map(|c| {
                            format!(
                                "{}={}",
                                c["name"].as_str().unwrap_or("?"),
                                c["image"].as_str().unwrap_or("?")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            images.insert(deployment.task_definition.clone(), containers);
        }
        anyhow::Ok((snapshot, images))
    })?;
    let mut out = std::io::stdout().lock();
    if args.json {
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
        let events: Vec<&str> = snapshot
            .events
            .iter()
            .take(10)
            .map(|e| e.message.as_str())
            .collect();
        let value = serde_json::json!({
            "cluster": target.cluster, "service": target.service,
            "taskDefinitionArn": snapshot.task_definition, "deployments": deployments, "events": events,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "service {} in {}: {}",
        target.service,
        target.cluster,
        short_arn(&snapshot.task_definition)
    )?;
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
    writeln!(out)?;
    for event in snapshot.events.iter().take(5) {
        writeln!(out, "{}  {}", event.created_at, event.message)?;
    }
    Ok(())
}
