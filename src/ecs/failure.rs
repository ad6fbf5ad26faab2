//! What a failed deployment left behind, as facts and their text: each
//! stopped task of ours (stoppedReason, stopCode, each container's exit code
//! and reason, the last log lines) and the diagnosis that holds them with
//! the target groups' health and the hints. Pure types, below the code
//! that gathers them and the hints made from them.

use crate::ecs::service::short_arn;
use crate::ecs::target_health::TargetGroupHealth;
use serde::Serialize;

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

/// The stopped tasks in a DescribeTasks response (JSON form).
#[cfg(test)]
pub(crate) fn stopped_from_json(response: &serde_json::Value) -> Vec<StoppedTask> {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    response["tasks"]
        .as_array()
        .map(|tasks| {
            tasks
                .iter()
                .filter(|t| t["lastStatus"] == "STOPPED")
                .map(|t| StoppedTask {
                    task_arn: text(&t["taskArn"]).unwrap_or_default(),
                    task_definition_arn: text(&t["taskDefinitionArn"]).unwrap_or_default(),
                    stopped_reason: text(&t["stoppedReason"])
                        .unwrap_or_else(|| "(no reason given)".into()),
                    stop_code: text(&t["stopCode"]),
                    started_by: text(&t["startedBy"]),
                    stopped_at: t["stoppedAt"].as_f64(),
                    containers: t["containers"]
                        .as_array()
                        .map(|cs| {
                            cs.iter()
                                .map(|c| ContainerExit {
                                    name: text(&c["name"]).unwrap_or_else(|| "?".into()),
                                    exit_code: c["exitCode"].as_i64().map(|n| n as i32),
                                    reason: text(&c["reason"]),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    logs: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default()
}
