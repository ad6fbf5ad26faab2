//! `hoist copy SRC DST`: an image from one place to another (registry,
//! `oci:`, `docker-archive:`), every platform or one, digest kept. stdout
//! carries the destination (pinned by digest for a registry).

use crate::cli::args::{AwsArgs, RegistryArgs};
use crate::cli::output::{emit, image_outputs, OutputArgs};
use anyhow::{Context, Result};
use clap::Args;
use hoist::error::usage;
use hoist::image::{ManifestFormat, Platform};
use hoist::{CopyOptions, Location, RegistryAccess};

/// `hoist copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The image: REGISTRY/REPO[:TAG|@DIGEST], oci:DIR[:TAG] or docker-archive:FILE[:REF].
    pub source: String,
    /// Where it goes: REGISTRY/REPO[:TAG], oci:DIR[:TAG] or docker-archive:FILE[:REF].
    pub destination: String,
    /// Copy only this platform's image (default: every platform of an index).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Another tag at a registry destination (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Manifest format made for an image read from a docker archive: docker (default; oci with zstd) or oci.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Compression of layers read from a docker archive: auto (gzip), stored, gzip[:1..9] or zstd[:1..19].
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub compression: hoist::image::Compression,
    /// Create the ECR repository if it does not exist (CreateRepository).
    #[arg(long)]
    pub create_repository: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `hoist copy SRC DST`.
pub async fn run_copy(args: CopyArgs) -> Result<()> {
    let from = Location::parse(&args.source).context("copy source")?;
    let to = Location::parse(&args.destination).context("copy destination")?;
    let mut client = args.registry.client_options()?;
    client.aws = args.aws.options();
    let options = CopyOptions {
        platform: args
            .platform
            .as_deref()
            .map(|p| Platform::parse(p).map_err(usage))
            .transpose()?,
        tags: args.tags.clone(),
        format: match args.format.as_deref() {
            None => None,
            Some("oci") => Some(ManifestFormat::Oci),
            Some("docker") => Some(ManifestFormat::Docker),
            Some(other) => return Err(usage(format!("--format {other}: use oci or docker"))),
        },
        compression: args.compression,
        referrers: Some(client.clone()),
    };
    let blob_dir = tempfile::tempdir().context("creating a scratch directory")?;
    let access = RegistryAccess::new(
        client,
        blob_dir.path().to_path_buf(),
        args.create_repository,
    )?;
    let progress = crate::cli::progress::for_stderr();
    let report = hoist::copy(&access, &from, &to, &options, progress.as_ref()).await?;
    drop(progress);
    let tags = report
        .push
        .as_ref()
        .map(|p| p.tags.clone())
        .unwrap_or_default();
    eprintln!(
        "copied {} to {} ({}; {}){}{}",
        report.source,
        report.destination,
        report.digest,
        report.platforms.join(", "),
        report.push.as_ref().map_or(String::new(), |p| format!(
            ": {} uploaded, {} mounted, {} already there",
            p.uploaded, p.mounted, p.present
        )),
        report
            .referrers
            .as_ref()
            .filter(|r| r.copied + r.present + r.refused + r.left_behind > 0)
            .map_or(String::new(), |r| format!(
                "; referrers: {} copied, {} already there, {} not copied",
                r.copied,
                r.present,
                r.refused + r.left_behind
            ))
    );
    emit(
        &report,
        &args.output,
        &image_outputs(&report.image, report.digest.as_str(), &tags),
        &report.image,
    )
}
