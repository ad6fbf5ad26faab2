//! `hoist deploy`, `hoist rollback` and the wait between: register a revision
//! rendered from the service's current task definition, point the service at
//! it, and follow the rollout until it is stable, fails or times out —
//! rolling back on failure when asked.

use crate::ecs::client::{is_throttling, EcsClient};
use crate::ecs::render::{registration_input, render, TaskDefinitionPatch};
use crate::ecs::rollout::{
    judge, short_arn, DeploymentView, EventLog, ServiceEvent, ServiceSnapshot, StoppedTask, Verdict,
};
use crate::error::{usage_hint, DeploymentFailed};
use anyhow::Result;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Which service.
#[derive(Clone, Debug)]
pub struct ServiceTarget {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Service name or ARN.
    pub service: String,
}

/// How to wait for a rollout.
#[derive(Clone, Copy, Debug)]
pub struct WaitOptions {
    /// Wait at all.
    pub enabled: bool,
    /// Give up after this long.
    pub timeout: Duration,
    /// Poll this often (doubled while ECS throttles, up to a minute).
    pub interval: Duration,
}

/// What `hoist deploy` should do.
#[derive(Clone, Debug)]
pub struct DeployOptions {
    /// The service.
    pub target: ServiceTarget,
    /// What to change in the task definition.
    pub patch: TaskDefinitionPatch,
    /// Start from this family's latest revision instead of the service's.
    pub task_family: Option<String>,
    /// Force a new deployment even if nothing changed.
    pub force_new_deployment: bool,
    /// Print the diff and change nothing.
    pub dry_run: bool,
    /// Waiting.
    pub wait: WaitOptions,
    /// Put the previous task definition back when the rollout fails.
    pub rollback_on_failure: bool,
}

/// Where the facts about a rollout come from. Today: DescribeServices and
/// the stopped tasks (all moto has). ECS's ListServiceDeployments /
/// DescribeServiceDeployments would be a better source where they exist
/// (and the way to blue/green and canary strategies); tests replay
/// recorded responses through it.
#[allow(async_fn_in_trait)]
pub(crate) trait RolloutSource {
    /// The service now.
    async fn snapshot(&self, target: &ServiceTarget) -> Result<ServiceSnapshot>;
    /// Stopped tasks of `task_definition`, with their reasons.
    async fn stopped_tasks(
        &self,
        target: &ServiceTarget,
        task_definition: &str,
    ) -> Result<Vec<StoppedTask>>;
}

impl RolloutSource for EcsClient {
    async fn snapshot(&self, target: &ServiceTarget) -> Result<ServiceSnapshot> {
        EcsClient::snapshot(self, &target.cluster, &target.service).await
    }

    async fn stopped_tasks(
        &self,
        target: &ServiceTarget,
        task_definition: &str,
    ) -> Result<Vec<StoppedTask>> {
        EcsClient::stopped_tasks(self, &target.cluster, &target.service, task_definition).await
    }
}

/// Hears about a rollout as it goes; the CLI draws it.
pub trait RolloutProgress: Send + Sync {
    /// A new service event.
    fn event(&self, _event: &ServiceEvent) {}
    /// The primary deployment's counts changed.
    fn counts(&self, _primary: &DeploymentView) {}
    /// A step (registered, updated, rolling back…).
    fn step(&self, _message: &str) {}
}

/// What a deploy, rollback or wait did.
#[derive(Clone, Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeployReport {
    /// Cluster.
    pub cluster: String,
    /// Service.
    pub service: String,
    /// `stable`, `failed`, `rolled-back`, `not-waited` or `dry-run`.
    pub outcome: String,
    /// The image written into the task definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The task definition the service was on before.
    pub previous_task_definition_arn: String,
    /// The task definition deployed (registered, or rolled back to).
    pub task_definition_arn: String,
    /// Its revision.
    pub revision: i64,
    /// The dry run's diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The last service events (failures only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub last_events: Vec<String>,
    /// Stopped tasks of the failed revision, with reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stopped_tasks: Vec<StoppedTask>,
    /// Seconds the whole command took.
    pub seconds: f64,
}

fn revision_of(arn: &str) -> i64 {
    short_arn(arn)
        .rsplit_once(':')
        .and_then(|(_, r)| r.parse().ok())
        .unwrap_or(0)
}

/// Registers the rendered task definition, updates the service, waits.
/// A failed rollout is an error carrying [`DeploymentFailed`] (exit code 3),
/// with the report (events, stopped tasks) in `report_out`.
pub async fn deploy(
    client: &EcsClient,
    options: &DeployOptions,
    progress: &dyn RolloutProgress,
    report_out: &mut DeployReport,
) -> Result<()> {
    let started = Instant::now();
    let target = &options.target;
    let before = client.snapshot(&target.cluster, &target.service).await?;
    let source = options
        .task_family
        .clone()
        .unwrap_or_else(|| before.task_definition.clone());
    let described = client.describe_task_definition_raw(&source).await?;
    let current = registration_input(&described)?;
    let rendered = render(&described, &options.patch)?;
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
    let (arn, revision) = client.register_raw(&rendered).await?;
    progress.step(&format!("registered {}", short_arn(&arn)));
    report_out.task_definition_arn = arn.clone();
    report_out.revision = i64::from(revision);
    client
        .update_service(
            &target.cluster,
            &target.service,
            &arn,
            options.force_new_deployment,
        )
        .await?;
    progress.step(&format!(
        "updated service {} to {}",
        target.service,
        short_arn(&arn)
    ));
    let result = follow(
        client,
        target,
        &arn,
        options.wait,
        progress,
        report_out,
        &before.events,
    )
    .await;
    report_out.seconds = started.elapsed().as_secs_f64();
    let Err(failure) = result else { return Ok(()) };
    if !options.rollback_on_failure || failure.downcast_ref::<DeploymentFailed>().is_none() {
        return Err(failure);
    }
    progress.step(&format!(
        "rolling back to {}",
        short_arn(&before.task_definition)
    ));
    client
        .update_service(
            &target.cluster,
            &target.service,
            &before.task_definition,
            false,
        )
        .await?;
    let mut rollback = DeployReport::default();
    follow(
        client,
        target,
        &before.task_definition,
        options.wait,
        progress,
        &mut rollback,
        &[],
    )
    .await?;
    report_out.outcome = "rolled-back".into();
    report_out.seconds = started.elapsed().as_secs_f64();
    Err(failure.context(format!(
        "rolled back to {}",
        short_arn(&before.task_definition)
    )))
}

/// Points the service back at an earlier revision (the one before the
/// current, or `to_revision` of the same family) and waits.
pub async fn rollback(
    client: &EcsClient,
    target: &ServiceTarget,
    to_revision: Option<i64>,
    wait: WaitOptions,
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
    client
        .update_service(&target.cluster, &target.service, &chosen, false)
        .await?;
    progress.step(&format!(
        "rolled service {} back to {}",
        target.service,
        short_arn(&chosen)
    ));
    let result = follow(
        client,
        target,
        &chosen,
        wait,
        progress,
        report_out,
        &before.events,
    )
    .await;
    report_out.seconds = started.elapsed().as_secs_f64();
    result
}

/// Follows the rollout of `ours` until it is stable (Ok), fails or times
/// out (Err with [`DeploymentFailed`]); events already in `seen` are not shown.
pub(crate) async fn follow<S: RolloutSource>(
    source: &S,
    target: &ServiceTarget,
    ours: &str,
    wait: WaitOptions,
    progress: &dyn RolloutProgress,
    report: &mut DeployReport,
    seen: &[ServiceEvent],
) -> Result<()> {
    if !wait.enabled {
        report.outcome = "not-waited".into();
        return Ok(());
    }
    let deadline = Instant::now() + wait.timeout;
    let mut interval = wait.interval;
    let mut events = EventLog::default();
    events.seed(&crate::ecs::rollout::ServiceSnapshot {
        events: seen.to_vec(),
        ..Default::default()
    });
    let mut last_counts: Option<DeploymentView> = None;
    let mut last_snapshot = None;
    let verdict = loop {
        if Instant::now() >= deadline {
            break Verdict::Failed(format!(
                "not stable after {}",
                humantime::format_duration(wait.timeout)
            ));
        }
        let snapshot = match source.snapshot(target).await {
            Ok(snapshot) => snapshot,
            Err(error) if is_throttling(&error) => {
                interval = (interval * 2).min(Duration::from_secs(60));
                progress.step(&format!(
                    "ECS is throttling; polling every {}",
                    humantime::format_duration(interval)
                ));
                tokio::time::sleep(
                    interval.min(deadline.saturating_duration_since(Instant::now())),
                )
                .await;
                continue;
            }
            Err(error) => return Err(error),
        };
        for event in events.fresh(&snapshot) {
            progress.event(event);
        }
        if let Some(primary) = snapshot.primary() {
            let changed = last_counts.as_ref().is_none_or(|last| {
                (
                    last.running,
                    last.pending,
                    last.desired,
                    &last.task_definition,
                ) != (
                    primary.running,
                    primary.pending,
                    primary.desired,
                    &primary.task_definition,
                )
            });
            if changed {
                progress.counts(primary);
                last_counts = Some(primary.clone());
            }
        }
        let verdict = judge(&snapshot, ours);
        last_snapshot = Some(snapshot);
        if verdict != Verdict::InProgress {
            break verdict;
        }
        tokio::time::sleep(interval.min(deadline.saturating_duration_since(Instant::now()))).await;
    };
    match verdict {
        Verdict::Stable => {
            report.outcome = "stable".into();
            Ok(())
        }
        Verdict::Failed(reason) => {
            report.outcome = "failed".into();
            report.failure = Some(reason.clone());
            if let Some(snapshot) = &last_snapshot {
                report.last_events = snapshot
                    .events
                    .iter()
                    .take(5)
                    .map(|e| e.message.clone())
                    .collect();
            }
            report.stopped_tasks = source.stopped_tasks(target, ours).await.unwrap_or_default();
            let reasons: Vec<String> = report
                .stopped_tasks
                .iter()
                .take(3)
                .map(|t| format!("{} ({})", t.stopped_reason, t.containers.join("; ")))
                .collect();
            let mut message = format!(
                "deployment of {} to {}/{} failed: {reason}",
                short_arn(ours),
                target.cluster,
                target.service
            );
            if !reasons.is_empty() {
                message.push_str(&format!("; stopped tasks: {}", reasons.join(" | ")));
            }
            Err(DeploymentFailed(message).into())
        }
        Verdict::InProgress => unreachable!("the loop ends only on a verdict"),
    }
}

/// Names of environment variables whose values are masked in diffs.
const SECRET_LIKE: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "CREDENTIAL",
    "PRIVATE",
    "API_KEY",
    "ACCESS_KEY",
];

/// A copy of a task-definition input whose secret-looking environment
/// values are replaced by a short hash: a diff still shows *that* one
/// changed, never what it is (the diff lands in CI logs).
fn masked(input: &serde_json::Value) -> serde_json::Value {
    let mut copy = input.clone();
    if let Some(containers) = copy["containerDefinitions"].as_array_mut() {
        for container in containers {
            if let Some(environment) = container["environment"].as_array_mut() {
                for entry in environment {
                    let name = entry["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    if SECRET_LIKE.iter().any(|s| name.contains(s)) {
                        let value = entry["value"].as_str().unwrap_or_default();
                        let hash = crate::image::Digest::of(value.as_bytes());
                        entry["value"] =
                            serde_json::Value::String(format!("*** (sha256 {})", &hash.hex()[..8]));
                    }
                }
            }
        }
    }
    copy
}

/// A unified diff of two task-definition inputs as pretty JSON (keys sorted),
/// with secret-looking environment values masked.
pub(crate) fn unified_diff(before: &serde_json::Value, after: &serde_json::Value) -> String {
    let a = serde_json::to_string_pretty(&masked(before)).expect("JSON values serialise");
    let b = serde_json::to_string_pretty(&masked(after)).expect("JSON values serialise");
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header("current", "new")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_diff_shows_only_what_changes() {
        let before = json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "old"}], "cpu": "256"});
        let after = json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "new"}], "cpu": "256"});
        let diff = unified_diff(&before, &after);
        assert!(diff.contains("-      \"image\": \"old\""), "{diff}");
        assert!(diff.contains("+      \"image\": \"new\""), "{diff}");
        assert!(unified_diff(&before, &before).is_empty());
    }

    /// Replays recorded DescribeServices answers (and throttling errors).
    struct Replay {
        answers:
            std::sync::Mutex<std::collections::VecDeque<Result<ServiceSnapshot, &'static str>>>,
        last: std::sync::Mutex<Option<ServiceSnapshot>>,
        stopped: Vec<StoppedTask>,
    }

    impl Replay {
        fn of(files: &[&str]) -> Self {
            let answers = files
                .iter()
                .map(|f| match *f {
                    "throttle" => Err("ThrottlingException: Rate exceeded"),
                    name => Ok(recorded(name)),
                })
                .collect();
            let tasks = load("tasks-stopped.json");
            Self {
                answers: std::sync::Mutex::new(answers),
                last: std::sync::Mutex::new(None),
                stopped: crate::ecs::rollout::stopped_from_json(&tasks, NEW),
            }
        }
    }

    impl RolloutSource for Replay {
        async fn snapshot(&self, _: &ServiceTarget) -> Result<ServiceSnapshot> {
            let next = self.answers.lock().unwrap().pop_front();
            match next {
                Some(Ok(snapshot)) => {
                    *self.last.lock().unwrap() = Some(snapshot.clone());
                    Ok(snapshot)
                }
                Some(Err(message)) => Err(anyhow::anyhow!(message)),
                // Out of recordings: the service stays as it last was.
                None => Ok(self
                    .last
                    .lock()
                    .unwrap()
                    .clone()
                    .expect("at least one recording")),
            }
        }

        async fn stopped_tasks(&self, _: &ServiceTarget, _: &str) -> Result<Vec<StoppedTask>> {
            Ok(self.stopped.clone())
        }
    }

    const NEW: &str = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:8";

    fn load(name: &str) -> serde_json::Value {
        let path = format!("{}/testdata/ecs/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn recorded(name: &str) -> ServiceSnapshot {
        crate::ecs::rollout::snapshot_from_json(&load(name)).unwrap()
    }

    struct Quiet;
    impl RolloutProgress for Quiet {}

    fn target() -> ServiceTarget {
        ServiceTarget {
            cluster: "plog-cluster".into(),
            service: "plog-api".into(),
        }
    }

    fn wait(timeout_ms: u64) -> WaitOptions {
        WaitOptions {
            enabled: true,
            timeout: Duration::from_millis(timeout_ms),
            interval: Duration::from_millis(1),
        }
    }

    async fn run(files: &[&str], timeout_ms: u64) -> (Result<()>, DeployReport) {
        let mut report = DeployReport::default();
        let result = follow(
            &Replay::of(files),
            &target(),
            NEW,
            wait(timeout_ms),
            &Quiet,
            &mut report,
            &[],
        )
        .await;
        (result, report)
    }

    #[tokio::test]
    async fn a_rollout_that_completes_is_stable() {
        let (result, report) = run(
            &[
                "services-rolling.json",
                "services-rolling.json",
                "services-stable.json",
            ],
            5_000,
        )
        .await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(report.outcome, "stable");
    }

    #[tokio::test]
    async fn throttling_slows_polling_but_does_not_fail() {
        let (result, _) = run(
            &[
                "services-rolling.json",
                "throttle",
                "throttle",
                "services-stable.json",
            ],
            5_000,
        )
        .await;
        assert!(result.is_ok(), "{result:?}");
    }

    #[tokio::test]
    async fn a_failed_rollout_reports_events_and_stopped_tasks() {
        let (result, report) = run(&["services-rolling.json", "services-failed.json"], 5_000).await;
        let error = result.unwrap_err();
        assert!(error.downcast_ref::<DeploymentFailed>().is_some());
        let text = error.to_string();
        assert!(
            text.contains("circuit breaker") && text.contains("OutOfMemoryError"),
            "{text}"
        );
        assert_eq!(report.outcome, "failed");
        assert!(report.last_events[0].contains("deployment failed"));
        assert_eq!(report.stopped_tasks.len(), 1);
    }

    #[tokio::test]
    async fn a_circuit_breaker_rollback_is_a_failure() {
        let (result, _) = run(
            &["services-rolling.json", "services-rolled-back.json"],
            5_000,
        )
        .await;
        assert!(result
            .unwrap_err()
            .to_string()
            .contains("moved off plog-api:8 to plog-api:7"));
    }

    #[tokio::test]
    async fn never_stable_times_out() {
        let (result, report) = run(&["services-rolling.json"], 50).await;
        let text = result.unwrap_err().to_string();
        assert!(text.contains("not stable after 50ms"), "{text}");
        assert_eq!(report.outcome, "failed");
    }

    #[test]
    fn secret_looking_values_are_masked_in_diffs() {
        let before = json!({"containerDefinitions": [{"name": "a", "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "B", "value": "1"}]}]});
        let after = json!({"containerDefinitions": [{"name": "a", "environment": [{"name": "DB_PASSWORD", "value": "hunter3"}, {"name": "B", "value": "2"}]}]});
        let diff = unified_diff(&before, &after);
        assert!(!diff.contains("hunter"), "{diff}");
        assert!(
            diff.contains("-          \"value\": \"*** (sha256 "),
            "{diff}"
        );
        assert!(diff.contains("+          \"value\": \"2\""), "{diff}");
    }

    #[test]
    fn revisions_from_arns() {
        assert_eq!(
            revision_of("arn:aws:ecs:r:1:task-definition/plog-api:12"),
            12
        );
        assert_eq!(revision_of("plog-api"), 0);
    }
}
