//! `hoist deploy`, `rollback` and `status` end to end through the real AWS
//! SDK against the ECS rollout emulator (moto extended so that rollouts
//! progress, fail, roll back and throttle like ECS).

use crate::support::cli::{hoist, Hoist};
use crate::support::ecs_emulator::{
    deploy_args, marked_image, service_args, EcsEmulator, PLOG_BACK_IMAGE,
};
use serde_json::Value;

fn image(marker: &str) -> String {
    marked_image(marker, 'c')
}

fn deploy(emulator: &EcsEmulator, image: &str, extra: &[&str]) -> Hoist {
    emulator
        .aws(hoist().args(deploy_args("plog-api", image)).args([
            "--poll-interval",
            "20ms",
            "--wait-timeout",
            "60s",
        ]))
        .args(extra)
}

fn describe(emulator: &EcsEmulator, task_definition: &str) -> Value {
    let out = emulator.boto3(
        "ecs",
        &format!(
            "r = client.describe_task_definition(taskDefinition='{task_definition}', include=['TAGS'])\nprint(json.dumps(r, default=str))"
        ),
    );
    serde_json::from_str(&out).unwrap()
}

fn revisions(emulator: &EcsEmulator) -> usize {
    let out = emulator.boto3(
        "ecs",
        "print(len(client.list_task_definitions(familyPrefix='plog-api')['taskDefinitionArns']))",
    );
    out.trim().parse().unwrap()
}

#[test]
fn deploy_registers_a_pinned_revision_and_waits_until_stable() {
    let emulator = EcsEmulator::start();
    let seeded = emulator.seed();
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join("deploy.json");
    let github_output = dir.path().join("github_output");
    let new_image = image("");
    let stdout = deploy(
        &emulator,
        &new_image,
        &[
            "--env",
            "SPRING_PROFILES_ACTIVE=dev2",
            "--env",
            "FEATURE=a=b",
            "--metadata-file",
        ],
    )
    .args([&meta])
    .env("GITHUB_OUTPUT", &github_output)
    .success();
    let arn = stdout.trim();
    assert!(arn.ends_with(":task-definition/plog-api:2"), "{stdout}");
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-api"),
        arn
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(report["outcome"], "stable");
    assert_eq!(report["revision"], 2);
    let outputs = std::fs::read_to_string(&github_output).unwrap();
    assert!(
        outputs.contains(&format!("task-definition-arn={arn}\n"))
            && outputs.contains("task-definition-revision=2\n"),
        "{outputs}"
    );

    // Revision 2: the app container has the new image and merged env; the
    // sidecar and every other field are as they were.
    let old = describe(&emulator, &seeded.task_definition_arn);
    let new = describe(&emulator, arn);
    let (old_td, new_td) = (&old["taskDefinition"], &new["taskDefinition"]);
    for (key, value) in old_td.as_object().unwrap() {
        if ![
            "taskDefinitionArn",
            "revision",
            "registeredAt",
            "containerDefinitions",
            "registeredBy",
        ]
        .contains(&key.as_str())
        {
            assert_eq!(&new_td[key], value, "{key} changed");
        }
    }
    // The tags stay; hoist marks the revision as its own (what
    // keep-revisions deregisters, unless told otherwise) and keeps on it
    // what the deploy measured (no load balancer: the image pull alone,
    // the emulator's 3 s).
    let sorted = |tags: &Value| {
        let mut all: Vec<String> = tags
            .as_array()
            .map(|t| t.iter().map(|t| t.to_string()).collect())
            .unwrap_or_default();
        all.sort();
        all
    };
    let mut expected = old["tags"].as_array().cloned().unwrap_or_default();
    expected.push(serde_json::json!({
        "key": "hoist:registered-by",
        "value": format!("hoist {}", env!("CARGO_PKG_VERSION"))
    }));
    expected.push(serde_json::json!({"key": "hoist:pull-seconds", "value": "3"}));
    assert_eq!(sorted(&new["tags"]), sorted(&Value::Array(expected)));
    let app = &new_td["containerDefinitions"][0];
    assert_eq!(app["image"], new_image);
    let env: Vec<(String, String)> = app["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        env.contains(&("SPRING_PROFILES_ACTIVE".into(), "dev2".into())),
        "{env:?}"
    );
    assert!(env.contains(&("FEATURE".into(), "a=b".into())), "{env:?}");
    assert!(
        env.contains(&("JAVA_OPTS".into(), "-Xmx512m".into())),
        "{env:?}"
    );
    assert_eq!(app["secrets"], old_td["containerDefinitions"][0]["secrets"]);
    assert_eq!(
        new_td["containerDefinitions"][1], old_td["containerDefinitions"][1],
        "the sidecar is untouched"
    );
    // The prod service in its own cluster was not touched.
    assert_eq!(
        emulator.service_task_definition("plog-prod", "plog-api-prod"),
        seeded.task_definition_arn
    );
}

#[test]
fn a_failed_rollout_exits_3_with_events_and_stopped_task_reasons() {
    let emulator = EcsEmulator::start();
    let seeded = emulator.seed();
    let (_, output) = deploy(&emulator, &image("fail-rollout"), &[]).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("deployment failed: tasks failed to start"),
        "events shown: {stderr}"
    );
    assert!(
        stderr.contains("OutOfMemoryError"),
        "stopped task reasons: {stderr}"
    );
    assert_eq!(stderr.matches("hoist: error:").count(), 1, "{stderr}");
    // The emulator's circuit breaker rolled the service back by itself.
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-api"),
        seeded.task_definition_arn
    );
}

#[test]
fn rollback_on_failure_puts_the_previous_revision_back() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    // First a good deploy (revision 2), then a failing one (revision 3).
    deploy(&emulator, &image(""), &[]).success();
    let good = emulator.service_task_definition("plog-cluster", "plog-api");
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join("m.json");
    let stderr = deploy(
        &emulator,
        &image("fail-rollout"),
        &["--rollback-on-failure", "--metadata-file"],
    )
    .args([&meta])
    .failure(3);
    // The seeded service's circuit breaker rolls back by itself: hoist
    // reports it and adds nothing (ecs_rollouts.rs has hoist's own rollback).
    assert!(stderr.contains("ECS rolled it back"), "{stderr}");
    let report: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(report["outcome"], "rolled-back");
    assert_eq!(report["rolledBackBy"], "ecs");
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-api"),
        good
    );
    let status = emulator
        .aws(
            hoist()
                .args(service_args("status", "plog-api"))
                .args(["--json"]),
        )
        .success();
    let status: Value = serde_json::from_str(&status).unwrap();
    let deployments = status["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 1, "{status}");
    assert_eq!(deployments[0]["taskDefinitionArn"], good.as_str());
    assert_eq!(deployments[0]["running"], deployments[0]["desired"]);
}

#[test]
fn dry_run_prints_the_diff_and_changes_nothing() {
    let emulator = EcsEmulator::start();
    let seeded = emulator.seed();
    let stdout = deploy(
        &emulator,
        &image(""),
        &["--env", "SPRING_PROFILES_ACTIVE=prod", "--dry-run"],
    )
    .success();
    assert!(
        stdout.contains(&format!("-      \"image\": \"{PLOG_BACK_IMAGE}\"")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("+      \"image\": \"{}\"", image(""))),
        "{stdout}"
    );
    assert!(
        stdout.contains("+          \"value\": \"prod\""),
        "{stdout}"
    );
    assert!(
        !stdout.contains("datadog"),
        "only what changes (and its context): {stdout}"
    );
    assert_eq!(revisions(&emulator), 1, "nothing registered");
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-api"),
        seeded.task_definition_arn
    );
}

#[test]
fn rollback_restores_the_previous_revision() {
    let emulator = EcsEmulator::start();
    let seeded = emulator.seed();
    deploy(&emulator, &image(""), &[]).success();
    assert_ne!(
        emulator.service_task_definition("plog-cluster", "plog-api"),
        seeded.task_definition_arn
    );
    let stdout = emulator
        .aws(
            hoist()
                .args(service_args("rollback", "plog-api"))
                .args(["--poll-interval", "20ms"]),
        )
        .success();
    assert_eq!(stdout.trim(), seeded.task_definition_arn);
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-api"),
        seeded.task_definition_arn
    );
    // And forward again to an explicit revision.
    emulator
        .aws(hoist().args(service_args("rollback", "plog-api")).args([
            "--to-revision",
            "2",
            "--poll-interval",
            "20ms",
        ]))
        .success();
    assert!(emulator
        .service_task_definition("plog-cluster", "plog-api")
        .ends_with(":2"));
}

#[test]
fn status_shows_deployments_images_and_events() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let table = emulator
        .aws(hoist().args(service_args("status", "plog-api")))
        .success();
    assert!(
        table.contains("PRIMARY") && table.contains("plog-api:1"),
        "{table}"
    );
    assert!(
        table.contains(&format!("plog-back={PLOG_BACK_IMAGE}")),
        "{table}"
    );
    assert!(table.contains("steady state"), "{table}");
}

#[test]
fn a_tag_is_resolved_to_a_digest_through_the_registry() {
    use crate::support::fixtures::uber;
    use crate::support::registry::{Auth, TestRegistry};
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let digest = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &registry.image("plog/back:dev")])
        .success();
    let emulator = EcsEmulator::start();
    emulator.seed();
    let arn = deploy(&emulator, &registry.image("plog/back:dev"), &[]).success();
    let td = describe(&emulator, arn.trim());
    assert_eq!(
        td["taskDefinition"]["containerDefinitions"][0]["image"],
        format!("{}/plog/back@{}", registry.host, digest.trim())
    );
}

#[test]
fn bad_targets_fail_in_one_line_and_register_nothing() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let cases: [(&[&str], &str); 3] = [
        (&["--cluster", "nope"], "cluster \"nope\" not found"),
        (&["--service", "nope"], "service \"nope\" not found"),
        (&["--container", "web"], "plog-back, datadog-agent"),
    ];
    for (overrides, expected) in cases {
        let digest_image = image("");
        let mut args = deploy_args("plog-api", &digest_image);
        for pair in overrides.chunks(2) {
            let i = args.iter().position(|a| *a == pair[0]).unwrap();
            args[i + 1] = pair[1];
        }
        let stderr = emulator.aws(hoist().args(args)).failure(2);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{expected:?} in {stderr}");
    }
    assert_eq!(revisions(&emulator), 1, "nothing registered");
}

#[test]
fn missing_region_and_missing_credentials_fail_in_one_line() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let digest_image = image("");
    let args = deploy_args("plog-api", &digest_image);
    let stderr = emulator
        .aws(hoist().args(args))
        .env_remove("AWS_REGION")
        .failure(2);
    assert!(
        stderr.contains("no AWS region") && stderr.contains("--region"),
        "{stderr}"
    );
    let stderr = emulator
        .aws(hoist().args(args))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("ECS DescribeServices"), "{stderr}");
    assert_eq!(revisions(&emulator), 1, "nothing registered");
}

#[test]
fn throttled_polling_backs_off_and_still_ends_stable() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    // `throttle-4`: the first four DescribeServices calls after the update are
    // throttled — more than the SDK's own three attempts absorb.
    let stderr = {
        let (_, output) = deploy(&emulator, &image("throttle-4"), &[]).output();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(stderr.contains("ECS is throttling"), "{stderr}");
}

#[test]
fn task_family_starts_from_that_familys_latest_revision() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    // Revision 2 registered outside hoist, with another image; the service stays on 1.
    let registered = emulator.register_plog_api(&marked_image("", 'd'));
    assert!(registered.ends_with(":2"));
    let arn = deploy(&emulator, &image(""), &["--task-family", "plog-api"]).success();
    assert!(arn.trim().ends_with(":3"), "{arn}");
    assert_eq!(
        emulator.service_task_definition("plog-cluster", "plog-api"),
        arn.trim()
    );
}

#[test]
fn a_task_definition_file_is_deployed_with_unknown_fields_passed_through() {
    let emulator = EcsEmulator::start();
    let seeded = emulator.seed();
    // The task definition as a repository keeps it, with a field newer than
    // hoist's SDK and one no SDK knows yet, plus read-only fields of a
    // DescribeTaskDefinition copy.
    let mut file = describe(&emulator, &seeded.task_definition_arn)["taskDefinition"].clone();
    file["memory"] = "2048".into();
    file["trustedExecutionConfiguration"] = serde_json::json!({"isolationMode": "SHARED"});
    file["someFutureField"] = serde_json::json!({"enabled": true});
    file["deleteRequestedAt"] = 1_700_000_000.0.into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("task-definition.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&file).unwrap()).unwrap();

    let (_, output) = deploy(&emulator, &image(""), &["--task-definition"])
        .args([&path])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let arn = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(arn.ends_with("plog-api:2"), "{arn}");
    assert!(
        stderr.contains("someFutureField"),
        "the unknown field is named: {stderr}"
    );
    // What went to RegisterTaskDefinition: the new fields, no read-only ones.
    let sent = emulator.registered_fields(&arn);
    for field in [
        "someFutureField",
        "trustedExecutionConfiguration",
        "memory",
        "containerDefinitions",
    ] {
        assert!(
            sent.contains(&field.to_string()),
            "{field} not sent: {sent:?}"
        );
    }
    for field in [
        "deleteRequestedAt",
        "taskDefinitionArn",
        "revision",
        "status",
        "registeredAt",
        "registeredBy",
        "compatibilities",
        "requiresAttributes",
    ] {
        assert!(!sent.contains(&field.to_string()), "{field} sent: {sent:?}");
    }
    let new = describe(&emulator, &arn);
    assert_eq!(new["taskDefinition"]["memory"], "2048");
    assert_eq!(
        new["taskDefinition"]["containerDefinitions"][0]["image"],
        image("")
    );
}
