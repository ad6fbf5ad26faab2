//! A failed deploy says why: the stopped tasks of our deployment, the last
//! lines of the crashed container's awslogs stream (CloudWatch Logs), the
//! load balancer's health check and the targets that failed it, and a hint;
//! and no error anywhere is an SDK debug dump. Against the ECS emulator
//! (moto with rollouts, crash logs and target health) through the real SDK.

use crate::support::cli::{hoist, Hoist};
use crate::support::ecs_emulator::{deploy_args, marked_image, service_args, EcsEmulator};

fn image(marker: &str) -> String {
    marked_image(marker, 'e')
}

fn deploy(emulator: &EcsEmulator, service: &str, image: &str, extra: &[&str]) -> Hoist {
    emulator
        .aws(hoist().args(deploy_args(service, image)).args([
            "--poll-interval",
            "10ms",
            "--wait-timeout",
            "60s",
        ]))
        .args(extra)
}

/// No SDK debug dump and one error line.
#[track_caller]
fn assert_clean_errors(stderr: &str) {
    for dump in [
        "SdkBody",
        "ResponseError {",
        "ServiceError {",
        "DispatchFailure {",
        "raw: Response",
    ] {
        assert!(!stderr.contains(dump), "{dump:?} in:\n{stderr}");
    }
    assert_eq!(stderr.matches("hoist: error:").count(), 1, "{stderr}");
}

#[test]
fn a_crashing_app_exits_3_and_shows_its_crash_line_from_the_awslogs_stream() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let crash = "Caused by: java.net.UnknownHostException: db.plog.internal";
    let (stderr, report) = deploy(
        &emulator,
        "plog-api",
        &image(""),
        &["--env", &format!("CRASH_ON_START={crash}")],
    )
    .failure_report(3);
    assert_clean_errors(&stderr);
    assert_eq!(report["outcome"], "rolled-back", "{report}");
    let tasks = report["diagnosis"]["stoppedTasks"]
        .as_array()
        .expect("stopped tasks in the report");
    assert!(!tasks.is_empty() && tasks.len() <= 3, "{report}");
    let first = &tasks[0];
    assert_eq!(first["stoppedReason"], "Essential container in task exited");
    assert_eq!(first["stopCode"], "EssentialContainerExited");
    assert_eq!(first["containers"][0]["exitCode"], 1, "{first}");
    // The last line of the stream PREFIX/CONTAINER/TASK-ID is the crash.
    let task_id = first["taskArn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let log = &first["logs"][0];
    assert_eq!(
        log["source"],
        format!("awslogs /ecs/plog-api plog-back/plog-back/{task_id}")
    );
    assert_eq!(
        log["lines"].as_array().unwrap().last().unwrap(),
        crash,
        "{log}"
    );
    // The sidecar is not essential: no log read for it.
    assert_eq!(first["logs"].as_array().unwrap().len(), 1, "{first}");
    // On stderr: the task, the exit, the log lines, the crash line itself.
    assert!(stderr.contains(&format!("task   {task_id} (plog-api:2) stopped: Essential container in task exited [EssentialContainerExited]")), "{stderr}");
    assert!(
        stderr.contains("task     plog-back: exit code 1"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("log    | {crash}")), "{stderr}");
    assert!(stderr.contains("Application run failed"), "{stderr}");
}

#[test]
fn log_lines_are_limited_by_the_flag_and_zero_turns_them_off() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let (_, report) = deploy(
        &emulator,
        "plog-api",
        &image(""),
        &["--env", "CRASH_ON_START=boom", "--log-lines", "2"],
    )
    .failure_report(3);
    let lines = report["diagnosis"]["stoppedTasks"][0]["logs"][0]["lines"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(lines.len(), 2, "{report}");
    assert_eq!(lines[1], "boom");
    let (stderr, report) = deploy(
        &emulator,
        "plog-api",
        &image(""),
        &["--env", "CRASH_ON_START=boom again", "--log-lines", "0"],
    )
    .failure_report(3);
    assert!(
        report["diagnosis"]["stoppedTasks"][0].get("logs").is_none(),
        "{report}"
    );
    assert!(!stderr.contains("boom again\n"), "{stderr}");
}

#[test]
fn failing_health_checks_exit_3_and_show_the_check_path_and_the_status_code() {
    let emulator = EcsEmulator::start();
    let seeded = emulator.seed();
    emulator.create_service_behind_load_balancer(&seeded, "plog-web", "/actuator/health");
    let (stderr, report) = deploy(
        &emulator,
        "plog-web",
        &image(""),
        &["--env", "HEALTH_CHECK_CODES=404"],
    )
    .failure_report(3);
    assert_clean_errors(&stderr);
    let group = &report["diagnosis"]["targetGroups"][0];
    assert_eq!(group["path"], "/actuator/health", "{report}");
    assert_eq!(group["matcher"], "200");
    let failing = group["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["reason"] == "Target.ResponseCodeMismatch")
        .unwrap_or_else(|| panic!("no failing target in {group}"));
    assert_eq!(
        failing["description"],
        "Health checks failed with these codes: [404]"
    );
    assert!(
        report["diagnosis"]["stoppedTasks"][0]["stoppedReason"]
            .as_str()
            .unwrap()
            .starts_with("Task failed ELB health checks in (target-group "),
        "{report}"
    );
    assert!(
        stderr.contains("health check HTTP traffic-port /actuator/health, matcher 200"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Health checks failed with these codes: [404]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint   the load balancer's health check failed (HTTP traffic-port /actuator/health, matcher 200)")
            && stderr.contains("health-check grace period (60 s)"),
        "{stderr}"
    );
}

#[test]
fn out_of_memory_and_exec_format_errors_get_their_hints() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let stderr = deploy(&emulator, "plog-api", &image("fail-rollout"), &[]).failure(3);
    assert!(
        stderr.contains("task     plog-back: exit code 137, OutOfMemoryError: Container killed due to memory usage"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint   exit code 137 / OutOfMemoryError"),
        "{stderr}"
    );
    let stderr = deploy(&emulator, "plog-api", &image("exec-format"), &[]).failure(3);
    assert!(
        stderr.contains("log    | exec /opt/java/openjdk/bin/java: exec format error"),
        "{stderr}"
    );
    assert!(stderr.contains("hint   exec format error: the image was built for another CPU than the task's runtimePlatform.cpuArchitecture"), "{stderr}");
    assert_clean_errors(&stderr);
}

#[test]
fn an_image_that_cannot_be_pulled_and_a_missing_secret_get_their_hints() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let (stderr, report) =
        deploy(&emulator, "plog-api", &image("pull-fails"), &[]).failure_report(3);
    assert_clean_errors(&stderr);
    let task = &report["diagnosis"]["stoppedTasks"][0];
    assert_eq!(task["stopCode"], "TaskFailedToStart", "{report}");
    assert!(
        task["stoppedReason"]
            .as_str()
            .unwrap()
            .starts_with("CannotPullContainerError: pull image manifest has been retried"),
        "{task}"
    );
    assert!(
        stderr.contains("hint   CannotPullContainerError: the task could not pull its image")
            && stderr.contains("NAT gateway or VPC endpoints"),
        "{stderr}"
    );
    // A secret the task definition names that Secrets Manager does not have.
    let missing = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/gone";
    let stderr = deploy(
        &emulator,
        "plog-api",
        &image(""),
        &["--secret", &format!("API_KEY={missing}")],
    )
    .failure(3);
    assert!(
        stderr.contains("ResourceInitializationError: unable to pull secrets or registry auth"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint   ResourceInitializationError on secrets: the execution role needs secretsmanager:GetSecretValue"),
        "{stderr}"
    );
}

#[test]
fn a_log_or_load_balancer_read_that_is_denied_is_one_note_and_the_verdict_stays() {
    use crate::support::denying::{denying_endpoint, Protocol};
    let emulator = EcsEmulator::start();
    let seeded = emulator.seed();
    emulator.create_service_behind_load_balancer(&seeded, "plog-web", "/actuator/health");
    let logs = denying_endpoint("logs", Protocol::Json, 64);
    let elb = denying_endpoint("elasticloadbalancing", Protocol::Query, 64);
    let (stderr, report) = deploy(
        &emulator,
        "plog-web",
        &image(""),
        &["--env", "CRASH_ON_START=never read"],
    )
    .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", &logs)
    .env("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", &elb)
    .failure_report(3);
    assert_clean_errors(&stderr);
    assert_eq!(report["outcome"], "rolled-back", "{report}");
    assert!(
        stderr.contains(
            "log    plog-back: could not read the log awslogs /ecs/plog-api plog-back/plog-back/"
        ) && stderr.contains("the credentials lack logs:GetLogEvents (verdict unchanged)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("note   could not read the target group's health: the credentials lack elasticloadbalancing:DescribeTargetGroups (verdict unchanged)"),
        "{stderr}"
    );
    // The stopped tasks (ECS) are still there, with their exit codes.
    assert!(
        stderr.contains("task     plog-back: exit code 1"),
        "{stderr}"
    );
    assert!(!stderr.contains("never read\n"), "{stderr}");
}

#[test]
fn a_missing_log_group_is_a_resource_initialization_error_with_its_hint() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    emulator.boto3(
        "logs",
        "client.delete_log_group(logGroupName='/ecs/plog-api')",
    );
    let stderr = deploy(
        &emulator,
        "plog-api",
        &image(""),
        &["--env", "CRASH_ON_START=never logged"],
    )
    .failure(3);
    assert!(
        stderr.contains("ResourceInitializationError: failed to validate logger args"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint   ResourceInitializationError on logs"),
        "{stderr}"
    );
    assert!(!stderr.contains("never logged"), "{stderr}");
}

#[test]
fn aws_errors_are_one_line_with_code_request_id_and_hint_never_a_dump() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    // A task definition AWS has never heard of.
    let stderr = deploy(
        &emulator,
        "plog-api",
        &image(""),
        &["--task-family", "no-such-family"],
    )
    .failure(2);
    assert_clean_errors(&stderr);
    assert!(stderr.contains("no-such-family"), "{stderr}");
    // Nothing listening: a dispatch failure, said in one line.
    let closed = format!("http://127.0.0.1:{}", crate::support::registry::free_port());
    // The emulator's environment with its endpoint replaced by the closed one.
    let stderr = emulator
        .aws(hoist().args(service_args("status", "plog-api")))
        .env("AWS_ENDPOINT_URL", &closed)
        .env("AWS_MAX_ATTEMPTS", "1")
        .failure(1);
    assert_clean_errors(&stderr);
    assert!(
        stderr.contains("ECS DescribeServices plog-cluster/plog-api: could not reach the endpoint")
            && stderr.contains("hint: no answer from AWS"),
        "{stderr}"
    );
}
