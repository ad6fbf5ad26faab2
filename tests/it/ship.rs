//! `hoist ship` / `promote` / `init` with hoist.toml, against a local
//! registry and the ECS rollout emulator (which also serves Secrets Manager).

use crate::support::cli::{hoist, Hoist};
use crate::support::ecs_emulator::EcsEmulator;
use crate::support::fixtures::boot3_layered;
use crate::support::registry::{Auth, TestRegistry};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Project {
    dir: tempfile::TempDir,
    registry: TestRegistry,
    emulator: EcsEmulator,
}

impl Project {
    /// A Gradle-like project: build/libs with the Boot jar and a -plain jar,
    /// a config file, a git commit, and hoist.toml for dev and prod.
    fn new() -> Self {
        Self::with_emulator_env(&[])
    }

    /// [`Project::new`], with the emulator started with `vars`.
    fn with_emulator_env(vars: &[(&str, &str)]) -> Self {
        let registry = TestRegistry::start(Auth::None);
        let emulator = EcsEmulator::start_with_env(vars);
        emulator.seed();
        emulator.boto3(
            "secretsmanager",
            "client.create_secret(Name='plog/application-dev', SecretString='spring:\\n  datasource:\\n    password: hunter2\\n')",
        );
        let dir = tempfile::tempdir().unwrap();
        let libs = dir.path().join("build/libs");
        boot3_layered(&libs);
        std::fs::write(libs.join("demo-0.0.1-plain.jar"), b"not the one").unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("config/logback.xml"), "<configuration/>\n").unwrap();
        let toml = format!(
            r#"[image]
from = "scratch"
to = "{host}/plog-back"
jvm-flags = ["-XX:MaxRAMPercentage=75"]
ports = [8080]
user = "1000:1000"

[[image.files]]
from = "config/logback.xml"
to = "/app/config/logback.xml"

[[image.files]]
secret = "plog/application-dev"
to = "/app/config/application-dev.yaml"

[env.dev]
cluster = "plog-cluster"
service = "plog-api"
container = "plog-back"
tags = ["dev-{{git_sha}}", "dev"]
environment = {{ SPRING_PROFILES_ACTIVE = "dev" }}
secrets = {{ DB_PASSWORD = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/db" }}

[env.prod]
cluster = "plog-prod"
service = "plog-api-prod"
container = "plog-back"
tags = ["prod-{{git_sha}}"]
environment = {{ SPRING_PROFILES_ACTIVE = "prod" }}
protect = true
"#,
            host = registry.host
        );
        std::fs::write(dir.path().join("hoist.toml"), toml).unwrap();
        for args in [
            vec!["init", "-q"],
            vec!["add", "-A"],
            vec![
                "-c",
                "user.email=t@example.com",
                "-c",
                "user.name=t",
                "commit",
                "-qm",
                "app",
            ],
        ] {
            let status = Command::new("git")
                .args(&args)
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        Self {
            dir,
            registry,
            emulator,
        }
    }

    fn hoist(&self, args: &[&str]) -> Hoist {
        self.emulator
            .aws(hoist().args(args).current_dir(self.dir.path()))
    }

    fn service_task_definition(&self, cluster: &str, service: &str) -> String {
        self.emulator.service_task_definition(cluster, service)
    }

    fn image_of(&self, task_definition: &str) -> Value {
        let out = self.emulator.boto3(
            "ecs",
            &format!("print(json.dumps(client.describe_task_definition(taskDefinition='{task_definition}')['taskDefinition']['containerDefinitions'][0], default=str))"),
        );
        serde_json::from_str(&out).unwrap()
    }

    fn git_sha(&self) -> String {
        let out = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

/// The entries of layer `digest` in the registry (path → mode), via skopeo copy.
fn layer_modes(
    project: &Project,
    image: &str,
) -> std::collections::BTreeMap<String, (u32, u64, Vec<u8>)> {
    let layout = project.path("pulled");
    let out = Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            &format!("docker://{image}"),
            &format!("oci:{}:x", layout.display()),
        ])
        .output()
        .expect("skopeo (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let image = crate::support::oci::LayoutImage::open(&layout, "x");
    let mut entries = std::collections::BTreeMap::new();
    for i in 0..image.layer_digests().len() {
        let tar = image.layer_tar(i);
        let mut archive = tar::Archive::new(&tar[..]);
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mode = entry.header().mode().unwrap();
            let uid = entry.header().uid().unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            entries.insert(path, (mode, uid, bytes));
        }
    }
    entries
}

#[test]
fn ship_dev_pushes_deploys_waits_and_never_touches_prod() {
    let project = Project::new();
    let prod_before = project.service_task_definition("plog-prod", "plog-api-prod");
    let meta = project.path("ship.json");
    let (shown, output) = project
        .hoist(&["ship", "dev", "--poll-interval", "20ms", "--metadata-file"])
        .args([&meta])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    let pinned = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(
        pinned.starts_with(&format!("{}/plog-back@sha256:", project.registry.host)),
        "{pinned}"
    );
    assert!(
        stderr.contains("warning: secret \"plog/application-dev\" is baked into the image"),
        "{stderr}"
    );
    assert!(stderr.contains("shipped dev to plog-api"), "{stderr}");

    let report: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    let sha = project.git_sha();
    assert_eq!(
        report["build"]["tags"],
        serde_json::json!([format!("dev-{sha}"), "dev"])
    );
    assert_eq!(report["deploy"]["outcome"], "stable");
    assert!(report["build"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["name"] == "files"));

    let current = project.service_task_definition("plog-cluster", "plog-api");
    assert!(current.ends_with("plog-api:2"), "{current}");
    let app = project.image_of(&current);
    assert_eq!(app["image"], pinned.as_str());
    let env = app["environment"].as_array().unwrap();
    assert!(
        env.iter()
            .any(|e| e["name"] == "SPRING_PROFILES_ACTIVE" && e["value"] == "dev"),
        "{app}"
    );
    assert!(
        app["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "DB_PASSWORD"),
        "{app}"
    );
    assert_eq!(
        project.service_task_definition("plog-prod", "plog-api-prod"),
        prod_before,
        "prod untouched"
    );

    // The secret file is in the image, mode 0600, with the secret's content;
    // the -plain jar was ignored; the Boot layers are there.
    let entries = layer_modes(
        &project,
        &format!("{}/plog-back:dev-{sha}", project.registry.host),
    );
    let (mode, uid, bytes) = &entries["app/config/application-dev.yaml"];
    assert_eq!(
        (*mode, *uid),
        (0o600, 1000),
        "readable by the app's user only"
    );
    assert!(String::from_utf8_lossy(bytes).contains("hunter2"));
    assert_eq!(entries["app/config/logback.xml"].0, 0o644);
    assert!(
        entries.keys().any(|k| k.starts_with("app/BOOT-INF/lib/")),
        "{:?}",
        entries.keys()
    );
    assert!(!entries.keys().any(|k| k.contains("plain")));
    // The layer holding the secret is never kept in the layer cache.
    let files = report["build"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "files")
        .unwrap();
    let hex = files["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:");
    assert!(!crate::support::cli::test_cache_dir()
        .join("blobs/sha256")
        .join(hex)
        .exists());
}

#[test]
fn promote_dev_to_prod_deploys_the_identical_digest_and_tags_it_for_prod() {
    let project = Project::new();
    let pinned = project
        .hoist(&["ship", "dev", "--poll-interval", "20ms"])
        .success();
    let digest = pinned.trim().split_once('@').unwrap().1.to_string();
    let uploads_before = project.registry.requests("POST", "/blobs/uploads/");
    let heads_before = project.registry.requests("HEAD", "/blobs/");
    let outputs = project.path("github-output");
    let promoted = project
        .hoist(&["promote", "dev", "prod", "--yes", "--poll-interval", "20ms"])
        .env("GITHUB_OUTPUT", &outputs)
        .success();
    assert_eq!(promoted.trim(), pinned.trim());
    let prod = project.service_task_definition("plog-prod", "plog-api-prod");
    let app = project.image_of(&prod);
    assert_eq!(app["image"], pinned.trim());
    let env = app["environment"].as_array().unwrap();
    assert!(
        env.iter()
            .any(|e| e["name"] == "SPRING_PROFILES_ACTIVE" && e["value"] == "prod"),
        "{app}"
    );

    // Prod's tag is on the manifest: one PUT by tag, no blob traffic.
    let sha = project.git_sha();
    let prod_tag = format!("prod-{sha}");
    assert_eq!(
        project
            .registry
            .requests("PUT", &format!("/manifests/{prod_tag}")),
        1
    );
    assert_eq!(
        project.registry.requests("POST", "/blobs/uploads/"),
        uploads_before
    );
    assert_eq!(project.registry.requests("HEAD", "/blobs/"), heads_before);

    // The step outputs name what prod runs.
    let written = std::fs::read_to_string(&outputs).unwrap();
    for line in [
        format!("image={}", pinned.trim()),
        format!("digest={digest}"),
        format!("tags={prod_tag}"),
        format!("task-definition-arn={prod}"),
    ] {
        assert!(written.lines().any(|l| l == line), "{line} in {written}");
    }

    // `status` shows which tags hold what prod runs.
    let status = |project: &Project| {
        project
            .hoist(&[
                "status",
                "--cluster",
                "plog-prod",
                "--service",
                "plog-api-prod",
            ])
            .success()
    };
    let shown = status(&project);
    assert!(
        shown.contains(&format!(
            "TAGS {}: dev, dev-{sha}, {prod_tag}",
            pinned.trim()
        )),
        "{shown}"
    );

    // Dev moves on and its tags expire: prod's digest stays, held by prod's tag.
    project.registry.delete_tag("plog-back", "dev");
    project
        .registry
        .delete_tag("plog-back", &format!("dev-{sha}"));
    let shown = status(&project);
    assert!(
        shown.contains(&format!("TAGS {}: {prod_tag}", pinned.trim())),
        "{shown}"
    );
    let inspect = crate::support::cli::run_tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            &format!("docker://{}/plog-back:{prod_tag}", project.registry.host),
        ],
        "apt-get install skopeo",
    );
    assert_eq!(inspect.trim(), digest);
}

#[test]
fn promote_refuses_while_the_source_is_mid_rollout() {
    let project = Project::new();
    project.hoist(&["ship", "dev", "--no-wait"]).success();
    let prod_before = project.service_task_definition("plog-prod", "plog-api-prod");
    let stderr = project
        .hoist(&["promote", "dev", "prod", "--yes"])
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("mid-rollout") && stderr.contains("hint:"),
        "{stderr}"
    );
    assert_eq!(
        project.service_task_definition("plog-prod", "plog-api-prod"),
        prod_before,
        "prod untouched"
    );
}

#[test]
fn promote_to_another_registry_copies_the_image_before_deploying() {
    let project = Project::new();
    let prod_registry = TestRegistry::start(Auth::None);
    let toml = std::fs::read_to_string(project.path("hoist.toml")).unwrap();
    let toml = toml.replace(
        "service = \"plog-api-prod\"",
        &format!(
            "service = \"plog-api-prod\"\nto = \"{}/prod/plog-back\"",
            prod_registry.host
        ),
    );
    std::fs::write(project.path("hoist.toml"), toml).unwrap();
    let pinned = project
        .hoist(&["ship", "dev", "--poll-interval", "20ms"])
        .success();
    let digest = pinned.trim().split_once('@').unwrap().1.to_string();
    let report = project
        .hoist(&["promote", "dev", "prod", "--yes", "--poll-interval", "20ms"])
        .report();
    let expected = format!("{}/prod/plog-back@{digest}", prod_registry.host);
    assert_eq!(report["image"], expected.as_str(), "{report}");
    assert!(
        report["copy"]["uploaded"].as_u64().unwrap() >= 2,
        "{report}"
    );
    assert_eq!(report["deploy"]["outcome"], "stable");
    let prod = project.service_task_definition("plog-prod", "plog-api-prod");
    assert_eq!(project.image_of(&prod)["image"], expected.as_str());
    let inspect = crate::support::cli::run_tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            &format!(
                "docker://{}/prod/plog-back:prod-{}",
                prod_registry.host,
                project.git_sha()
            ),
        ],
        "apt-get install skopeo",
    );
    assert_eq!(inspect.trim(), digest);
}

#[test]
fn a_protected_environment_needs_yes() {
    let project = Project::new();
    let prod_before = project.service_task_definition("plog-prod", "plog-api-prod");
    let stderr = project.hoist(&["ship", "prod"]).failure(2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("\"prod\" is protected") && stderr.contains("--yes"),
        "{stderr}"
    );
    assert_eq!(
        project.registry.requests("PUT", "/manifests/"),
        0,
        "nothing pushed"
    );
    assert_eq!(
        project.service_task_definition("plog-prod", "plog-api-prod"),
        prod_before
    );
    let stderr = project.hoist(&["promote", "dev", "prod"]).failure(2);
    assert!(stderr.contains("protected"), "{stderr}");
}

#[test]
fn unknown_environments_and_keys_are_named() {
    let project = Project::new();
    let stderr = project.hoist(&["ship", "staging"]).failure(2);
    assert!(
        stderr.contains("no environment \"staging\"") && stderr.contains("dev, prod"),
        "{stderr}"
    );
    let toml = std::fs::read_to_string(project.path("hoist.toml"))
        .unwrap()
        .replace("ports = [8080]", "ports = [8080]\nportz = [1]");
    std::fs::write(project.path("hoist.toml"), toml).unwrap();
    let stderr = project.hoist(&["ship", "dev"]).failure(2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("portz") && stderr.contains("line 6"),
        "{stderr}"
    );
}

#[test]
fn init_writes_a_config_for_the_gradle_project_and_keeps_an_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("settings.gradle"),
        "rootProject.name = 'plog-back'\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("build.gradle"),
        "plugins { id 'org.springframework.boot' }\n",
    )
    .unwrap();
    boot3_layered(&dir.path().join("build/libs"));
    hoist().args(["init"]).current_dir(dir.path()).success();
    let text = std::fs::read_to_string(dir.path().join("hoist.toml")).unwrap();
    assert!(
        text.contains("/plog-back\"") && text.contains("build = \"gradle bootJar\""),
        "{text}"
    );
    let stderr = hoist().args(["init"]).current_dir(dir.path()).failure(2);
    assert!(stderr.contains("exists already"), "{stderr}");
    // What init wrote is valid: ship gets as far as the environment check.
    let stderr = hoist()
        .args(["ship", "nope"])
        .current_dir(dir.path())
        .failure(2);
    assert!(stderr.contains("known environments: dev, prod"), "{stderr}");
}

#[test]
fn flags_and_hoist_variables_win_over_the_file() {
    let project = Project::new();
    let elsewhere = format!("{}/other/plog-back", project.registry.host);
    let pinned = project
        .hoist(&["ship", "dev", "--poll-interval", "20ms"])
        .env("HOIST_TO", &elsewhere)
        .success();
    assert!(
        pinned.trim().starts_with(&format!("{elsewhere}@sha256:")),
        "{pinned}"
    );
    assert!(
        project
            .registry
            .requests("PUT", "/v2/other/plog-back/manifests/dev")
            >= 1
    );
    let flagged = format!("{}/flagged/plog-back", project.registry.host);
    let pinned = project
        .hoist(&["ship", "dev", "--poll-interval", "20ms", "--to", &flagged])
        .env("HOIST_TO", &elsewhere)
        .success();
    assert!(
        pinned.trim().starts_with(&format!("{flagged}@sha256:")),
        "the flag beats the variable: {pinned}"
    );
}

/// The test project, shipping to the ECR stand-in (through `[registry]
/// resolve); the emulator is its API.
fn ecr_project() -> (Project, crate::support::registry_standin::RegistryStandIn) {
    to_ecr(Project::new())
}

/// `project`, shipping to the ECR stand-in instead of its registry.
fn to_ecr(project: Project) -> (Project, crate::support::registry_standin::RegistryStandIn) {
    use crate::support::registry_standin::{RegistryStandIn, ECR_HOST};
    let ecr = RegistryStandIn::ecr(&project.emulator);
    let toml = std::fs::read_to_string(project.path("hoist.toml")).unwrap();
    let toml = toml.replace(
        &format!("to = \"{}/plog-back\"", project.registry.host),
        &format!("to = \"{ECR_HOST}/plog-back\""),
    ) + &ecr.ecr_toml();
    std::fs::write(project.path("hoist.toml"), toml).unwrap();
    (project, ecr)
}

/// Creates the ECR repository `plog-back` with the lifecycle `policy`.
fn with_lifecycle_policy(project: &Project, policy: &str) {
    project.emulator.boto3(
        "ecr",
        &format!("client.create_repository(repositoryName='plog-back')\nclient.put_lifecycle_policy(repositoryName='plog-back', lifecyclePolicyText='{policy}')"),
    );
}

#[test]
fn a_lifecycle_policy_that_would_expire_what_runs_is_warned_about() {
    // The ECR stand-in (through [registry] resolve); the emulator is its
    // API: the repository and its lifecycle policy.
    let (project, _ecr) = ecr_project();
    let policy = r#"{"rules":[{"rulePriority":1,"description":"keep prod","selection":{"tagStatus":"tagged","tagPatternList":["prod-*"],"countType":"imageCountMoreThan","countNumber":9999},"action":{"type":"expire"}},{"rulePriority":2,"description":"last 20 dev builds","selection":{"tagStatus":"tagged","tagPrefixList":["dev"],"countType":"imageCountMoreThan","countNumber":20},"action":{"type":"expire"}}]}"#;
    with_lifecycle_policy(&project, policy);

    // dev runs an image that only dev tags hold: rule 2 may expire it.
    let meta = project.path("ship.json");
    let (shown, output) = project
        .hoist(&["ship", "dev", "--poll-interval", "20ms", "--metadata-file"])
        .args([&meta])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    let warning = stderr
        .lines()
        .find(|l| l.contains("lifecycle policy"))
        .unwrap_or_else(|| panic!("no lifecycle warning: {stderr}"));
    let sha = project.git_sha();
    assert!(
        warning.starts_with("warning:")
            && warning.contains(&format!("dev-{sha}"))
            && warning.contains("rule 2")
            && warning.contains("hint:"),
        "{warning}"
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(
        report["warnings"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );

    // promoted, it carries prod-<sha> too, which rule 1 keeps: no warning.
    let (shown, output) = project
        .hoist(&["promote", "dev", "prod", "--yes", "--poll-interval", "20ms"])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    assert!(!stderr.contains("lifecycle policy"), "{stderr}");
}

#[test]
fn a_count_rule_over_every_image_counts_the_referrers_ecr_lists_as_images() {
    // ECR counts each referrer as an untagged image
    // (aws/containers-roadmap#2613): a rule keeping the newest 1000 of
    // "any" images keeps fewer of the app's images once SBOMs and
    // provenance fill the count. hoist reads the repository's count
    // (DescribeImages) when the image's referrers take part in it.
    let (project, _ecr) = ecr_project();
    let policy = r#"{"rules":[{"rulePriority":1,"description":"the newest 1000","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1000},"action":{"type":"expire"}}]}"#;
    with_lifecycle_policy(&project, policy);
    let ship = || {
        let (shown, output) = project
            .hoist(&["ship", "dev", "--poll-interval", "20ms"])
            .output();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(output.status.success(), "{shown}: {stderr}");
        stderr
    };
    // Few images: the rule keeps them all.
    let stderr = ship();
    assert!(!stderr.contains("lifecycle policy"), "{stderr}");

    // 1001 images listed by ECR (untagged, as referrers are): the count
    // overflows and the warning says how many of this image's are referrers.
    project.emulator.boto3(
        "ecr",
        "import json\nfor n in range(1001):\n    client.put_image(repositoryName='plog-back', imageManifest=json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'config': {'mediaType': 'application/vnd.oci.empty.v1+json', 'digest': 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', 'size': 2}, 'layers': [], 'annotations': {'n': str(n)}}), imageManifestMediaType='application/vnd.oci.image.manifest.v1+json')",
    );
    let stderr = ship();
    let warning = stderr
        .lines()
        .find(|l| l.contains("lifecycle policy"))
        .unwrap_or_else(|| panic!("no lifecycle warning: {stderr}"));
    assert!(
        warning.contains("rule 1 keeps the newest 1000 images and the repository has 1001")
            && warning.contains("2 of the images counted are referrers"),
        "{warning}"
    );
}

/// Registers a copy of plog-api:1 (tagged as hoist's when `by_hoist`);
/// returns its revision number.
fn register_copy(project: &Project, by_hoist: bool) -> i64 {
    let tags = if by_hoist {
        "[{'key': 'hoist:registered-by', 'value': 'hoist 0.0.9'}]"
    } else {
        "[{'key': 'team', 'value': 'plog'}]"
    };
    let out = project.emulator.boto3(
        "ecs",
        &format!(
            "td = client.describe_task_definition(taskDefinition='plog-api:1')['taskDefinition']\n\
             keep = ['family', 'taskRoleArn', 'executionRoleArn', 'networkMode', 'containerDefinitions', 'requiresCompatibilities', 'cpu', 'memory', 'runtimePlatform']\n\
             print(client.register_task_definition(tags={tags}, **{{k: td[k] for k in keep if k in td}})['taskDefinition']['revision'])"
        ),
    );
    out.trim().parse().unwrap()
}

/// The revision numbers of plog-api with `status`.
fn revisions_with(project: &Project, status: &str) -> Vec<i64> {
    let out = project.emulator.boto3(
        "ecs",
        &format!(
            "arns = client.list_task_definitions(familyPrefix='plog-api', status='{status}', sort='ASC')['taskDefinitionArns']\n\
             print(json.dumps([int(a.rsplit(':', 1)[1]) for a in arns]))"
        ),
    );
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn keep_revisions_deregisters_hoists_old_revisions_and_never_what_is_in_use() {
    // plog-api:6 refuses to go (an IAM policy denying it): a note.
    let project = Project::with_emulator_env(&[("ECS_EMULATOR_DENY_DEREGISTER", "plog-api:6")]);
    let toml = std::fs::read_to_string(project.path("hoist.toml")).unwrap();
    std::fs::write(
        project.path("hoist.toml"),
        toml.replace("[env.dev]\n", "[env.dev]\nkeep-revisions = 2\n"),
    )
    .unwrap();
    // History: 1 (seeded, what plog-api runs), 2 hoist's, 3 someone
    // else's, 4 and 5 hoist's.
    let registered: Vec<i64> = [true, false, true, true]
        .iter()
        .map(|by_hoist| register_copy(&project, *by_hoist))
        .collect();
    assert_eq!(registered, [2, 3, 4, 5]);

    // A dry run says what would go and deregisters nothing: a real run
    // adds a revision, so the newest 1 of today's stays (5); 4 and 2 would
    // go; 3 is not hoist's; 1 is in use.
    let (shown, output) = project
        .hoist(&["ship", "dev", "--dry-run", "--json"])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    assert!(
        stderr.contains("would deregister 2 old revisions of plog-api (keep-revisions = 2); kept 1 in use or the rollback target; kept 1 that hoist did not register (--all-revisions deregisters them too)"),
        "{stderr}"
    );
    assert_eq!(revisions_with(&project, "INACTIVE"), Vec::<i64>::new());

    // The ship registers 6 and keeps 6 and 5; 4 and 2 go; 3 stays (not
    // hoist's); 1 stays (the rollback target: what the service ran).
    let (shown, output) = project
        .hoist(&["ship", "dev", "--poll-interval", "20ms", "--json"])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        stderr.contains("deregistered 2 old revisions of plog-api (keep-revisions = 2); kept 1 in use or the rollback target; kept 1 that hoist did not register"),
        "{stderr}"
    );
    assert_eq!(revisions_with(&project, "INACTIVE"), [2, 4]);
    assert_eq!(revisions_with(&project, "ACTIVE"), [1, 3, 5, 6]);
    assert_eq!(
        report["revisions"][0]["deregistered"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{report}"
    );

    // Again, with --all-revisions: 7 is registered; 7 and 6 (the rollback
    // target) stay; 5, 3 (someone else's) and 1 (plog-cluster no longer
    // runs it) go.
    let (shown, output) = project
        .hoist(&["ship", "dev", "--poll-interval", "20ms", "--all-revisions"])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    assert!(
        stderr.contains("deregistered 3 old revisions of plog-api (keep-revisions = 2)"),
        "{stderr}"
    );
    assert_eq!(revisions_with(&project, "ACTIVE"), [6, 7]);

    // keep-revisions = 1 now: 6 must go but is refused: a note, and the
    // ship stands.
    let toml = std::fs::read_to_string(project.path("hoist.toml")).unwrap();
    std::fs::write(
        project.path("hoist.toml"),
        toml.replace("keep-revisions = 2", "keep-revisions = 1"),
    )
    .unwrap();
    let (shown, output) = project
        .hoist(&["ship", "dev", "--poll-interval", "20ms"])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("old revision"))
        .unwrap_or_else(|| panic!("{stderr}"));
    // 8 is kept, 7 is the rollback target, 6 is refused.
    assert!(
        line.contains("deregistered 0 old revisions of plog-api (keep-revisions = 1); kept 1 in use or the rollback target; note: 1 refused (plog-api:6: ")
            && line.contains("AccessDenied"),
        "{line}"
    );
    assert_eq!(revisions_with(&project, "ACTIVE"), [6, 7, 8]);
}

/// The AWS actions (`service:Action`) hoist called, from the lines moto
/// recorded past line `from` (requests of hoist's SDK only: the tests' own
/// boto3 calls are left out).
fn recorded_actions(file: &Path, from: usize) -> (BTreeSet<String>, usize) {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut actions = BTreeSet::new();
    for line in &lines[from.min(lines.len())..] {
        let entry: Value = serde_json::from_str(line).unwrap();
        let header = |name: &str| {
            entry["headers"]
                .as_object()
                .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .and_then(|(_, v)| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        if !header("User-Agent").contains("aws-sdk-rust") {
            continue;
        }
        // SigV4's credential scope names the service: …/REGION/SERVICE/aws4_request.
        let authorization = header("Authorization");
        let Some(service) = authorization
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split('/').nth(3))
        else {
            continue;
        };
        let target = header("X-Amz-Target");
        let action = if let Some((_, action)) = target.rsplit_once('.') {
            action.to_string()
        } else {
            let body = entry["body"].as_str().unwrap_or("");
            let body = if entry["body_encoded"] == true {
                use base64::Engine;
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .unwrap(),
                )
                .unwrap_or_default()
            } else {
                body.to_string()
            };
            match body
                .split('&')
                .find_map(|pair| pair.strip_prefix("Action="))
            {
                Some(action) => action.to_string(),
                None => continue,
            }
        };
        actions.insert(format!("{service}:{action}"));
    }
    (actions, lines.len())
}

/// The ECR actions the registry requests in the stand-in's log stand for
/// (the ECR User Guide's image push and pull permissions).
fn registry_actions(log: &[Value]) -> BTreeSet<String> {
    log.iter()
        .filter(|e| e["listener"] == "registry")
        .filter_map(|e| {
            let (method, path) = (e["method"].as_str()?, e["path"].as_str()?);
            let action = if path.contains("/blobs/uploads") {
                match method {
                    "POST" => "InitiateLayerUpload",
                    "PATCH" => "UploadLayerPart",
                    "PUT" => "CompleteLayerUpload",
                    _ => return None,
                }
            } else if path.contains("/blobs/") {
                match method {
                    "HEAD" => "BatchCheckLayerAvailability",
                    _ => "GetDownloadUrlForLayer",
                }
            } else if path.contains("/manifests/") {
                match method {
                    "PUT" => "PutImage",
                    _ => "BatchGetImage",
                }
            } else if path.contains("/tags/list") {
                "ListImages"
            } else if path.contains("/referrers/") {
                "BatchGetImage"
            } else {
                return None;
            };
            Some(format!("ecr:{action}"))
        })
        .collect()
}

#[test]
fn hoist_policy_allows_every_call_ship_verify_status_logs_and_promote_make() {
    let record = tempfile::tempdir().unwrap();
    let file = record.path().join("moto.jsonl");
    let project = Project::with_emulator_env(&[
        ("MOTO_ENABLE_RECORDING", "1"),
        ("MOTO_RECORDER_FILEPATH", file.to_str().unwrap()),
    ]);
    let (project, ecr) = to_ecr(project);
    project.emulator.boto3(
        "ecr",
        "client.create_repository(repositoryName='plog-back')",
    );
    let policy = |env: &str| -> Value {
        serde_json::from_str(&project.hoist(&["policy", env]).success()).unwrap()
    };
    let mut seen = 0;
    let mut called = |args: &[&str]| {
        let (shown, output) = project.hoist(args).output();
        assert!(
            output.status.success(),
            "{shown}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let (actions, now) = recorded_actions(&file, seen);
        seen = now;
        actions
    };
    let mut dev = called(&["ship", "dev", "--poll-interval", "20ms"]);
    dev.extend(called(&["verify", "dev"]));
    dev.extend(called(&["status", "dev"]));
    dev.extend(called(&["logs", "dev"]));
    let prod = called(&["promote", "dev", "prod", "--yes", "--poll-interval", "20ms"]);
    // The recording sees hoist's calls: the ECS, ECR, Logs, IAM and
    // Secrets Manager APIs.
    for expected in [
        "ecs:UpdateService",
        "ecs:RegisterTaskDefinition",
        "ecr:GetAuthorizationToken",
        "logs:GetLogEvents",
        "iam:GetRole",
        "secretsmanager:GetSecretValue",
    ] {
        assert!(dev.contains(expected), "{expected} not recorded: {dev:?}");
    }
    let registry = registry_actions(&ecr.log());
    assert!(registry.contains("ecr:PutImage"), "{registry:?}");
    for (env, actions) in [("dev", &dev), ("prod", &prod)] {
        let policy = policy(env);
        let missing: Vec<&String> = actions
            .iter()
            .chain(&registry)
            .filter(|a| !hoist::policy::allows(&policy, a))
            .collect();
        assert!(
            missing.is_empty(),
            "hoist policy {env} lacks {missing:?}\n{policy:#}"
        );
    }
    // Scoped: the service and the repository by ARN, not "*".
    let dev_policy = policy("dev");
    let text = dev_policy.to_string();
    assert!(
        text.contains("arn:aws:ecs:ap-northeast-2:123456789012:service/plog-cluster/plog-api"),
        "{dev_policy:#}"
    );
    assert!(
        text.contains("arn:aws:ecr:ap-northeast-2:123456789012:repository/plog-back"),
        "{dev_policy:#}"
    );
}

#[test]
fn a_bad_value_in_hoist_toml_fails_before_the_build_with_its_key() {
    // The project's build (a Gradle wrapper that leaves a mark) must not run
    // when any value of the environment's plan is bad.
    let project = Project::new();
    let gradlew = project.path("gradlew");
    std::fs::write(
        &gradlew,
        "#!/bin/sh\ntouch \"$(dirname \"$0\")/the-build-ran\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &gradlew,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let toml = std::fs::read_to_string(project.path("hoist.toml")).unwrap();
    let with_build = toml.replace("[image]\n", "[image]\nbuild = \"gradle bootJar\"\n");
    for (bad, key) in [
        ("mode = \"zip\"", "[image] mode"),
        ("compression = \"brotli\"", "[image] compression"),
        ("platforms = [\"linux\"]", "linux"),
        ("from = \"::nonsense::\"", "[image] from"),
        ("startup = \"warp\"", "startup"),
        ("attestations = [\"sbom\", \"vibes\"]", "attestations"),
    ] {
        let key_name = bad.split(' ').next().unwrap();
        // Replace the key where the file sets it, else add it to [image].
        let text = if with_build.contains(&format!("\n{key_name} = ")) {
            with_build
                .lines()
                .map(|l| {
                    if l.starts_with(&format!("{key_name} = ")) {
                        bad.to_string()
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            with_build.replace("[image]\n", &format!("[image]\n{bad}\n"))
        };
        std::fs::write(project.path("hoist.toml"), text).unwrap();
        let (shown, output) = project.hoist(&["ship", "dev", "--no-verify"]).output();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad}: {shown}: {stderr}");
        assert!(
            stderr.contains(key),
            "{bad}: the error names {key}: {stderr}"
        );
        assert!(
            !project.path("the-build-ran").exists(),
            "{bad}: the build ran before the value was checked"
        );
        assert_eq!(stderr.matches("hoist: error:").count(), 1, "{stderr}");
    }
    // A wait-timeout that is not a duration, in the environment.
    let text = with_build.replace("[env.dev]\n", "[env.dev]\nwait-timeout = \"soon\"\n");
    std::fs::write(project.path("hoist.toml"), text).unwrap();
    let (_, output) = project.hoist(&["ship", "dev", "--no-verify"]).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("wait-timeout"), "{stderr}");
    assert!(!project.path("the-build-ran").exists());
    // And with good values the build runs (the wrapper is found and run).
    std::fs::write(project.path("hoist.toml"), &with_build).unwrap();
    let (_, output) = project
        .hoist(&["ship", "dev", "--no-verify", "--dry-run"])
        .output();
    assert!(
        project.path("the-build-ran").exists(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
