//! Time to serving: the rollout timeline of a stable and of a failed deploy,
//! checked against the ECS emulator's own clock (its task timestamps, read
//! with boto3), the start-up a deploy leaves on its revision, and the
//! `slow` lines of `hoist verify` and of a ship.

use crate::support::cli::hoist;
use crate::support::ecs_emulator::{deploy_args, marked_image, EcsEmulator};
use serde_json::Value;

/// A load-balanced service `plog-web` whose target group health-checks
/// every `interval` s, `threshold` in a row, and drains for `drain` s;
/// returns the target group's ARN.
fn web_service(emulator: &EcsEmulator, interval: u32, threshold: u32, drain: u32) -> String {
    let seeded = emulator.seed();
    let tg = emulator.create_service_behind_load_balancer(&seeded, "plog-web", "/actuator/health");
    tune(emulator, &tg, interval, threshold, drain);
    tg
}

/// Sets the target group's health check and deregistration delay.
fn tune(emulator: &EcsEmulator, tg: &str, interval: u32, threshold: u32, drain: u32) {
    emulator.boto3(
        "elbv2",
        &format!(
            "client.modify_target_group(TargetGroupArn='{tg}', HealthCheckIntervalSeconds={interval}, HealthyThresholdCount={threshold})\n\
             client.modify_target_group_attributes(TargetGroupArn='{tg}', Attributes=[{{'Key': 'deregistration_delay.timeout_seconds', 'Value': '{drain}'}}])"
        ),
    );
}

/// `hoist deploy` of plog-web with the app's pull and start-up times.
fn deploy(
    emulator: &EcsEmulator,
    image: &str,
    pull: u32,
    startup: u32,
) -> (Option<i32>, String, Value) {
    let (_, output) = emulator
        .aws(hoist().args(deploy_args("plog-web", image)).args([
            "--poll-interval",
            "10ms",
            "--wait-timeout",
            "60s",
            "--json",
            "--env",
            &format!("EMULATOR_PULL_SECONDS={pull}"),
            "--env",
            &format!("EMULATOR_STARTUP_SECONDS={startup}"),
        ]))
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{stderr}"));
    (output.status.code(), stderr, report)
}

/// The tasks of plog-web that deployment `id` started, with their
/// timestamps (seconds), as the emulator answers DescribeTasks.
fn tasks_of(emulator: &EcsEmulator, id: &str) -> Vec<Value> {
    let out = emulator.boto3(
        "ecs",
        &format!(
            "arns = []\n\
             for status in ('RUNNING', 'STOPPED'):\n    \
                 arns += client.list_tasks(cluster='plog-cluster', serviceName='plog-web', desiredStatus=status)['taskArns']\n\
             tasks = client.describe_tasks(cluster='plog-cluster', tasks=arns)['tasks'] if arns else []\n\
             keys = ('createdAt', 'pullStartedAt', 'pullStoppedAt', 'startedAt', 'stoppingAt', 'stoppedAt')\n\
             print(json.dumps([{{k: t[k].timestamp() for k in keys if k in t}} for t in tasks if t.get('startedBy') == '{id}']))"
        ),
    );
    serde_json::from_str(out.trim()).unwrap()
}

/// The longest any of `tasks` took from `from` to `to`.
fn slowest(tasks: &[Value], from: &str, to: &str) -> f64 {
    tasks
        .iter()
        .filter_map(|t| Some(t[to].as_f64()? - t[from].as_f64()?))
        .fold(f64::MIN, f64::max)
}

fn stage<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["timeline"]["stages"]
        .as_array()
        .unwrap_or_else(|| panic!("no timeline: {report}"))
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name}: {}", report["timeline"]))
}

#[track_caller]
fn close(actual: &Value, expected: f64, what: &str) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not known ({actual})"));
    assert!(
        (actual - expected).abs() < 0.01,
        "{what}: {actual} s, the emulator's clock says {expected} s"
    );
}

/// The primary deployment's id.
fn primary(emulator: &EcsEmulator) -> String {
    emulator
        .boto3(
            "ecs",
            "print(client.describe_services(cluster='plog-cluster', services=['plog-web'])['services'][0]['deployments'][0]['id'])",
        )
        .trim()
        .to_string()
}

#[test]
fn a_stable_deploy_shows_where_its_time_went_on_ecs_clock() {
    let emulator = EcsEmulator::start();
    web_service(&emulator, 10, 3, 30);
    let old = primary(&emulator);
    let (code, stderr, report) = deploy(&emulator, &marked_image("", 'a'), 7, 12);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report["outcome"], "stable");
    let names: Vec<&str> = report["timeline"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "registered",
            "service updated",
            "provisioning",
            "image pull",
            "started",
            "healthy",
            "old tasks draining",
            "done"
        ]
    );
    // Every figure against the emulator's timestamps.
    let ours = tasks_of(&emulator, report["deploymentId"].as_str().unwrap());
    let theirs = tasks_of(&emulator, &old);
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert_eq!(theirs.len(), 2, "{theirs:?}");
    // Each stage: how long the slowest task spent in it.
    close(
        &stage(&report, "provisioning")["seconds"],
        slowest(&ours, "createdAt", "pullStartedAt"),
        "provisioning",
    );
    close(
        &stage(&report, "image pull")["seconds"],
        slowest(&ours, "pullStartedAt", "pullStoppedAt"),
        "image pull",
    );
    for pull in report["timeline"]["pulls"].as_array().unwrap() {
        close(&pull["seconds"], 7.0, "one task's pull");
    }
    close(
        &stage(&report, "started")["seconds"],
        slowest(&ours, "pullStoppedAt", "startedAt"),
        "started",
    );
    close(
        &stage(&report, "old tasks draining")["seconds"],
        slowest(&theirs, "stoppingAt", "stoppedAt"),
        "old tasks draining",
    );
    close(
        &stage(&report, "old tasks draining")["seconds"],
        30.0,
        "the deregistration delay",
    );
    // Healthy: the app's 12 s, then 10 s × 3 passing checks (sampled: the
    // newest time ECS showed, so within the polling's slack).
    let startup = report["timeline"]["startupSeconds"].as_f64().unwrap();
    assert!((42.0..43.0).contains(&startup), "{}", report["timeline"]);
    let total = report["timeline"]["totalSeconds"].as_f64().unwrap();
    assert!(total >= 42.0 + 7.0, "{}", report["timeline"]);
    // On stderr, as a table.
    assert!(
        stderr.contains("timeline (from the service update: "),
        "{stderr}"
    );
    let pull_line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("image pull"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(pull_line.contains("slowest 7s (task "), "{pull_line}");
    // What it measured, on its revision, for the next verify.
    let tags = emulator.boto3(
        "ecs",
        &format!(
            "print(json.dumps(client.describe_task_definition(taskDefinition='{}', include=['TAGS'])['tags']))",
            report["taskDefinitionArn"].as_str().unwrap()
        ),
    );
    let tags: Value = serde_json::from_str(tags.trim()).unwrap();
    let tag = |key: &str| {
        tags.as_array()
            .unwrap()
            .iter()
            .find(|t| t["key"] == key)
            .map(|t| t["value"].as_str().unwrap().to_string())
    };
    assert_eq!(
        tag("hoist:startup-seconds").as_deref(),
        Some("42"),
        "{tags}"
    );
    assert_eq!(tag("hoist:pull-seconds").as_deref(), Some("7"), "{tags}");
    assert!(tag("hoist:registered-by").is_some(), "{tags}");
}

#[test]
fn a_failed_deploy_has_a_timeline_too_with_what_is_not_known() {
    let emulator = EcsEmulator::start();
    web_service(&emulator, 10, 3, 30);
    let (code, stderr, report) = deploy(&emulator, &marked_image("fail-rollout", 'b'), 4, 5);
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(report["outcome"], "rolled-back", "{report}");
    // Our tasks pulled and started, then died: never healthy.
    assert!(
        stage(&report, "healthy").get("seconds").is_none(),
        "{}",
        report["timeline"]
    );
    close(
        &stage(&report, "image pull")["seconds"],
        slowest(
            &tasks_of(&emulator, report["deploymentId"].as_str().unwrap()),
            "pullStartedAt",
            "pullStoppedAt",
        ),
        "image pull",
    );
    let healthy = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("healthy"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(healthy.contains("not known"), "{healthy}");
    // Nothing measured is kept from a failed deploy.
    let tags = emulator.boto3(
        "ecs",
        &format!(
            "print(json.dumps(client.describe_task_definition(taskDefinition='{}', include=['TAGS']).get('tags', [])))",
            report["taskDefinitionArn"].as_str().unwrap()
        ),
    );
    assert!(!tags.contains("hoist:startup-seconds"), "{tags}");
}

#[test]
fn verify_names_the_settings_that_make_deploys_slow() {
    let emulator = EcsEmulator::start();
    let tg = web_service(&emulator, 10, 3, 30);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hoist.toml"),
        "[image]\nfrom = \"scratch\"\nto = \"registry.example/plog-back\"\n\n[env.web]\ncluster = \"plog-cluster\"\nservice = \"plog-web\"\ncontainer = \"plog-back\"\n",
    )
    .unwrap();
    let verify = || {
        let (_, output) = emulator
            .aws(hoist().args(["verify", "web"]).current_dir(dir.path()))
            .output();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status.code(), stdout)
    };
    // Nothing measured yet: the health check cannot be weighed.
    let (code, stdout) = verify();
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with(
            "could not check health check: target group plog-web-tg needs 10 s × 3 = 30 s"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("slow "), "{stdout}");

    // A deploy measures 12 + 30 = 42 s to healthy and a 25 s pull; then the
    // settings go slow: ELB's defaults, a long grace period, one task at a
    // time.
    let (code, stderr, _) = deploy(&emulator, &marked_image("", 'c'), 25, 12);
    assert_eq!(code, Some(0), "{stderr}");
    tune(&emulator, &tg, 30, 5, 300);
    emulator.boto3(
        "ecs",
        "client.update_service(cluster='plog-cluster', service='plog-web', healthCheckGracePeriodSeconds=300, deploymentConfiguration={'minimumHealthyPercent': 100, 'maximumPercent': 150})",
    );
    let (code, stdout) = verify();
    assert_eq!(code, Some(0), "slow never fails verify: {stdout}");
    for expected in [
        "slow     deregistration delay: target group plog-web-tg drains old tasks for 300 s",
        "slow     health check: target group plog-web-tg needs 30 s × 5 = 150 s of passing checks before a task is healthy (it took 42 s",
        "slow     grace period: healthCheckGracePeriodSeconds 300 s is more than twice the 42 s",
        "slow     batch size: desiredCount 2 with minimumHealthyPercent 100 and maximumPercent 150 lets ECS replace one task at a time",
        "slow     image pull: the last deploy's slowest image pull took 25 s",
    ] {
        assert!(stdout.lines().any(|l| l.starts_with(expected)), "{expected}\n{stdout}");
    }
    assert!(stdout.trim_end().ends_with(", 5 slow"), "{stdout}");
}
