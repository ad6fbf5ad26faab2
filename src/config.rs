//! `hoist.toml`: the image and the environments it is deployed to.
//!
//! Parsing is strict: an unknown key is an error naming the key and its line,
//! so a typo never silently falls back to a default. Precedence, applied by
//! the commands: flags > `HOIST_*` environment > this file > defaults.

use crate::build_tool::{BuildCommand, BuildTool};
use crate::error::{usage, usage_hint};
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoistConfig {
    /// How the image is built and where it goes.
    pub image: ImageSection,
    /// Registry access.
    #[serde(default)]
    pub registry: RegistrySection,
    /// Environments by name.
    #[serde(default)]
    pub env: BTreeMap<String, EnvSection>,
    /// Where the file was read from (set after parsing).
    #[serde(skip)]
    pub path: PathBuf,
}

/// `[image]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageSection {
    /// Base image.
    pub from: String,
    /// Target repository (`REGISTRY/REPO`, no tag: tags come from the environment).
    pub to: String,
    /// Glob for the jar, relative to the file (see [`jar_glob`](Self::jar_glob)
    /// for the default). Gradle's `*-plain.jar`, Maven's `*.jar.original`
    /// and `*-sources.jar` / `*-javadoc.jar` are ignored.
    pub jar: Option<String>,
    /// The build to run first, `TOOL ARGS…`: `gradle bootJar`,
    /// `maven package -DskipTests` (checked when the file is read; see
    /// [`build_command`](Self::build_command)).
    pub build: Option<String>,
    /// The older spelling of `build = "gradle TASK"`.
    pub gradle_task: Option<String>,
    /// Platforms (several make an index).
    #[serde(default)]
    pub platforms: Vec<String>,
    /// JVM flags.
    #[serde(default)]
    pub jvm_flags: Vec<String>,
    /// Ports to expose.
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// User to run as.
    pub user: Option<String>,
    /// `exploded` or `packaged`.
    pub mode: Option<String>,
    /// Layer compression: `auto` (default), `stored`, `gzip[:N]`, `zstd[:N]`.
    pub compression: Option<String>,
    /// Extra files, one layer.
    #[serde(default)]
    pub files: Vec<FileEntry>,
    /// A start-up archive: `none` (default), `cds`, `aot-cache` or `auto`.
    pub startup: Option<String>,
    /// The attestations attached to pushed images: `sbom`, `provenance`
    /// (both by default; `[]` for none).
    pub attestations: Option<Vec<String>>,
    /// `[image.training]`: the training run's own settings.
    #[serde(default)]
    pub training: TrainingSection,
    /// `build` or `gradle-task`, read (set when the file is parsed).
    #[serde(skip)]
    build_command: Option<BuildCommand>,
}

impl ImageSection {
    /// The build to run before the jar is packed: `build`, or
    /// `gradle-task` as `gradle TASK`; none when neither is set.
    pub fn build_command(&self) -> Option<&BuildCommand> {
        self.build_command.as_ref()
    }

    /// The build tool `build` (or `gradle-task`) names.
    pub fn build_tool(&self) -> Option<BuildTool> {
        self.build_command.as_ref().map(|c| c.tool)
    }

    /// The `jar` glob: as set, else where the build tool puts jars —
    /// `target/*.jar` when `build` names Maven, else `build/libs/*.jar`.
    pub fn jar_glob(&self) -> &str {
        match &self.jar {
            Some(glob) => glob,
            None => self
                .build_tool()
                .unwrap_or(BuildTool::Gradle)
                .default_jar_glob(),
        }
    }

    /// Reads `build` and `gradle-task` (at most one of them).
    fn read_build_command(&mut self) -> std::result::Result<(), String> {
        self.build_command = match (&self.build, &self.gradle_task) {
            (Some(build), Some(task)) => {
                return Err(format!(
                    "[image]: both build ({build:?}) and gradle-task ({task:?}) are set; keep one (hint: gradle-task = \"{task}\" is the older spelling of build = \"gradle {task}\")"
                ))
            }
            (Some(build), None) => Some(BuildCommand::parse(build)?),
            (None, Some(task)) => Some(BuildCommand::gradle_task(task)?),
            (None, None) => None,
        };
        Ok(())
    }
}

/// `[image.training]`: what the training run of a start-up archive gets
/// besides the image's own settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainingSection {
    /// Environment for the training run only (e.g. a profile with no database).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// How long one JVM run of the training may take (default `5m`).
    pub timeout: Option<String>,
}

impl ImageSection {
    /// `startup`, read.
    pub fn startup(&self) -> Result<crate::startup::Startup> {
        match &self.startup {
            None => Ok(crate::startup::Startup::None),
            Some(text) => text
                .parse()
                .map_err(|why| usage(format!("[image] startup: {why}"))),
        }
    }

    /// `attestations`, read.
    pub fn attestations(&self) -> Result<crate::attest::Attestations> {
        match &self.attestations {
            None => Ok(crate::attest::Attestations::default()),
            Some(list) => crate::attest::Attestations::parse(
                "[image] attestations",
                list.iter().map(String::as_str),
            ),
        }
    }

    /// `[image.training]`, read.
    pub fn training_settings(&self) -> Result<crate::startup::TrainingSettings> {
        let mut settings = crate::startup::TrainingSettings {
            env: self
                .training
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            ..Default::default()
        };
        if let Some(text) = &self.training.timeout {
            settings.timeout = humantime::parse_duration(text).map_err(|_| {
                usage_hint(
                    format!("[image.training] timeout {text:?}: not a duration"),
                    "write it like 90s or 5m",
                )
            })?;
        }
        Ok(settings)
    }
}

/// `[[image.files]]`: a local file or a Secrets Manager secret, at `to`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// A local file, relative to hoist.toml.
    pub from: Option<String>,
    /// A Secrets Manager secret id, fetched at build time.
    pub secret: Option<String>,
    /// Absolute path in the image.
    pub to: String,
}

/// `[registry]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistrySection {
    /// Hosts reached over plain HTTP.
    #[serde(default)]
    pub insecure: Vec<String>,
    /// Extra CA certificates.
    pub ca_file: Option<String>,
    /// Create a missing ECR repository.
    #[serde(default)]
    pub create_repository: bool,
    /// Fixed addresses for registry hosts, `HOST=IP:PORT` (like `--resolve`).
    #[serde(default)]
    pub resolve: Vec<String>,
    /// A moving tag in a repository with immutable tags: `skip` (default) or `fail`.
    #[serde(default)]
    pub immutable_tags: crate::registry::ImmutableTags,
}

/// `[env.NAME]`: one cluster, and either one service and container
/// (`service`, `container`) or several targets (`[[env.NAME.targets]]`),
/// plus one-off tasks (`[[env.NAME.tasks]]`). Each environment names its own
/// services, so dev cannot reach prod.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvSection {
    /// ECS cluster.
    pub cluster: String,
    /// ECS service (the single-service form).
    pub service: Option<String>,
    /// Container whose image is replaced (the single-service form).
    pub container: Option<String>,
    /// Several services (and containers) released together.
    #[serde(default)]
    pub targets: Vec<TargetSection>,
    /// One-off tasks run on the new image (migrations).
    #[serde(default)]
    pub tasks: Vec<TaskSection>,
    /// Repository for this environment, instead of `[image] to` (another
    /// registry or account: `promote` copies the image there).
    pub to: Option<String>,
    /// Tags to push, with `{git_sha}` and `{env}` placeholders.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Environment variables for the container.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Secrets ECS injects at run time (`NAME` → ARN).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// Needs `--yes` (or a typed confirmation on a terminal).
    #[serde(default)]
    pub protect: bool,
    /// AWS region for this environment.
    pub region: Option<String>,
    /// AWS profile for this environment.
    pub profile: Option<String>,
    /// Wait timeout (e.g. `10m`).
    pub wait_timeout: Option<String>,
    /// Put the previous revision back when the rollout fails.
    #[serde(default)]
    pub rollback_on_failure: bool,
    /// CodeDeploy application, for CODE_DEPLOY services (default
    /// `AppECS-<cluster>-<service>`).
    pub codedeploy_application: Option<String>,
    /// CodeDeploy deployment group, for CODE_DEPLOY services (default
    /// `DgpECS-<cluster>-<service>`).
    pub codedeploy_group: Option<String>,
    /// After a stable deploy, deregister the family's ACTIVE revisions
    /// beyond the newest N (never one in use, nor the rollback target;
    /// only hoist's own unless `--all-revisions`).
    pub keep_revisions: Option<u32>,
}

impl HoistConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|_| {
            usage_hint(
                format!("{}: no such file", path.display()),
                "run `hoist init` to write one, or pass --config",
            )
        })?;
        let mut config =
            Self::parse(&text).map_err(|e| usage(format!("{}: {e}", path.display())))?;
        config.path = path.to_path_buf();
        Ok(config)
    }

    /// Parses hoist.toml text; errors name the key and the line.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut config: Self = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            let message = e.message().replace('\n', " ");
            match line {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            }
        })?;
        for (name, env) in &config.env {
            env.check(name)?;
        }
        config.image.read_build_command()?;
        if let Some(text) = &config.image.compression {
            text.parse::<crate::image::Compression>()
                .map_err(|why| format!("[image] compression: {why}"))?;
        }
        for file in &config.image.files {
            match (&file.from, &file.secret) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => {
                    return Err(format!(
                        "[[image.files]] to {:?}: give exactly one of `from` or `secret`",
                        file.to
                    ))
                }
            }
            if !file.to.starts_with('/') {
                return Err(format!(
                    "[[image.files]] to {:?}: must be an absolute path",
                    file.to
                ));
            }
        }
        Ok(config)
    }

    /// The environment `name`, or an error listing the known ones.
    pub fn environment(&self, name: &str) -> Result<&EnvSection> {
        self.env.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.env.keys().map(String::as_str).collect();
            usage_hint(
                format!("{}: no environment {name:?}", self.path.display()),
                format!(
                    "known environments: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            )
        })
    }

    /// The directory paths in the file are relative to.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// `[[env.NAME.targets]]`: one service of a release.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TargetSection {
    /// ECS service.
    pub service: String,
    /// The container whose image is replaced.
    pub container: Option<String>,
    /// Several containers of one task definition that run this image.
    #[serde(default)]
    pub containers: Vec<String>,
    /// Environment variables, over the environment's own.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Secrets, over the environment's own.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

/// `[[env.NAME.tasks]]`: a one-off task (a database migration) run with
/// RunTask on the new image before the services are updated.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TaskSection {
    /// Its name in messages (e.g. `db-migrate`).
    pub name: String,
    /// The task definition family to run (its latest revision, new image).
    pub task_definition: String,
    /// The container that runs the image (and whose exit code counts).
    pub container: String,
    /// Command override (e.g. `["java", "-cp", "/app", "Migrate"]`).
    pub command: Option<Vec<String>>,
    /// Run before the services are updated (the only mode today).
    #[serde(default = "yes")]
    pub run_before: bool,
    /// Environment variables, over the environment's own.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Subnets (default: the first service's network configuration).
    #[serde(default)]
    pub subnets: Vec<String>,
    /// Security groups (with `subnets`).
    #[serde(default)]
    pub security_groups: Vec<String>,
}

fn yes() -> bool {
    true
}

/// One service of an environment, with what it gets merged in.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// ECS service.
    pub service: String,
    /// Containers whose image is replaced (at least one).
    pub containers: Vec<String>,
    /// The environment's variables with the target's over them.
    pub environment: BTreeMap<String, String>,
    /// The environment's secrets with the target's over them.
    pub secrets: BTreeMap<String, String>,
}

impl EnvSection {
    /// The services this environment deploys: the single-service form as one
    /// target, or its `[[targets]]`, each with environment and secrets
    /// merged over the environment's.
    pub fn targets(&self) -> Vec<Target> {
        if let (Some(service), Some(container)) = (&self.service, &self.container) {
            return vec![Target {
                service: service.clone(),
                containers: vec![container.clone()],
                environment: self.environment.clone(),
                secrets: self.secrets.clone(),
            }];
        }
        self.targets
            .iter()
            .map(|t| {
                let mut environment = self.environment.clone();
                environment.extend(t.environment.clone());
                let mut secrets = self.secrets.clone();
                secrets.extend(t.secrets.clone());
                Target {
                    service: t.service.clone(),
                    containers: t.container.iter().chain(&t.containers).cloned().collect(),
                    environment,
                    secrets,
                }
            })
            .collect()
    }

    /// `cluster/service[, service…]`, for messages.
    pub fn describe(&self) -> String {
        let services: Vec<String> = self.targets().into_iter().map(|t| t.service).collect();
        format!("{}/{}", self.cluster, services.join(", "))
    }

    fn check(&self, name: &str) -> std::result::Result<(), String> {
        if self.cluster.is_empty() {
            return Err(format!("[env.{name}]: cluster must not be empty"));
        }
        match (&self.service, &self.container, self.targets.is_empty()) {
            (Some(s), Some(c), true) if !s.is_empty() && !c.is_empty() => {}
            (None, None, false) => {}
            (_, _, false) => {
                return Err(format!(
                    "[env.{name}]: give service and container, or [[env.{name}.targets]], not both"
                ))
            }
            _ => {
                return Err(format!(
                    "[env.{name}]: give service and container (or [[env.{name}.targets]])"
                ))
            }
        }
        for target in &self.targets {
            if target.container.is_none() && target.containers.is_empty() {
                return Err(format!(
                    "[[env.{name}.targets]] service {:?}: give container (or containers)",
                    target.service
                ));
            }
        }
        for task in &self.tasks {
            if !task.run_before {
                return Err(format!(
                    "[[env.{name}.tasks]] {:?}: run-before = false is not supported; tasks run before the services are updated",
                    task.name
                ));
            }
        }
        Ok(())
    }
}

/// Expands `{git_sha}` and `{env}` in a tag.
pub(crate) fn expand_tag(
    template: &str,
    env: &str,
    git_sha: impl Fn() -> Result<String>,
) -> Result<String> {
    let mut tag = template.replace("{env}", env);
    if tag.contains("{git_sha}") {
        tag = tag.replace("{git_sha}", &git_sha()?);
    }
    if let Some(start) = tag.find('{') {
        return Err(usage(format!(
            "tag {template:?}: unknown placeholder at {:?}",
            &tag[start..]
        )));
    }
    Ok(tag)
}

/// The short commit of the git checkout at `dir`.
/// The commit checked out in `dir`, its ref and its `origin` remote, for
/// the provenance; `None` outside a git checkout or without a remote.
pub(crate) fn git_source(dir: &Path) -> Option<crate::provenance::GitSource> {
    let git = |args: &[&str]| -> Option<String> {
        let output = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    Some(crate::provenance::GitSource {
        commit: git(&["rev-parse", "HEAD"])?,
        remote: git(&["remote", "get-url", "origin"])?,
        reference: git(&["symbolic-ref", "-q", "HEAD"]),
    })
}

pub(crate) fn git_sha(dir: &Path) -> Result<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(dir)
        .output()
        .context("running git (for the {git_sha} tag placeholder)")?;
    if !output.status.success() {
        return Err(usage_hint(
            format!("{}: not a git checkout with a commit", dir.display()),
            "the {git_sha} tag placeholder needs one; commit first or use another tag",
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[image]
from = "eclipse-temurin:17-jre"
to = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/plog-back"
jvm-flags = ["-XX:MaxRAMPercentage=75"]
ports = [8080]

[[image.files]]
secret = "plog/application-dev"
to = "/app/config/application.yaml"

[env.dev]
cluster = "plog-cluster"
service = "plog-api"
container = "plog-back"
tags = ["dev-{git_sha}"]
environment = { SPRING_PROFILES_ACTIVE = "dev" }

[env.prod]
cluster = "plog-prod"
service = "plog-api"
container = "plog-back"
protect = true
"#;

    #[test]
    fn parses_the_sample() {
        let config = HoistConfig::parse(SAMPLE).unwrap();
        assert_eq!(config.image.jar_glob(), "build/libs/*.jar");
        assert!(config.image.build_command().is_none());
        assert_eq!(
            config.env["dev"].environment["SPRING_PROFILES_ACTIVE"],
            "dev"
        );
        assert!(config.env["prod"].protect);
        assert_eq!(
            config.image.files[0].secret.as_deref(),
            Some("plog/application-dev")
        );
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let text = SAMPLE.replace("ports = [8080]", "ports = [8080]\njar-glob = \"x\"");
        let err = HoistConfig::parse(&text).unwrap_err();
        assert!(err.contains("jar-glob") && err.contains("line 7"), "{err}");
        let text = SAMPLE.replace("protect = true", "protect = true\nclustr = \"x\"");
        let err = HoistConfig::parse(&text).unwrap_err();
        assert!(err.contains("clustr"), "{err}");
    }

    #[test]
    fn compression_is_checked_when_the_file_is_read() {
        let text = SAMPLE.replace("ports = [8080]", "ports = [8080]\ncompression = \"zstd:9\"");
        let config = HoistConfig::parse(&text).unwrap();
        assert_eq!(config.image.compression.as_deref(), Some("zstd:9"));
        let text = SAMPLE.replace("ports = [8080]", "ports = [8080]\ncompression = \"brotli\"");
        let err = HoistConfig::parse(&text).unwrap_err();
        assert!(
            err.contains("[image] compression") && err.contains("zstd:1..19"),
            "{err}"
        );
    }

    #[test]
    fn build_names_gradle_or_maven_and_sets_the_default_jar_glob() {
        let with =
            |line: &str| SAMPLE.replace("ports = [8080]", &format!("ports = [8080]\n{line}"));
        let config = HoistConfig::parse(&with("build = \"maven package -DskipTests\"")).unwrap();
        let build = config.image.build_command().unwrap();
        assert_eq!(build.tool, BuildTool::Maven);
        assert_eq!(build.arguments(), ["-B", "package", "-DskipTests"]);
        assert_eq!(config.image.jar_glob(), "target/*.jar");

        let config = HoistConfig::parse(&with("build = \"gradle bootJar\"")).unwrap();
        assert_eq!(config.image.build_tool(), Some(BuildTool::Gradle));
        assert_eq!(config.image.jar_glob(), "build/libs/*.jar");

        // A jar glob that is set wins over the tool's.
        let config = HoistConfig::parse(&with(
            "build = \"maven package\"\njar = \"app/target/app.jar\"",
        ))
        .unwrap();
        assert_eq!(config.image.jar_glob(), "app/target/app.jar");
    }

    #[test]
    fn gradle_task_is_the_older_spelling_of_a_gradle_build() {
        let with =
            |line: &str| SAMPLE.replace("ports = [8080]", &format!("ports = [8080]\n{line}"));
        let old = HoistConfig::parse(&with("gradle-task = \"bootJar\"")).unwrap();
        let new = HoistConfig::parse(&with("build = \"gradle bootJar\"")).unwrap();
        assert_eq!(old.image.build_command(), new.image.build_command());
        assert_eq!(old.image.jar_glob(), "build/libs/*.jar");
        assert_eq!(old.image.gradle_task.as_deref(), Some("bootJar"));
    }

    #[test]
    fn bad_build_settings_are_errors_when_the_file_is_read() {
        let with =
            |line: &str| SAMPLE.replace("ports = [8080]", &format!("ports = [8080]\n{line}"));
        let err = HoistConfig::parse(&with("build = \"ant jar\"")).unwrap_err();
        assert!(
            err.contains("[image] build \"ant jar\"")
                && err.contains("gradle")
                && err.contains("maven"),
            "{err}"
        );
        let err = HoistConfig::parse(&with(
            "build = \"maven package\"\ngradle-task = \"bootJar\"",
        ))
        .unwrap_err();
        assert!(
            err.contains("build") && err.contains("gradle-task") && err.contains("keep one"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
        let err = HoistConfig::parse(&with("build = \"\"")).unwrap_err();
        assert!(err.contains("[image] build is empty"), "{err}");
        let err = HoistConfig::parse(&with("build = [\"maven\", \"package\"]")).unwrap_err();
        assert!(err.contains("line 7"), "{err}");
    }

    #[test]
    fn a_file_needs_exactly_one_source() {
        let text = SAMPLE.replace(
            "secret = \"plog/application-dev\"",
            "secret = \"a\"\nfrom = \"b\"",
        );
        assert!(HoistConfig::parse(&text)
            .unwrap_err()
            .contains("exactly one"));
    }

    #[test]
    fn targets_merge_their_environment_over_the_environments() {
        let text = r#"
[image]
from = "scratch"
to = "r/app"

[env.dev]
cluster = "c"
environment = { SPRING_PROFILES_ACTIVE = "dev", LOG = "json" }
secrets = { DB = "arn:db" }

[[env.dev.targets]]
service = "api"
container = "app"

[[env.dev.targets]]
service = "worker"
containers = ["app", "sidecar-app"]
environment = { SPRING_PROFILES_ACTIVE = "dev,worker" }
secrets = { QUEUE = "arn:q" }

[[env.dev.tasks]]
name = "db-migrate"
task-definition = "migrate"
container = "app"
"#;
        let config = HoistConfig::parse(text).unwrap();
        let targets = config.env["dev"].targets();
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0].environment["SPRING_PROFILES_ACTIVE"], "dev");
        assert_eq!(
            targets[1].environment["SPRING_PROFILES_ACTIVE"],
            "dev,worker"
        );
        assert_eq!(targets[1].environment["LOG"], "json");
        assert_eq!(targets[1].secrets.len(), 2);
        assert_eq!(targets[1].containers, ["app", "sidecar-app"]);
        assert!(config.env["dev"].tasks[0].run_before);
        assert_eq!(config.env["dev"].describe(), "c/api, worker");
        // The single-service form is one target.
        let single = HoistConfig::parse(SAMPLE).unwrap();
        assert_eq!(single.env["dev"].targets()[0].containers, ["plog-back"]);
    }

    #[test]
    fn an_environment_names_its_services_one_way() {
        let both = SAMPLE.replace(
            "environment = { SPRING_PROFILES_ACTIVE = \"dev\" }",
            "environment = { SPRING_PROFILES_ACTIVE = \"dev\" }\n\n[[env.dev.targets]]\nservice = \"w\"\ncontainer = \"c\"",
        );
        assert!(HoistConfig::parse(&both).unwrap_err().contains("not both"));
        let none = SAMPLE.replace(
            "service = \"plog-api\"\ncontainer = \"plog-back\"\ntags",
            "tags",
        );
        assert!(HoistConfig::parse(&none)
            .unwrap_err()
            .contains("give service and container"));
    }

    #[test]
    fn tags_expand_placeholders() {
        let sha = || Ok("abc123".to_string());
        assert_eq!(
            expand_tag("dev-{git_sha}", "dev", sha).unwrap(),
            "dev-abc123"
        );
        assert_eq!(
            expand_tag("{env}-latest", "prod", sha).unwrap(),
            "prod-latest"
        );
        assert!(expand_tag("{branch}", "dev", sha).is_err());
    }
}
