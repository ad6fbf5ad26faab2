//! Why a deployment failed, in the terms a user acts on: the stopped tasks
//! of *our* deployment (stoppedReason, stopCode, each container's exit code
//! and reason), the last lines of each essential container's log, the load
//! balancer's health check and the targets that failed it, and a one-line
//! hint for the causes seen most.
//!
//! Gathering never fails the command: a read that is refused or fails
//! becomes a note naming what could not be read and, for AccessDenied, the
//! IAM action it needs. The verdict and exit code stay as they were. The
//! hints are [`crate::ecs::diagnosis::hints`]' (pure, over the gathered facts).

use crate::ecs::client::EcsClient;
use crate::ecs::diagnosis::logs::{LogReader, LogSource};
pub(crate) use crate::ecs::failure::summaries;
use crate::ecs::failure::{ContainerLog, Diagnosis, StoppedTask};
use crate::ecs::service::ServiceTarget;
use crate::ecs::service::{short_arn, ServiceSnapshot};
use serde_json::Value;

/// How many stopped tasks are shown.
pub(crate) const MAX_TASKS: usize = 3;

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
    diagnosis.hints = crate::ecs::diagnosis::hints::hints(&diagnosis, request.snapshot);
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
    fn recorded_describe_tasks_give_reasons() {
        let path = format!(
            "{}/testdata/ecs/tasks-stopped.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let all = crate::ecs::failure::stopped_from_json(&json);
        let stopped = ours(
            all.clone(),
            None,
            Some("arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:8"),
        );
        assert_eq!(stopped.len(), 1);
        assert_eq!(
            stopped[0].summary(),
            "Essential container in task exited (plog-back: OutOfMemoryError: Container killed due to memory usage, exit code 1)"
        );
        assert!(ours(
            all,
            None,
            Some("arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:7")
        )
        .is_empty());
    }

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
