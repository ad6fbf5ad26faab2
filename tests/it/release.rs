//! One release to several services (`[[env.NAME.targets]]`) and one-off
//! tasks (`[[env.NAME.tasks]]`), through `hoist ship` against a local
//! registry and the ECS emulator: one build and push, services updated and
//! followed together, a failing service with and without
//! `--rollback-on-failure`, a failing migration that stops the release, and
//! a dry run that shows every service's diff and changes nothing.

use crate::support::cli::{hoist, Hoist};
use crate::support::ecs_emulator::{EcsEmulator, Seeded};
use crate::support::fixtures::boot3_layered;
use crate::support::registry::{Auth, TestRegistry};
use serde_json::Value;
use std::process::Command;

const SERVICES: [&str; 3] = ["rel-api", "rel-worker", "rel-scheduler"];

struct Release {
    dir: tempfile::TempDir,
    registry: TestRegistry,
    emulator: EcsEmulator,
    seeded: Seeded,
}

impl Release {
    /// Three services on `plog-api:1` whose circuit breaker does not roll
    /// back, a Boot jar, and hoist.toml with `[[env.dev.targets]]` for them;
    /// `worker_env` and `tasks` are spliced into it.
    fn new(worker_env: &str, tasks: &str) -> Self {
        let registry = TestRegistry::start(Auth::None);
        let emulator = EcsEmulator::start();
        let seeded = emulator.seed();
        for service in SERVICES.iter().chain(&["stage-api", "stage-worker"]) {
            emulator.create_service(
                &seeded,
                service,
                "{'deploymentCircuitBreaker': {'enable': True, 'rollback': False}, 'maximumPercent': 200, 'minimumHealthyPercent': 100}",
            );
        }
        let dir = tempfile::tempdir().unwrap();
        boot3_layered(&dir.path().join("build/libs"));
        let toml = format!(
            r#"[image]
from = "scratch"
to = "{host}/plog-back"

[env.dev]
cluster = "plog-cluster"
tags = ["dev"]
environment = {{ SPRING_PROFILES_ACTIVE = "dev", LOG_FORMAT = "json" }}

[[env.dev.targets]]
service = "rel-api"
container = "plog-back"

[[env.dev.targets]]
service = "rel-worker"
container = "plog-back"
environment = {{ SPRING_PROFILES_ACTIVE = "dev,worker"{worker_env} }}

[[env.dev.targets]]
service = "rel-scheduler"
container = "plog-back"
environment = {{ SPRING_PROFILES_ACTIVE = "dev,scheduler" }}
{tasks}
[env.stage]
cluster = "plog-cluster"

[[env.stage.targets]]
service = "stage-api"
container = "plog-back"
environment = {{ SPRING_PROFILES_ACTIVE = "stage" }}

[[env.stage.targets]]
service = "stage-worker"
container = "plog-back"
environment = {{ SPRING_PROFILES_ACTIVE = "stage,worker" }}
"#,
            host = registry.host
        );
        std::fs::write(dir.path().join("hoist.toml"), toml).unwrap();
        Self {
            dir,
            registry,
            emulator,
            seeded,
        }
    }

    fn ship(&self, extra: &[&str]) -> Hoist {
        self.hoist(&[
            "ship",
            "dev",
            "--poll-interval",
            "10ms",
            "--wait-timeout",
            "60s",
        ])
        .args(extra)
    }

    fn hoist(&self, args: &[&str]) -> Hoist {
        self.emulator
            .aws(hoist().args(args).current_dir(self.dir.path()))
    }

    fn task_definition(&self, service: &str) -> String {
        self.emulator
            .service_task_definition("plog-cluster", service)
    }

    fn environment_of(&self, task_definition: &str) -> Vec<(String, String)> {
        let out = self.emulator.boto3(
            "ecs",
            &format!("c = client.describe_task_definition(taskDefinition='{task_definition}')['taskDefinition']['containerDefinitions'][0]\nprint(json.dumps(c.get('environment', [])))"),
        );
        let env: Vec<Value> = serde_json::from_str(out.trim()).unwrap();
        env.iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["value"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn revisions(&self) -> usize {
        let out = self.emulator.boto3(
            "ecs",
            "print(len(client.list_task_definitions(familyPrefix='plog-api')['taskDefinitionArns']))",
        );
        out.trim().parse().unwrap()
    }
}

fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap().to_string(),
                s["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn one_release_with_a_migration_first_and_per_target_environments() {
    let release = Release::new(
        "",
        r#"
[[env.dev.tasks]]
name = "db-migrate"
task-definition = "plog-api"
container = "plog-back"
command = ["java", "-cp", "/app", "Migrate", "exit-0"]
"#,
    );
    let report = release.ship(&[]).report();
    assert_eq!(
        outcomes(&report),
        SERVICES
            .map(|s| (s.to_string(), "stable".to_string()))
            .to_vec(),
        "{report}"
    );
    assert_eq!(report["tasks"][0]["name"], "db-migrate");
    assert_eq!(report["tasks"][0]["exitCode"], 0);
    // The migration ran before any service was updated.
    let log = release.emulator.log();
    let ran = log
        .find("emulator: RunTask plog-cluster")
        .expect("RunTask called");
    let first_update = log
        .find("emulator: UpdateService plog-cluster/rel-")
        .expect("updates");
    assert!(ran < first_update, "the task ran after an update");
    // One image for all: every service runs the same digest.
    let image = report["image"].as_str().unwrap();
    for service in SERVICES {
        let td = release.task_definition(service);
        let out = release.emulator.boto3(
            "ecs",
            &format!("print(client.describe_task_definition(taskDefinition='{td}')['taskDefinition']['containerDefinitions'][0]['image'])"),
        );
        assert_eq!(out.trim(), image, "{service}");
    }
    // Per-target environment over the environment's own.
    let worker = release.environment_of(&release.task_definition("rel-worker"));
    assert!(
        worker.contains(&("SPRING_PROFILES_ACTIVE".into(), "dev,worker".into())),
        "{worker:?}"
    );
    assert!(
        worker.contains(&("LOG_FORMAT".into(), "json".into())),
        "{worker:?}"
    );
    let api = release.environment_of(&release.task_definition("rel-api"));
    assert!(
        api.contains(&("SPRING_PROFILES_ACTIVE".into(), "dev".into())),
        "{api:?}"
    );
    // One push: the dev tag names the digest every service runs.
    let tags = Command::new("curl")
        .args([
            "-s",
            &format!("http://{}/v2/plog-back/tags/list", release.registry.host),
        ])
        .output()
        .expect("curl");
    assert!(String::from_utf8_lossy(&tags.stdout).contains("\"dev\""));

    // promote dev → stage deploys the same digest to both of stage's services,
    // each with its own environment; status --env shows them all.
    let promoted: Value = serde_json::from_str(
        &release
            .hoist(&[
                "promote",
                "dev",
                "stage",
                "--poll-interval",
                "10ms",
                "--json",
            ])
            .success(),
    )
    .unwrap();
    let digest = image.split_once('@').unwrap().1;
    assert!(
        promoted["image"].as_str().unwrap().ends_with(digest),
        "{promoted}"
    );
    let stage: Vec<String> = promoted["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["service"].as_str().unwrap(),
                s["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        stage,
        ["stage-api stable", "stage-worker stable"],
        "{promoted}"
    );
    let worker = release.environment_of(&release.task_definition("stage-worker"));
    assert!(
        worker.contains(&("SPRING_PROFILES_ACTIVE".into(), "stage,worker".into())),
        "{worker:?}"
    );
    let status: Value = serde_json::from_str(
        &release
            .hoist(&["status", "--env", "stage", "--json"])
            .success(),
    )
    .unwrap();
    let services = status["services"].as_array().unwrap();
    assert_eq!(services.len(), 2, "{status}");
    for service in services {
        let images = service["images"].as_array().unwrap();
        assert!(
            images.iter().any(|i| i.as_str().unwrap().ends_with(digest)),
            "{service}"
        );
    }
}

#[test]
fn a_failing_service_without_rollback_leaves_the_others_on_the_new_revision() {
    let release = Release::new(", CRASH_ON_START = \"yes\"", "");
    let (stderr, report) = release.ship(&[]).failure_report(3);
    assert_eq!(
        outcomes(&report),
        vec![
            ("rel-api".to_string(), "stable".to_string()),
            ("rel-worker".to_string(), "failed".to_string()),
            ("rel-scheduler".to_string(), "stable".to_string()),
        ],
        "{report}"
    );
    assert!(
        stderr.contains("[rel-worker]"),
        "events prefixed by service: {stderr}"
    );
    assert!(stderr.contains("service rel-worker: failed"), "{stderr}");
    for service in SERVICES {
        assert_ne!(
            release.task_definition(service),
            release.seeded.task_definition_arn,
            "{service}"
        );
    }
}

#[test]
fn a_failing_service_with_rollback_takes_the_whole_release_back() {
    let release = Release::new(", CRASH_ON_START = \"yes\"", "");
    let (stderr, report) = release.ship(&["--rollback-on-failure"]).failure_report(3);
    for (service, outcome) in outcomes(&report) {
        assert_eq!(outcome, "rolled-back", "{service}: {report}");
    }
    assert!(
        stderr.contains("rolling back rel-api, rel-scheduler too: rel-worker failed"),
        "{stderr}"
    );
    for service in SERVICES {
        assert_eq!(
            release.task_definition(service),
            release.seeded.task_definition_arn,
            "{service}"
        );
    }
}

#[test]
fn a_failing_migration_stops_the_release_before_any_service() {
    let release = Release::new(
        "",
        r#"
[[env.dev.tasks]]
name = "db-migrate"
task-definition = "plog-api"
container = "plog-back"
command = ["java", "-cp", "/app", "Migrate", "exit-3"]
"#,
    );
    let (_, output) = release.ship(&[]).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("task db-migrate"), "{stderr}");
    assert!(stderr.contains("exited 3"), "{stderr}");
    assert!(
        stderr.contains("release stopped before any service was updated"),
        "{stderr}"
    );
    for service in SERVICES {
        assert_eq!(
            release
                .emulator
                .update_service_calls("plog-cluster", service),
            0
        );
        assert_eq!(
            release.task_definition(service),
            release.seeded.task_definition_arn
        );
    }
}

#[test]
fn a_dry_run_shows_every_services_diff_and_changes_nothing() {
    let release = Release::new("", "");
    let before = release.revisions();
    let stdout = release.ship(&["--dry-run"]).success();
    for service in SERVICES {
        assert!(
            stdout.contains(&format!("--- service {service} ---")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("+      \"image\": \""), "{stdout}");
    assert!(
        stdout.contains("dev,worker"),
        "the worker's own environment: {stdout}"
    );
    assert_eq!(release.revisions(), before, "nothing registered");
    for service in SERVICES {
        assert_eq!(
            release
                .emulator
                .update_service_calls("plog-cluster", service),
            0
        );
    }
    // Nothing pushed: the registry has no plog-back tag.
    let tags = Command::new("curl")
        .args([
            "-s",
            &format!("http://{}/v2/plog-back/tags/list", release.registry.host),
        ])
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&tags.stdout);
    assert!(!text.contains("\"dev\""), "pushed in a dry run: {text}");
}
