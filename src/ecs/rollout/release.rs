//! One release to several services: one-off tasks first (a database
//! migration, with RunTask on the new image; a non-zero exit stops the
//! release before any service changes), then every service deployed in
//! parallel (bounded) and followed together, each line prefixed by its
//! service. The release succeeds only when every service is stable; with
//! rollback on failure, the services that already reached the new revision
//! are rolled back too when one fails — never a superseded one.

use crate::ecs::client::EcsClient;
use crate::ecs::rollout::deploy::{deploy, roll_back_finished, DeployOptions, DeployReport};
use crate::ecs::rollout::follow::{RolloutProgress, WaitOptions};
use crate::ecs::service::{short_arn, Awsvpc, DeploymentView, RolledBackBy, ServiceEvent};
use crate::ecs::taskdef::render::{render, TaskDefinitionPatch};
use crate::error::{usage_hint, DeploymentFailed, DeploymentSuperseded};
use anyhow::Result;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use std::time::{Duration, Instant};

/// How many services are updated and followed at once.
const PARALLEL_SERVICES: usize = 4;

/// A one-off task run on the new image before the services are updated.
#[derive(Clone, Debug)]
pub struct OneOffTask {
    /// Its name in messages (`db-migrate`).
    pub name: String,
    /// The task definition family; its latest revision gets the new image.
    pub family: String,
    /// The image, container, environment and secrets.
    pub patch: TaskDefinitionPatch,
    /// A command override for the container.
    pub command: Option<Vec<String>>,
    /// Where its ENI goes (default: the first service's network).
    pub awsvpc: Option<Awsvpc>,
}

/// What a one-off task did.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskReport {
    /// Its name.
    pub name: String,
    /// The revision it ran.
    pub task_definition_arn: String,
    /// The task.
    pub task_arn: String,
    /// The container's exit code.
    pub exit_code: Option<i32>,
    /// Why it stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
}

/// A release: the services (each with its own options) and the tasks.
#[derive(Clone, Debug)]
pub struct Release {
    /// One entry per service.
    pub services: Vec<DeployOptions>,
    /// Run before the services are updated.
    pub tasks: Vec<OneOffTask>,
    /// Roll every service that reached the new revision back when one fails.
    pub rollback_on_failure: bool,
}

/// What a release did.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseReport {
    /// One report per service, in the order configured.
    pub services: Vec<DeployReport>,
    /// The one-off tasks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskReport>,
}

/// Prefixes everything a service's deploy reports with its name.
struct ServicePrefix<'a> {
    service: String,
    inner: &'a dyn RolloutProgress,
}

impl RolloutProgress for ServicePrefix<'_> {
    fn event(&self, event: &ServiceEvent) {
        self.inner.event(&ServiceEvent {
            message: format!("[{}] {}", self.service, event.message),
            ..event.clone()
        });
    }

    fn counts(&self, deployment: &DeploymentView) {
        self.inner.service_counts(&self.service, deployment);
    }

    fn service_counts(&self, service: &str, deployment: &DeploymentView) {
        self.inner.service_counts(service, deployment);
    }

    fn step(&self, message: &str) {
        self.inner.step(&format!("[{}] {message}", self.service));
    }
}

/// Runs the release: tasks, then the services in parallel; the report has
/// every service's outcome whatever the result.
pub async fn release(
    client: &EcsClient,
    release: &Release,
    progress: &dyn RolloutProgress,
    report: &mut ReleaseReport,
) -> Result<()> {
    let cluster = match release.services.first() {
        Some(first) => first.target.clone(),
        None => {
            return Err(usage_hint(
                "nothing to release: no services",
                "name service and container, or [[env.NAME.targets]]",
            ))
        }
    };
    if !release.tasks.is_empty() {
        let service = client.snapshot(&cluster.cluster, &cluster.service).await?;
        for task in &release.tasks {
            let wait = release.services[0].wait;
            let ran = run_one_off(
                client,
                &cluster.cluster,
                task,
                service.launch_type.as_deref(),
                task.awsvpc.as_ref().or(service.awsvpc.as_ref()),
                wait,
                progress,
            )
            .await;
            match ran {
                Ok(done) => report.tasks.push(done),
                Err((done, error)) => {
                    report.tasks.extend(done);
                    return Err(error.context("release stopped before any service was updated"));
                }
            }
        }
    }
    let single = release.services.len() == 1;
    let results: Vec<(usize, DeployReport, Result<()>)> =
        stream::iter(release.services.iter().enumerate())
            .map(|(i, options)| async move {
                let mut options = options.clone();
                // One service alone rolls itself back; several are rolled back
                // together below, so that the others are too.
                options.rollback_on_failure = release.rollback_on_failure;
                let prefixed = ServicePrefix {
                    service: options.target.service.clone(),
                    inner: progress,
                };
                let shown: &dyn RolloutProgress = if single { progress } else { &prefixed };
                let mut one = DeployReport::default();
                let result = deploy(client, &options, shown, &mut one).await;
                (i, one, result)
            })
            .buffer_unordered(PARALLEL_SERVICES)
            .collect()
            .await;
    let mut results = results;
    results.sort_by_key(|(i, _, _)| *i);
    if single {
        let (_, one, result) = results.pop().expect("one service");
        report.services.push(one);
        return result;
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, r, res)| res.is_err() && r.outcome != "superseded")
        .map(|(_, r, _)| r.service.clone())
        .collect();
    let mut reports: Vec<DeployReport> = results.iter().map(|(_, r, _)| r.clone()).collect();
    if release.rollback_on_failure && !failed.is_empty() {
        let stable: Vec<usize> = reports
            .iter()
            .enumerate()
            .filter(|(_, r)| r.outcome == "stable")
            .map(|(i, _)| i)
            .collect();
        if !stable.is_empty() {
            let names: Vec<&str> = stable
                .iter()
                .map(|i| reports[*i].service.as_str())
                .collect();
            progress.step(&format!(
                "rolling back {} too: {} failed",
                names.join(", "),
                failed.join(", ")
            ));
        }
        let rolled: Vec<(usize, Result<Option<String>>)> = stream::iter(stable)
            .map(|i| {
                let one = reports[i].clone();
                let wait = release.services[i].wait;
                async move {
                    let prefixed = ServicePrefix {
                        service: one.service.clone(),
                        inner: progress,
                    };
                    (i, roll_back_finished(client, &one, wait, &prefixed).await)
                }
            })
            .buffer_unordered(PARALLEL_SERVICES)
            .collect()
            .await;
        for (i, result) in rolled {
            let one = &mut reports[i];
            match result {
                Ok(Some(_)) => {
                    one.outcome = "rolled-back".into();
                    one.rolled_back_by = Some(RolledBackBy::Hoist);
                    one.failure = Some(format!(
                        "rolled back by hoist because {} failed",
                        failed.join(", ")
                    ));
                }
                Ok(None) => {}
                Err(error) => {
                    one.failure = Some(format!("rolling back: {}", crate::error::one_line(&error)));
                }
            }
        }
    }
    report.services = reports;
    let summary: Vec<String> = report
        .services
        .iter()
        .map(|r| format!("{} {}", r.service, r.outcome))
        .collect();
    if !failed.is_empty() {
        let first_error = results
            .iter()
            .find(|(_, r, res)| res.is_err() && r.outcome != "superseded")
            .and_then(|(_, _, res)| res.as_ref().err())
            .map(crate::error::one_line)
            .unwrap_or_default();
        return Err(DeploymentFailed(format!(
            "release failed ({}): {first_error}",
            summary.join(", ")
        ))
        .into());
    }
    if report.services.iter().any(|r| r.outcome == "superseded") {
        return Err(DeploymentSuperseded(format!(
            "release superseded ({}): a newer deployment took over; left alone",
            summary.join(", ")
        ))
        .into());
    }
    Ok(())
}

/// Registers the task's family with the new image, runs it, waits for it to
/// stop: exit code 0 is success, anything else stops the release.
async fn run_one_off(
    client: &EcsClient,
    cluster: &str,
    task: &OneOffTask,
    launch_type: Option<&str>,
    awsvpc: Option<&Awsvpc>,
    wait: WaitOptions,
    progress: &dyn RolloutProgress,
) -> std::result::Result<TaskReport, (Option<TaskReport>, anyhow::Error)> {
    let fail = |report: Option<TaskReport>, error: anyhow::Error| (report, error);
    let described = client
        .describe_task_definition_raw(&task.family)
        .await
        .map_err(|e| fail(None, e))?;
    let mut body = render(&described, &task.patch)
        .map_err(|e| fail(None, e))?
        .into_body_noting(|line| progress.step(line));
    crate::ecs::taskdef::revision_tags::mark_registered(&mut body);
    let (arn, _) = client
        .register_raw(&body)
        .await
        .map_err(|e| fail(None, e))?;
    let task_arn = client
        .run_task(
            cluster,
            &arn,
            launch_type,
            awsvpc,
            &task.patch.container,
            task.command.as_deref(),
        )
        .await
        .map_err(|e| fail(None, e))?;
    progress.step(&format!(
        "task {}: started {} ({})",
        task.name,
        short_arn(&task_arn),
        short_arn(&arn)
    ));
    let mut report = TaskReport {
        name: task.name.clone(),
        task_definition_arn: arn,
        task_arn: task_arn.clone(),
        ..TaskReport::default()
    };
    let deadline = Instant::now() + wait.timeout;
    loop {
        let state = client
            .one_off_task(cluster, &task_arn, &task.patch.container)
            .await
            .map_err(|e| fail(Some(report.clone()), e))?;
        if state.last_status == "STOPPED" {
            report.exit_code = state.exit_code;
            report.stopped_reason = state.stopped_reason.clone();
            if state.exit_code == Some(0) {
                progress.step(&format!("task {}: exited 0", task.name));
                return Ok(report);
            }
            let why = state
                .container_reason
                .or(state.stopped_reason)
                .unwrap_or_else(|| "no reason given".into());
            let code = state
                .exit_code
                .map(|c| format!("exited {c}"))
                .unwrap_or_else(|| "stopped without an exit code".into());
            let error = DeploymentFailed(format!(
                "task {} ({}) {code}: {why}",
                task.name,
                short_arn(&task_arn)
            ));
            return Err(fail(Some(report), error.into()));
        }
        if Instant::now() >= deadline {
            let error = DeploymentFailed(format!(
                "task {} ({}) still {} after {}",
                task.name,
                short_arn(&task_arn),
                state.last_status,
                humantime::format_duration(wait.timeout)
            ));
            return Err(fail(Some(report), error.into()));
        }
        tokio::time::sleep(
            wait.interval
                .min(deadline.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(1)),
        )
        .await;
    }
}
