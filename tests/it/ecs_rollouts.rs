//! How `hoist deploy` follows *its own* deployment on ECS as AWS documents
//! it, end to end through the real SDK against the ECS emulator: stale
//! reads right after UpdateService, someone else's newer deployment, ECS's
//! own circuit-breaker rollback against hoist's, BLUE_GREEN bake time, and
//! an IAM policy without the ServiceDeployments actions.

use crate::support::cli::{hoist, Hoist};
use crate::support::ecs_emulator::{deploy_args, marked_image, service_args, EcsEmulator, Seeded};
use serde_json::Value;

fn image(marker: &str) -> String {
    marked_image(marker, 'd')
}

fn deploy(emulator: &EcsEmulator, service: &str, image: &str, extra: &[&str]) -> Hoist {
    let mut command = emulator.aws(
        hoist()
            .args(deploy_args(service, image))
            .args(["--poll-interval", "10ms"])
            .args(extra),
    );
    if !extra.contains(&"--wait-timeout") {
        command = command.args(["--wait-timeout", "60s"]);
    }
    command
}

/// The seeded emulator, with a second service whose circuit breaker does
/// not roll back (`plog-norollback`).
fn emulator_with(env: &[(&str, &str)]) -> (EcsEmulator, Seeded) {
    let emulator = EcsEmulator::start_with_env(env);
    let seeded = emulator.seed();
    emulator.create_service(
        &seeded,
        "plog-norollback",
        "{'deploymentCircuitBreaker': {'enable': True, 'rollback': False}, 'maximumPercent': 200, 'minimumHealthyPercent': 100}",
    );
    (emulator, seeded)
}

#[test]
fn a_stale_read_right_after_the_update_is_waited_for_not_failed() {
    let (emulator, _) = emulator_with(&[]);
    // The next 3 DescribeServices answers still show the old revision,
    // alone and COMPLETED at 2/2.
    let report = deploy(
        &emulator,
        "plog-api",
        &image("stale-3"),
        &["--rollback-on-failure"],
    )
    .report();
    assert_eq!(report["outcome"], "stable", "{report}");
    assert_eq!(report["followedWith"], "service-deployments");
    assert!(report["deploymentId"]
        .as_str()
        .unwrap()
        .starts_with("ecs-svc/"));
    assert!(report["serviceDeploymentArn"]
        .as_str()
        .unwrap()
        .contains(":service-deployment/plog-cluster/plog-api/"));
    assert!(emulator
        .service_task_definition("plog-cluster", "plog-api")
        .ends_with("plog-api:2"));
    assert_eq!(emulator.update_service_calls("plog-cluster", "plog-api"), 1);
}

#[test]
fn a_newer_deployment_supersedes_ours_exit_4_and_nothing_is_rolled_back() {
    let (emulator, _) = emulator_with(&[]);
    // After 2 steps of our rollout, someone else deploys plog-api:3.
    let (stderr, report) = deploy(
        &emulator,
        "plog-api",
        &image("superseded-2"),
        &["--rollback-on-failure"],
    )
    .failure_report(4);
    assert_eq!(report["outcome"], "superseded", "{report}");
    assert!(
        stderr.contains("superseded by a newer deployment"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing rolled back"), "{stderr}");
    assert_eq!(stderr.matches("hoist: error:").count(), 1, "{stderr}");
    // Only our own UpdateService: none to roll back over the newer one.
    assert_eq!(emulator.update_service_calls("plog-cluster", "plog-api"), 1);
    assert!(emulator
        .service_task_definition("plog-cluster", "plog-api")
        .ends_with("plog-api:3"));
}

#[test]
fn ecs_rolling_back_by_itself_is_exit_3_and_hoist_adds_no_update() {
    let (emulator, seeded) = emulator_with(&[]);
    let (stderr, report) = deploy(
        &emulator,
        "plog-api",
        &image("fail-rollout"),
        &["--rollback-on-failure"],
    )
    .failure_report(3);
    assert_eq!(report["outcome"], "rolled-back", "{report}");
    assert_eq!(report["rolledBackBy"], "ecs");
    assert!(stderr.contains("ECS rolled it back"), "{stderr}");
    assert!(stderr.contains("OutOfMemoryError"), "{stderr}");
    assert_eq!(emulator.update_service_calls("plog-cluster", "plog-api"), 1);
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-api"),
        seeded.task_definition_arn
    );
}

#[test]
fn without_an_ecs_rollback_hoist_puts_the_previous_revision_back() {
    let (emulator, seeded) = emulator_with(&[]);
    // The breaker stops our deployment (STOPPED, no rollback): ECS refuses
    // StopServiceDeployment on it, so hoist updates the service back.
    let (stderr, report) = deploy(
        &emulator,
        "plog-norollback",
        &image("fail-rollout"),
        &["--rollback-on-failure"],
    )
    .failure_report(3);
    assert_eq!(report["outcome"], "rolled-back", "{report}");
    assert_eq!(report["rolledBackBy"], "hoist");
    assert!(
        stderr.contains("rolled back to plog-api:1 by hoist (UpdateService)"),
        "{stderr}"
    );
    assert_eq!(
        emulator.update_service_calls("plog-cluster", "plog-norollback"),
        2
    );
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-norollback"),
        seeded.task_definition_arn
    );
    // Without --rollback-on-failure the failed revision stays.
    let (_, report) =
        deploy(&emulator, "plog-norollback", &image("fail-rollout"), &[]).failure_report(3);
    assert_eq!(report["outcome"], "failed", "{report}");
    assert!(emulator
        .service_task_definition("plog-cluster", "plog-norollback")
        .ends_with("plog-api:3"));
}

#[test]
fn a_rollout_that_never_settles_is_rolled_back_through_stop_service_deployment() {
    let (emulator, seeded) = emulator_with(&[]);
    let (stderr, report) = deploy(
        &emulator,
        "plog-norollback",
        &image("never-stable"),
        &["--rollback-on-failure", "--wait-timeout", "2s"],
    )
    .failure_report(3);
    assert_eq!(report["outcome"], "rolled-back", "{report}");
    assert_eq!(report["rolledBackBy"], "hoist");
    assert!(stderr.contains("not finished after 2s"), "{stderr}");
    assert!(
        stderr.contains("StopServiceDeployment ROLLBACK"),
        "{stderr}"
    );
    // One UpdateService (ours); the rollback went through the service deployment.
    assert_eq!(
        emulator.update_service_calls("plog-cluster", "plog-norollback"),
        1
    );
    let arn = report["serviceDeploymentArn"].as_str().unwrap();
    assert_eq!(
        emulator.service_deployment_status(arn),
        "ROLLBACK_SUCCESSFUL"
    );
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-norollback"),
        seeded.task_definition_arn
    );
}

#[test]
fn blue_green_is_stable_only_after_bake_time() {
    let (emulator, seeded) = emulator_with(&[]);
    emulator.create_service(
        &seeded,
        "plog-bluegreen",
        "{'strategy': 'BLUE_GREEN', 'bakeTimeInMinutes': 3, 'maximumPercent': 200, 'minimumHealthyPercent': 100}",
    );
    let (_, output) = deploy(&emulator, "plog-bluegreen", &image(""), &["--json"]).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["outcome"], "stable");
    // DescribeServices looked done from PRODUCTION_TRAFFIC_SHIFT on; hoist
    // waited through BAKE_TIME until the service deployment was SUCCESSFUL.
    for stage in [
        "stage SCALE_UP",
        "stage PRODUCTION_TRAFFIC_SHIFT",
        "stage BAKE_TIME",
        "BAKE_TIME, 3m left",
    ] {
        assert!(stderr.contains(stage), "{stage} not shown: {stderr}");
    }
    let arn = report["serviceDeploymentArn"].as_str().unwrap();
    assert_eq!(emulator.service_deployment_status(arn), "SUCCESSFUL");
}

#[test]
fn without_the_service_deployments_api_hoist_follows_describe_services() {
    let (emulator, seeded) = emulator_with(&[("ECS_EMULATOR_DENY_SERVICE_DEPLOYMENTS", "1")]);
    let (_, output) = deploy(&emulator, "plog-api", &image("stale-2"), &["--json"]).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["outcome"], "stable");
    assert_eq!(report["followedWith"], "describe-services");
    assert_eq!(
        stderr
            .matches("the ServiceDeployments API is not available (DescribeServiceDeployments: AccessDeniedException)")
            .count(),
        1,
        "said once: {stderr}"
    );
    // And hoist's rollback falls back to UpdateService.
    let (stderr, report) = deploy(
        &emulator,
        "plog-norollback",
        &image("never-stable"),
        &["--rollback-on-failure", "--wait-timeout", "1s"],
    )
    .failure_report(3);
    assert_eq!(report["rolledBackBy"], "hoist", "{stderr}");
    assert!(stderr.contains("by hoist (UpdateService)"), "{stderr}");
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-norollback"),
        seeded.task_definition_arn
    );
}

#[test]
fn a_code_deploy_service_deploys_through_codedeploy_with_its_app_spec() {
    let (emulator, seeded) = emulator_with(&[]);
    emulator.create_codedeploy_service(&seeded, "plog-cd");

    let (_, output) = deploy(&emulator, "plog-cd", &image(""), &["--json"]).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["outcome"], "stable", "{report}");
    assert_eq!(report["followedWith"], "codedeploy");
    let revision = report["taskDefinitionArn"].as_str().unwrap();
    assert!(revision.ends_with("plog-api:2"), "{report}");
    for event in [
        "lifecycle event Install: Succeeded",
        "lifecycle event AfterAllowTraffic: Succeeded",
    ] {
        assert!(stderr.contains(event), "{event} not shown: {stderr}");
    }
    // A timeline with its ends from CodeDeploy (created, completed) and the
    // stages between them not known, never 0.
    let stages = report["timeline"]["stages"]
        .as_array()
        .unwrap_or_else(|| panic!("no timeline: {report}"));
    let stage = |name: &str| stages.iter().find(|s| s["name"] == name).unwrap().clone();
    assert!(stage("done").get("at").is_some(), "{report}");
    assert!(stage("healthy").get("seconds").is_none(), "{report}");
    assert!(
        report["timeline"]["totalSeconds"].as_f64().is_some(),
        "{report}"
    );
    assert!(
        stderr.contains("timeline (from the service update: "),
        "{stderr}"
    );
    // No UpdateService: ECS refuses it for CODE_DEPLOY services.
    assert_eq!(emulator.update_service_calls("plog-cluster", "plog-cd"), 0);
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-cd"),
        revision
    );
    let id = report["deploymentId"].as_str().unwrap();
    assert!(id.starts_with("d-"), "{report}");
    let spec = emulator.codedeploy_app_spec(id);
    let target = &spec["Resources"][0]["TargetService"];
    assert_eq!(target["Type"], "AWS::ECS::Service");
    assert_eq!(target["Properties"]["TaskDefinition"], revision);
    assert_eq!(
        target["Properties"]["LoadBalancerInfo"]["ContainerName"],
        "plog-back"
    );
    assert_eq!(
        target["Properties"]["LoadBalancerInfo"]["ContainerPort"],
        8080
    );

    // status shows the controller and the newest CodeDeploy deployment.
    let status = emulator.aws(
        hoist()
            .args(service_args("status", "plog-cd"))
            .args(["--json"]),
    );
    let status: Value = serde_json::from_str(&status.success()).unwrap();
    assert_eq!(status["deploymentController"], "CODE_DEPLOY");
    assert_eq!(status["codedeploy"]["deploymentId"], id);
    assert_eq!(status["codedeploy"]["status"], "Succeeded");

    // rollback goes through CodeDeploy too.
    let rollback = emulator.aws(hoist().args(service_args("rollback", "plog-cd")).args([
        "--poll-interval",
        "10ms",
        "--json",
    ]));
    let rolled: Value = serde_json::from_str(&rollback.success()).unwrap();
    assert_eq!(rolled["outcome"], "stable", "{rolled}");
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-cd"),
        seeded.task_definition_arn
    );

    // A failing lifecycle hook: CodeDeploy rolls back, exit 3, service unchanged.
    let (stderr, report) =
        deploy(&emulator, "plog-cd", &image("fail-rollout"), &[]).failure_report(3);
    assert_eq!(report["outcome"], "rolled-back", "{report}");
    assert_eq!(report["rolledBackBy"], "codedeploy");
    assert!(stderr.contains("CodeDeploy rolled it back"), "{stderr}");
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-cd"),
        seeded.task_definition_arn
    );
}

#[test]
fn a_codedeploy_deployment_that_runs_out_of_time_is_stopped_with_rollback() {
    let (emulator, seeded) = emulator_with(&[]);
    emulator.create_codedeploy_service(&seeded, "plog-cd");
    // The emulator needs ten GetDeployment calls to finish; 60 ms at 10 ms
    // polls gives it at most six.
    let (stderr, report) = deploy(
        &emulator,
        "plog-cd",
        &image(""),
        &["--rollback-on-failure", "--wait-timeout", "60ms"],
    )
    .failure_report(3);
    assert_eq!(report["outcome"], "rolled-back", "{report}");
    assert_eq!(report["rolledBackBy"], "hoist");
    assert!(
        stderr.contains("StopDeployment with automatic rollback"),
        "{stderr}"
    );
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-cd"),
        seeded.task_definition_arn
    );
}
