//! One-line hints for the causes of failed deployments users hit most,
//! decided from the gathered facts alone (pure): ECS's stop reasons and
//! container reasons as the Developer Guide's "Stopped task error codes"
//! word them, the crashed containers' last log lines, and the load
//! balancer's failing targets. Each hint says what to check, most specific
//! first; a cause not recognised gets none.

use crate::ecs::failure::Diagnosis;
use crate::ecs::service::ServiceSnapshot;

/// One line per cause recognised in `diagnosis`.
pub(crate) fn hints(diagnosis: &Diagnosis, snapshot: Option<&ServiceSnapshot>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |hint: String| {
        if !out.contains(&hint) {
            out.push(hint);
        }
    };
    // What ECS says (stop and container reasons), and what the app said.
    let mut reasons: Vec<&str> = Vec::new();
    let mut log_lines: Vec<&str> = Vec::new();
    for task in &diagnosis.stopped_tasks {
        reasons.push(&task.stopped_reason);
        reasons.extend(task.containers.iter().filter_map(|c| c.reason.as_deref()));
        for log in &task.logs {
            log_lines.extend(log.lines.iter().map(String::as_str));
        }
    }
    let said = |needle: &str| reasons.iter().any(|t| t.contains(needle));
    let logged = |needle: &str| log_lines.iter().any(|t| t.contains(needle));
    // "unable to pull secrets or registry auth" starts both: the registry
    // half is a network (or role) problem, the secrets half a permission one.
    let registry_auth = said("ecr registry auth");
    if said("CannotPullContainerError") || registry_auth {
        add("CannotPullContainerError: the task could not pull its image — in a private subnet it needs a NAT gateway or VPC endpoints for ECR (ecr.api, ecr.dkr) and S3, in a public one assignPublicIp ENABLED; the execution role needs ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer".into());
    }
    let secrets = reasons.iter().any(|t| {
        t.contains("ResourceInitializationError")
            && (t.contains("from asm")
                || t.contains("from ssm")
                || t.contains("secret from")
                || t.contains("secrets from")
                || t.contains("kms"))
    });
    if secrets {
        add("ResourceInitializationError on secrets: the execution role needs secretsmanager:GetSecretValue (ssm:GetParameters for SSM parameters) and kms:Decrypt for a customer-managed key, the secret must exist (hoist verify checks), and the subnets need a route to Secrets Manager / SSM".into());
    }
    if reasons.iter().any(|t| {
        t.contains("ResourceInitializationError")
            && (t.contains("log group") || t.contains("logger"))
    }) {
        add("ResourceInitializationError on logs: the awslogs group does not exist — create it, or set awslogs-create-group to \"true\" (the execution role then needs logs:CreateLogGroup)".into());
    }
    if said("exec format error") || logged("exec format error") {
        add("exec format error: the image was built for another CPU than the task's runtimePlatform.cpuArchitecture — build for it (platforms = [\"linux/arm64\"] for ARM64) or change runtimePlatform".into());
    }
    // ECS's own words for a container the kernel killed for memory; exit
    // 137 (SIGKILL) counts only when the container itself ended the task,
    // not when ECS killed it after the stop timeout (a health-check stop).
    let killed_for_memory = said("OutOfMemoryError: Container killed")
        || diagnosis.stopped_tasks.iter().any(|t| {
            t.stop_code.as_deref() == Some("EssentialContainerExited")
                && t.containers.iter().any(|c| c.exit_code == Some(137))
        });
    if killed_for_memory {
        add("exit code 137 / OutOfMemoryError: the container was killed for using more memory than the task or container allows — raise that memory, or keep the JVM inside it (-XX:MaxRAMPercentage=75 leaves room for the JVM's own memory)".into());
    }
    if logged("java.lang.OutOfMemoryError") {
        add("java.lang.OutOfMemoryError in the log: the JVM ran out of heap — give it more (a larger task memory with -XX:MaxRAMPercentage, or -Xmx), or find what holds the memory".into());
    }
    let failing: Vec<_> = diagnosis
        .target_groups
        .iter()
        .filter(|g| {
            g.targets
                .iter()
                .any(|t| matches!(t.state.as_str(), "unhealthy" | "unavailable"))
        })
        .collect();
    if said("ELB health checks") || !failing.is_empty() {
        let group = failing.first().copied().or(diagnosis.target_groups.first());
        let check = group
            .map(|g| format!(" ({})", g.check()))
            .unwrap_or_default();
        let timeout = failing
            .iter()
            .flat_map(|g| &g.targets)
            .any(|t| t.reason.as_deref() == Some("Target.Timeout"));
        if timeout {
            add(format!("the load balancer's health check timed out{check}: the tasks' security group must let the load balancer reach the container port, and the app must answer within the check's timeout"));
        } else {
            let grace = snapshot
                .and_then(|s| s.health_check_grace_seconds)
                .map(|g| format!("{g} s"))
                .unwrap_or_else(|| "not set".into());
            let window = group
                .and_then(|g| g.seconds_to_unhealthy)
                .map(|s| format!(", plus the {s} s a target may fail before it is unhealthy,"))
                .unwrap_or_default();
            add(format!("the load balancer's health check failed{check}: the app must answer that path on that port with the matcher's code (Spring Boot Actuator: /actuator/health), and the service's health-check grace period ({grace}){window} must cover the app's start-up time"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::failure::{ContainerExit, ContainerLog, StoppedTask};
    use crate::ecs::target_health::{TargetGroupHealth, TargetState};

    fn task(reason: &str, stop_code: &str, container: ContainerExit) -> StoppedTask {
        StoppedTask {
            task_arn: "arn:aws:ecs:r:1:task/plog-cluster/0123abcd".into(),
            task_definition_arn: "arn:aws:ecs:r:1:task-definition/plog-api:8".into(),
            stopped_reason: reason.into(),
            stop_code: Some(stop_code.into()),
            containers: vec![container],
            ..Default::default()
        }
    }

    fn exit(code: Option<i32>, reason: Option<&str>) -> ContainerExit {
        ContainerExit {
            name: "plog-back".into(),
            exit_code: code,
            reason: reason.map(str::to_string),
        }
    }

    fn with_log(mut task: StoppedTask, lines: &[&str]) -> StoppedTask {
        task.logs.push(ContainerLog {
            container: "plog-back".into(),
            lines: lines.iter().map(|l| l.to_string()).collect(),
            ..Default::default()
        });
        task
    }

    fn hints_of(tasks: Vec<StoppedTask>) -> Vec<String> {
        hints(
            &Diagnosis {
                stopped_tasks: tasks,
                ..Default::default()
            },
            None,
        )
    }

    const EXITED: &str = "Essential container in task exited";

    #[test]
    fn an_image_that_cannot_be_pulled_or_a_registry_out_of_reach() {
        let pull = hints_of(vec![task(
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref",
            "TaskFailedToStart",
            exit(None, None),
        )]);
        assert!(
            pull[0].starts_with("CannotPullContainerError") && pull[0].contains("NAT"),
            "{pull:?}"
        );
        // The registry half of "unable to pull secrets or registry auth".
        let auth = hints_of(vec![task(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: send request failed caused by: Post \"https://api.ecr.ap-northeast-2.amazonaws.com/\": dial tcp 52.95.194.39:443: i/o timeout",
            "TaskFailedToStart",
            exit(None, None),
        )]);
        assert_eq!(auth.len(), 1, "{auth:?}");
        assert!(auth[0].starts_with("CannotPullContainerError"), "{auth:?}");
    }

    #[test]
    fn secrets_that_cannot_be_fetched() {
        let secrets = hints_of(vec![task(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret",
            "TaskFailedToStart",
            exit(None, None),
        )]);
        assert_eq!(secrets.len(), 1, "{secrets:?}");
        assert!(
            secrets[0].contains("secretsmanager:GetSecretValue")
                && secrets[0].contains("kms:Decrypt")
        );
    }

    #[test]
    fn memory_the_kernel_took_and_heap_the_jvm_lacked_are_told_apart() {
        let killed = hints_of(vec![task(
            EXITED,
            "EssentialContainerExited",
            exit(
                Some(137),
                Some("OutOfMemoryError: Container killed due to memory usage"),
            ),
        )]);
        assert_eq!(killed.len(), 1, "{killed:?}");
        assert!(killed[0].starts_with("exit code 137 / OutOfMemoryError: the container was killed"));
        let heap = hints_of(vec![with_log(
            task(EXITED, "EssentialContainerExited", exit(Some(1), None)),
            &["Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space"],
        )]);
        assert_eq!(heap.len(), 1, "{heap:?}");
        assert!(heap[0].contains("the JVM ran out of heap"), "{heap:?}");
        // Killed after the stop timeout because ECS stopped it (a failed
        // health check): not a memory problem.
        let stopped = hints_of(vec![task(
            "Task failed ELB health checks in (target-group arn:…)",
            "ServiceSchedulerInitiated",
            exit(Some(137), None),
        )]);
        assert!(stopped.iter().all(|h| !h.contains("memory")), "{stopped:?}");
    }

    #[test]
    fn exec_format_errors_and_plain_crashes() {
        let exec = with_log(
            task(EXITED, "EssentialContainerExited", exit(Some(255), None)),
            &["exec /opt/java/openjdk/bin/java: exec format error"],
        );
        assert!(hints_of(vec![exec])[0].contains("runtimePlatform.cpuArchitecture"));
        let crash = task(EXITED, "EssentialContainerExited", exit(Some(1), None));
        assert!(hints_of(vec![crash]).is_empty());
    }

    #[test]
    fn a_failed_health_check_names_the_check_the_grace_period_and_the_window() {
        let diagnosis = Diagnosis {
            target_groups: vec![TargetGroupHealth {
                name: "plog-api-tg".into(),
                protocol: Some("HTTP".into()),
                port: Some("traffic-port".into()),
                path: Some("/health".into()),
                matcher: Some("200".into()),
                seconds_to_unhealthy: Some(60),
                targets: vec![TargetState {
                    id: "10.20.1.7".into(),
                    port: Some(8080),
                    state: "unhealthy".into(),
                    reason: Some("Target.ResponseCodeMismatch".into()),
                    description: Some("Health checks failed with these codes: [404]".into()),
                    seen_during_rollout: true,
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let snapshot = ServiceSnapshot {
            health_check_grace_seconds: Some(30),
            ..Default::default()
        };
        let hints = hints(&diagnosis, Some(&snapshot));
        assert_eq!(hints.len(), 1, "{hints:?}");
        assert!(
            hints[0].contains("(HTTP traffic-port /health, matcher 200)")
                && hints[0].contains("grace period (30 s), plus the 60 s a target may fail"),
            "{hints:?}"
        );
        let lines = Diagnosis { hints, ..diagnosis }.lines();
        assert!(lines.iter().any(|l| l.contains("10.20.1.7:8080 unhealthy, Target.ResponseCodeMismatch: Health checks failed with these codes: [404] (seen during the rollout)")), "{lines:?}");
        let timed_out = Diagnosis {
            target_groups: vec![TargetGroupHealth {
                targets: vec![TargetState {
                    state: "unhealthy".into(),
                    reason: Some("Target.Timeout".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(super::hints(&timed_out, None)[0].contains("security group"));
    }
}
