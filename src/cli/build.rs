//! `hoist build` and `hoist inspect`: jar flags in, a build (or a layer
//! plan) out. stdout carries the digest (or the plan); progress goes to stderr.

use crate::cli::args::{key_values, RegistryArgs};
use crate::cli::output::{emit, image_outputs, OutputArgs};
use anyhow::{Context, Result};
use clap::Args;
use hoist::error::{usage, usage_hint};
use hoist::image::{Compression, ManifestFormat, Platform};
use hoist::jar::{plan_jar, JarKind, Mode, PlanOptions};
use hoist::{BuildOptions, ExtraFile, LayerDir, Location};
use indicatif::HumanBytes;
use std::io::Write;
use std::path::{Path, PathBuf};

/// How the jar is laid out and started (shared by build and inspect).
#[derive(Debug, Args)]
pub struct JarArgs {
    /// exploded (Spring Boot default: unpacked under the app root), extracted
    /// (Spring's thin app.jar + lib/, java -jar) or packaged (java -jar).
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
    /// Layer compression: auto, stored, gzip, gzip:1..9, zstd or zstd:1..19
    /// (zstd makes an OCI image; containerd 1.5+, Fargate 1.4.0, Podman pull it).
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
    /// Start-up archive trained by running the app once at build time: none
    /// (default), cds (JDK 17+), aot-cache (JDK 24+) or auto; implies
    /// --mode extracted.
    #[arg(long, value_name = "KIND", default_value = "none")]
    pub startup: hoist::startup::Startup,
    /// Environment variable for the training run only, KEY=VALUE (repeatable).
    #[arg(long = "training-env", value_name = "KEY=VALUE")]
    pub training_env: Vec<String>,
    /// Attestations attached to a pushed image, as OCI referrers: sbom,
    /// provenance (comma-separated; both by default) or none.
    #[arg(long, value_name = "LIST", default_value = "sbom,provenance")]
    pub attestations: String,
    /// How long one JVM run of the training may take (e.g. 90s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub training_timeout: humantime::Duration,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `hoist inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The jar to inspect.
    pub jar: PathBuf,
    #[command(flatten)]
    pub jar_args: JarArgs,
    /// The compression to show per layer (as `hoist build --compression`).
    #[arg(long, value_name = "KIND", default_value = "auto")]
    pub compression: Compression,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hoist build`.
pub async fn run_build(args: BuildArgs) -> Result<()> {
    let (created, mtime) = hoist::reproducible_times(args.creation_time.as_deref())?;
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
        env: key_values("--env", &args.env)?,
        ports: args
            .ports
            .iter()
            .map(|p| check_port(p))
            .collect::<Result<_>>()?,
        user: args.user.clone(),
        labels: key_values("--label", &args.labels)?,
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
            false => args.cache_dir.clone().or_else(hoist::default_cache_dir),
        },
        startup: args.startup,
        attestations: hoist::Attestations::parse("--attestations", args.attestations.split(','))?,
        provenance: hoist::ProvenanceContext::default(),
        training: hoist::startup::TrainingSettings {
            env: key_values("--training-env", &args.training_env)?,
            timeout: args.training_timeout.into(),
        },
    };
    if options.jar.is_none() && options.layer_dirs.is_empty() && options.files.is_empty() {
        return Err(usage_hint(
            "nothing to build",
            "give --jar (or --layer-dir / --file)",
        ));
    }
    let progress = crate::cli::progress::for_stderr();
    let report = hoist::build(&options, progress.as_ref()).await?;
    drop(progress);
    crate::cli::output::layer_details(&report);
    if let Some(push) = &report.push {
        crate::cli::progress::say(format_args!(
            "pushed {} ({}): {} uploaded{}, {} mounted, {} already there; {} sent in {:.2} s",
            report.image,
            report.digest,
            push.uploaded,
            match push.streamed {
                0 => String::new(),
                n => format!(" ({n} while being built)"),
            },
            push.mounted,
            push.present,
            HumanBytes(push.bytes_uploaded),
            push.seconds
        ));
    }
    emit(
        &report,
        &args.output,
        &image_outputs(&report.image, report.digest.as_str(), &report.tags),
        &report.digest.to_string(),
    )
}

/// `hoist inspect`.
pub fn run_inspect(args: InspectArgs) -> Result<()> {
    let plan = plan_jar(&args.jar, &args.jar_args.plan_options())?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let layers: Vec<serde_json::Value> = plan
            .layers
            .iter()
            .map(|l| {
                serde_json::json!({
                    "name": l.name,
                    "files": l.files.len(),
                    "size": l.size(),
                    "compression": layer_compression(l, args.compression).to_string(),
                })
            })
            .collect();
        let value = serde_json::json!({
            "jar": plan.jar,
            "kind": plan.kind,
            "mode": plan.mode,
            "layers": layers,
            "entrypoint": plan.entrypoint,
            "cmd": plan.cmd,
            "workingDir": plan.working_dir,
            "pulledBy": args.compression.pulled_by(),
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
    let mode = plan.mode.name();
    writeln!(out, "jar:        {}", plan.jar.display())?;
    writeln!(out, "kind:       {kind}, {mode}")?;
    writeln!(out, "entrypoint: {}", plan.entrypoint.join(" "))?;
    if !plan.cmd.is_empty() {
        writeln!(out, "cmd:        {}", plan.cmd.join(" "))?;
    }
    writeln!(out, "workdir:    {}", plan.working_dir)?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<24} {:>7} {:>12}  COMPRESSION",
        "LAYER", "FILES", "SIZE"
    )?;
    for layer in &plan.layers {
        writeln!(
            out,
            "{:<24} {:>7} {:>12}  {}",
            layer.name,
            layer.files.len(),
            HumanBytes(layer.size()).to_string(),
            layer_compression(layer, args.compression)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{}", args.compression.pulled_by())?;
    Ok(())
}

/// The compression a build gives `layer` when asked for `wanted`.
fn layer_compression(layer: &hoist::jar::PlannedLayer, wanted: Compression) -> Compression {
    wanted.resolve_for(layer.files.iter().map(|f| (f.dest.as_str(), f.size)))
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
