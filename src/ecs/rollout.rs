//! Judging a rollout from what ECS reports: pure functions over snapshots of
//! a service, so every rule is unit-tested over recorded responses.
//!
//! Stable = exactly one deployment, it runs our task definition, its
//! rollout state is COMPLETED where reported, and running == desired.
//! Failed = rollout state FAILED, or the service moved off our task
//! definition (the circuit breaker rolled it back, or someone else deployed).

use std::collections::HashSet;

/// One deployment of a service, as DescribeServices reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeploymentView {
    /// `ecs-svc/…`.
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: String,
    /// The task definition ARN it runs.
    pub task_definition: String,
    /// IN_PROGRESS, COMPLETED or FAILED, where ECS reports it.
    pub rollout_state: Option<String>,
    /// Why the rollout state is what it is.
    pub rollout_state_reason: Option<String>,
    /// Tasks running.
    pub running: i32,
    /// Tasks pending.
    pub pending: i32,
    /// Tasks wanted.
    pub desired: i32,
    /// Tasks that failed to start.
    pub failed: i32,
}

/// A service event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceEvent {
    /// Event id.
    pub id: String,
    /// When, as text.
    pub created_at: String,
    /// What happened.
    pub message: String,
}

/// What DescribeServices says about the service at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceSnapshot {
    /// The service's current task definition.
    pub task_definition: String,
    /// Its deployments.
    pub deployments: Vec<DeploymentView>,
    /// Its events, newest first (as ECS lists them).
    pub events: Vec<ServiceEvent>,
}

impl ServiceSnapshot {
    /// The PRIMARY deployment, if any.
    pub fn primary(&self) -> Option<&DeploymentView> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }
}

/// Where a rollout stands.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Still rolling.
    InProgress,
    /// Done: one deployment, ours, all tasks running.
    Stable,
    /// It will not get there; the reason says why.
    Failed(String),
}

/// Judges `snapshot` for a rollout of task definition `ours`.
pub(crate) fn judge(snapshot: &ServiceSnapshot, ours: &str) -> Verdict {
    if snapshot.task_definition != ours {
        return Verdict::Failed(format!(
            "the service moved off {} to {} (a circuit-breaker rollback, or another deployment)",
            short_arn(ours),
            short_arn(&snapshot.task_definition)
        ));
    }
    let ours_deployment = snapshot
        .deployments
        .iter()
        .find(|d| d.task_definition == ours);
    if let Some(deployment) = ours_deployment {
        if deployment.rollout_state.as_deref() == Some("FAILED") {
            let reason = deployment
                .rollout_state_reason
                .clone()
                .unwrap_or_else(|| "rollout FAILED".to_string());
            return Verdict::Failed(reason);
        }
    }
    match snapshot.primary() {
        Some(primary) if primary.task_definition != ours => Verdict::Failed(format!(
            "the primary deployment runs {}, not {}",
            short_arn(&primary.task_definition),
            short_arn(ours)
        )),
        Some(primary)
            if snapshot.deployments.len() == 1
                && primary
                    .rollout_state
                    .as_deref()
                    .is_none_or(|s| s == "COMPLETED")
                && primary.running == primary.desired =>
        {
            Verdict::Stable
        }
        _ => Verdict::InProgress,
    }
}

/// `arn:…:task-definition/plog-api:8` → `plog-api:8`.
pub fn short_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Remembers which service events were already shown.
#[derive(Default)]
pub(crate) struct EventLog {
    seen: HashSet<String>,
}

impl EventLog {
    /// Marks the events already there before the rollout as seen.
    pub(crate) fn seed(&mut self, snapshot: &ServiceSnapshot) {
        self.seen
            .extend(snapshot.events.iter().map(|e| e.id.clone()));
    }

    /// The events not shown yet, oldest first; marks them seen.
    pub(crate) fn fresh<'a>(&mut self, snapshot: &'a ServiceSnapshot) -> Vec<&'a ServiceEvent> {
        let mut fresh: Vec<&ServiceEvent> = snapshot
            .events
            .iter()
            .filter(|e| !self.seen.contains(&e.id))
            .collect();
        fresh.reverse();
        for event in &fresh {
            self.seen.insert(event.id.clone());
        }
        fresh
    }
}

/// A stopped task and why it stopped.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoppedTask {
    /// The task ARN.
    pub task_arn: String,
    /// ECS's reason.
    pub stopped_reason: String,
    /// Per container: `name: reason (exit code N)`.
    pub containers: Vec<String>,
}

impl StoppedTask {
    /// `name: reason (exit code N)` for one container.
    pub fn describe_container(name: &str, reason: Option<&str>, exit_code: Option<i64>) -> String {
        format!(
            "{name}: {}{}",
            reason.unwrap_or("no reason"),
            exit_code
                .map(|code| format!(" (exit code {code})"))
                .unwrap_or_default()
        )
    }
}

/// A snapshot from a DescribeServices response in the API's JSON form
/// (recorded responses, as the AWS CLI prints them).
#[cfg(test)]
pub(crate) fn snapshot_from_json(response: &serde_json::Value) -> Option<ServiceSnapshot> {
    let service = response["services"].as_array()?.first()?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let count = |v: &serde_json::Value| v.as_i64().unwrap_or(0) as i32;
    Some(ServiceSnapshot {
        task_definition: text(&service["taskDefinition"]),
        deployments: service["deployments"]
            .as_array()?
            .iter()
            .map(|d| DeploymentView {
                id: text(&d["id"]),
                status: text(&d["status"]),
                task_definition: text(&d["taskDefinition"]),
                rollout_state: d["rolloutState"].as_str().map(str::to_string),
                rollout_state_reason: d["rolloutStateReason"].as_str().map(str::to_string),
                running: count(&d["runningCount"]),
                pending: count(&d["pendingCount"]),
                desired: count(&d["desiredCount"]),
                failed: count(&d["failedTasks"]),
            })
            .collect(),
        events: service["events"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .map(|e| ServiceEvent {
                        id: text(&e["id"]),
                        created_at: e["createdAt"].to_string(),
                        message: text(&e["message"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The stopped tasks of `task_definition` in a DescribeTasks response (JSON form).
#[cfg(test)]
pub(crate) fn stopped_from_json(
    response: &serde_json::Value,
    task_definition: &str,
) -> Vec<StoppedTask> {
    response["tasks"]
        .as_array()
        .map(|tasks| {
            tasks
                .iter()
                .filter(|t| {
                    t["taskDefinitionArn"] == task_definition && t["lastStatus"] == "STOPPED"
                })
                .map(|t| StoppedTask {
                    task_arn: t["taskArn"].as_str().unwrap_or_default().to_string(),
                    stopped_reason: t["stoppedReason"]
                        .as_str()
                        .unwrap_or("(no reason given)")
                        .to_string(),
                    containers: t["containers"]
                        .as_array()
                        .map(|cs| {
                            cs.iter()
                                .map(|c| {
                                    StoppedTask::describe_container(
                                        c["name"].as_str().unwrap_or("?"),
                                        c["reason"].as_str(),
                                        c["exitCode"].as_i64(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:7";
    const NEW: &str = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:8";

    fn deployment(
        status: &str,
        td: &str,
        state: Option<&str>,
        running: i32,
        desired: i32,
    ) -> DeploymentView {
        DeploymentView {
            id: format!("ecs-svc/{status}"),
            status: status.into(),
            task_definition: td.into(),
            rollout_state: state.map(str::to_string),
            running,
            desired,
            ..Default::default()
        }
    }

    #[test]
    fn two_deployments_are_in_progress_then_one_completed_is_stable() {
        let rolling = ServiceSnapshot {
            task_definition: NEW.into(),
            deployments: vec![
                deployment("PRIMARY", NEW, Some("IN_PROGRESS"), 1, 2),
                deployment("ACTIVE", OLD, Some("COMPLETED"), 1, 2),
            ],
            events: vec![],
        };
        assert_eq!(judge(&rolling, NEW), Verdict::InProgress);
        let done = ServiceSnapshot {
            task_definition: NEW.into(),
            deployments: vec![deployment("PRIMARY", NEW, Some("COMPLETED"), 2, 2)],
            events: vec![],
        };
        assert_eq!(judge(&done, NEW), Verdict::Stable);
        let no_state = ServiceSnapshot {
            deployments: vec![deployment("PRIMARY", NEW, None, 2, 2)],
            ..done.clone()
        };
        assert_eq!(judge(&no_state, NEW), Verdict::Stable);
        let short = ServiceSnapshot {
            deployments: vec![deployment("PRIMARY", NEW, None, 1, 2)],
            ..done
        };
        assert_eq!(judge(&short, NEW), Verdict::InProgress);
    }

    #[test]
    fn failed_rollouts_and_rollbacks_are_failures() {
        let mut failed = deployment("PRIMARY", NEW, Some("FAILED"), 0, 2);
        failed.rollout_state_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".into());
        let snapshot = ServiceSnapshot {
            task_definition: NEW.into(),
            deployments: vec![failed],
            events: vec![],
        };
        assert!(
            matches!(judge(&snapshot, NEW), Verdict::Failed(r) if r.contains("circuit breaker"))
        );
        let rolled_back = ServiceSnapshot {
            task_definition: OLD.into(),
            deployments: vec![deployment("PRIMARY", OLD, Some("IN_PROGRESS"), 0, 2)],
            events: vec![],
        };
        assert!(
            matches!(judge(&rolled_back, NEW), Verdict::Failed(r) if r.contains("moved off plog-api:8 to plog-api:7"))
        );
    }

    fn recorded(name: &str) -> ServiceSnapshot {
        let path = format!("{}/testdata/ecs/{name}", env!("CARGO_MANIFEST_DIR"));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        snapshot_from_json(&json).unwrap()
    }

    #[test]
    fn recorded_describe_services_responses_are_judged() {
        assert_eq!(
            judge(&recorded("services-rolling.json"), NEW),
            Verdict::InProgress
        );
        assert_eq!(
            judge(&recorded("services-stable.json"), NEW),
            Verdict::Stable
        );
        assert!(
            matches!(judge(&recorded("services-failed.json"), NEW), Verdict::Failed(r) if r.contains("circuit breaker"))
        );
        assert!(
            matches!(judge(&recorded("services-rolled-back.json"), NEW), Verdict::Failed(r) if r.contains("moved off"))
        );
        // The old revision is stable in the stable snapshot's eyes only if it is ours.
        assert!(matches!(
            judge(&recorded("services-stable.json"), OLD),
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn recorded_describe_tasks_give_reasons() {
        let path = format!(
            "{}/testdata/ecs/tasks-stopped.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let stopped = stopped_from_json(&json, NEW);
        assert_eq!(stopped.len(), 1);
        assert_eq!(
            stopped[0].stopped_reason,
            "Essential container in task exited"
        );
        assert_eq!(
            stopped[0].containers[0],
            "plog-back: OutOfMemoryError: Container killed due to memory usage (exit code 1)"
        );
        assert!(stopped_from_json(&json, OLD).is_empty());
    }

    #[test]
    fn events_are_shown_once_oldest_first() {
        let event = |id: &str| ServiceEvent {
            id: id.into(),
            created_at: String::new(),
            message: id.into(),
        };
        let mut log = EventLog::default();
        log.seed(&ServiceSnapshot {
            events: vec![event("old")],
            ..Default::default()
        });
        let snapshot = ServiceSnapshot {
            events: vec![event("c"), event("b"), event("old")],
            ..Default::default()
        };
        let fresh: Vec<&str> = log.fresh(&snapshot).iter().map(|e| e.id.as_str()).collect();
        assert_eq!(fresh, ["b", "c"]);
        assert!(log.fresh(&snapshot).is_empty());
    }
}
