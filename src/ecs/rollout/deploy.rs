//! `hoist deploy` and `hoist rollback`: register a revision rendered from the
//! service's current task definition, point the service at it, follow *that*
//! deployment ([`crate::ecs::rollout::follow`]) to its end, and act on how it ended —
//! rolling back on failure when asked, but only while our deployment is
//! still the one in charge and ECS has not rolled it back itself, and never
//! over someone else's newer deployment.

use crate::ecs::client::{EcsClient, ServiceDeploymentLookup};
use crate::ecs::diagnosis::diagnose::{diagnose, DiagnoseRequest};
use crate::ecs::failure::Diagnosis;
use crate::ecs::rollout::codedeploy::{app_spec, CodeDeployClient, CodeDeployNames};
use crate::ecs::rollout::follow::{
    follow, Ending, LastSeen, RolloutProgress, Tracking, WaitOptions,
};
use crate::ecs::service::{short_arn, OurDeployment, RolledBackBy, ServiceSnapshot, ServiceTarget};
use crate::ecs::taskdef::diff::unified_diff;
use crate::ecs::taskdef::render::{registration_input, render, TaskDefinitionPatch};
use crate::error::{usage_hint, DeploymentFailed, DeploymentSuperseded};
use anyhow::Result;
use serde::Serialize;
use std::time::Instant;

/// What `hoist deploy` should do.
#[derive(Clone, Debug)]
pub struct DeployOptions {
    /// The service.
    pub target: ServiceTarget,
    /// What to change in the task definition.
    pub patch: TaskDefinitionPatch,
    /// Start from this family's latest revision instead of the service's.
    pub task_family: Option<String>,
    /// Start from this task definition file instead (`--task-definition`).
    pub task_definition_file: Option<crate::ecs::TaskDefinitionFile>,
    /// Force a new deployment even if nothing changed.
    pub force_new_deployment: bool,
    /// Print the diff and change nothing.
    pub dry_run: bool,
    /// Waiting.
    pub wait: WaitOptions,
    /// Put the previous task definition back when the rollout fails.
    pub rollback_on_failure: bool,
    /// CodeDeploy application and group, for CODE_DEPLOY services.
    pub codedeploy: CodeDeployNames,
}

/// What a deploy, rollback or wait did.
#[derive(Clone, Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeployReport {
    /// Cluster.
    pub cluster: String,
    /// Service.
    pub service: String,
    /// `stable`, `failed`, `rolled-back`, `superseded`, `timed-out`,
    /// `not-waited` or `dry-run`.
    pub outcome: String,
    /// For `rolled-back`: `ecs` or `hoist`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back_by: Option<RolledBackBy>,
    /// For `superseded`: the deployment that took over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// The image written into the task definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The task definition the service was on before.
    pub previous_task_definition_arn: String,
    /// The task definition deployed (registered, or rolled back to).
    pub task_definition_arn: String,
    /// Its revision.
    pub revision: i64,
    /// The deployment followed (`ecs-svc/…`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub deployment_id: String,
    /// Its service deployment ARN, when ECS gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_deployment_arn: Option<String>,
    /// How it was followed: `service-deployments` or `describe-services`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub followed_with: String,
    /// The dry run's diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The last service events (failures only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub last_events: Vec<String>,
    /// Why it failed: our stopped tasks, their logs, the target groups'
    /// health, hints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Diagnosis>,
    /// Where the rollout's time went, from ECS's clock (every followed
    /// deploy, however it ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<crate::ecs::rollout::timeline::Timeline>,
    /// Seconds the whole command took.
    pub seconds: f64,
}

fn revision_of(arn: &str) -> i64 {
    short_arn(arn)
        .rsplit_once(':')
        .and_then(|(_, r)| r.parse().ok())
        .unwrap_or(0)
}

/// Registers the rendered task definition, updates the service, follows our
/// deployment. An unsuccessful end is an error: [`DeploymentFailed`] (exit
/// 3) for failed, rolled back or timed out, [`DeploymentSuperseded`] (exit 4)
/// when someone else's newer deployment took over; `report_out` says more.
pub async fn deploy(
    client: &EcsClient,
    options: &DeployOptions,
    progress: &dyn RolloutProgress,
    report_out: &mut DeployReport,
) -> Result<()> {
    let started = Instant::now();
    let target = &options.target;
    let before = client.snapshot(&target.cluster, &target.service).await?;
    if before.controller == "EXTERNAL" {
        return Err(usage_hint(
            format!(
                "ECS service {}/{} uses the EXTERNAL deployment controller",
                target.cluster, target.service
            ),
            "its deployments are task sets made by another tool; deploy with that tool",
        ));
    }
    let described = match &options.task_definition_file {
        Some(file) => file.described().clone(),
        None => {
            let source = options
                .task_family
                .clone()
                .unwrap_or_else(|| before.task_definition.clone());
            client.describe_task_definition_raw(&source).await?
        }
    };
    let current = registration_input(&described)?;
    let rendered = render(&described, &options.patch)?.into_body_noting(|l| progress.step(l));
    *report_out = DeployReport {
        cluster: target.cluster.clone(),
        service: target.service.clone(),
        image: Some(options.patch.image.clone()),
        previous_task_definition_arn: before.task_definition.clone(),
        ..DeployReport::default()
    };
    if options.dry_run {
        report_out.outcome = "dry-run".into();
        report_out.diff = Some(unified_diff(&current, &rendered));
        report_out.seconds = started.elapsed().as_secs_f64();
        return Ok(());
    }
    let mut rendered = rendered;
    crate::ecs::taskdef::revision_tags::mark_registered(&mut rendered);
    let (arn, revision) = client.register_raw(&rendered).await?;
    progress.step(&format!("registered {}", short_arn(&arn)));
    report_out.task_definition_arn = arn.clone();
    report_out.revision = i64::from(revision);
    if before.controller == "CODE_DEPLOY" {
        let result = deploy_through_codedeploy(
            client,
            target,
            &before,
            &arn,
            &options.codedeploy,
            options.wait,
            options.rollback_on_failure,
            progress,
            report_out,
        )
        .await;
        report_out.seconds = started.elapsed().as_secs_f64();
        return result;
    }
    let (ours, mut tracking) = start_deployment(
        client,
        target,
        &arn,
        options.force_new_deployment,
        before.strategy.as_deref(),
        progress,
    )
    .await?;
    progress.step(&format!(
        "updated service {} to {}: deployment {}",
        target.service,
        short_arn(&arn),
        ours.id
    ));
    report_out.deployment_id = ours.id.clone();
    report_out.service_deployment_arn = ours.arn.clone();
    if !options.wait.enabled {
        report_out.outcome = "not-waited".into();
        report_out.seconds = started.elapsed().as_secs_f64();
        return Ok(());
    }
    let result = follow_to_the_end(
        client,
        target,
        &ours,
        options.wait,
        &mut tracking,
        progress,
        &before.events,
        report_out,
    )
    .await;
    report_out.seconds = started.elapsed().as_secs_f64();
    let Err(failure) = result else { return Ok(()) };
    let ours_failed = matches!(report_out.outcome.as_str(), "failed" | "timed-out");
    if !options.rollback_on_failure || !ours_failed {
        return Err(failure);
    }
    let rolled = roll_back(
        client,
        target,
        &ours,
        &before.task_definition,
        options.wait,
        &mut tracking,
        progress,
    )
    .await;
    report_out.seconds = started.elapsed().as_secs_f64();
    match rolled? {
        Some(note) => {
            report_out.outcome = "rolled-back".into();
            report_out.rolled_back_by = Some(RolledBackBy::Hoist);
            Err(failure.context(note))
        }
        None => Err(failure),
    }
}

/// A CODE_DEPLOY service: a CodeDeploy deployment with an AppSpec naming
/// `task_definition` and the load balancer's container and port, followed
/// through its lifecycle events. On a timeout with `rollback_on_failure`,
/// StopDeployment with automatic rollback.
#[allow(clippy::too_many_arguments)]
async fn deploy_through_codedeploy(
    client: &EcsClient,
    target: &ServiceTarget,
    before: &ServiceSnapshot,
    task_definition: &str,
    names: &CodeDeployNames,
    wait: WaitOptions,
    rollback_on_failure: bool,
    progress: &dyn RolloutProgress,
    report: &mut DeployReport,
) -> Result<()> {
    let Some(traffic) = before.load_balancers.first() else {
        return Err(usage_hint(
            format!(
                "ECS service {}/{} uses CODE_DEPLOY but has no load balancer",
                target.cluster, target.service
            ),
            "CodeDeploy's ECS blue/green shifts traffic between target groups: give the service a load balancer",
        ));
    };
    let (app, group) = names.resolve(target);
    let codedeploy = CodeDeployClient::new(&client.aws).await;
    let id = codedeploy
        .create(&app, &group, &app_spec(task_definition, traffic))
        .await?;
    progress.step(&format!(
        "created CodeDeploy deployment {id} in {app}/{group} ({} on port {})",
        traffic.container_name, traffic.container_port
    ));
    report.deployment_id = id.clone();
    report.followed_with = "codedeploy".into();
    if !wait.enabled {
        report.outcome = "not-waited".into();
        return Ok(());
    }
    let ours = OurDeployment {
        id: id.clone(),
        arn: None,
        task_definition: task_definition.to_string(),
        created_at: None,
    };
    let mut ending = codedeploy.follow(&id, wait, progress).await?;
    let mut by_hoist = false;
    if matches!(ending, Ending::TimedOut(_)) && rollback_on_failure {
        progress.step(&format!(
            "stopping CodeDeploy deployment {id} with automatic rollback"
        ));
        codedeploy.stop_with_rollback(&id).await?;
        let stopped = codedeploy.follow(&id, wait, progress).await?;
        ending = Ending::RolledBack(format!(
            "not finished after {}; StopDeployment with automatic rollback: {}",
            humantime::format_duration(wait.timeout),
            describe(&stopped)
        ));
        by_hoist = true;
    }
    let last = LastSeen {
        snapshot: Some(client.snapshot(&target.cluster, &target.service).await?),
        ..Default::default()
    };
    // CodeDeploy's tasks belong to its task sets, not to an ECS deployment:
    // the timeline has its ends (registered, created, completed), and the
    // stages between them are not known.
    let (created, completed) = codedeploy.times(&id).await;
    report.timeline = Some(crate::ecs::rollout::timeline::build(
        &crate::ecs::rollout::timeline::TimelineFacts {
            registered_at: client
                .describe_task_definition_raw(task_definition)
                .await
                .ok()
                .and_then(|v| v["taskDefinition"]["registeredAt"].as_f64()),
            updated_at: created,
            load_balanced: true,
            done_at: completed,
            ..Default::default()
        },
    ));
    let who = if by_hoist {
        RolledBackBy::Hoist
    } else {
        RolledBackBy::Codedeploy
    };
    conclude(
        client,
        target,
        &ours,
        ending,
        &last,
        report,
        who,
        wait.log_lines,
    )
    .await
}

/// Follows our deployment to its end and writes how it ended into `report`.
#[allow(clippy::too_many_arguments)]
async fn follow_to_the_end(
    client: &EcsClient,
    target: &ServiceTarget,
    ours: &OurDeployment,
    wait: WaitOptions,
    tracking: &mut Tracking,
    progress: &dyn RolloutProgress,
    seen: &[crate::ecs::service::ServiceEvent],
    report: &mut DeployReport,
) -> Result<()> {
    let mut last = LastSeen::default();
    let ending = follow(
        client, target, ours, wait, tracking, progress, seen, &mut last,
    )
    .await?;
    report.followed_with = tracking.source_name().into();
    let timeline = timeline_of(client, target, ours, &last).await;
    if ending == Ending::Stable {
        // What this deploy measured, on its revision, for the next verify;
        // a refused TagResource is a note, never a failed deploy.
        let measured = crate::ecs::taskdef::revision_tags::measured(
            timeline.startup_seconds,
            timeline.pulls.first().map(|p| p.seconds),
        );
        if !measured.is_empty() {
            if let Err(error) = client
                .tag_task_definition(&ours.task_definition, &measured)
                .await
            {
                progress.step(&format!(
                    "note: the start-up measured was not kept on {} ({})",
                    short_arn(&ours.task_definition),
                    crate::error::one_line(&error)
                ));
            }
        }
    }
    report.timeline = Some(timeline);
    conclude(
        client,
        target,
        ours,
        ending,
        &last,
        report,
        RolledBackBy::Ecs,
        wait.log_lines,
    )
    .await
}

/// The timeline of `ours`, from what the follow sampled and ECS's
/// timestamps read now: the task definition's `registeredAt`, our tasks'
/// and the replaced deployments' tasks. What cannot be read is not known.
async fn timeline_of(
    client: &EcsClient,
    target: &ServiceTarget,
    ours: &OurDeployment,
    last: &LastSeen,
) -> crate::ecs::rollout::timeline::Timeline {
    use crate::ecs::rollout::timeline::{build, TimelineFacts};
    let samples = &last.samples;
    let registered_at = client
        .describe_task_definition_raw(&ours.task_definition)
        .await
        .ok()
        .and_then(|v| v["taskDefinition"]["registeredAt"].as_f64());
    let mut deployments = vec![ours.id.clone()];
    deployments.extend(samples.others.iter().cloned());
    let tasks = client
        .deployment_tasks(&target.cluster, &target.service, &deployments, true)
        .await
        .unwrap_or_default();
    let updated_at = last
        .snapshot
        .as_ref()
        .and_then(|s| s.deployment(&ours.id))
        .and_then(|d| d.created_at)
        .or(ours.created_at);
    let (mine, theirs): (Vec<_>, Vec<_>) = tasks.into_iter().partition(|t| t.deployment == ours.id);
    build(&TimelineFacts {
        registered_at,
        updated_at,
        ours: mine.into_iter().map(|t| t.times).collect(),
        // The old tasks stopped during our deployment.
        old: theirs
            .into_iter()
            .map(|t| t.times)
            .filter(|t| {
                t.stopping_at
                    .zip(updated_at)
                    .is_some_and(|(stopping, updated)| stopping >= updated)
            })
            .collect(),
        load_balanced: last
            .snapshot
            .as_ref()
            .is_some_and(|s| !s.load_balancers.is_empty()),
        healthy_at: samples.healthy_at,
        bake: samples.bake,
        done_at: samples.finished_at.or(samples.now()),
    })
}

/// Points the service at `task_definition` (UpdateService) and finds the
/// deployment that made, with how it will be followed (the service
/// deployment ARN, or DescribeServices when that API is missing).
async fn start_deployment(
    client: &EcsClient,
    target: &ServiceTarget,
    task_definition: &str,
    force: bool,
    strategy: Option<&str>,
    progress: &dyn RolloutProgress,
) -> Result<(OurDeployment, Tracking)> {
    let mut ours = client
        .update_service(&target.cluster, &target.service, task_definition, force)
        .await?;
    let mut tracking = Tracking::default();
    find_service_deployment(client, target, &mut ours, &mut tracking, strategy, progress).await?;
    Ok((ours, tracking))
}

/// When UpdateService's answer named no service deployment, the newest one
/// ListServiceDeployments shows from the time of our deployment on.
async fn find_service_deployment(
    client: &EcsClient,
    target: &ServiceTarget,
    ours: &mut OurDeployment,
    tracking: &mut Tracking,
    strategy: Option<&str>,
    progress: &dyn RolloutProgress,
) -> Result<()> {
    if ours.arn.is_some() {
        return Ok(());
    }
    let Some(since) = ours.created_at else {
        return Ok(());
    };
    match client
        .newest_service_deployment(&target.cluster, &target.service, since)
        .await?
    {
        ServiceDeploymentLookup::Found(arn) => ours.arn = arn,
        ServiceDeploymentLookup::Unavailable(why) => tracking.fall_back(
            &why,
            &ours.id,
            strategy,
            client.first_to_say_fallback(),
            progress,
        ),
    }
    Ok(())
}

/// Turns how our deployment ended into the report and the command's result
/// (with the diagnosis of a failure).
#[allow(clippy::too_many_arguments)]
async fn conclude(
    client: &EcsClient,
    target: &ServiceTarget,
    ours: &OurDeployment,
    ending: Ending,
    last: &LastSeen,
    report: &mut DeployReport,
    rolled_back_by: RolledBackBy,
    log_lines: usize,
) -> Result<()> {
    let what = format!(
        "deployment {} of {} to {}/{}",
        ours.id,
        short_arn(&ours.task_definition),
        target.cluster,
        target.service
    );
    let (outcome, reason) = match ending {
        Ending::Stable => {
            report.outcome = "stable".into();
            return Ok(());
        }
        Ending::Superseded {
            by,
            task_definition,
        } => {
            report.outcome = "superseded".into();
            report.superseded_by = Some(by.clone());
            report.last_events = last.events(5);
            let theirs = task_definition
                .as_deref()
                .map(|td| format!(" ({})", short_arn(td)))
                .unwrap_or_default();
            return Err(DeploymentSuperseded(format!(
                "{what} was superseded by a newer deployment, {by}{theirs}: left alone, nothing rolled back"
            ))
            .into());
        }
        Ending::RolledBack(reason) => {
            report.rolled_back_by = Some(rolled_back_by);
            let who = match rolled_back_by {
                RolledBackBy::Ecs => "ECS rolled it back",
                RolledBackBy::Codedeploy => "CodeDeploy rolled it back",
                RolledBackBy::Hoist => "hoist rolled it back",
            };
            ("rolled-back", format!("{who}: {reason}"))
        }
        Ending::Failed(reason) => ("failed", reason),
        Ending::TimedOut(after) => (
            "timed-out",
            format!("not finished after {}", humantime::format_duration(after)),
        ),
    };
    report.outcome = outcome.into();
    report.failure = Some(reason.clone());
    report.last_events = last.events(5);
    let diagnosis = diagnose(
        client,
        &DiagnoseRequest {
            target,
            deployment_id: Some(ours.id.as_str()).filter(|id| id.starts_with("ecs-svc/")),
            task_definition: Some(&ours.task_definition),
            snapshot: last.snapshot.as_ref(),
            log_lines,
        },
    )
    .await;
    let reasons = crate::ecs::diagnosis::diagnose::summaries(&diagnosis.stopped_tasks);
    let mut message = format!("{what} {}: {reason}", outcome.replace('-', " "));
    if !reasons.is_empty() {
        message.push_str(&format!("; stopped tasks: {}", reasons.join(" | ")));
    }
    match diagnosis.hints.first() {
        Some(hint) => {
            let short = hint.split(" — ").next().unwrap_or(hint);
            let short = short.split(": ").next().unwrap_or(short);
            message.push_str(&format!(" (hint: {short}; see the lines above)"));
        }
        None if !diagnosis.stopped_tasks.is_empty() => message.push_str(
            " (hint: the stopped tasks and log lines above say why; hoist status shows them again)",
        ),
        None => {}
    }
    report.diagnosis = (!diagnosis.is_empty()).then_some(diagnosis);
    Err(DeploymentFailed(message).into())
}

/// hoist's rollback after our deployment failed or timed out: only while it
/// is still the service's deployment. Asks ECS to roll the service
/// deployment back (StopServiceDeployment ROLLBACK) where it can, else
/// points the service at the previous revision; follows that to its end.
/// `None`: not done, because our deployment is no longer in charge.
async fn roll_back(
    client: &EcsClient,
    target: &ServiceTarget,
    ours: &OurDeployment,
    previous: &str,
    wait: WaitOptions,
    tracking: &mut Tracking,
    progress: &dyn RolloutProgress,
) -> Result<Option<String>> {
    let now = client.snapshot(&target.cluster, &target.service).await?;
    let in_charge = now.primary().is_some_and(|p| p.id == ours.id)
        && now
            .current_service_deployment
            .as_deref()
            .zip(ours.arn.as_deref())
            .is_none_or(|(current, mine)| current == mine);
    if !in_charge {
        progress.step(&format!(
            "not rolling back: deployment {} is no longer the service's deployment",
            ours.id
        ));
        return Ok(None);
    }
    let mut last = LastSeen::default();
    if let (Some(arn), true) = (&ours.arn, tracking.service_deployments) {
        match client.roll_back_service_deployment(arn).await? {
            ServiceDeploymentLookup::Found(true) => {
                progress.step(&format!(
                    "asked ECS to roll deployment {} back (StopServiceDeployment ROLLBACK)",
                    ours.id
                ));
                let ending = follow(
                    client,
                    target,
                    ours,
                    wait,
                    tracking,
                    progress,
                    &now.events,
                    &mut last,
                )
                .await?;
                return match ending {
                    Ending::RolledBack(_) => Ok(Some(format!(
                        "rolled back to {} by hoist (StopServiceDeployment ROLLBACK)",
                        short_arn(previous)
                    ))),
                    other => Err(anyhow::anyhow!(
                        "rolling back deployment {}: {}",
                        ours.id,
                        describe(&other)
                    )),
                };
            }
            ServiceDeploymentLookup::Found(false) => progress.step(&format!(
                "ECS will not roll deployment {} back (it has ended); pointing the service at {} instead",
                ours.id,
                short_arn(previous)
            )),
            ServiceDeploymentLookup::Unavailable(why) => tracking.fall_back(
                &why,
                &ours.id,
                now.strategy.as_deref(),
                client.first_to_say_fallback(),
                progress,
            ),
        }
    }
    progress.step(&format!("rolling back to {}", short_arn(previous)));
    let mut back = client
        .update_service(&target.cluster, &target.service, previous, false)
        .await?;
    find_service_deployment(
        client,
        target,
        &mut back,
        tracking,
        now.strategy.as_deref(),
        progress,
    )
    .await?;
    let ending = follow(
        client,
        target,
        &back,
        wait,
        tracking,
        progress,
        &now.events,
        &mut last,
    )
    .await?;
    match ending {
        Ending::Stable => Ok(Some(format!(
            "rolled back to {} by hoist (UpdateService)",
            short_arn(previous)
        ))),
        other => Err(anyhow::anyhow!(
            "rolling back to {}: {}",
            short_arn(previous),
            describe(&other)
        )),
    }
}

/// Rolls back a deploy that finished (stable) because another service of
/// the same release failed: the same rules as for a failed one — only while
/// its deployment is still the service's. `None`: not done.
pub(crate) async fn roll_back_finished(
    client: &EcsClient,
    report: &DeployReport,
    wait: WaitOptions,
    progress: &dyn RolloutProgress,
) -> Result<Option<String>> {
    let target = ServiceTarget {
        cluster: report.cluster.clone(),
        service: report.service.clone(),
    };
    let ours = OurDeployment {
        id: report.deployment_id.clone(),
        arn: report.service_deployment_arn.clone(),
        task_definition: report.task_definition_arn.clone(),
        created_at: None,
    };
    let mut tracking = Tracking {
        service_deployments: report.followed_with != "describe-services",
    };
    roll_back(
        client,
        &target,
        &ours,
        &report.previous_task_definition_arn,
        wait,
        &mut tracking,
        progress,
    )
    .await
}

/// One phrase for an ending that is not the one hoped for.
fn describe(ending: &Ending) -> String {
    match ending {
        Ending::Stable => "stable".into(),
        Ending::Failed(reason) => format!("failed: {reason}"),
        Ending::RolledBack(reason) => format!("rolled back by ECS: {reason}"),
        Ending::Superseded { by, .. } => format!("superseded by {by}"),
        Ending::TimedOut(after) => {
            format!("not finished after {}", humantime::format_duration(*after))
        }
    }
}

/// Points the service back at an earlier revision (the one before the
/// current, or `to_revision` of the same family) and follows that deployment
/// (a CodeDeploy deployment for CODE_DEPLOY services).
pub async fn rollback(
    client: &EcsClient,
    target: &ServiceTarget,
    to_revision: Option<i64>,
    wait: WaitOptions,
    codedeploy: &CodeDeployNames,
    progress: &dyn RolloutProgress,
    report_out: &mut DeployReport,
) -> Result<()> {
    let started = Instant::now();
    let before = client.snapshot(&target.cluster, &target.service).await?;
    let current = before.task_definition.clone();
    let family = short_arn(&current)
        .rsplit_once(':')
        .map(|(f, _)| f.to_string())
        .unwrap_or_default();
    let current_revision = revision_of(&current);
    let revisions = client.family_revisions(&family).await?;
    let chosen = match to_revision {
        Some(n) => revisions
            .iter()
            .find(|a| revision_of(a) == n)
            .cloned()
            .ok_or_else(|| {
                usage_hint(
                    format!("task definition {family}:{n} not found (or not ACTIVE)"),
                    format!(
                        "revisions there: {}",
                        revisions
                            .iter()
                            .map(|a| revision_of(a).to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?,
        None => revisions
            .iter()
            .filter(|a| revision_of(a) < current_revision)
            .max_by_key(|a| revision_of(a))
            .cloned()
            .ok_or_else(|| {
                usage_hint(
                    format!("no revision of {family} before {current_revision}"),
                    "pass --to-revision N",
                )
            })?,
    };
    *report_out = DeployReport {
        cluster: target.cluster.clone(),
        service: target.service.clone(),
        previous_task_definition_arn: current.clone(),
        task_definition_arn: chosen.clone(),
        revision: revision_of(&chosen),
        ..DeployReport::default()
    };
    if before.controller == "CODE_DEPLOY" {
        let result = deploy_through_codedeploy(
            client, target, &before, &chosen, codedeploy, wait, false, progress, report_out,
        )
        .await;
        report_out.seconds = started.elapsed().as_secs_f64();
        return result;
    }
    let (ours, mut tracking) = start_deployment(
        client,
        target,
        &chosen,
        false,
        before.strategy.as_deref(),
        progress,
    )
    .await?;
    progress.step(&format!(
        "rolled service {} back to {}: deployment {}",
        target.service,
        short_arn(&chosen),
        ours.id
    ));
    report_out.deployment_id = ours.id.clone();
    report_out.service_deployment_arn = ours.arn.clone();
    if !wait.enabled {
        report_out.outcome = "not-waited".into();
        return Ok(());
    }
    let result = follow_to_the_end(
        client,
        target,
        &ours,
        wait,
        &mut tracking,
        progress,
        &before.events,
        report_out,
    )
    .await;
    report_out.seconds = started.elapsed().as_secs_f64();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_from_arns() {
        assert_eq!(
            revision_of("arn:aws:ecs:r:1:task-definition/plog-api:12"),
            12
        );
        assert_eq!(revision_of("plog-api"), 0);
    }
}
