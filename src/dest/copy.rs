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
//! Between registries and OCI layouts the image's OCI 1.1 referrers come
//! along ([`crate::dest::carry_referrers`]); a docker archive holds none.

use crate::dest::carry_referrers::{carry_referrers, ReferrerStore, ReferrersCopied};
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
use crate::registry::transport::ClientOptions;
use anyhow::{Context, Result};
use serde::Serialize;
use std::time::Instant;

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
    /// The registry settings to carry the image's referrers with (the ones
    /// `access` was made with); `None`: they stay.
    pub referrers: Option<ClientOptions>,
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
    /// The referrers carried, between registries and OCI layouts.
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
            let sink = Location::Registry(target.clone());
            referrers = carry(from, &sink, &publication, options, work.path()).await?;
            target.pinned(&digest)
        }
        Location::OciLayout { dir, tag } => {
            fetch_layers(access, &bases).await?;
            oci_layout::write_image(dir, tag.as_deref(), &publication)?;
            referrers = carry(from, to, &publication, options, work.path()).await?;
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

/// Carries the referrers of `publication` (its index and each platform
/// manifest, now in both places) from `from` to `to` when both can hold
/// referrers (a registry or an OCI layout) and `options` asks for them.
async fn carry(
    from: &Location,
    to: &Location,
    publication: &Publication,
    options: &CopyOptions,
    scratch: &std::path::Path,
) -> Result<Option<ReferrersCopied>> {
    let Some(client) = &options.referrers else {
        return Ok(None);
    };
    let pool = RegistryPool::new(client.clone());
    let store = |location: &Location| {
        let pool = &pool;
        let location = location.clone();
        async move {
            Ok::<_, anyhow::Error>(match location {
                Location::Registry(reference) => Some(ReferrerStore::Registry {
                    registry: pool.get(&reference.registry).await?,
                    repository: reference.repository.clone(),
                }),
                Location::OciLayout { dir, .. } => Some(ReferrerStore::Layout { dir }),
                Location::Scratch | Location::DockerArchive { .. } => None,
            })
        }
    };
    let (Some(source), Some(sink)) = (store(from).await?, store(to).await?) else {
        return Ok(None);
    };
    let mut subjects: Vec<Digest> = publication
        .images()
        .iter()
        .map(|i| i.digest.clone())
        .collect();
    if matches!(publication, Publication::Multi { .. }) {
        subjects.insert(0, publication.digest());
    }
    Ok(Some(
        carry_referrers(&source, &sink, &subjects, scratch).await?,
    ))
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
