//! Judging a rollout from what ECS reports: pure functions over what
//! DescribeServices and DescribeServiceDeployments say at one moment, so
//! every rule is unit-tested over recorded answers.
//!
//! hoist follows *its own* deployment — the one UpdateService created,
//! known by its deployment id and, where ECS gives one, its service
//! deployment ARN — never "the service looks settled":
//!
//! * With the ServiceDeployments API (API_ServiceDeployment.html) the
//!   service deployment's `status` decides: SUCCESSFUL is stable (after bake
//!   time and lifecycle hooks), ROLLBACK_SUCCESSFUL / ROLLBACK_FAILED mean
//!   ECS rolled back, STOPPED is a failure unless a newer deployment took
//!   over (superseded).
//! * Without it (an IAM policy without the new actions), DescribeServices'
//!   deployment with our id decides (API_Deployment.html): PRIMARY and
//!   rolloutState COMPLETED with running == desired and no other deployment
//!   left is stable; FAILED is a failure; no longer PRIMARY means ECS rolled
//!   back (circuit breaker: the new PRIMARY's rolloutStateReason says
//!   "rolling back") or someone else's newer deployment superseded ours.
//! * Not seeing our deployment yet is waiting, not failing: DescribeServices
//!   is eventually consistent ("The Amazon ECS API follows an eventual
//!   consistency model", API_RunTask.html / API_CreateService.html), so right
//!   after UpdateService it may still show the old revision. The caller
//!   bounds that wait.

use crate::ecs::service::{
    DeploymentView, OurDeployment, ServiceDeploymentView, ServiceEvent, ServiceSnapshot,
};
use std::collections::HashSet;

/// Where a rollout stands.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Still rolling (or not visible yet: `visible` false).
    Waiting {
        /// False while ECS does not show our deployment yet.
        visible: bool,
    },
    /// Done: our deployment completed (SUCCESSFUL / COMPLETED).
    Stable,
    /// Ours failed and nothing replaced it; the reason says why.
    Failed(String),
    /// ECS rolled ours back (or is rolling it back, `done` false).
    RolledBack {
        /// Why, as ECS says.
        reason: String,
        /// The rollback has finished.
        done: bool,
    },
    /// A newer deployment that is not ours took over.
    Superseded {
        /// The newer deployment (id or service-deployment ARN).
        by: String,
        /// The task definition it runs, when known.
        task_definition: Option<String>,
    },
}

/// True for ECS's rollback deployments: the circuit breaker (or alarms)
/// names them in rolloutStateReason ("ECS deployment circuit breaker:
/// rolling back to deploymentId ecs-svc/…", the deployment state-change
/// events' `reason`).
fn is_rollback(deployment: &DeploymentView) -> bool {
    deployment
        .rollout_state_reason
        .as_deref()
        .is_some_and(|r| r.contains("rolling back"))
}

/// Judges the rollout of `ours` from a DescribeServices `snapshot` and, when
/// the ServiceDeployments API answered, our service deployment `sd`.
pub(crate) fn judge(
    snapshot: &ServiceSnapshot,
    ours: &OurDeployment,
    sd: Option<&ServiceDeploymentView>,
) -> Verdict {
    match sd {
        Some(sd) => judge_service_deployment(snapshot, ours, sd),
        None => judge_deployment(snapshot, ours),
    }
}

/// The newer deployment that is not ours and not a rollback, if the
/// service's PRIMARY is one.
fn newer_primary<'a>(
    snapshot: &'a ServiceSnapshot,
    ours: &OurDeployment,
) -> Option<&'a DeploymentView> {
    let primary = snapshot.primary()?;
    let newer = match (primary.created_at, ours.created_at) {
        (Some(theirs), Some(mine)) => theirs > mine,
        // Without times: anything PRIMARY that is not ours, not a rollback.
        _ => true,
    };
    (primary.id != ours.id && !is_rollback(primary) && newer).then_some(primary)
}

fn judge_service_deployment(
    snapshot: &ServiceSnapshot,
    ours: &OurDeployment,
    sd: &ServiceDeploymentView,
) -> Verdict {
    let reason = || {
        sd.rollback_reason
            .clone()
            .or_else(|| sd.status_reason.clone())
            .unwrap_or_else(|| sd.status.clone())
    };
    match sd.status.as_str() {
        "SUCCESSFUL" => Verdict::Stable,
        "ROLLBACK_SUCCESSFUL" => Verdict::RolledBack {
            reason: reason(),
            done: true,
        },
        "ROLLBACK_FAILED" => Verdict::Failed(format!("ECS could not roll back: {}", reason())),
        "ROLLBACK_IN_PROGRESS" => Verdict::RolledBack {
            reason: reason(),
            done: false,
        },
        "STOPPED" | "STOP_REQUESTED" => {
            let current = snapshot.current_service_deployment.as_deref();
            if let Some(other) = current.filter(|c| Some(*c) != ours.arn.as_deref()) {
                return Verdict::Superseded {
                    by: other.to_string(),
                    task_definition: snapshot.primary().map(|p| p.task_definition.clone()),
                };
            }
            if let Some(primary) = newer_primary(snapshot, ours) {
                return Verdict::Superseded {
                    by: primary.id.clone(),
                    task_definition: Some(primary.task_definition.clone()),
                };
            }
            if sd.status == "STOP_REQUESTED" {
                Verdict::Waiting { visible: true }
            } else {
                Verdict::Failed(reason())
            }
        }
        // PENDING, IN_PROGRESS, ROLLBACK_REQUESTED and anything newer.
        _ => Verdict::Waiting { visible: true },
    }
}

fn judge_deployment(snapshot: &ServiceSnapshot, ours: &OurDeployment) -> Verdict {
    let Some(deployment) = snapshot.deployment(&ours.id) else {
        // Not listed: not visible yet, or gone because something newer
        // replaced it completely.
        if let Some(primary) = newer_primary(snapshot, ours) {
            if ours.created_at.is_some() && primary.created_at.is_some() {
                return Verdict::Superseded {
                    by: primary.id.clone(),
                    task_definition: Some(primary.task_definition.clone()),
                };
            }
        }
        return Verdict::Waiting { visible: false };
    };
    if deployment.status != "PRIMARY" {
        if let Some(primary) = snapshot.primary() {
            if is_rollback(primary) || is_rollback(deployment) {
                // Done once the rollback deployment completed alone.
                let done = primary.rollout_state.as_deref() == Some("COMPLETED")
                    && snapshot
                        .deployments
                        .iter()
                        .all(|d| d.id == primary.id || d.running == 0);
                return Verdict::RolledBack {
                    reason: deployment
                        .rollout_state_reason
                        .clone()
                        .or_else(|| primary.rollout_state_reason.clone())
                        .unwrap_or_else(|| "ECS rolled back".into()),
                    done,
                };
            }
            if deployment.rollout_state.as_deref() == Some("FAILED") {
                return Verdict::Failed(
                    deployment
                        .rollout_state_reason
                        .clone()
                        .unwrap_or_else(|| "rollout FAILED".to_string()),
                );
            }
            return Verdict::Superseded {
                by: primary.id.clone(),
                task_definition: Some(primary.task_definition.clone()),
            };
        }
        return Verdict::Waiting { visible: true };
    }
    if deployment.rollout_state.as_deref() == Some("FAILED") {
        return Verdict::Failed(
            deployment
                .rollout_state_reason
                .clone()
                .unwrap_or_else(|| "rollout FAILED".to_string()),
        );
    }
    let others_gone = snapshot
        .deployments
        .iter()
        .all(|d| d.id == ours.id || d.running == 0);
    let completed = deployment
        .rollout_state
        .as_deref()
        .is_none_or(|s| s == "COMPLETED");
    if completed && others_gone && deployment.running == deployment.desired {
        Verdict::Stable
    } else {
        Verdict::Waiting { visible: true }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::service::snapshot_from_json;

    const OLD: &str = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:7";
    const NEW: &str = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:8";
    const OTHER: &str = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:9";

    fn deployment(
        id: &str,
        status: &str,
        td: &str,
        state: Option<&str>,
        running: i32,
        desired: i32,
    ) -> DeploymentView {
        DeploymentView {
            id: id.into(),
            status: status.into(),
            task_definition: td.into(),
            rollout_state: state.map(str::to_string),
            running,
            desired,
            ..Default::default()
        }
    }

    fn ours(id: &str) -> OurDeployment {
        OurDeployment {
            id: id.into(),
            arn: Some(format!("arn:sd/{id}")),
            task_definition: NEW.into(),
            created_at: Some(100.0),
        }
    }

    fn snapshot(deployments: Vec<DeploymentView>) -> ServiceSnapshot {
        ServiceSnapshot {
            task_definition: deployments[0].task_definition.clone(),
            deployments,
            ..Default::default()
        }
    }

    fn sd(status: &str) -> ServiceDeploymentView {
        ServiceDeploymentView {
            arn: "arn:sd/ecs-svc/2".into(),
            status: status.into(),
            ..Default::default()
        }
    }

    const WAITING: Verdict = Verdict::Waiting { visible: true };

    #[test]
    fn our_deployment_rolls_then_completes() {
        let rolling = snapshot(vec![
            deployment("ecs-svc/2", "PRIMARY", NEW, Some("IN_PROGRESS"), 1, 2),
            deployment("ecs-svc/1", "ACTIVE", OLD, Some("COMPLETED"), 1, 2),
        ]);
        assert_eq!(judge(&rolling, &ours("ecs-svc/2"), None), WAITING);
        let done = snapshot(vec![deployment(
            "ecs-svc/2",
            "PRIMARY",
            NEW,
            Some("COMPLETED"),
            2,
            2,
        )]);
        assert_eq!(judge(&done, &ours("ecs-svc/2"), None), Verdict::Stable);
        let short = snapshot(vec![deployment("ecs-svc/2", "PRIMARY", NEW, None, 1, 2)]);
        assert_eq!(judge(&short, &ours("ecs-svc/2"), None), WAITING);
    }

    #[test]
    fn a_stale_read_is_waiting_not_failure() {
        // Right after UpdateService: the old revision, alone and COMPLETED.
        let stale = snapshot(vec![deployment(
            "ecs-svc/1",
            "PRIMARY",
            OLD,
            Some("COMPLETED"),
            2,
            2,
        )]);
        assert_eq!(
            judge(&stale, &ours("ecs-svc/2"), None),
            Verdict::Waiting { visible: false }
        );
    }

    #[test]
    fn the_service_looking_settled_is_not_enough_with_service_deployments() {
        // BLUE_GREEN in BAKE_TIME: one PRIMARY at full count, no rolloutState.
        let looks_done = snapshot(vec![deployment("ecs-svc/2", "PRIMARY", NEW, None, 2, 2)]);
        let mut baking = sd("IN_PROGRESS");
        baking.lifecycle_stage = Some("BAKE_TIME".into());
        assert_eq!(
            judge(&looks_done, &ours("ecs-svc/2"), Some(&baking)),
            WAITING
        );
        assert_eq!(
            judge(&looks_done, &ours("ecs-svc/2"), Some(&sd("SUCCESSFUL"))),
            Verdict::Stable
        );
    }

    #[test]
    fn failures_and_ecs_rollbacks() {
        let mut failed = deployment("ecs-svc/2", "PRIMARY", NEW, Some("FAILED"), 0, 2);
        failed.rollout_state_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".into());
        let snap = snapshot(vec![failed.clone()]);
        assert!(
            matches!(judge(&snap, &ours("ecs-svc/2"), None), Verdict::Failed(r) if r.contains("circuit breaker"))
        );
        let mut back = deployment("ecs-svc/3", "PRIMARY", OLD, Some("IN_PROGRESS"), 0, 2);
        back.rollout_state_reason =
            Some("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.".into());
        failed.status = "ACTIVE".into();
        let rolling_back = snapshot(vec![back, failed]);
        assert!(matches!(
            judge(&rolling_back, &ours("ecs-svc/2"), None),
            Verdict::RolledBack { done: false, .. }
        ));
        // The same through the ServiceDeployments API.
        let mut stopped = sd("STOPPED");
        stopped.status_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".into());
        assert!(
            matches!(judge(&snap, &ours("ecs-svc/2"), Some(&stopped)), Verdict::Failed(r) if r.contains("circuit breaker"))
        );
        assert!(matches!(
            judge(
                &rolling_back,
                &ours("ecs-svc/2"),
                Some(&sd("ROLLBACK_SUCCESSFUL"))
            ),
            Verdict::RolledBack { done: true, .. }
        ));
        assert!(matches!(
            judge(&snap, &ours("ecs-svc/2"), Some(&sd("ROLLBACK_FAILED"))),
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn someone_elses_newer_deployment_supersedes_ours() {
        let mut theirs = deployment("ecs-svc/3", "PRIMARY", OTHER, Some("IN_PROGRESS"), 0, 2);
        theirs.created_at = Some(200.0);
        let mut mine = deployment("ecs-svc/2", "ACTIVE", NEW, Some("IN_PROGRESS"), 1, 2);
        mine.created_at = Some(100.0);
        let snap = snapshot(vec![theirs.clone(), mine]);
        let verdict = judge(&snap, &ours("ecs-svc/2"), None);
        assert_eq!(
            verdict,
            Verdict::Superseded {
                by: "ecs-svc/3".into(),
                task_definition: Some(OTHER.into())
            }
        );
        // Ours already gone from the list: still superseded, not "not visible".
        let gone = snapshot(vec![theirs]);
        assert!(matches!(
            judge(&gone, &ours("ecs-svc/2"), None),
            Verdict::Superseded { .. }
        ));
        // Through the ServiceDeployments API: ours STOPPED, the service's
        // current service deployment another one.
        let mut with_current = snap.clone();
        with_current.current_service_deployment = Some("arn:sd/theirs".into());
        assert!(matches!(
            judge(&with_current, &ours("ecs-svc/2"), Some(&sd("STOPPED"))),
            Verdict::Superseded { by, .. } if by == "arn:sd/theirs"
        ));
    }

    fn recorded(name: &str) -> ServiceSnapshot {
        let path = format!("{}/testdata/ecs/{name}", env!("CARGO_MANIFEST_DIR"));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        snapshot_from_json(&json).unwrap()
    }

    #[test]
    fn recorded_describe_services_responses_are_judged() {
        let ours = OurDeployment {
            id: "ecs-svc/2".into(),
            task_definition: NEW.into(),
            ..Default::default()
        };
        assert_eq!(
            judge(&recorded("services-rolling.json"), &ours, None),
            WAITING
        );
        assert_eq!(
            judge(&recorded("services-stable.json"), &ours, None),
            Verdict::Stable
        );
        assert!(
            matches!(judge(&recorded("services-failed.json"), &ours, None), Verdict::Failed(r) if r.contains("circuit breaker"))
        );
        assert!(
            matches!(judge(&recorded("services-rolled-back.json"), &ours, None), Verdict::RolledBack { reason, .. } if reason.contains("rolling back"))
        );
        // Another deployment's stable state is not ours.
        let other = OurDeployment {
            id: "ecs-svc/9".into(),
            ..ours
        };
        assert_eq!(
            judge(&recorded("services-stable.json"), &other, None),
            Verdict::Waiting { visible: false }
        );
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
