//! Why a deployment failed, in the terms a user acts on: the stopped tasks
//! of *our* deployment (stoppedReason, stopCode, each container's exit code
//! and reason), the last lines of each essential container's log, the load
//! balancer's health check and the targets that failed it, and a one-line
//! hint for the causes seen most.
//!
//! Gathering never fails the command: a read that is refused or fails
//! becomes a note naming what could not be read and, for AccessDenied, the
//! IAM action it needs. The verdict and exit code stay as they were. The
//! hints are [`crate::ecs::hints`]' (pure, over the gathered facts).

use crate::ecs::client::EcsClient;
use crate::ecs::deploy::ServiceTarget;
use crate::ecs::logs::{LogReader, LogSource};
use crate::ecs::rollout::{short_arn, ServiceSnapshot};
use crate::ecs::target_health::TargetGroupHealth;
use serde::Serialize;
use serde_json::Value;

/// How many stopped tasks are shown.
pub(crate) const MAX_TASKS: usize = 3;

/// One container of a stopped task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerExit {
    /// Container name.
    pub name: String,
    /// Its exit code, if it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// ECS's reason for it (CannotPullContainerError: …, OutOfMemoryError: …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The last lines of one container's log, or where its log is instead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerLog {
    /// Container name.
    pub container: String,
    /// `awslogs /ecs/plog-api plog-back/plog-back/TASK-ID`, or where the log goes.
    pub source: String,
    /// The last lines, oldest first.
    pub lines: Vec<String>,
    /// Why there are no lines (stream missing, not readable, another driver).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A stopped task of our deployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoppedTask {
    /// The task ARN.
    pub task_arn: String,
    /// The task definition it ran.
    pub task_definition_arn: String,
    /// ECS's reason.
    pub stopped_reason: String,
    /// EssentialContainerExited, TaskFailedToStart, ServiceSchedulerInitiated, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    /// Its containers.
    pub containers: Vec<ContainerExit>,
    /// The last lines of its essential containers' logs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<ContainerLog>,
    /// `startedBy`: the deployment id for a service's task.
    #[serde(skip)]
    pub started_by: Option<String>,
    /// `stoppedAt`, seconds since the epoch.
    #[serde(skip)]
    pub stopped_at: Option<f64>,
}

impl StoppedTask {
    /// The task id (the ARN's last part).
    pub fn id(&self) -> &str {
        self.task_arn.rsplit('/').next().unwrap_or(&self.task_arn)
    }

    /// `Essential container in task exited (plog-back: exit code 1)`.
    pub fn summary(&self) -> String {
        let containers: Vec<String> = self
            .containers
            .iter()
            .filter(|c| c.exit_code.is_some_and(|code| code != 0) || c.reason.is_some())
            .map(|c| {
                let mut parts = Vec::new();
                if let Some(reason) = &c.reason {
                    parts.push(reason.clone());
                }
                if let Some(code) = c.exit_code {
                    parts.push(format!("exit code {code}"));
                }
                format!("{}: {}", c.name, parts.join(", "))
            })
            .collect();
        if containers.is_empty() {
            self.stopped_reason.clone()
        } else {
            format!("{} ({})", self.stopped_reason, containers.join("; "))
        }
    }

    /// The last line of the first log read, if any.
    fn last_log_line(&self) -> Option<&str> {
        self.logs
            .iter()
            .find_map(|l| l.lines.last())
            .map(String::as_str)
    }
}

/// The tasks' summaries, the same ones counted: `3× Essential container in
/// task exited (plog-back: exit code 1)`.
pub(crate) fn summaries(tasks: &[StoppedTask]) -> Vec<String> {
    let mut counted: Vec<(String, usize)> = Vec::new();
    for task in tasks {
        let summary = task.summary();
        match counted.iter_mut().find(|(s, _)| *s == summary) {
            Some((_, n)) => *n += 1,
            None => counted.push((summary, 1)),
        }
    }
    counted
        .into_iter()
        .map(|(s, n)| if n > 1 { format!("{n}× {s}") } else { s })
        .collect()
}

/// Why a deployment failed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    /// A few stopped tasks of our deployment, newest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stopped_tasks: Vec<StoppedTask>,
    /// The service's target groups, when it is behind a load balancer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_groups: Vec<TargetGroupHealth>,
    /// One line each for the causes recognised.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// What could not be read, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Diagnosis {
    /// Nothing found and nothing to say.
    pub fn is_empty(&self) -> bool {
        self.stopped_tasks.is_empty()
            && self.target_groups.is_empty()
            && self.hints.is_empty()
            && self.notes.is_empty()
    }

    /// The report as lines for a terminal (stderr), each with its kind first.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let first = self.stopped_tasks.first();
        for (i, task) in self.stopped_tasks.iter().enumerate() {
            let same_as_first = i > 0
                && first.is_some_and(|f| {
                    f.summary() == task.summary() && f.last_log_line() == task.last_log_line()
                });
            if same_as_first {
                out.push(format!(
                    "task   {} ({}) stopped the same way",
                    task.id(),
                    short_arn(&task.task_definition_arn)
                ));
                continue;
            }
            out.push(format!(
                "task   {} ({}) stopped: {}{}",
                task.id(),
                short_arn(&task.task_definition_arn),
                task.stopped_reason,
                task.stop_code
                    .as_deref()
                    .map(|c| format!(" [{c}]"))
                    .unwrap_or_default()
            ));
            for c in &task.containers {
                let mut text = format!("task     {}:", c.name);
                match c.exit_code {
                    Some(code) => text.push_str(&format!(" exit code {code}")),
                    None => text.push_str(" no exit code"),
                }
                if let Some(reason) = &c.reason {
                    text.push_str(&format!(", {reason}"));
                }
                out.push(text);
            }
            for log in &task.logs {
                match &log.note {
                    Some(note) => out.push(format!("log    {}: {note}", log.container)),
                    None => {
                        out.push(format!(
                            "log    {} ({}), last {} lines:",
                            log.container,
                            log.source,
                            log.lines.len()
                        ));
                        out.extend(log.lines.iter().map(|l| format!("log    | {l}")));
                    }
                }
            }
        }
        for group in &self.target_groups {
            out.push(format!(
                "health target group {}: health check {}; {} healthy, {} not",
                group.name,
                group.check(),
                group.healthy,
                group.targets.len()
            ));
            for t in &group.targets {
                out.push(format!(
                    "health   {}{} {}{}{}{}",
                    t.id,
                    t.port.map(|p| format!(":{p}")).unwrap_or_default(),
                    t.state,
                    t.reason
                        .as_deref()
                        .map(|r| format!(", {r}"))
                        .unwrap_or_default(),
                    t.description
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default(),
                    if t.seen_during_rollout {
                        " (seen during the rollout)"
                    } else {
                        ""
                    }
                ));
            }
        }
        out.extend(self.notes.iter().map(|n| format!("note   {n}")));
        out.extend(self.hints.iter().map(|h| format!("hint   {h}")));
        out
    }
}

/// What to look at.
pub(crate) struct DiagnoseRequest<'a> {
    /// The service.
    pub(crate) target: &'a ServiceTarget,
    /// Our deployment's id (`startedBy` of its tasks), if known.
    pub(crate) deployment_id: Option<&'a str>,
    /// Our task definition (`None`: the service's latest stopped tasks,
    /// whatever they ran).
    pub(crate) task_definition: Option<&'a str>,
    /// The service as last seen (load balancers, grace period).
    pub(crate) snapshot: Option<&'a ServiceSnapshot>,
    /// Log lines per container (0: none).
    pub(crate) log_lines: usize,
}

/// The latest stopped tasks of a service (failed ones first), with their
/// logs, the load balancer's health and hints: what `hoist status` shows.
pub async fn latest_stopped_tasks(
    client: &EcsClient,
    target: &ServiceTarget,
    snapshot: &ServiceSnapshot,
    log_lines: usize,
) -> Diagnosis {
    diagnose(
        client,
        &DiagnoseRequest {
            target,
            deployment_id: None,
            task_definition: None,
            snapshot: Some(snapshot),
            log_lines,
        },
    )
    .await
}

/// Gathers the diagnosis of a failed deployment; never fails.
pub(crate) async fn diagnose(client: &EcsClient, request: &DiagnoseRequest<'_>) -> Diagnosis {
    let mut diagnosis = Diagnosis::default();
    let target = request.target;
    match client.stopped_tasks(&target.cluster, &target.service).await {
        Ok(tasks) => {
            diagnosis.stopped_tasks = ours(tasks, request.deployment_id, request.task_definition)
        }
        Err(e) => diagnosis
            .notes
            .push(could_not_read("the stopped tasks", &e)),
    }
    if request.log_lines > 0 && !diagnosis.stopped_tasks.is_empty() {
        add_logs(client, request, &mut diagnosis).await;
    }
    if let Some(snapshot) = request.snapshot {
        let groups = snapshot.target_groups();
        for result in client.target_health.health(&groups).await {
            match result {
                Ok(group) => diagnosis.target_groups.push(group),
                Err(e) => diagnosis
                    .notes
                    .push(could_not_read("the target group's health", &e)),
            }
        }
    }
    diagnosis.hints = crate::ecs::hints::hints(&diagnosis, request.snapshot);
    diagnosis
}

/// The stopped tasks of our deployment (by `startedBy`, else by task
/// definition), those that failed before those a scale-in or rollback
/// stopped ("Scaling activity initiated by …"), newest first, at most
/// [`MAX_TASKS`].
pub(crate) fn ours(
    mut tasks: Vec<StoppedTask>,
    deployment_id: Option<&str>,
    task_definition: Option<&str>,
) -> Vec<StoppedTask> {
    let by_deployment =
        deployment_id.filter(|id| tasks.iter().any(|t| t.started_by.as_deref() == Some(*id)));
    tasks.retain(|t| match by_deployment {
        Some(id) => t.started_by.as_deref() == Some(id),
        None => task_definition.is_none_or(|td| t.task_definition_arn == td),
    });
    let scaled = |t: &StoppedTask| t.stopped_reason.starts_with("Scaling activity");
    tasks.sort_by(|a, b| {
        scaled(a).cmp(&scaled(b)).then(
            b.stopped_at
                .unwrap_or(0.0)
                .total_cmp(&a.stopped_at.unwrap_or(0.0)),
        )
    });
    tasks.truncate(MAX_TASKS);
    tasks
}

/// One line for a read that failed: what, and the IAM action if denied.
pub(crate) fn could_not_read(what: &str, error: &anyhow::Error) -> String {
    match crate::aws::error::find(error) {
        Some(aws) if aws.access_denied() => format!(
            "could not read {what}: the credentials lack {} (verdict unchanged)",
            aws.iam_action()
        ),
        _ => format!("could not read {what}: {}", crate::error::one_line(error)),
    }
}

async fn add_logs(client: &EcsClient, request: &DiagnoseRequest<'_>, diagnosis: &mut Diagnosis) {
    let reader = LogReader::new(&client.aws, &client.region);
    let mut definitions: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for task in &mut diagnosis.stopped_tasks {
        let arn = task.task_definition_arn.clone();
        if !definitions.contains_key(&arn) {
            match client.describe_task_definition_raw(&arn).await {
                Ok(described) => {
                    let containers = described["taskDefinition"]["containerDefinitions"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    definitions.insert(arn.clone(), containers);
                }
                Err(e) => {
                    diagnosis.notes.push(could_not_read(
                        &format!("task definition {}", short_arn(&arn)),
                        &e,
                    ));
                    definitions.insert(arn.clone(), Vec::new());
                }
            }
        }
        for container in definitions[&arn].iter().filter(|c| is_essential(c)) {
            let name = container["name"].as_str().unwrap_or("?").to_string();
            let source = LogSource::of(container);
            let log = match (source.stream(&name, task.id()), &source) {
                (Some(stream), LogSource::Awslogs { group, region, .. }) => {
                    let place = format!("awslogs {group} {stream}");
                    match reader
                        .last_lines(region.as_deref(), group, &stream, request.log_lines)
                        .await
                    {
                        Ok(Some(lines)) if !lines.is_empty() => ContainerLog {
                            container: name,
                            source: place,
                            lines: lines.into_iter().map(|l| l.message).collect(),
                            note: None,
                        },
                        Ok(_) => ContainerLog {
                            container: name,
                            note: Some(format!(
                                "no log lines in {place} (the container may never have started)"
                            )),
                            source: place,
                            lines: Vec::new(),
                        },
                        Err(e) => ContainerLog {
                            container: name,
                            note: Some(could_not_read(&format!("the log {place}"), &e)),
                            source: place,
                            lines: Vec::new(),
                        },
                    }
                }
                _ => ContainerLog {
                    container: name,
                    source: source.describe(),
                    lines: Vec::new(),
                    note: Some(format!("its log goes to {}", source.describe())),
                },
            };
            task.logs.push(log);
        }
    }
}

/// A container definition is essential unless it says `essential: false`.
pub(crate) fn is_essential(container: &Value) -> bool {
    container["essential"].as_bool().unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_is_denied_names_the_iam_action_and_keeps_the_verdict() {
        use crate::aws::error::{access_denied_for_test, Service};
        let denied = anyhow::Error::new(access_denied_for_test(Service::Logs, "GetLogEvents"))
            .context("reading the log");
        assert_eq!(
            could_not_read("the log /ecs/plog-api plog-back/plog-back/0123", &denied),
            "could not read the log /ecs/plog-api plog-back/plog-back/0123: the credentials lack logs:GetLogEvents (verdict unchanged)"
        );
        let elb = anyhow::Error::new(access_denied_for_test(
            Service::Elbv2,
            "DescribeTargetHealth",
        ));
        assert!(could_not_read("the target group's health", &elb)
            .ends_with("lack elasticloadbalancing:DescribeTargetHealth (verdict unchanged)"));
    }

    #[test]
    fn our_tasks_are_those_of_our_deployment_newest_first() {
        let make = |by: &str, td: &str, at: f64| StoppedTask {
            task_arn: format!("arn:task/c/{by}-{at}"),
            task_definition_arn: td.into(),
            started_by: Some(by.into()),
            stopped_at: Some(at),
            ..Default::default()
        };
        let mut drained = make("ecs-svc/2", "td:8", 9.0);
        drained.stopped_reason = "Scaling activity initiated by (deployment ecs-svc/3)".into();
        let tasks = vec![
            drained,
            make("ecs-svc/1", "td:7", 1.0),
            make("ecs-svc/2", "td:8", 2.0),
            make("ecs-svc/2", "td:8", 5.0),
            make("ecs-svc/2", "td:8", 3.0),
            make("ecs-svc/2", "td:8", 4.0),
        ];
        let mine = ours(tasks.clone(), Some("ecs-svc/2"), Some("td:8"));
        let at: Vec<f64> = mine.iter().map(|t| t.stopped_at.unwrap()).collect();
        assert_eq!(at, [5.0, 4.0, 3.0]);
        // No startedBy match (another tool's ids): by task definition.
        assert_eq!(
            ours(tasks.clone(), Some("ecs-svc/9"), Some("td:7")).len(),
            1
        );
        // Any task definition: the latest stopped tasks of the service.
        assert_eq!(ours(tasks, None, None).len(), MAX_TASKS);
    }
}
