//! Following one deployment until it ends: poll DescribeServices (events,
//! counts) and, where the API answers, DescribeServiceDeployments (status,
//! lifecycle stage), judge each view with [`crate::ecs::rollout::judge`], and
//! stop on a verdict or the deadline. Throttling slows the polling down; a
//! deployment not visible yet is waited for, within a grace period.
//!
//! It decides nothing about rolling back: it says how the deployment ended,
//! and the caller (deploy, rollback) acts on that.

use crate::ecs::client::{is_throttling, EcsClient, ServiceDeploymentLookup};
use crate::ecs::rollout::judge::{judge, EventLog, Verdict};
use crate::ecs::service::ServiceTarget;
use crate::ecs::service::{
    short_arn, DeploymentView, OurDeployment, ServiceDeploymentView, ServiceEvent, ServiceSnapshot,
};
use anyhow::Result;
use std::time::{Duration, Instant};

/// How long a deployment may stay invisible after UpdateService before that
/// counts as a failure: DescribeServices is eventually consistent, and
/// usually catches up within seconds.
const NOT_VISIBLE_GRACE: Duration = Duration::from_secs(60);

/// How to wait for a rollout.
#[derive(Clone, Copy, Debug)]
pub struct WaitOptions {
    /// Wait at all.
    pub enabled: bool,
    /// Give up after this long.
    pub timeout: Duration,
    /// Poll this often (doubled while ECS throttles, up to a minute).
    pub interval: Duration,
    /// When it fails: the last lines shown of each essential container's
    /// log (0: none).
    pub log_lines: usize,
}

/// Where the facts about a rollout come from: ECS (through [`EcsClient`]),
/// or recorded answers in tests.
#[allow(async_fn_in_trait)]
pub(crate) trait RolloutSource {
    /// The service now.
    async fn snapshot(&self, target: &ServiceTarget) -> Result<ServiceSnapshot>;
    /// One service deployment (`None`: not there, or not yet).
    async fn service_deployment(
        &self,
        arn: &str,
    ) -> Result<ServiceDeploymentLookup<Option<ServiceDeploymentView>>>;
    /// True the first time: the fallback to DescribeServices is said once
    /// per command, however many services it follows.
    fn first_to_say_fallback(&self) -> bool {
        true
    }
    /// Our deployment is not done yet: a chance to look at what ECS takes
    /// away soon (the load balancer's failing targets, deregistered with
    /// the tasks ECS stops for failing health checks).
    async fn watch(&self, _snapshot: &ServiceSnapshot) {}
    /// Whether the load balancer has every running task of `ours` healthy
    /// now (`None`: not known), for the timeline.
    async fn ours_healthy(
        &self,
        _target: &ServiceTarget,
        _snapshot: &ServiceSnapshot,
        _ours: &OurDeployment,
    ) -> Option<bool> {
        None
    }
}

impl RolloutSource for EcsClient {
    async fn snapshot(&self, target: &ServiceTarget) -> Result<ServiceSnapshot> {
        EcsClient::snapshot(self, &target.cluster, &target.service).await
    }

    async fn service_deployment(
        &self,
        arn: &str,
    ) -> Result<ServiceDeploymentLookup<Option<ServiceDeploymentView>>> {
        EcsClient::service_deployment(self, arn).await
    }

    fn first_to_say_fallback(&self) -> bool {
        EcsClient::first_to_say_fallback(self)
    }

    async fn watch(&self, snapshot: &ServiceSnapshot) {
        self.target_health.sample(&snapshot.target_groups()).await;
    }

    async fn ours_healthy(
        &self,
        target: &ServiceTarget,
        snapshot: &ServiceSnapshot,
        ours: &OurDeployment,
    ) -> Option<bool> {
        let groups = snapshot.target_groups();
        if groups.is_empty() {
            return None;
        }
        let tasks = self
            .deployment_tasks(
                &target.cluster,
                &target.service,
                std::slice::from_ref(&ours.id),
                false,
            )
            .await
            .ok()?;
        let ips: Vec<String> = tasks.into_iter().filter_map(|t| t.ip).collect();
        if ips.is_empty() {
            return None;
        }
        self.target_health.all_healthy(&groups, &ips).await
    }
}

/// Hears about a rollout as it goes; the CLI draws it.
pub trait RolloutProgress: Send + Sync {
    /// A new service event.
    fn event(&self, _event: &ServiceEvent) {}
    /// Our deployment's counts changed.
    fn counts(&self, _deployment: &DeploymentView) {}
    /// The counts of one service's deployment in a release of several.
    fn service_counts(&self, _service: &str, deployment: &DeploymentView) {
        self.counts(deployment);
    }
    /// A step (registered, updated, a lifecycle stage, rolling back…).
    fn step(&self, _message: &str) {}
}

/// Whether the ServiceDeployments API is used; shared by every follow of
/// one command, so the fallback is decided (and said) once.
#[derive(Debug)]
pub(crate) struct Tracking {
    /// Ask DescribeServiceDeployments.
    pub(crate) service_deployments: bool,
}

impl Default for Tracking {
    fn default() -> Self {
        Self {
            service_deployments: true,
        }
    }
}

impl Tracking {
    /// Follows through DescribeServices from now on; says why when `say`
    /// (the first fallback of the command).
    pub(crate) fn fall_back(
        &mut self,
        why: &str,
        deployment_id: &str,
        strategy: Option<&str>,
        say: bool,
        progress: &dyn RolloutProgress,
    ) {
        let was_on = std::mem::replace(&mut self.service_deployments, false);
        if !was_on || !say {
            return;
        }
        let mut text = format!(
            "the ServiceDeployments API is not available ({why}); following deployment {deployment_id} through DescribeServices"
        );
        if strategy.is_some_and(|s| s != "ROLLING") {
            text.push_str(
                " — bake time and lifecycle hooks are not visible there: stable will mean all new tasks run",
            );
        }
        progress.step(&text);
    }

    /// `service-deployments` or `describe-services`, for the report.
    pub(crate) fn source_name(&self) -> &'static str {
        if self.service_deployments {
            "service-deployments"
        } else {
            "describe-services"
        }
    }
}

/// How a followed deployment ended.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ending {
    /// SUCCESSFUL / COMPLETED.
    Stable,
    /// It failed and is still the service's deployment.
    Failed(String),
    /// ECS rolled it back (for a rollback hoist asked for: once finished).
    RolledBack(String),
    /// Someone's newer deployment took over.
    Superseded {
        /// The newer deployment.
        by: String,
        /// Its task definition, when known.
        task_definition: Option<String>,
    },
    /// Not finished within the wait.
    TimedOut(Duration),
}

/// What [`follow`] saw last, for the report.
#[derive(Default)]
pub(crate) struct LastSeen {
    /// The last DescribeServices view.
    pub(crate) snapshot: Option<ServiceSnapshot>,
    /// What the timeline needs from the polls.
    pub(crate) samples: RolloutSamples,
}

/// What the polls saw, on ECS's clock, for the timeline: the newest time
/// ECS showed for our deployment (its `createdAt`, `updatedAt`, and its
/// service deployment's `updatedAt`, `finishedAt`), carried forward by the
/// local clock between changes; when our tasks were first all healthy; BAKE_TIME; the
/// deployments ours replaced.
#[derive(Default)]
pub(crate) struct RolloutSamples {
    anchor: Option<(f64, Instant)>,
    /// When the load balancer first had all our running tasks healthy.
    pub(crate) healthy_at: Option<f64>,
    /// When BAKE_TIME began, and ended.
    pub(crate) bake: Option<(f64, Option<f64>)>,
    /// The other deployments seen (the ones ours replaced).
    pub(crate) others: Vec<String>,
    /// When our service deployment finished, as ECS says.
    pub(crate) finished_at: Option<f64>,
}

impl RolloutSamples {
    /// ECS's time now, as well as the polls tell it.
    pub(crate) fn now(&self) -> Option<f64> {
        self.anchor
            .map(|(at, seen)| at + seen.elapsed().as_secs_f64())
    }

    fn see(
        &mut self,
        snapshot: &ServiceSnapshot,
        ours: &OurDeployment,
        sd: Option<&ServiceDeploymentView>,
    ) {
        // Our deployment's times and its service deployment's: a step ECS
        // takes on another deployment (an old task drained) says nothing of
        // when ours got where it is.
        let newest = snapshot
            .deployments
            .iter()
            .filter(|d| d.id == ours.id)
            .flat_map(|d| [d.created_at, d.updated_at])
            .chain(sd.iter().flat_map(|sd| [sd.updated_at, sd.finished_at]))
            .flatten()
            .reduce(f64::max);
        if let Some(newest) = newest {
            if self.anchor.is_none_or(|(at, _)| newest > at) {
                self.anchor = Some((newest, Instant::now()));
            }
        }
        for d in &snapshot.deployments {
            if d.id != ours.id && !self.others.contains(&d.id) {
                self.others.push(d.id.clone());
            }
        }
        if let Some(sd) = sd {
            self.finished_at = sd.finished_at.or(self.finished_at);
            let baking = sd.lifecycle_stage.as_deref() == Some("BAKE_TIME");
            let now = self.now();
            match (&mut self.bake, baking, now) {
                (None, true, Some(now)) => self.bake = Some((now, None)),
                (Some((_, end @ None)), false, Some(now)) => *end = Some(now),
                _ => {}
            }
        }
    }
}

impl LastSeen {
    /// The last few service events, newest first.
    pub(crate) fn events(&self, n: usize) -> Vec<String> {
        self.snapshot
            .iter()
            .flat_map(|s| s.events.iter().take(n))
            .map(|e| e.message.clone())
            .collect()
    }
}

/// Prints lifecycle stages as they change (BAKE_TIME with the minutes left).
#[derive(Default)]
struct StageLog {
    last: Option<String>,
    bake_started: Option<Instant>,
    bake_left_said: Option<u64>,
}

impl StageLog {
    fn see(
        &mut self,
        sd: &ServiceDeploymentView,
        bake_minutes: Option<i32>,
        progress: &dyn RolloutProgress,
    ) {
        let stage = sd.lifecycle_stage.clone();
        if stage != self.last {
            if let Some(stage) = &stage {
                progress.step(&format!("stage {stage} ({})", sd.status));
            }
            self.bake_started = (stage.as_deref() == Some("BAKE_TIME")).then(Instant::now);
            self.bake_left_said = None;
            self.last = stage;
        }
        if let (Some(started), Some(minutes)) = (self.bake_started, bake_minutes) {
            let total = u64::try_from(minutes).unwrap_or(0);
            let left = total.saturating_sub(started.elapsed().as_secs() / 60);
            if self.bake_left_said != Some(left) {
                progress.step(&format!("BAKE_TIME, {left}m left"));
                self.bake_left_said = Some(left);
            }
        }
    }
}

/// Follows `ours` until it ends or `wait.timeout` passes; events already in
/// `seen` are not shown again. A rollback ECS is doing is waited for until
/// it finishes, so "rolled back" means the service is back.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn follow<S: RolloutSource>(
    source: &S,
    target: &ServiceTarget,
    ours: &OurDeployment,
    wait: WaitOptions,
    tracking: &mut Tracking,
    progress: &dyn RolloutProgress,
    seen: &[ServiceEvent],
    last: &mut LastSeen,
) -> Result<Ending> {
    let started = Instant::now();
    let deadline = started + wait.timeout;
    let mut interval = wait.interval;
    let mut events = EventLog::default();
    events.seed(&ServiceSnapshot {
        events: seen.to_vec(),
        ..Default::default()
    });
    let mut last_counts: Option<DeploymentView> = None;
    let mut stages = StageLog::default();
    let mut rolling_back: Option<String> = None;
    loop {
        if Instant::now() >= deadline {
            return Ok(match rolling_back {
                Some(reason) => Ending::RolledBack(format!(
                    "{reason} (ECS was still rolling back after {})",
                    humantime::format_duration(wait.timeout)
                )),
                None => Ending::TimedOut(wait.timeout),
            });
        }
        let snapshot = match source.snapshot(target).await {
            Ok(snapshot) => snapshot,
            Err(error) if is_throttling(&error) => {
                interval = (interval * 2).min(Duration::from_secs(60));
                progress.step(&format!(
                    "ECS is throttling; polling every {}",
                    humantime::format_duration(interval)
                ));
                sleep_until_next(interval, deadline).await;
                continue;
            }
            Err(error) => return Err(error),
        };
        for event in events.fresh(&snapshot) {
            progress.event(event);
        }
        let sd = service_deployment(source, ours, &snapshot, tracking, progress).await?;
        if let Some(deployment) = snapshot.deployment(&ours.id) {
            let changed = last_counts.as_ref().is_none_or(|last| {
                (
                    last.running,
                    last.pending,
                    last.desired,
                    &last.rollout_state,
                ) != (
                    deployment.running,
                    deployment.pending,
                    deployment.desired,
                    &deployment.rollout_state,
                )
            });
            if changed {
                progress.counts(deployment);
                last_counts = Some(deployment.clone());
            }
        }
        if let Some(sd) = &sd {
            stages.see(sd, snapshot.bake_minutes, progress);
        }
        last.samples.see(&snapshot, ours, sd.as_ref());
        if last.samples.healthy_at.is_none()
            && snapshot
                .deployment(&ours.id)
                .is_some_and(|d| d.desired > 0 && d.running >= d.desired)
            && source.ours_healthy(target, &snapshot, ours).await == Some(true)
        {
            last.samples.healthy_at = last.samples.now();
        }
        let verdict = judge(&snapshot, ours, sd.as_ref());
        if !matches!(verdict, Verdict::Stable) && !snapshot.load_balancers.is_empty() {
            source.watch(&snapshot).await;
        }
        last.snapshot = Some(snapshot);
        match verdict {
            Verdict::Stable => return Ok(Ending::Stable),
            Verdict::Failed(reason) => return Ok(Ending::Failed(reason)),
            Verdict::Superseded {
                by,
                task_definition,
            } => {
                return Ok(Ending::Superseded {
                    by,
                    task_definition,
                })
            }
            Verdict::RolledBack { reason, done: true } => return Ok(Ending::RolledBack(reason)),
            Verdict::RolledBack {
                reason,
                done: false,
            } => {
                if rolling_back.is_none() {
                    progress.step(&format!("ECS is rolling back: {reason}"));
                }
                rolling_back = Some(reason);
            }
            Verdict::Waiting { visible: false } if started.elapsed() >= NOT_VISIBLE_GRACE => {
                return Ok(Ending::Failed(format!(
                    "deployment {} of {} never appeared in DescribeServices within {}",
                    ours.id,
                    short_arn(&ours.task_definition),
                    humantime::format_duration(NOT_VISIBLE_GRACE)
                )));
            }
            Verdict::Waiting { .. } => {}
        }
        sleep_until_next(interval, deadline).await;
    }
}

async fn sleep_until_next(interval: Duration, deadline: Instant) {
    tokio::time::sleep(interval.min(deadline.saturating_duration_since(Instant::now()))).await;
}

/// Our service deployment, while the API answers; the first refusal
/// switches `tracking` to DescribeServices for good, said once.
async fn service_deployment<S: RolloutSource>(
    source: &S,
    ours: &OurDeployment,
    snapshot: &ServiceSnapshot,
    tracking: &mut Tracking,
    progress: &dyn RolloutProgress,
) -> Result<Option<ServiceDeploymentView>> {
    let Some(arn) = ours.arn.as_deref().filter(|_| tracking.service_deployments) else {
        return Ok(None);
    };
    match source.service_deployment(arn).await? {
        ServiceDeploymentLookup::Found(found) => Ok(found),
        ServiceDeploymentLookup::Unavailable(why) => {
            tracking.fall_back(
                &why,
                &ours.id,
                snapshot.strategy.as_deref(),
                source.first_to_say_fallback(),
                progress,
            );
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:8";

    /// Replays recorded DescribeServices answers (and throttling errors).
    struct Replay {
        answers:
            std::sync::Mutex<std::collections::VecDeque<Result<ServiceSnapshot, &'static str>>>,
        last: std::sync::Mutex<Option<ServiceSnapshot>>,
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
            Self {
                answers: std::sync::Mutex::new(answers),
                last: std::sync::Mutex::new(None),
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

        async fn service_deployment(
            &self,
            _: &str,
        ) -> Result<ServiceDeploymentLookup<Option<ServiceDeploymentView>>> {
            Ok(ServiceDeploymentLookup::Unavailable(
                "AccessDeniedException".into(),
            ))
        }
    }

    fn load(name: &str) -> serde_json::Value {
        let path = format!("{}/testdata/ecs/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn recorded(name: &str) -> ServiceSnapshot {
        crate::ecs::service::snapshot_from_json(&load(name)).unwrap()
    }

    #[derive(Default)]
    struct Steps(std::sync::Mutex<Vec<String>>);
    impl RolloutProgress for Steps {
        fn step(&self, message: &str) {
            self.0.lock().unwrap().push(message.to_string());
        }
    }

    async fn run(files: &[&str], timeout_ms: u64) -> (Ending, Vec<String>) {
        let steps = Steps::default();
        let ours = OurDeployment {
            id: "ecs-svc/2".into(),
            arn: Some("arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/c/s/x".into()),
            task_definition: NEW.into(),
            created_at: None,
        };
        let ending = follow(
            &Replay::of(files),
            &ServiceTarget {
                cluster: "plog-cluster".into(),
                service: "plog-api".into(),
            },
            &ours,
            WaitOptions {
                enabled: true,
                timeout: Duration::from_millis(timeout_ms),
                interval: Duration::from_millis(1),
                log_lines: 0,
            },
            &mut Tracking::default(),
            &steps,
            &[],
            &mut LastSeen::default(),
        )
        .await
        .unwrap();
        let steps = steps.0.into_inner().unwrap();
        (ending, steps)
    }

    #[tokio::test]
    async fn a_rollout_that_completes_is_stable_and_the_fallback_is_said_once() {
        let (ending, steps) = run(
            &[
                "services-rolling.json",
                "services-rolling.json",
                "services-stable.json",
            ],
            5_000,
        )
        .await;
        assert_eq!(ending, Ending::Stable);
        let said = steps
            .iter()
            .filter(|s| s.contains("ServiceDeployments API is not available"))
            .count();
        assert_eq!(said, 1, "{steps:?}");
    }

    #[tokio::test]
    async fn throttling_slows_polling_but_does_not_fail() {
        let (ending, steps) = run(
            &[
                "services-rolling.json",
                "throttle",
                "throttle",
                "services-stable.json",
            ],
            5_000,
        )
        .await;
        assert_eq!(ending, Ending::Stable);
        assert!(steps.iter().any(|s| s.contains("throttling")), "{steps:?}");
    }

    #[tokio::test]
    async fn circuit_breaker_failure_and_rollback() {
        let (ending, _) = run(&["services-rolling.json", "services-failed.json"], 5_000).await;
        assert!(matches!(ending, Ending::Failed(r) if r.contains("circuit breaker")));
        // ECS's rollback is still running when the wait ends: rolled back
        // all the same, and said so.
        let (ending, steps) =
            run(&["services-rolling.json", "services-rolled-back.json"], 100).await;
        assert!(
            matches!(&ending, Ending::RolledBack(r) if r.contains("rolling back") && r.contains("still rolling back")),
            "{ending:?}"
        );
        assert!(steps.iter().any(|s| s.starts_with("ECS is rolling back")));
    }

    #[tokio::test]
    async fn never_stable_times_out() {
        let (ending, _) = run(&["services-rolling.json"], 50).await;
        assert_eq!(ending, Ending::TimedOut(Duration::from_millis(50)));
    }
}
