//! hoist against plain, unpatched `moto_server`: no rollout model, and no
//! ServiceDeployments API (moto answers ListServiceDeployments,
//! DescribeServiceDeployments and StopServiceDeployment with an HTML HTTP
//! 500). Every command falls back to DescribeServices, says so once, and
//! goes on: deploy, ship, rollback, status, promote and a two-target release
//! pass. A green run against our own emulator proves only our model; this
//! one proves hoist works on an ECS endpoint that nobody here wrote.

use crate::support::cli::{hoist, Hoist};
use crate::support::ecs_emulator::{deploy_args, service_args, EcsEmulator, Seeded};
use crate::support::fixtures::boot3_layered;
use crate::support::registry::{Auth, TestRegistry};
use std::process::Command;

const FALLBACK: &str = "the ServiceDeployments API is not available (ListServiceDeployments: HTTP 500); following deployment";

struct PlainProject {
    dir: tempfile::TempDir,
    registry: TestRegistry,
    moto: EcsEmulator,
    seeded: Seeded,
}

impl PlainProject {
    /// Plain moto seeded like the emulator, a second dev service, a Boot
    /// jar, and hoist.toml with `dev` (one service), `both` (two targets)
    /// and `prod`.
    fn new() -> Self {
        let registry = TestRegistry::start(Auth::None);
        let moto = EcsEmulator::start_plain_moto();
        let seeded = moto.seed();
        moto.create_service(
            &seeded,
            "plog-worker",
            "{'deploymentCircuitBreaker': {'enable': True, 'rollback': True}}",
        );
        let dir = tempfile::tempdir().unwrap();
        boot3_layered(&dir.path().join("build/libs"));
        let toml = format!(
            r#"[image]
from = "scratch"
to = "{host}/plog-back"

[env.dev]
cluster = "plog-cluster"
service = "plog-api"
container = "plog-back"
tags = ["dev"]
environment = {{ SPRING_PROFILES_ACTIVE = "dev" }}
secrets = {{ DB_PASSWORD = "{secret}" }}

[env.both]
cluster = "plog-cluster"
tags = ["both"]

[[env.both.targets]]
service = "plog-api"
container = "plog-back"
environment = {{ SPRING_PROFILES_ACTIVE = "dev" }}

[[env.both.targets]]
service = "plog-worker"
container = "plog-back"
environment = {{ SPRING_PROFILES_ACTIVE = "dev,worker" }}

[env.prod]
cluster = "plog-prod"
service = "plog-api-prod"
container = "plog-back"
tags = ["prod"]
environment = {{ SPRING_PROFILES_ACTIVE = "prod" }}
"#,
            host = registry.host,
            secret = seeded.db_secret_arn,
        );
        std::fs::write(dir.path().join("hoist.toml"), toml).unwrap();
        let status = Command::new("git")
            .args(["init", "-q"])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        Self {
            dir,
            registry,
            moto,
            seeded,
        }
    }

    fn hoist(&self, args: &[&str]) -> Hoist {
        self.moto.aws(
            hoist()
                .args(args)
                .args(["--poll-interval", "20ms", "--wait-timeout", "60s"])
                .current_dir(self.dir.path()),
        )
    }

    fn service_task_definition(&self, cluster: &str, service: &str) -> String {
        self.moto.service_task_definition(cluster, service)
    }
}

/// Said once, and no dump.
#[track_caller]
fn assert_fell_back_once(stderr: &str) {
    assert_eq!(stderr.matches(FALLBACK).count(), 1, "{stderr}");
    assert!(
        !stderr.contains("SdkBody") && !stderr.contains("ResponseError {"),
        "{stderr}"
    );
}

#[test]
fn deploy_rollback_and_status_work_without_the_service_deployments_api() {
    let project = PlainProject::new();
    let image = format!(
        "{}/plog-back@sha256:{}",
        project.registry.host,
        "a".repeat(64)
    );
    let deploy = project.hoist(&deploy_args("plog-api", &image));
    let (shown, output) = deploy.output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}:\n{stderr}");
    assert_fell_back_once(&stderr);
    let arn = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(arn.ends_with(":task-definition/plog-api:2"), "{arn}");
    assert_eq!(
        project.service_task_definition("plog-cluster", "plog-api"),
        arn
    );

    // status takes no wait flags: not through project.hoist.
    let status = project.moto.aws(
        hoist()
            .args(service_args("status", "plog-api"))
            .args(["--json"]),
    );
    let value: serde_json::Value = serde_json::from_str(&status.success()).unwrap();
    assert_eq!(value["taskDefinitionArn"], arn.as_str(), "{value}");
    // The stopped-task and load-balancer reads work there too: nothing
    // stopped, nothing that could not be read.
    assert_eq!(value["stoppedTasks"], serde_json::json!([]), "{value}");
    assert_eq!(value["notes"], serde_json::json!([]), "{value}");

    let (shown, output) = project
        .hoist(&service_args("rollback", "plog-api"))
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}:\n{stderr}");
    assert_fell_back_once(&stderr);
    assert_eq!(
        project.service_task_definition("plog-cluster", "plog-api"),
        project.seeded.task_definition_arn
    );
}

#[test]
fn ship_promote_and_a_two_target_release_work_without_the_service_deployments_api() {
    let project = PlainProject::new();
    let (shown, output) = project.hoist(&["ship", "dev", "--skip-gradle"]).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}:\n{stderr}");
    assert_fell_back_once(&stderr);
    let pinned = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(pinned.contains("@sha256:"), "{pinned}");
    let dev = project.service_task_definition("plog-cluster", "plog-api");
    assert!(dev.ends_with("plog-api:2"), "{dev}");

    // promote reads what dev runs (plain moto keeps the service COMPLETED).
    let (shown, output) = project.hoist(&["promote", "dev", "prod", "--yes"]).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}:\n{stderr}");
    assert_fell_back_once(&stderr);
    let prod = project.service_task_definition("plog-prod", "plog-api-prod");
    let prod_image = project
        .moto
        .boto3("ecs", &format!("print(client.describe_task_definition(taskDefinition='{prod}')['taskDefinition']['containerDefinitions'][0]['image'])"));
    let digest = pinned.rsplit_once('@').unwrap().1;
    assert!(
        prod_image.trim().ends_with(digest),
        "{prod_image} vs {pinned}"
    );

    // Two services: both updated, the fallback said once for the release.
    let (shown, output) = project.hoist(&["ship", "both", "--skip-gradle"]).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}:\n{stderr}");
    assert_fell_back_once(&stderr);
    for service in ["plog-api", "plog-worker"] {
        let td = project.service_task_definition("plog-cluster", service);
        assert!(!td.ends_with(":1"), "{service} still on {td}:\n{stderr}");
    }
}
