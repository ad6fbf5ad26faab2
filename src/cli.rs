//! Command-line definitions (clap) and their translation into library calls.

use crate::build::{build, BuildOptions, ExtraFile, LayerDir};
use crate::dest::Location;
use crate::error::{usage, usage_hint};
use crate::image::compression::Compression;
use crate::image::manifest::ManifestFormat;
use crate::image::platform::Platform;
use crate::jar::{plan_jar, JarKind, Mode, PlanOptions};
use crate::registry::retry::RetryPolicy;
use crate::registry::transport::ClientOptions;
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// hoist: container images for JVM apps, without Docker.
#[derive(Debug, Parser)]
#[command(name = "hoist", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build an image from a jar and write it to a destination; prints the digest.
    Build(Box<BuildArgs>),
    /// Show how a jar would be layered, without building.
    Inspect(InspectArgs),
    /// Roll an image out to an ECS service: register a revision, update the service, wait.
    Deploy(Box<DeployArgs>),
    /// Point an ECS service back at an earlier task-definition revision and wait.
    Rollback(RollbackArgs),
    /// Show an ECS service's deployments, counts, images and last events.
    Status(StatusArgs),
    /// Build, push and deploy one environment of hoist.toml, and wait until it is stable.
    Ship(ShipArgs),
    /// Deploy the exact image one environment runs to another, with no rebuild.
    Promote(PromoteArgs),
    /// Write a commented hoist.toml for the Gradle project in this directory.
    Init(InitArgs),
}

/// `hoist ship`.
#[derive(Debug, Args)]
pub struct ShipArgs {
    /// The environment ([env.NAME] in hoist.toml).
    pub env: String,
    /// Base image, instead of [image] from.
    #[arg(long, value_name = "IMAGE", env = "HOIST_FROM")]
    pub from: Option<String>,
    /// Target repository, instead of [image] to.
    #[arg(long, value_name = "REPOSITORY", env = "HOIST_TO")]
    pub to: Option<String>,
    /// Jar glob, instead of [image] jar.
    #[arg(long, value_name = "GLOB", env = "HOIST_JAR")]
    pub jar: Option<String>,
    /// The config file.
    #[arg(
        long,
        value_name = "FILE",
        env = "HOIST_CONFIG",
        default_value = "hoist.toml"
    )]
    pub config: PathBuf,
    /// Confirm a protected environment.
    #[arg(long)]
    pub yes: bool,
    /// Do not run the configured Gradle task.
    #[arg(long)]
    pub skip_gradle: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Layer cache directory (default: $XDG_CACHE_HOME/hoist or ~/.cache/hoist).
    #[arg(long, value_name = "DIR", env = "HOIST_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Write the outcome as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hoist promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The environment whose running image is promoted.
    pub from: String,
    /// The environment it goes to.
    pub to: String,
    /// The config file.
    #[arg(
        long,
        value_name = "FILE",
        env = "HOIST_CONFIG",
        default_value = "hoist.toml"
    )]
    pub config: PathBuf,
    /// Confirm a protected environment.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hoist init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing hoist.toml.
    #[arg(long)]
    pub force: bool,
}

/// Where AWS is reached.
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// AWS region (default: AWS_REGION or the profile's).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS profile (default: AWS_PROFILE or default).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

impl AwsArgs {
    /// The AWS options these flags describe.
    pub fn options(&self) -> crate::ecs::client::AwsOptions {
        crate::ecs::client::AwsOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
        }
    }
}

/// Which ECS service.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// ECS cluster name or ARN.
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: String,
    /// ECS service name or ARN.
    #[arg(long, value_name = "SERVICE")]
    pub service: String,
}

impl ServiceArgs {
    /// The service these flags name.
    pub fn target(&self) -> crate::ecs::deploy::ServiceTarget {
        crate::ecs::deploy::ServiceTarget {
            cluster: self.cluster.clone(),
            service: self.service.clone(),
        }
    }
}

/// How to wait for a rollout.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Return after updating the service, without waiting.
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting after this long (e.g. 10m, 90s).
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub wait_timeout: String,
    /// Poll DescribeServices this often (doubled while ECS throttles).
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub poll_interval: String,
}

impl WaitArgs {
    /// The wait options these flags describe.
    pub fn options(&self) -> Result<crate::ecs::deploy::WaitOptions> {
        let parse = |flag: &str, text: &str| {
            humantime::parse_duration(text).map_err(|_| {
                usage_hint(
                    format!("{flag} {text:?}: not a duration"),
                    "e.g. 10m, 90s, 500ms",
                )
            })
        };
        let timeout = parse("--wait-timeout", &self.wait_timeout)?;
        let interval = parse("--poll-interval", &self.poll_interval)?;
        if timeout > std::time::Duration::from_secs(24 * 3600) {
            return Err(usage("--wait-timeout: at most 24h"));
        }
        if interval < std::time::Duration::from_millis(10) {
            return Err(usage("--poll-interval: at least 10ms"));
        }
        Ok(crate::ecs::deploy::WaitOptions {
            enabled: !self.no_wait,
            timeout,
            interval,
        })
    }
}

/// `hoist deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
    /// The container whose image is replaced.
    #[arg(long, value_name = "NAME")]
    pub container: String,
    /// The image: REGISTRY/REPO@sha256:… or REGISTRY/REPO:TAG (resolved to its digest).
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// Environment variable for the container, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Secret for the container, NAME=ARN (repeatable; ECS injects it at run time).
    #[arg(long = "secret", value_name = "NAME=ARN")]
    pub secrets: Vec<String>,
    /// Start from this family's latest revision instead of the service's task definition.
    #[arg(long, value_name = "FAMILY")]
    pub task_family: Option<String>,
    /// Start new tasks even if the task definition did not change.
    #[arg(long)]
    pub force_new_deployment: bool,
    /// Print the task-definition diff and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// When the rollout fails, put the previous task definition back and wait for it.
    #[arg(long)]
    pub rollback_on_failure: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Write the outcome as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hoist rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
    /// The revision to go back to (default: the one before the current).
    #[arg(long, value_name = "N")]
    pub to_revision: Option<i64>,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Write the outcome as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hoist status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// How the jar is laid out and started (shared by build and inspect).
#[derive(Debug, Args)]
pub struct JarArgs {
    /// exploded (Spring Boot default: unpacked under the app root) or packaged (java -jar).
    #[arg(long, value_name = "MODE")]
    pub mode: Option<Mode>,
    /// JVM flag placed before the main class (repeatable).
    #[arg(long = "jvm-flag", value_name = "FLAG", allow_hyphen_values = true)]
    pub jvm_flags: Vec<String>,
    /// Main class, instead of the manifest's Main-Class.
    #[arg(long, value_name = "CLASS")]
    pub main_class: Option<String>,
    /// Argument passed to the app (the image's Cmd; repeatable).
    #[arg(long = "args", value_name = "ARG", allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Where the app goes in the image.
    #[arg(long, value_name = "DIR", default_value = "/app")]
    pub app_root: String,
}

impl JarArgs {
    fn plan_options(&self) -> PlanOptions {
        PlanOptions {
            mode: self.mode,
            app_root: self.app_root.clone(),
            jvm_flags: self.jvm_flags.clone(),
            main_class: self.main_class.clone(),
            args: self.args.clone(),
        }
    }
}

/// `hoist build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The application jar (Spring Boot, plain with Class-Path, or uber).
    #[arg(long, value_name = "JAR")]
    pub jar: Option<PathBuf>,
    /// Base image: REGISTRY/REPO[:TAG|@DIGEST], scratch, oci:DIR[:TAG] or docker-archive:FILE[:REF].
    #[arg(long, value_name = "IMAGE")]
    pub from: String,
    /// Destination: REGISTRY/REPO[:TAG], oci:DIR[:TAG] or docker-archive:FILE[:REF].
    #[arg(long, value_name = "IMAGE")]
    pub to: String,
    /// Another tag to push (repeatable; registry destinations).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Create the ECR repository if it does not exist (CreateRepository).
    #[arg(long)]
    pub create_repository: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Platform to build for (repeatable: several make a multi-platform index).
    #[arg(
        long = "platform",
        value_name = "OS/ARCH[/VARIANT]",
        default_value = "linux/amd64"
    )]
    pub platforms: Vec<String>,
    #[command(flatten)]
    pub jar_args: JarArgs,
    /// Extra file in its own layer, SRC:DEST (repeatable).
    #[arg(long = "file", value_name = "SRC:DEST")]
    pub files: Vec<String>,
    /// Directory tree as a layer, keeping ownership, modes and links, DIR[:DEST] (repeatable).
    #[arg(long = "layer-dir", value_name = "DIR[:DEST]")]
    pub layer_dirs: Vec<String>,
    /// Environment variable KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Port to expose, 8080 or 8080/udp (repeatable).
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<String>,
    /// User to run as.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Label KEY=VALUE (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Config creation time: epoch (default), now, or an RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub creation_time: Option<String>,
    /// Layer compression: auto, stored, gzip or gzip:1..9.
    #[arg(long, value_name = "KIND", default_value = "auto")]
    pub compression: Compression,
    /// Manifest format: oci or docker (default: the base's).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Layer cache directory (default: $XDG_CACHE_HOME/hoist or ~/.cache/hoist).
    #[arg(long, value_name = "DIR", env = "HOIST_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Build every layer afresh and leave the cache alone.
    #[arg(long)]
    pub no_cache: bool,
    /// Write digests and layers as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    /// Print the build report as JSON instead of the digest.
    #[arg(long)]
    pub json: bool,
}

/// How registries are reached (shared by every command that talks to one).
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// A registry host that may be reached over plain HTTP (repeatable; localhost and 127.0.0.1 always may).
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    /// PEM file of extra CA certificates to trust, besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Seconds allowed to connect to a registry.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Seconds allowed between bytes of a registry's response.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub read_timeout: u64,
    /// Attempts per request before giving up on temporary failures.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub retries: u32,
    /// Connect to HOST at ADDRESS instead of what DNS says, like curl's --resolve (repeatable).
    #[arg(long = "resolve", value_name = "HOST=IP:PORT")]
    pub resolve: Vec<String>,
}

impl RegistryArgs {
    /// The client options these flags describe.
    pub fn client_options(&self) -> Result<ClientOptions> {
        if self.retries == 0 {
            return Err(usage("--retries must be at least 1"));
        }
        Ok(ClientOptions {
            aws: crate::aws::AwsOptions::default(),
            insecure_registries: self.insecure_registries.clone(),
            ca_file: self.ca_file.clone(),
            connect_timeout: Duration::from_secs(self.connect_timeout),
            read_timeout: Duration::from_secs(self.read_timeout),
            retry: RetryPolicy {
                max_attempts: self.retries,
                ..RetryPolicy::default()
            },
            resolve: self
                .resolve
                .iter()
                .map(|r| {
                    r.split_once('=')
                        .and_then(|(host, addr)| Some((host.to_string(), addr.parse().ok()?)))
                        .ok_or_else(|| usage(format!("--resolve {r:?}: expected HOST=IP:PORT, e.g. registry.example=127.0.0.1:5000")))
                })
                .collect::<Result<_>>()?,
        })
    }
}

/// `hoist inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The jar to inspect.
    pub jar: PathBuf,
    #[command(flatten)]
    pub jar_args: JarArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Build(args) => run_build(*args),
        Command::Inspect(args) => run_inspect(args),
        Command::Deploy(args) => crate::deploy_cli::run_deploy(*args),
        Command::Rollback(args) => crate::deploy_cli::run_rollback(args),
        Command::Status(args) => crate::deploy_cli::run_status(args),
        Command::Ship(args) => crate::ship_cli::run_ship(args),
        Command::Promote(args) => crate::ship_cli::run_promote(args),
        Command::Init(args) => crate::ship_cli::run_init(args),
    }
}

fn run_build(args: BuildArgs) -> Result<()> {
    let (created, mtime) = crate::build::reproducible_times(args.creation_time.as_deref())?;
    let options = BuildOptions {
        jar: args.jar.clone(),
        plan: args.jar_args.plan_options(),
        from: Location::parse(&args.from).context("--from")?,
        to: Location::parse(&args.to).context("--to")?,
        platforms: args
            .platforms
            .iter()
            .map(|p| Platform::parse(p).map_err(usage))
            .collect::<Result<_>>()?,
        files: args
            .files
            .iter()
            .map(|f| parse_file(f))
            .collect::<Result<_>>()?,
        layer_dirs: args.layer_dirs.iter().map(|d| parse_layer_dir(d)).collect(),
        env: args
            .env
            .iter()
            .map(|e| split_key_value("--env", e))
            .collect::<Result<_>>()?,
        ports: args
            .ports
            .iter()
            .map(|p| check_port(p))
            .collect::<Result<_>>()?,
        user: args.user.clone(),
        labels: args
            .labels
            .iter()
            .map(|l| split_key_value("--label", l))
            .collect::<Result<_>>()?,
        created,
        mtime,
        compression: args.compression,
        format: match args.format.as_deref() {
            None => None,
            Some("oci") => Some(ManifestFormat::Oci),
            Some("docker") => Some(ManifestFormat::Docker),
            Some(other) => return Err(usage(format!("--format {other}: use oci or docker"))),
        },
        tags: args.tags.clone(),
        create_repository: args.create_repository,
        client: args.registry.client_options()?,
        cache_dir: match args.no_cache {
            true => None,
            false => args
                .cache_dir
                .clone()
                .or_else(crate::image::cache::LayerCache::default_root),
        },
    };
    if options.jar.is_none() && options.layer_dirs.is_empty() && options.files.is_empty() {
        return Err(usage_hint(
            "nothing to build",
            "give --jar (or --layer-dir / --file)",
        ));
    }
    let progress = crate::progress::for_stderr();
    let report = build(&options, progress.as_ref())?;
    drop(progress);
    if let Some(push) = &report.push {
        eprintln!(
            "pushed {} ({}): {} uploaded, {} mounted, {} already there; {} sent in {:.2} s",
            report.image,
            report.digest,
            push.uploaded,
            push.mounted,
            push.present,
            human_size(push.bytes_uploaded),
            push.seconds
        );
    }
    if let Ok(path) = std::env::var("GITHUB_OUTPUT") {
        write_github_output(Path::new(&path), &report)?;
    }
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.metadata_file {
        crate::dest::write_atomic(path, json.as_bytes())
            .with_context(|| format!("writing --metadata-file {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{json}")?;
    } else {
        writeln!(out, "{}", report.digest)?;
    }
    Ok(())
}

fn run_inspect(args: InspectArgs) -> Result<()> {
    let plan = plan_jar(&args.jar, &args.jar_args.plan_options())?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let layers: Vec<serde_json::Value> = plan
            .layers
            .iter()
            .map(|l| serde_json::json!({"name": l.name, "files": l.files.len(), "size": l.size()}))
            .collect();
        let value = serde_json::json!({
            "jar": plan.jar,
            "kind": plan.kind,
            "mode": plan.mode,
            "layers": layers,
            "entrypoint": plan.entrypoint,
            "cmd": plan.cmd,
            "workingDir": plan.working_dir,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }
    let kind = match &plan.kind {
        JarKind::SpringBoot {
            layers_index: true, ..
        } => "Spring Boot (layers.idx)".to_string(),
        JarKind::SpringBoot { .. } => "Spring Boot (no layers.idx)".to_string(),
        JarKind::ClassPath => "plain jar with Class-Path".to_string(),
        JarKind::Uber => "uber jar".to_string(),
    };
    let mode = match plan.mode {
        Mode::Exploded => "exploded",
        Mode::Packaged => "packaged",
    };
    writeln!(out, "jar:        {}", plan.jar.display())?;
    writeln!(out, "kind:       {kind}, {mode}")?;
    writeln!(out, "entrypoint: {}", plan.entrypoint.join(" "))?;
    if !plan.cmd.is_empty() {
        writeln!(out, "cmd:        {}", plan.cmd.join(" "))?;
    }
    writeln!(out, "workdir:    {}", plan.working_dir)?;
    writeln!(out)?;
    writeln!(out, "{:<24} {:>7} {:>12}", "LAYER", "FILES", "SIZE")?;
    for layer in &plan.layers {
        writeln!(
            out,
            "{:<24} {:>7} {:>12}",
            layer.name,
            layer.files.len(),
            human_size(layer.size())
        )?;
    }
    Ok(())
}

/// Appends `image`, `digest` and `tags` as GitHub Actions step outputs.
/// Appends `key=value` lines to the GitHub Actions output file.
pub(crate) fn write_github_output_lines(path: &Path, lines: &[(&str, String)]) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("opening GITHUB_OUTPUT {}", path.display()))?;
    for (key, value) in lines {
        writeln!(file, "{key}={value}")?;
    }
    Ok(())
}

fn write_github_output(path: &Path, report: &crate::build::BuildReport) -> Result<()> {
    write_github_output_lines(
        path,
        &[
            ("image", report.image.clone()),
            ("digest", report.digest.to_string()),
            ("tags", report.tags.join(",")),
        ],
    )
}

/// `1536` → `1.5 KiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

pub(crate) fn split_key_value(flag: &str, text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(usage_hint(
            format!("{flag} {text:?}: expected KEY=VALUE"),
            "e.g. SPRING_PROFILES_ACTIVE=dev",
        )),
    }
}

fn parse_file(text: &str) -> Result<ExtraFile> {
    let (src, dest) = text
        .rsplit_once(':')
        .filter(|(s, d)| !s.is_empty() && d.starts_with('/'))
        .ok_or_else(|| {
            usage_hint(
                format!("--file {text:?}: expected SRC:/ABSOLUTE/DEST"),
                "e.g. config/app.yaml:/app/config/app.yaml",
            )
        })?;
    let dest = if dest.ends_with('/') {
        let name = Path::new(src)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{dest}{name}")
    } else {
        dest.to_string()
    };
    if dest.split('/').any(|p| p == "..") {
        return Err(usage(format!(
            "--file {text:?}: the destination may not contain '..'"
        )));
    }
    Ok(ExtraFile {
        source: PathBuf::from(src),
        dest,
        mode: None,
        owner: None,
        secret: false,
    })
}

fn parse_layer_dir(text: &str) -> LayerDir {
    match text.rsplit_once(':') {
        Some((dir, dest)) if dest.starts_with('/') => LayerDir {
            source: dir.into(),
            dest: dest.to_string(),
        },
        _ => LayerDir {
            source: text.into(),
            dest: "/".into(),
        },
    }
}

fn check_port(text: &str) -> Result<String> {
    let (number, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
    let valid =
        number.parse::<u16>().is_ok_and(|n| n > 0) && matches!(protocol, "tcp" | "udp" | "sctp");
    if !valid {
        return Err(usage(format!(
            "--port {text:?}: expected PORT[/tcp|udp|sctp], e.g. 8080"
        )));
    }
    Ok(format!("{number}/{protocol}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_split_at_the_first_equals() {
        assert_eq!(
            split_key_value("--env", "A=b=c").unwrap(),
            ("A".into(), "b=c".into())
        );
        assert!(split_key_value("--env", "=x").is_err());
        assert!(split_key_value("--env", "novalue").is_err());
    }

    #[test]
    fn files_ports_and_dirs() {
        let f = parse_file("conf/a.yaml:/app/config/").unwrap();
        assert_eq!(f.dest, "/app/config/a.yaml");
        assert!(parse_file("a.yaml:relative").is_err());
        assert_eq!(check_port("8080").unwrap(), "8080/tcp");
        assert!(check_port("http").is_err());
        assert_eq!(parse_layer_dir("rootfs").dest, "/");
        assert_eq!(parse_layer_dir("jdk:/opt/jdk").dest, "/opt/jdk");
    }
}
