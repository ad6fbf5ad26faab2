//! One environment of hoist.toml resolved before anything runs: the file,
//! the environment's section, the flags (already folded into the config by
//! the command line) and `HOIST_*` variables become one typed plan —
//! repository, tags, platforms, base, layout mode, compression, start-up
//! archive, attestations, registry and AWS settings, wait — checked as a
//! whole. `ship` and `promote` run from it, so a bad value fails before the
//! build, with its key's name, and nothing reads the file again mid-way.

use crate::attest::Attestations;
use crate::aws::AwsOptions;
use crate::config::{expand_tag, git_sha, EnvSection, HoistConfig};
use crate::dest::Location;
use crate::ecs::rollout::follow::WaitOptions;
use crate::ecs::verify::PlatformsFrom;
use crate::error::{usage, usage_hint};
use crate::image::compression::Compression;
use crate::image::platform::Platform;
use crate::jar::plan::Mode;
use crate::registry::retry::RetryPolicy;
use crate::registry::transport::ClientOptions;
use crate::registry::ImageReference;
use crate::startup::{Startup, TrainingSettings};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// One environment, resolved.
pub(crate) struct EnvPlan<'a> {
    /// Its section of hoist.toml.
    pub(crate) env: &'a EnvSection,
    /// The directory of hoist.toml (relative paths start there).
    pub(crate) dir: PathBuf,
    /// The repository its images go to.
    pub(crate) repository: ImageReference,
    /// Its tags, expanded (`{env}`, `{git_sha}`).
    pub(crate) tags: Vec<String>,
    /// The image's platforms, and where they came from.
    pub(crate) platforms: (Vec<Platform>, PlatformsFrom),
    /// The base image.
    pub(crate) from: Location,
    /// How the jar is laid out (`None`: the jar's kind decides).
    pub(crate) mode: Option<Mode>,
    /// Layer compression.
    pub(crate) compression: Compression,
    /// The start-up archive, and its training run.
    pub(crate) startup: (Startup, TrainingSettings),
    /// The attestations attached to the pushed image.
    pub(crate) attestations: Attestations,
    /// How to reach registries.
    pub(crate) client: ClientOptions,
    /// How to reach AWS.
    pub(crate) aws: AwsOptions,
}

impl<'a> EnvPlan<'a> {
    /// Resolves environment `name` of `config`; the first bad value is an
    /// error naming its key.
    pub(crate) fn resolve(config: &'a HoistConfig, name: &str) -> Result<Self> {
        let env = config.environment(name)?;
        let dir = config.base_dir();
        // The wait timeout is read where the release is made; checked here.
        wait_options(
            env,
            WaitOptions {
                enabled: true,
                timeout: std::time::Duration::from_secs(600),
                interval: std::time::Duration::from_secs(5),
                log_lines: 0,
            },
        )?;
        Ok(Self {
            env,
            repository: env_repository(config, name, env)?,
            tags: env_tags(&dir, name, env)?,
            platforms: image_platforms(config)?,
            from: Location::parse(&config.image.from).context("[image] from")?,
            mode: config
                .image
                .mode
                .as_deref()
                .map(|text| {
                    text.parse::<Mode>()
                        .map_err(|why| usage(format!("[image] mode: {why}")))
                })
                .transpose()?,
            compression: match &config.image.compression {
                Some(text) => text
                    .parse::<Compression>()
                    .map_err(|why| usage(format!("[image] compression: {why}")))?,
                None => Compression::Auto,
            },
            startup: (config.image.startup()?, config.image.training_settings()?),
            attestations: config.image.attestations()?,
            client: client_options(config, env)?,
            aws: aws_options(env),
            dir,
        })
    }

    /// The platforms as verify names them (`linux/amd64`).
    pub(crate) fn platform_names(&self) -> (Vec<String>, PlatformsFrom) {
        (
            self.platforms.0.iter().map(Platform::to_string).collect(),
            self.platforms.1,
        )
    }
}

pub(crate) fn aws_options(env: &EnvSection) -> AwsOptions {
    AwsOptions {
        region: env.region.clone(),
        profile: env.profile.clone(),
    }
}

pub(crate) fn wait_options(env: &EnvSection, base: WaitOptions) -> Result<WaitOptions> {
    let timeout = match &env.wait_timeout {
        Some(text) => humantime::parse_duration(text)
            .map_err(|_| usage(format!("wait-timeout {text:?}: not a duration (e.g. 10m)")))?,
        None => base.timeout,
    };
    Ok(WaitOptions { timeout, ..base })
}

pub(crate) fn client_options(config: &HoistConfig, env: &EnvSection) -> Result<ClientOptions> {
    let resolve = config
        .registry
        .resolve
        .iter()
        .map(|r| {
            r.split_once('=')
                .and_then(|(host, addr)| Some((host.to_string(), addr.parse().ok()?)))
                .ok_or_else(|| {
                    usage_hint(
                        format!("[registry] resolve {r:?}: expected HOST=IP:PORT"),
                        "e.g. registry.example=127.0.0.1:5000",
                    )
                })
        })
        .collect::<Result<_>>()?;
    Ok(ClientOptions {
        resolve,
        aws: aws_options(env),
        insecure_registries: config.registry.insecure.clone(),
        ca_file: config
            .registry
            .ca_file
            .as_ref()
            .map(|f| config.base_dir().join(f)),
        retry: RetryPolicy::default(),
        immutable_tags: config.registry.immutable_tags,
        ..ClientOptions::default()
    })
}

/// The repository an environment's images go to: its own `to`, else
/// `[image] to` (no tag: tags come from the environment).
pub(crate) fn env_repository(
    config: &HoistConfig,
    name: &str,
    env: &EnvSection,
) -> Result<ImageReference> {
    let (key, text) = match &env.to {
        Some(to) => (format!("[env.{name}] to"), to),
        None => ("[image] to".to_string(), &config.image.to),
    };
    let repository = ImageReference::parse(text).with_context(|| key.clone())?;
    if repository.tag.is_some() || repository.digest.is_some() {
        return Err(usage_hint(
            format!("{key} {text:?}: give the repository without a tag"),
            "tags come from [env.NAME] tags",
        ));
    }
    Ok(repository)
}

/// An environment's tags, `{env}` and `{git_sha}` expanded (`{env}` alone
/// when it names none).
pub(crate) fn env_tags(dir: &Path, name: &str, env: &EnvSection) -> Result<Vec<String>> {
    let sha = || git_sha(dir);
    let templates = if env.tags.is_empty() {
        vec!["{env}".to_string()]
    } else {
        env.tags.clone()
    };
    let tags = templates
        .iter()
        .map(|t| expand_tag(t, name, sha))
        .collect::<Result<Vec<String>>>()?;
    for tag in &tags {
        crate::registry::reference::check_tag(tag)
            .map_err(|why| usage(format!("[env.{name}] tag {tag:?} {why}")))?;
    }
    Ok(tags)
}

/// `[image] platforms` (linux/amd64 when none), and where they came from.
pub(crate) fn image_platforms(config: &HoistConfig) -> Result<(Vec<Platform>, PlatformsFrom)> {
    Ok(if config.image.platforms.is_empty() {
        (
            vec![Platform::default_linux_amd64()],
            PlatformsFrom::Default,
        )
    } else {
        let parsed = config
            .image
            .platforms
            .iter()
            .map(|p| Platform::parse(p).map_err(usage))
            .collect::<Result<_>>()?;
        (parsed, PlatformsFrom::Configured)
    })
}

/// [`image_platforms`] as verify names them (`linux/amd64`).
pub(crate) fn configured_platforms(config: &HoistConfig) -> Result<(Vec<String>, PlatformsFrom)> {
    let (platforms, from) = image_platforms(config)?;
    Ok((platforms.iter().map(Platform::to_string).collect(), from))
}
