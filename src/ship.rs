//! `hoist ship ENV` and `hoist promote FROM TO`: the whole pipeline for one
//! environment of `hoist.toml` — verify, the Gradle or Maven build, jar,
//! image, push, deploy, wait — and moving the exact digest one environment
//! runs to another. The only module that knows every step; each step is
//! another module's job.

use crate::aws::AwsOptions;
use crate::build::{build, BuildOptions, BuildReport, ExtraFile};
use crate::build_tool::BuildTool;
use crate::config::{EnvSection, HoistConfig, Target};
use crate::dest::Location;
use crate::ecs::client::EcsClient;
use crate::ecs::rollout::deploy::{DeployOptions, DeployReport};
use crate::ecs::rollout::follow::{RolloutProgress, WaitOptions};
use crate::ecs::rollout::release::{release, OneOffTask, Release, ReleaseReport};
use crate::ecs::service::ServiceTarget;
use crate::ecs::taskdef::render::TaskDefinitionPatch;
use crate::ecs::verify::{PlatformsFrom, VerifyReport, VerifyRequest, VerifyTarget};
use crate::env_plan::{aws_options, configured_platforms, env_repository, wait_options, EnvPlan};
use crate::error::{usage, usage_hint};
use crate::jar::PlanOptions;
use crate::registry::push::PushProgress;
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
    /// Skip the build (`[image] build` or `gradle-task`) even if one is
    /// configured.
    pub skip_build: bool,
    /// Layer cache directory.
    pub cache_dir: Option<PathBuf>,
    /// Build (not push) and show every service's task-definition diff
    /// against the digest it would deploy; change nothing.
    pub dry_run: bool,
    /// Roll back on failure, besides the environment's `rollback-on-failure`.
    pub rollback_on_failure: bool,
    /// With `keep-revisions`: deregister old revisions hoist did not
    /// register too.
    pub all_revisions: bool,
    /// Skip the checks of the environment's ECS setup (`hoist verify`)
    /// made before anything is registered.
    pub no_verify: bool,
}

/// What releasing to an environment did (ship's and promote's reports).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Released {
    /// The first service's deploy (the only one in the single-service form).
    pub deploy: DeployReport,
    /// Every service's deploy, in the order configured.
    pub services: Vec<DeployReport>,
    /// The one-off tasks run before the services.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<crate::ecs::TaskReport>,
    /// Warnings about what runs now (an ECR lifecycle policy that may expire it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// After a stable release: the settings that make deploys slow
    /// (verify's `slow` lines, with what this deploy measured).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slow: Vec<String>,
    /// Old revisions cleaned up (`keep-revisions`), per family.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<crate::ecs::RevisionCleanup>,
}

impl Released {
    fn of(report: ReleaseReport, warnings: Vec<String>, after: AfterRelease) -> Self {
        Self {
            deploy: report.services.first().cloned().unwrap_or_default(),
            services: report.services,
            tasks: report.tasks,
            warnings,
            slow: after.slow,
            revisions: after.revisions,
        }
    }
}

/// What follows a stable release: the slow notes and the clean-up.
#[derive(Default)]
struct AfterRelease {
    slow: Vec<String>,
    revisions: Vec<crate::ecs::RevisionCleanup>,
}

/// `keep-revisions` after a stable release (or what it would do, on a dry
/// run): each service family's old revisions, one line each; a clean-up
/// that cannot run is a note.
async fn clean_up_revisions(
    env: &EnvSection,
    services: &[DeployReport],
    all_revisions: bool,
    dry_run: bool,
    progress: &dyn RolloutProgress,
) -> Vec<crate::ecs::RevisionCleanup> {
    let Some(keep) = env.keep_revisions else {
        return Vec::new();
    };
    let client = match EcsClient::new(&aws_options(env)).await {
        Ok(client) => client,
        Err(error) => {
            progress.step(&format!(
                "note: old revisions not cleaned up ({})",
                crate::error::one_line(&error)
            ));
            return Vec::new();
        }
    };
    let mut done: Vec<crate::ecs::RevisionCleanup> = Vec::new();
    for service in services {
        // A dry run registered nothing: the service's revision stands in.
        let current = if dry_run || service.task_definition_arn.is_empty() {
            &service.previous_task_definition_arn
        } else {
            &service.task_definition_arn
        };
        let family = crate::ecs::short_arn(current)
            .rsplit_once(':')
            .map(|(f, _)| f.to_string())
            .unwrap_or_default();
        if family.is_empty() || done.iter().any(|d| d.family == family) {
            continue;
        }
        let request = crate::ecs::rollout::revisions::CleanupRequest {
            cluster: &env.cluster,
            current,
            previous: &service.previous_task_definition_arn,
            keep,
            all_revisions,
            dry_run,
        };
        match crate::ecs::rollout::revisions::clean_up(&client, &request).await {
            Ok(cleanup) => {
                progress.step(&cleanup.line());
                done.push(cleanup);
            }
            Err(error) => progress.step(&format!(
                "note: old revisions of {family} not cleaned up ({})",
                crate::error::one_line(&error)
            )),
        }
    }
    done
}

/// After a stable release to `name`: verify's `slow` lines, read again so
/// that they weigh what this deploy measured, each said as a note. Best
/// effort: nothing when the checks cannot run.
async fn slow_notes(
    config: &HoistConfig,
    name: &str,
    env: &EnvSection,
    progress: &dyn RolloutProgress,
) -> Vec<String> {
    let Ok((platforms, from)) = configured_platforms(config) else {
        return Vec::new();
    };
    let Ok(report) = verify_env(name, env, platforms, from, None).await else {
        return Vec::new();
    };
    let lines = report.slow_lines();
    for line in &lines {
        progress.step(&format!("note: slow {line}"));
    }
    lines
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
    /// The release to the environment's services.
    #[serde(flatten)]
    pub released: Released,
    /// The checks of the environment's ECS setup, made before anything was
    /// registered (none with `--no-verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyReport>,
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
            format!("environment {env_name:?} is protected ({})", env.describe()),
            "pass --yes to deploy to it",
        ));
    }
    eprint!(
        "environment {env_name} is protected ({}); type its name to continue: ",
        env.describe()
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

/// After a deploy: the lifecycle warning for the image now running, if its
/// ECR repository's policy may expire it (printed, and returned for the
/// report). A check that cannot be made is a warning too, never a failure.
async fn lifecycle_warnings(client: ClientOptions, image: &str) -> Vec<String> {
    let Ok(reference) = ImageReference::parse(image) else {
        return Vec::new();
    };
    if !crate::registry::ecr::is_ecr_host(&reference.registry) {
        return Vec::new();
    }
    let checked = async {
        let dir = tempfile::tempdir().context("creating a scratch directory")?;
        let access =
            crate::dest::remote::RegistryAccess::new(client, dir.path().to_path_buf(), false)?;
        access.lifecycle_warning(&reference).await
    }
    .await;
    let warning = match checked {
        Ok(warning) => warning,
        Err(error) => Some(format!(
            "warning: {image}: the lifecycle policy could not be checked ({})",
            crate::error::one_line(&error)
        )),
    };
    warning
        .map(|w| {
            eprintln!("{w}");
            vec![w]
        })
        .unwrap_or_default()
}

/// The one jar the glob matches, ignoring what builds write beside it
/// (see [`is_side_artifact`]). `tool` picks the hint when none matches
/// (when not given, the glob's look decides: `target/…` is Maven's).
pub(crate) fn find_jar(dir: &Path, pattern: &str, tool: Option<BuildTool>) -> Result<PathBuf> {
    let full = dir.join(pattern);
    let text = full.to_string_lossy();
    let mut jars: Vec<PathBuf> = glob::glob(&text)
        .map_err(|e| usage(format!("jar glob {pattern:?}: {e}")))?
        .filter_map(Result::ok)
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|name| is_side_artifact(&name.to_string_lossy()))
        })
        .collect();
    jars.sort();
    match jars.len() {
        1 => {
            let jar = jars.remove(0);
            Ok(std::fs::canonicalize(&jar).unwrap_or(jar))
        }
        0 => Err(usage_hint(
            format!("no jar matches {text:?}"),
            format!(
                "build it first ({}), or set build in hoist.toml",
                tool.unwrap_or_else(|| BuildTool::guess_from_glob(pattern))
                    .example()
            ),
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

/// A file a build writes beside the application jar, never the one to
/// ship: Gradle's `*-plain.jar` (the jar without dependencies), Maven's
/// `*.jar.original` (the jar before Spring Boot repackaged it), and
/// `*-sources.jar` / `*-javadoc.jar`.
fn is_side_artifact(file_name: &str) -> bool {
    [
        "-plain.jar",
        ".jar.original",
        "-sources.jar",
        "-javadoc.jar",
    ]
    .iter()
    .any(|suffix| file_name.ends_with(suffix))
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

/// How one target of an environment deploys `image`.
fn deploy_options_for(
    env: &EnvSection,
    target: &Target,
    image: &str,
    wait: WaitOptions,
    dry_run: bool,
) -> Result<DeployOptions> {
    let (container, more) = target
        .containers
        .split_first()
        .expect("a target names at least one container (checked when parsed)");
    Ok(DeployOptions {
        target: ServiceTarget {
            cluster: env.cluster.clone(),
            service: target.service.clone(),
        },
        patch: TaskDefinitionPatch {
            container: container.clone(),
            more_containers: more.to_vec(),
            image: image.to_string(),
            environment: target.environment.clone().into_iter().collect(),
            secrets: target.secrets.clone().into_iter().collect(),
        },
        task_family: None,
        task_definition_file: None,
        force_new_deployment: false,
        dry_run,
        wait: wait_options(env, wait)?,
        rollback_on_failure: env.rollback_on_failure,
        codedeploy: crate::ecs::CodeDeployNames {
            application: env.codedeploy_application.clone(),
            deployment_group: env.codedeploy_group.clone(),
        },
    })
}

/// The release of `image` to every target of an environment, with its
/// one-off tasks.
fn release_for(env: &EnvSection, image: &str, wait: WaitOptions, dry_run: bool) -> Result<Release> {
    let services = env
        .targets()
        .iter()
        .map(|t| deploy_options_for(env, t, image, wait, dry_run))
        .collect::<Result<Vec<_>>>()?;
    let tasks = if dry_run {
        Vec::new()
    } else {
        env.tasks
            .iter()
            .map(|t| OneOffTask {
                name: t.name.clone(),
                family: t.task_definition.clone(),
                patch: TaskDefinitionPatch {
                    container: t.container.clone(),
                    more_containers: Vec::new(),
                    image: image.to_string(),
                    environment: env
                        .environment
                        .iter()
                        .chain(&t.environment)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    secrets: env.secrets.clone().into_iter().collect(),
                },
                command: t.command.clone(),
                awsvpc: (!t.subnets.is_empty()).then(|| crate::ecs::Awsvpc {
                    subnets: t.subnets.clone(),
                    security_groups: t.security_groups.clone(),
                    assign_public_ip: None,
                }),
            })
            .collect()
    };
    Ok(Release {
        services,
        tasks,
        rollback_on_failure: env.rollback_on_failure,
    })
}

/// The checks of `hoist verify` for environment `name`, with the image's
/// `platforms` and the `image` (or repository) its containers get.
async fn verify_env(
    name: &str,
    env: &EnvSection,
    platforms: Vec<String>,
    platforms_from: PlatformsFrom,
    image: Option<String>,
) -> Result<VerifyReport> {
    let client = EcsClient::new(&aws_options(env)).await?;
    let request = VerifyRequest {
        label: name.to_string(),
        cluster: env.cluster.clone(),
        targets: env
            .targets()
            .into_iter()
            .map(|t| VerifyTarget {
                service: t.service,
                containers: t.containers,
                secrets: t.secrets.into_iter().collect(),
            })
            .collect(),
        platforms,
        platforms_from,
        image,
    };
    // One-off tasks are checked on their family's latest revision, with
    // the secrets a release patches into them.
    let tasks: Vec<crate::ecs::verify::VerifyTask> = env
        .tasks
        .iter()
        .map(|t| crate::ecs::verify::VerifyTask {
            name: t.name.clone(),
            family: t.task_definition.clone(),
            container: t.container.clone(),
            secrets: env.secrets.clone().into_iter().collect(),
        })
        .collect();
    Ok(crate::ecs::verify::verify_with_tasks(&client, &request, &tasks).await)
}

/// The checks of `hoist verify` before a ship or promote to `name`: every
/// line that is not ok is said, and a problem is an error (exit 2) — so
/// nothing is built, pushed, copied or registered. What could not be
/// checked never stops anything.
async fn preflight(
    config: &HoistConfig,
    name: &str,
    env: &EnvSection,
    (platforms, from): (Vec<String>, PlatformsFrom),
    progress: &dyn RolloutProgress,
) -> Result<VerifyReport> {
    let repository = env_repository(config, name, env)?;
    let report = verify_env(name, env, platforms, from, Some(repository.to_string())).await?;
    // Slow settings are said after a stable deploy, with what it measured.
    for line in report.lines() {
        if !line.starts_with("ok ") && !line.starts_with("slow ") {
            progress.step(&line);
        }
    }
    if report.problems > 0 {
        return Err(usage_hint(
            format!("{}: {}", report.summary(), report.problem_text()),
            "fix it, or pass --no-verify",
        ));
    }
    progress.step(&report.summary());
    Ok(report)
}

/// `hoist verify ENV`: the environment's ECS setup checked against
/// `[image] platforms` and the environment's repository, before a deploy.
pub async fn verify(config: &HoistConfig, name: &str) -> Result<VerifyReport> {
    let env = config.environment(name)?;
    let (platforms, from) = configured_platforms(config)?;
    let image = env_repository(config, name, env)
        .ok()
        .map(|r| r.to_string());
    verify_env(name, env, platforms, from, image).await
}

/// `hoist ship ENV`.
/// The report is in `report_out` once the image is built, whatever the
/// deploy's result (so a failed release still reports every service).
/// First the environment's ECS setup is checked as `hoist verify` does
/// (unless `no_verify`): a problem stops the ship before anything is
/// built, pushed or registered (a usage error, exit 2).
pub async fn ship(
    config: &HoistConfig,
    options: &ShipOptions,
    push_progress: &dyn PushProgress,
    rollout_progress: &dyn RolloutProgress,
    report_out: &mut Option<ShipReport>,
) -> Result<()> {
    let started = Instant::now();
    // Everything hoist.toml says of the environment, checked before
    // anything runs: a bad value stops here, with its key.
    let plan = EnvPlan::resolve(config, &options.env)?;
    let env = plan.env;
    confirm(&options.env, env, options.yes)?;
    let dir = plan.dir.clone();
    // The build's program is found before anything runs: a missing tool
    // stops the ship before ECS or the registry are asked anything.
    let located_build = match (config.image.build_command(), options.skip_build) {
        (Some(build), false) => Some(build.locate(&dir, std::env::var_os("PATH").as_deref())?),
        _ => None,
    };
    // Before anything is built, pushed or registered.
    let verified = if options.no_verify {
        None
    } else {
        Some(
            preflight(
                config,
                &options.env,
                env,
                plan.platform_names(),
                rollout_progress,
            )
            .await?,
        )
    };
    if let Some(build) = &located_build {
        rollout_progress.step(&build.to_string());
        build.run()?;
    }
    let jar = find_jar(&dir, config.image.jar_glob(), config.image.build_tool())?;
    rollout_progress.step(&format!("jar {}", jar.display()));
    let tags = plan.tags.clone();
    let target = plan.repository.with_tag(&tags[0]);
    // Holds secret files: removed when done, and on interrupt.
    let scratch = crate::util::temp::scratch_dir()?;
    let files = extra_files(config, &plan.aws, scratch.path()).await?;
    let (created, mtime) = crate::build::reproducible_times(None)?;
    let build_options = BuildOptions {
        jar: Some(jar),
        plan: PlanOptions {
            mode: plan.mode,
            jvm_flags: config.image.jvm_flags.clone(),
            ..PlanOptions::default()
        },
        from: plan.from.clone(),
        to: if options.dry_run {
            Location::OciLayout {
                dir: scratch.path().join("image"),
                tag: None,
            }
        } else {
            Location::Registry(target.clone())
        },
        platforms: plan.platforms.0.clone(),
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
        compression: plan.compression,
        format: None,
        cache_dir: options.cache_dir.clone(),
        tags: tags[1..].to_vec(),
        client: plan.client.clone(),
        create_repository: config.registry.create_repository,
        startup: plan.startup.0,
        training: plan.startup.1.clone(),
        attestations: plan.attestations,
        provenance: crate::build::ProvenanceContext {
            environment: Some(options.env.clone()),
            config_digest: std::fs::read(&config.path)
                .ok()
                .map(|b| crate::image::Digest::of(&b)),
            git: crate::config::git_source(&dir),
        },
    };
    let built = build(&build_options, push_progress).await?;
    let pinned = target.pinned(&built.digest);
    if options.dry_run {
        rollout_progress.step(&format!("built {pinned} (not pushed: dry run)"));
    } else {
        rollout_progress.step(&format!("pushed {pinned}"));
    }
    let mut release_plan = release_for(env, &pinned, options.wait, options.dry_run)?;
    release_plan.rollback_on_failure |= options.rollback_on_failure;
    let mut released = ReleaseReport::default();
    let result = async {
        let client = EcsClient::new(&plan.aws).await?;
        release(&client, &release_plan, rollout_progress, &mut released).await
    }
    .await;
    let warnings = match (&result, options.dry_run) {
        (Ok(_), false) => lifecycle_warnings(plan.client.clone(), &pinned).await,
        _ => Vec::new(),
    };
    let mut after = AfterRelease::default();
    if let (Ok(_), false, false) = (&result, options.dry_run, options.no_verify) {
        after.slow = slow_notes(config, &options.env, env, rollout_progress).await;
    }
    if result.is_ok() {
        after.revisions = clean_up_revisions(
            env,
            &released.services,
            options.all_revisions,
            options.dry_run,
            rollout_progress,
        )
        .await;
    }
    let report = ShipReport {
        env: options.env.clone(),
        image: pinned,
        build: built,
        released: Released::of(released, warnings, after),
        verify: verified,
        seconds: started.elapsed().as_secs_f64(),
    };
    *report_out = Some(report);
    result
}

/// What `hoist promote` needs besides hoist.toml.
#[derive(Clone, Debug)]
pub struct PromoteOptions {
    /// The environment whose running image is promoted.
    pub from: String,
    /// The environment it goes to.
    pub to: String,
    /// Confirmed for protected environments.
    pub yes: bool,
    /// Wait settings.
    pub wait: WaitOptions,
    /// Roll back on failure, besides TO's `rollback-on-failure`.
    pub rollback_on_failure: bool,
    /// With `keep-revisions`: deregister old revisions hoist did not
    /// register too.
    pub all_revisions: bool,
    /// Skip the checks of TO's ECS setup (`hoist verify`) made before
    /// anything is copied or registered.
    pub no_verify: bool,
}

/// What a promote did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromoteReport {
    /// The environment promoted from.
    pub from: String,
    /// The environment promoted to.
    pub to: String,
    /// The image FROM runs (pinned by digest).
    pub source: String,
    /// The image deployed to TO: TO's repository, pinned by the same digest.
    pub image: String,
    /// The digest.
    pub digest: crate::image::Digest,
    /// TO's tags that name the digest now.
    pub tags: Vec<String>,
    /// TO's immutable tags left naming another image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_tags: Vec<String>,
    /// The copy into TO's repository, when it is another one than FROM's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<crate::dest::remote::PushSummary>,
    /// The referrers (SBOM, provenance, signatures) carried into TO's
    /// repository with the copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrers: Option<crate::dest::carry_referrers::ReferrersCopied>,
    /// The checks of TO's ECS setup, made before anything was copied or
    /// registered (none with `--no-verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyReport>,
    /// The release to the environment's services.
    #[serde(flatten)]
    pub released: Released,
    /// Seconds for everything.
    pub seconds: f64,
}

/// The image FROM's service runs now, pinned by digest; refused while the
/// service is mid-rollout (more than one deployment, or its PRIMARY still
/// IN_PROGRESS), since what runs then is not settled.
async fn running_image(name: &str, env: &EnvSection) -> Result<ImageReference> {
    let client = EcsClient::new(&aws_options(env)).await?;
    let first = env
        .targets()
        .into_iter()
        .next()
        .expect("an environment has a service (checked when parsed)");
    let (service, container) = (&first.service, &first.containers[0]);
    let snapshot = client.snapshot(&env.cluster, service).await?;
    let primary_state = snapshot
        .primary()
        .and_then(|p| p.rollout_state.clone())
        .unwrap_or_default();
    if snapshot.deployments.len() > 1 || primary_state == "IN_PROGRESS" {
        anyhow::bail!(
            "environment {name:?} ({}/{}) is mid-rollout ({} deployments, PRIMARY {}); refusing to promote what may not stay (hint: wait until it is stable — hoist status shows it — then promote)",
            env.cluster,
            service,
            snapshot.deployments.len(),
            if primary_state.is_empty() { "?" } else { &primary_state }
        );
    }
    let described = client
        .describe_task_definition_raw(&snapshot.task_definition)
        .await?;
    let containers = described["taskDefinition"]["containerDefinitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let image = containers
        .iter()
        .find(|c| c["name"] == container.as_str())
        .and_then(|c| c["image"].as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            usage(format!(
                "environment {name:?}: no container {container:?} in {}",
                snapshot.task_definition
            ))
        })?;
    let pinned = ImageReference::parse(&image)
        .ok()
        .filter(|r| r.digest.is_some());
    pinned.ok_or_else(|| {
        usage_hint(
            format!("environment {name:?} runs {image}, which is not pinned by digest"),
            "deploy it with hoist first, so that what is promoted is exactly what was built",
        )
    })
}

/// `hoist promote FROM TO` (the report in `report_out` once deploying
/// started): the exact digest FROM's service runs goes to
/// TO — tagged with TO's tags (so a lifecycle policy that expires FROM's
/// tags cannot take it away), copied first when TO's repository is in
/// another registry, account or repository (blobs mounted where the
/// registry allows) — and is deployed with TO's environment and secrets.
/// Nothing is rebuilt.
pub async fn promote(
    config: &HoistConfig,
    options: &PromoteOptions,
    push_progress: &dyn PushProgress,
    progress: &dyn RolloutProgress,
    report_out: &mut Option<PromoteReport>,
) -> Result<()> {
    let PromoteOptions {
        from,
        to,
        yes,
        wait,
        rollback_on_failure,
        no_verify,
        all_revisions,
    } = options;
    let (from, to, yes, wait, rollback_on_failure) = (
        from.as_str(),
        to.as_str(),
        *yes,
        *wait,
        *rollback_on_failure,
    );
    let started = Instant::now();
    let source_env = config.environment(from)?;
    // TO as one checked plan before anything is read, copied or registered.
    let target = EnvPlan::resolve(config, to)?;
    let target_env = target.env;
    confirm(to, target_env, yes)?;
    let target_repo = target.repository.clone();
    let tags = target.tags.clone();
    let source = running_image(from, source_env).await?;
    let verified = if *no_verify {
        None
    } else {
        Some(preflight(config, to, target_env, target.platform_names(), progress).await?)
    };
    let digest = source.digest.clone().expect("running_image pins by digest");
    progress.step(&format!("promoting {source} from {from} to {to}"));
    let mut client = target.client.clone();
    let check_client = client.clone();
    if source.registry != target_repo.registry {
        client
            .host_aws
            .push((source.registry.clone(), aws_options(source_env)));
    }
    let referrer_client = client.clone();
    let blob_dir = tempfile::tempdir().context("creating a scratch directory")?;
    let access = crate::dest::remote::RegistryAccess::new(
        client,
        blob_dir.path().to_path_buf(),
        config.registry.create_repository,
    )?;
    let same_repository =
        source.registry == target_repo.registry && source.repository == target_repo.repository;
    // In the same repository the referrers are there already.
    let (tagged, copied, referrers) = if same_repository {
        let tagged = access.retag(&source, &tags).await?;
        (tagged, None, None)
    } else {
        progress.step(&format!("copying {digest} to {target_repo}"));
        let report = crate::dest::copy::copy(
            &access,
            &Location::Registry(source.clone()),
            &Location::Registry(target_repo.with_tag(&tags[0])),
            &crate::dest::copy::CopyOptions {
                tags: tags[1..].to_vec(),
                referrers: Some(referrer_client),
                ..Default::default()
            },
            push_progress,
        )
        .await?;
        let push = report
            .push
            .expect("a registry destination reports its push");
        let tagged = crate::registry::tags::TagResult {
            written: push.tags.clone(),
            skipped: push.skipped_tags.clone(),
        };
        (tagged, Some(push), report.referrers)
    };
    let image = target_repo.pinned(&digest);
    let mut plan = release_for(target_env, &image, wait, false)?;
    plan.rollback_on_failure |= rollback_on_failure;
    let mut released = ReleaseReport::default();
    let result = async {
        let client = EcsClient::new(&aws_options(target_env)).await?;
        release(&client, &plan, progress, &mut released).await
    }
    .await;
    let warnings = match &result {
        Ok(_) => lifecycle_warnings(check_client, &image).await,
        Err(_) => Vec::new(),
    };
    let mut after = AfterRelease::default();
    if let (Ok(_), false) = (&result, *no_verify) {
        after.slow = slow_notes(config, to, target_env, progress).await;
    }
    if result.is_ok() {
        after.revisions = clean_up_revisions(
            target_env,
            &released.services,
            *all_revisions,
            false,
            progress,
        )
        .await;
    }
    let report = PromoteReport {
        from: from.to_string(),
        to: to.to_string(),
        source: source.to_string(),
        image,
        digest,
        tags: tagged.written,
        skipped_tags: tagged.skipped,
        copy: copied,
        referrers,
        verify: verified,
        released: Released::of(released, warnings, after),
        seconds: started.elapsed().as_secs_f64(),
    };
    *report_out = Some(report);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_artifacts_are_never_the_jar() {
        for name in [
            "app-0.1-plain.jar",
            "app-0.1.jar.original",
            "app-0.1-sources.jar",
            "app-0.1-javadoc.jar",
        ] {
            assert!(is_side_artifact(name), "{name}");
        }
        for name in [
            "app-0.1.jar",
            "plain.jar",
            "original.jar",
            "app-sources.jar.bak",
        ] {
            assert!(!is_side_artifact(name), "{name}");
        }
    }

    fn touch(dir: &Path, names: &[&str]) {
        for name in names {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"PK").unwrap();
        }
    }

    #[test]
    fn find_jar_skips_what_builds_write_beside_the_jar() {
        let dir = tempfile::tempdir().unwrap();
        touch(
            dir.path(),
            &[
                "target/app-0.1.jar",
                "target/app-0.1.jar.original",
                "target/app-0.1-sources.jar",
                "target/app-0.1-javadoc.jar",
                "build/libs/app-0.1.jar",
                "build/libs/app-0.1-plain.jar",
            ],
        );
        for glob in ["target/*", "target/*.jar"] {
            let jar = find_jar(dir.path(), glob, None).unwrap();
            assert!(jar.ends_with("target/app-0.1.jar"), "{glob}: {jar:?}");
        }
        let jar = find_jar(dir.path(), "build/libs/*", None).unwrap();
        assert!(jar.ends_with("build/libs/app-0.1.jar"), "{jar:?}");
        let err = find_jar(dir.path(), "**/*.jar", None).unwrap_err();
        assert!(err.to_string().contains("2 jars match"), "{err}");
    }

    #[test]
    fn no_jar_hints_at_the_tool_that_builds_it() {
        let dir = tempfile::tempdir().unwrap();
        let hint = |glob: &str, tool: Option<BuildTool>| {
            let err = find_jar(dir.path(), glob, tool).unwrap_err();
            assert_eq!(crate::error::exit_code(&err), crate::error::EXIT_USAGE);
            err.to_string()
        };
        let maven = hint("target/*.jar", None);
        assert!(
            maven.contains("build it first (./mvnw package), or set build in hoist.toml"),
            "{maven}"
        );
        let gradle = hint("build/libs/*.jar", None);
        assert!(gradle.contains("(./gradlew bootJar)"), "{gradle}");
        // The configured tool wins over the glob's look.
        let maven = hint("out/*.jar", Some(BuildTool::Maven));
        assert!(maven.contains("(./mvnw package)"), "{maven}");
    }
}
