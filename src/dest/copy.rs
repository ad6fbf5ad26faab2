//! Copying an image from one place to another — a registry, an OCI layout
//! (`oci:`) or a docker archive (`docker-archive:`) on either side — like
//! `crane copy` or `skopeo copy`.
//!
//! Manifests, indexes and configs travel as the bytes they are, so the
//! digest is kept: every platform of an index, or one (`platform`). Within a
//! registry, layers are mounted from the source repository; between
//! registries they are streamed through the blob directory on disk, never
//! held in memory. A docker archive holds uncompressed layers and no
//! manifest: reading one recompresses its layers reproducibly and makes a
//! manifest (Docker format unless asked otherwise), keeping the config bytes
//! and so the image ID; writing one needs a single platform.
//!
//! Between registries the image's OCI 1.1 referrers come along (issue 26):
//! every referrer of each manifest copied (the index and each platform
//! manifest) — hoist's SBOM and provenance and anyone's signatures — and
//! the referrers of those (a signature of an SBOM), [`MAX_REFERRER_DEPTH`]
//! levels and [`MAX_REFERRERS`] at most. Their bytes are kept, so are their
//! digests. A referrer the destination refuses (ECR answers 405 to one
//! whose subject is an index: aws/containers-roadmap#2783) is named in one
//! line and the copy goes on. An OCI layout or docker archive on either side
//! carries no referrers here.

use crate::dest::remote::{PushSummary, RegistryAccess};
use crate::dest::{docker_archive, oci_layout, BaseImage, Location};
use crate::error::{usage, usage_hint};
use crate::image::assemble::Publication;
use crate::image::config::ImageConfig;
use crate::image::manifest::ManifestFormat;
use crate::image::platform::Platform;
use crate::image::Digest;
use crate::registry::pool::RegistryPool;
use crate::registry::push::PushProgress;
use crate::registry::referrers::{
    list_referrers, push_referrer, referrer_descriptor, Referrer, ReferrerOutcome,
};
use crate::registry::transport::{ClientOptions, Registry};
use crate::registry::ImageReference;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

/// Levels of referrers a copy follows: the image's, and theirs (a
/// signature of an SBOM).
pub(crate) const MAX_REFERRER_DEPTH: usize = 2;
/// Referrers a copy carries at most; the rest are counted as left behind.
pub(crate) const MAX_REFERRERS: usize = 256;
/// Bytes of blobs one referrer may have (they are held in memory).
const MAX_REFERRER_BLOB_BYTES: u64 = 64 << 20;

/// What `hoist copy` needs besides the two places.
#[derive(Clone, Debug, Default)]
pub struct CopyOptions {
    /// Copy only this platform's image (an index otherwise goes whole).
    pub platform: Option<Platform>,
    /// More tags at a registry destination, besides its own.
    pub tags: Vec<String>,
    /// The manifest format made for an image read from a docker archive
    /// (default: Docker v2 schema 2, as `docker save` images are).
    pub format: Option<ManifestFormat>,
    /// How layers read from a docker archive are recompressed.
    pub compression: crate::image::Compression,
    /// The registry settings to carry the image's referrers with, between
    /// registries (the ones `access` was made with); `None`: they stay.
    pub referrers: Option<ClientOptions>,
}

/// The referrers a copy carried.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferrersCopied {
    /// Referrers pushed to the destination.
    pub copied: usize,
    /// Referrers the destination had and listed already.
    pub present: usize,
    /// Referrers the destination refused, or that could not be carried
    /// (each named in a warning line).
    pub refused: usize,
    /// Referrers beyond [`MAX_REFERRERS`], not copied.
    pub left_behind: usize,
}

impl ReferrersCopied {
    /// Referrers seen.
    fn seen(&self) -> usize {
        self.copied + self.present + self.refused
    }
}

/// What a copy did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyReport {
    /// Where the image came from.
    pub source: String,
    /// Where it went.
    pub destination: String,
    /// The digest of what was copied (an index or a manifest).
    pub digest: Digest,
    /// The destination, pinned by digest for a registry.
    pub image: String,
    /// The platforms copied.
    pub platforms: Vec<String>,
    /// The push, for a registry destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSummary>,
    /// The referrers carried, between registries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrers: Option<ReferrersCopied>,
    /// Seconds the copy took.
    pub seconds: f64,
}

/// Copies the image at `from` to `to`.
pub async fn copy(
    access: &RegistryAccess,
    from: &Location,
    to: &Location,
    options: &CopyOptions,
    progress: &dyn PushProgress,
) -> Result<CopyReport> {
    let started = Instant::now();
    let work = tempfile::tempdir().context("creating a scratch directory")?;
    let platform = options.platform.as_ref();
    let (publication, bases) = match from {
        Location::Scratch => {
            return Err(usage_hint(
                "copy: scratch is not an image to copy",
                "name a registry image, oci:DIR[:TAG] or docker-archive:FILE[:REF]",
            ))
        }
        Location::Registry(reference) => access.read_image(reference, platform).await?,
        Location::OciLayout { dir, tag } => {
            let publication = oci_layout::read_image(dir, tag.as_deref(), platform)?;
            let bases = local_bases(&publication, &from.to_string());
            (publication, bases)
        }
        Location::DockerArchive { file, reference } => {
            let image = docker_archive::read_image(
                file,
                reference.as_deref(),
                platform,
                ManifestFormat::for_layers(
                    options.format,
                    ManifestFormat::Docker,
                    options.compression,
                    std::iter::empty(),
                )?,
                options.compression,
                work.path(),
            )?;
            let publication = Publication::Single(Box::new(image));
            let bases = local_bases(&publication, &from.to_string());
            (publication, bases)
        }
    };
    let platforms = publication
        .images()
        .iter()
        .map(|i| i.platform.to_string())
        .collect();
    let digest = publication.digest();
    let mut push = None;
    let mut referrers = None;
    let image = match to {
        Location::Scratch => return Err(usage("copy: scratch cannot be written to")),
        Location::Registry(target) => {
            let mut target = target.clone();
            if target.digest.is_some() {
                return Err(usage_hint(
                    format!("copy: destination {target} names a digest"),
                    "name the destination by repository and tag; the digest is kept",
                ));
            }
            if target.tag.is_none() {
                target.tag = Some(source_tag(from).unwrap_or_else(|| "latest".into()));
            }
            let summary = access
                .push(&target, &options.tags, &publication, &bases, &[], progress)
                .await?;
            push = Some(summary);
            if let (Location::Registry(source), Some(client)) = (from, &options.referrers) {
                let mut subjects: Vec<Digest> = publication
                    .images()
                    .iter()
                    .map(|i| i.digest.clone())
                    .collect();
                if matches!(publication, Publication::Multi { .. }) {
                    subjects.insert(0, digest.clone());
                }
                let pool = RegistryPool::new(client.clone());
                referrers =
                    Some(copy_referrers(&pool, source, &target, &subjects, work.path()).await?);
            }
            target.pinned(&digest)
        }
        Location::OciLayout { dir, tag } => {
            fetch_layers(access, &bases).await?;
            oci_layout::write_image(dir, tag.as_deref(), &publication)?;
            to.to_string()
        }
        Location::DockerArchive { file, reference } => {
            let Publication::Single(image) = &publication else {
                return Err(usage_hint(
                    format!(
                        "copy: {from} holds {} platforms; a docker archive holds one",
                        publication.images().len()
                    ),
                    "pick one with --platform, e.g. --platform linux/amd64",
                ));
            };
            fetch_layers(access, &bases).await?;
            docker_archive::write_image(file, reference.as_deref(), image, work.path())?;
            to.to_string()
        }
    };
    Ok(CopyReport {
        source: from.to_string(),
        destination: to.to_string(),
        digest,
        image,
        platforms,
        push,
        referrers,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Carries the referrers of `subjects` (manifests now in both places) from
/// `from`'s repository to `to`'s, then theirs, down to
/// [`MAX_REFERRER_DEPTH`] levels. A referrer refused or not carried is one
/// warning line; a source that cannot list its referrers is one too.
async fn copy_referrers(
    pool: &RegistryPool,
    from: &ImageReference,
    to: &ImageReference,
    subjects: &[Digest],
    scratch: &Path,
) -> Result<ReferrersCopied> {
    let source = pool.get(&from.registry).await?;
    let destination = pool.get(&to.registry).await?;
    let mut copied = ReferrersCopied::default();
    let mut seen: HashSet<Digest> = subjects.iter().cloned().collect();
    let mut level = subjects.to_vec();
    for _ in 0..MAX_REFERRER_DEPTH {
        let mut next = Vec::new();
        for subject in &level {
            let listed = match list_referrers(&source, &from.repository, subject, None).await {
                Ok(listed) => listed,
                Err(error) => {
                    eprintln!(
                        "hoist: warning: {}; the referrers of {subject} not copied",
                        crate::error::one_line(&error)
                    );
                    continue;
                }
            };
            for descriptor in listed {
                if !seen.insert(descriptor.digest.clone()) {
                    continue;
                }
                if copied.seen() >= MAX_REFERRERS {
                    copied.left_behind += 1;
                    continue;
                }
                let artifact_type = descriptor
                    .extra
                    .get("artifactType")
                    .and_then(|t| t.as_str())
                    .unwrap_or(&descriptor.media_type)
                    .to_string();
                let refused = |reason: &str| {
                    eprintln!(
                        "hoist: warning: referrer {} ({artifact_type}) of {subject}: {reason}; not copied",
                        descriptor.digest
                    );
                };
                let referrer = match fetch_referrer(
                    &source,
                    &from.repository,
                    subject,
                    &descriptor.digest,
                    scratch,
                )
                .await?
                {
                    Ok(referrer) => referrer,
                    Err(reason) => {
                        refused(&reason);
                        copied.refused += 1;
                        continue;
                    }
                };
                match push_referrer(&destination, &to.repository, &referrer)
                    .await?
                    .outcome
                {
                    ReferrerOutcome::Api | ReferrerOutcome::FallbackTag { .. } => {
                        copied.copied += 1;
                        next.push(referrer.digest);
                    }
                    ReferrerOutcome::AlreadyThere => {
                        copied.present += 1;
                        next.push(referrer.digest);
                    }
                    ReferrerOutcome::Refused { reason } => {
                        refused(&reason);
                        copied.refused += 1;
                    }
                }
            }
        }
        level = next;
    }
    if copied.left_behind > 0 {
        eprintln!(
            "hoist: warning: {from} has more than {MAX_REFERRERS} referrers; {} not copied",
            copied.left_behind
        );
    }
    Ok(copied)
}

/// The referrer `digest` of `subject` in `repo`, bytes as stored, with its
/// blobs (config and layers, downloaded into `scratch` and checked against
/// their digests); `Err(reason)` for one hoist does not carry: an index, or
/// one whose blobs are larger than [`MAX_REFERRER_BLOB_BYTES`].
async fn fetch_referrer(
    registry: &Registry,
    repo: &str,
    subject: &Digest,
    digest: &Digest,
    scratch: &Path,
) -> Result<std::result::Result<Referrer, String>> {
    use crate::image::manifest::{is_index, Manifest};
    let fetched = crate::registry::manifests::get_manifest(registry, repo, digest.as_str()).await?;
    if is_index(&fetched.media_type) {
        return Ok(Err(format!(
            "it is an index ({}); hoist carries referrers that are image manifests",
            fetched.media_type
        )));
    }
    let manifest = Manifest::from_slice(&fetched.bytes)
        .with_context(|| format!("parsing referrer {repo}@{digest}"))?;
    let mut wanted = vec![manifest.config];
    for layer in manifest.layers {
        if !wanted.iter().any(|d| d.digest == layer.digest) {
            wanted.push(layer);
        }
    }
    let size: u64 = wanted.iter().map(|d| d.size).sum();
    if size > MAX_REFERRER_BLOB_BYTES {
        return Ok(Err(format!(
            "its blobs hold {size} bytes, more than hoist carries ({MAX_REFERRER_BLOB_BYTES})"
        )));
    }
    let mut blobs = Vec::new();
    for descriptor in &wanted {
        let path =
            crate::registry::pull::ensure_blob(registry, repo, &descriptor.digest, scratch).await?;
        blobs.push(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
    }
    Ok(Ok(Referrer {
        descriptor: referrer_descriptor(&fetched.bytes)?,
        digest: fetched.digest,
        subject: subject.clone(),
        blobs,
        manifest: fetched.bytes,
    }))
}

/// The tag a source names, if any: a copy keeps it unless told otherwise.
fn source_tag(from: &Location) -> Option<String> {
    match from {
        Location::Registry(reference) => reference.tag.clone(),
        Location::OciLayout { tag, .. } => tag.clone(),
        _ => None,
    }
}

/// Bases for images whose blobs are on disk already.
fn local_bases(publication: &Publication, name: &str) -> Vec<BaseImage> {
    publication
        .images()
        .iter()
        .map(|image| BaseImage {
            format: image.format,
            config: ImageConfig::from_slice(&image.config_bytes).unwrap_or_default(),
            layers: image.layers.clone(),
            digest: Some(image.digest.clone()),
            name: name.to_string(),
            remote: None,
        })
        .collect()
}

/// Downloads the layers of registry bases that are not on disk yet.
async fn fetch_layers(access: &RegistryAccess, bases: &[BaseImage]) -> Result<()> {
    for base in bases {
        access.fetch_base_layers(base).await?;
    }
    Ok(())
}
