//! `hoist ship ENV` and `hoist promote FROM TO`: the whole pipeline for one
//! environment of `hoist.toml` — Gradle, jar, image, push, deploy, wait —
//! and moving the exact digest one environment runs to another. The only
//! module that knows every step; each step is another module's job.

use crate::aws::AwsOptions;
use crate::build::{build, BuildOptions, BuildReport, ExtraFile};
use crate::config::{expand_tag, git_sha, EnvSection, HoistConfig};
use crate::dest::Location;
use crate::ecs::client::EcsClient;
use crate::ecs::deploy::{
    deploy, DeployOptions, DeployReport, RolloutProgress, ServiceTarget, WaitOptions,
};
use crate::ecs::render::TaskDefinitionPatch;
use crate::error::{usage, usage_hint};
use crate::image::compression::Compression;
use crate::image::platform::Platform;
use crate::jar::PlanOptions;
use crate::registry::push::PushProgress;
use crate::registry::retry::RetryPolicy;
use crate::registry::transport::ClientOptions;
use crate::registry::ImageReference;
use anyhow::{Context, Result};
use serde::Serialize;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `hoist ship` needs besides hoist.toml.
#[derive(Clone, Debug)]
pub struct ShipOptions {
    /// The environment.
    pub env: String,
    /// Confirmed for protected environments.
    pub yes: bool,
    /// Wait settings (timeout overridden by the environment's `wait-timeout`).
    pub wait: WaitOptions,
    /// Skip the Gradle task even if one is configured.
    pub skip_gradle: bool,
    /// Layer cache directory.
    pub cache_dir: Option<PathBuf>,
}

/// What a ship did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipReport {
    /// Environment.
    pub env: String,
    /// The image pushed, by digest.
    pub image: String,
    /// The build and push.
    pub build: BuildReport,
    /// The deploy.
    pub deploy: DeployReport,
    /// Seconds for everything.
    pub seconds: f64,
}

/// Refuses a protected environment unless confirmed: `--yes`, or the
/// environment's name typed at a terminal.
pub(crate) fn confirm(env_name: &str, env: &EnvSection, yes: bool) -> Result<()> {
    if !env.protect || yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(usage_hint(
            format!(
                "environment {env_name:?} is protected ({}/{})",
                env.cluster, env.service
            ),
            "pass --yes to deploy to it",
        ));
    }
    eprint!(
        "environment {env_name} is protected ({}/{}); type its name to continue: ",
        env.cluster, env.service
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != env_name {
        return Err(usage(format!(
            "not confirmed: nothing deployed to {env_name:?}"
        )));
    }
    Ok(())
}

fn aws_options(env: &EnvSection) -> AwsOptions {
    AwsOptions {
        region: env.region.clone(),
        profile: env.profile.clone(),
    }
}

fn wait_options(env: &EnvSection, base: WaitOptions) -> Result<WaitOptions> {
    let timeout = match &env.wait_timeout {
        Some(text) => humantime::parse_duration(text)
            .map_err(|_| usage(format!("wait-timeout {text:?}: not a duration (e.g. 10m)")))?,
        None => base.timeout,
    };
    Ok(WaitOptions { timeout, ..base })
}

fn client_options(config: &HoistConfig, env: &EnvSection) -> ClientOptions {
    ClientOptions {
        aws: aws_options(env),
        insecure_registries: config.registry.insecure.clone(),
        ca_file: config
            .registry
            .ca_file
            .as_ref()
            .map(|f| config.base_dir().join(f)),
        retry: RetryPolicy::default(),
        ..ClientOptions::default()
    }
}

/// Runs `./gradlew TASK` in `dir`.
fn run_gradle(dir: &Path, task: &str) -> Result<()> {
    let wrapper = dir.join("gradlew");
    if !wrapper.is_file() {
        return Err(usage_hint(
            format!("gradle-task {task:?}: no ./gradlew in {}", dir.display()),
            "add the Gradle wrapper, or remove gradle-task and build the jar first",
        ));
    }
    eprintln!("==> ./gradlew {task}");
    let status = std::process::Command::new(&wrapper)
        .arg(task)
        .current_dir(dir)
        .status()
        .with_context(|| format!("running {}", wrapper.display()))?;
    if !status.success() {
        anyhow::bail!("./gradlew {task} failed ({status})");
    }
    Ok(())
}

/// The one jar the glob matches, ignoring Gradle's `*-plain.jar`.
pub(crate) fn find_jar(dir: &Path, pattern: &str) -> Result<PathBuf> {
    let full = dir.join(pattern);
    let text = full.to_string_lossy();
    let mut jars: Vec<PathBuf> = glob::glob(&text)
        .map_err(|e| usage(format!("jar glob {pattern:?}: {e}")))?
        .filter_map(Result::ok)
        .filter(|p| p.is_file() && !p.to_string_lossy().ends_with("-plain.jar"))
        .collect();
    jars.sort();
    match jars.len() {
        1 => {
            let jar = jars.remove(0);
            Ok(std::fs::canonicalize(&jar).unwrap_or(jar))
        }
        0 => Err(usage_hint(
            format!("no jar matches {text:?}"),
            "build it first (./gradlew bootJar), or set gradle-task in hoist.toml",
        )),
        _ => Err(usage_hint(
            format!(
                "{} jars match {text:?}: {}",
                jars.len(),
                jars.iter()
                    .map(|j| j.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "make the `jar` glob in hoist.toml match one",
        )),
    }
}

/// The extra files, fetching secrets into `scratch` (mode 0600 in the image).
async fn extra_files(
    config: &HoistConfig,
    aws: &AwsOptions,
    scratch: &Path,
) -> Result<Vec<ExtraFile>> {
    let mut files = Vec::new();
    for (i, entry) in config.image.files.iter().enumerate() {
        match (&entry.from, &entry.secret) {
            (Some(from), _) => files.push(ExtraFile {
                source: config.base_dir().join(from),
                dest: entry.to.clone(),
                mode: None,
                owner: None,
                secret: false,
            }),
            (None, Some(secret)) => {
                let value = crate::secrets::secret_value(secret, aws).await?;
                let path = scratch.join(format!("secret-{i}"));
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    let mut file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&path)?;
                    file.write_all(&value)?;
                }
                eprintln!(
                    "warning: secret {secret:?} is baked into the image at {}: whoever can pull the image can read it. \
                     Prefer [env.*].secrets, which ECS injects at run time.",
                    entry.to
                );
                // Readable by the user the app runs as (numeric `user`), else root.
                files.push(ExtraFile {
                    source: path,
                    dest: entry.to.clone(),
                    mode: Some(0o600),
                    owner: numeric_owner(config.image.user.as_deref()),
                    secret: true,
                });
            }
            (None, None) => unreachable!("checked when hoist.toml was parsed"),
        }
    }
    Ok(files)
}

/// `uid[:gid]` → (uid, gid); names cannot be resolved without the image's /etc/passwd.
fn numeric_owner(user: Option<&str>) -> Option<(u64, u64)> {
    let user = user?;
    let (uid, gid) = user.split_once(':').unwrap_or((user, user));
    Some((uid.parse().ok()?, gid.parse().ok()?))
}

/// How an environment of hoist.toml deploys `image`.
fn deploy_options_for(env: &EnvSection, image: &str, wait: WaitOptions) -> Result<DeployOptions> {
    Ok(DeployOptions {
        target: ServiceTarget {
            cluster: env.cluster.clone(),
            service: env.service.clone(),
        },
        patch: TaskDefinitionPatch {
            container: env.container.clone(),
            image: image.to_string(),
            environment: env.environment.clone().into_iter().collect(),
            secrets: env.secrets.clone().into_iter().collect(),
        },
        task_family: None,
        force_new_deployment: false,
        dry_run: false,
        wait: wait_options(env, wait)?,
        rollback_on_failure: env.rollback_on_failure,
    })
}

/// `hoist ship ENV`.
pub async fn ship(
    config: &HoistConfig,
    options: &ShipOptions,
    push_progress: &dyn PushProgress,
    rollout_progress: &dyn RolloutProgress,
) -> Result<ShipReport> {
    let started = Instant::now();
    let env = config.environment(&options.env)?;
    confirm(&options.env, env, options.yes)?;
    let dir = config.base_dir();
    if let (Some(task), false) = (&config.image.gradle_task, options.skip_gradle) {
        run_gradle(&dir, task)?;
    }
    let jar = find_jar(&dir, &config.image.jar)?;
    eprintln!("==> jar {}", jar.display());
    let sha = || git_sha(&dir);
    let templates = if env.tags.is_empty() {
        vec!["{env}".to_string()]
    } else {
        env.tags.clone()
    };
    let tags = templates
        .iter()
        .map(|t| expand_tag(t, &options.env, sha))
        .collect::<Result<Vec<String>>>()?;
    for tag in &tags {
        crate::registry::reference::check_tag(tag)
            .map_err(|why| usage(format!("[env.{}] tag {tag:?} {why}", options.env)))?;
    }
    let repository = ImageReference::parse(&config.image.to).context("[image] to")?;
    if repository.tag.is_some() || repository.digest.is_some() {
        return Err(usage_hint(
            format!(
                "[image] to {:?}: give the repository without a tag",
                config.image.to
            ),
            "tags come from [env.NAME] tags",
        ));
    }
    let target = repository.with_tag(&tags[0]);
    // Holds secret files: removed when done, and on interrupt.
    let scratch = crate::util::temp::scratch_dir()?;
    let files = extra_files(config, &aws_options(env), scratch.path()).await?;
    let platforms = if config.image.platforms.is_empty() {
        vec![Platform::default_linux_amd64()]
    } else {
        config
            .image
            .platforms
            .iter()
            .map(|p| Platform::parse(p).map_err(usage))
            .collect::<Result<_>>()?
    };
    let (created, mtime) = crate::build::reproducible_times(None)?;
    let build_options = BuildOptions {
        jar: Some(jar),
        plan: PlanOptions {
            mode: config
                .image
                .mode
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(usage)?,
            jvm_flags: config.image.jvm_flags.clone(),
            ..PlanOptions::default()
        },
        from: Location::parse(&config.image.from).context("[image] from")?,
        to: Location::Registry(target.clone()),
        platforms,
        files,
        layer_dirs: Vec::new(),
        env: Vec::new(),
        ports: config
            .image
            .ports
            .iter()
            .map(|p| format!("{p}/tcp"))
            .collect(),
        user: config.image.user.clone(),
        labels: config.image.labels.clone().into_iter().collect(),
        created,
        mtime,
        compression: Compression::Auto,
        format: None,
        cache_dir: options.cache_dir.clone(),
        tags: tags[1..].to_vec(),
        client: client_options(config, env),
        create_repository: config.registry.create_repository,
    };
    let built = build(&build_options, push_progress).await?;
    let pinned = target.pinned(&built.digest);
    eprintln!("==> pushed {pinned}");
    let deploy_options = deploy_options_for(env, &pinned, options.wait)?;
    let mut deployed = DeployReport::default();
    let result = async {
        let client = EcsClient::new(&aws_options(env)).await?;
        deploy(&client, &deploy_options, rollout_progress, &mut deployed).await
    }
    .await;
    let report = ShipReport {
        env: options.env.clone(),
        image: pinned,
        build: built,
        deploy: deployed,
        seconds: started.elapsed().as_secs_f64(),
    };
    result.map(|_| report)
}

/// `hoist promote FROM TO`: deploys the image FROM's service runs now to TO,
/// with TO's environment and secrets; nothing is rebuilt.
pub async fn promote(
    config: &HoistConfig,
    from: &str,
    to: &str,
    yes: bool,
    wait: WaitOptions,
    progress: &dyn RolloutProgress,
) -> Result<(String, DeployReport)> {
    let source = config.environment(from)?;
    let target = config.environment(to)?;
    confirm(to, target, yes)?;
    let image = async {
        let client = EcsClient::new(&aws_options(source)).await?;
        let snapshot = client.snapshot(&source.cluster, &source.service).await?;
        let described = client
            .describe_task_definition_raw(&snapshot.task_definition)
            .await?;
        let containers = described["taskDefinition"]["containerDefinitions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let image = containers
            .iter()
            .find(|c| c["name"] == source.container.as_str())
            .and_then(|c| c["image"].as_str())
            .map(str::to_string)
            .ok_or_else(|| {
                usage(format!(
                    "environment {from:?}: no container {:?} in {}",
                    source.container, snapshot.task_definition
                ))
            })?;
        anyhow::Ok(image)
    }
    .await?;
    if !image.contains("@sha256:") {
        return Err(usage_hint(
            format!("environment {from:?} runs {image}, which is not pinned by digest"),
            "deploy it with hoist first, so that what is promoted is exactly what was built",
        ));
    }
    eprintln!("==> promoting {image} from {from} to {to}");
    let options = deploy_options_for(target, &image, wait)?;
    let mut report = DeployReport::default();
    let result = async {
        let client = EcsClient::new(&aws_options(target)).await?;
        deploy(&client, &options, progress, &mut report).await
    }
    .await;
    result.map(|_| (image, report))
}
