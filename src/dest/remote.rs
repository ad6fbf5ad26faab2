//! Registries as a place for images: read a base from a repository (blobs
//! fetched only when the destination needs their bytes) and push an image to
//! one (base layers mounted from the base's repository when it is in the same
//! registry).

use crate::dest::{check_platform, BaseImage};
use crate::image::assemble::{ImageLayer, Publication};
use crate::image::platform::Platform;
use crate::image::Digest;
use crate::registry::ecr::{ensure_repository, is_ecr_host};
use crate::registry::pool::RegistryPool;
use crate::registry::pull::{ensure_blobs, resolve};
use crate::registry::push::{
    push_blobs, push_manifest, BlobOutcome, BlobToPush, PushOptions, PushProgress,
};
use crate::registry::transport::ClientOptions;
use crate::registry::ImageReference;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Registry clients and where fetched blobs are kept.
pub struct RegistryAccess {
    pool: RegistryPool,
    aws: crate::aws::AwsOptions,
    blob_dir: PathBuf,
    push: PushOptions,
    create_repository: bool,
}

/// What a push did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushSummary {
    /// Outcome per blob digest (layers and config).
    pub outcomes: Vec<(Digest, BlobOutcome)>,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs mounted from another repository.
    pub mounted: usize,
    /// Blobs the repository had.
    pub present: usize,
    /// Bytes of the uploaded blobs.
    pub bytes_uploaded: u64,
    /// Seconds the push took.
    pub seconds: f64,
    /// The tags written.
    pub tags: Vec<String>,
}

impl RegistryAccess {
    /// Access with `options`, keeping fetched blobs in `blob_dir`.
    /// With `create_repository`, a missing ECR repository is created before a push.
    pub fn new(options: ClientOptions, blob_dir: PathBuf, create_repository: bool) -> Result<Self> {
        std::fs::create_dir_all(&blob_dir)
            .with_context(|| format!("creating {}", blob_dir.display()))?;
        Ok(Self {
            aws: options.aws.clone(),
            pool: RegistryPool::new(options),
            blob_dir,
            push: PushOptions::default(),
            create_repository,
        })
    }

    /// Resolves a base image in a registry; fetches its config, not its layers.
    pub async fn read_base(
        &self,
        reference: &ImageReference,
        platform: &Platform,
    ) -> Result<BaseImage> {
        let registry = self.pool.get(&reference.registry).await?;
        let remote = resolve(&registry, reference, platform, &self.blob_dir).await?;
        let name = reference.to_string();
        check_platform(&name, &remote.config, platform)?;
        if remote.config.rootfs.diff_ids.len() != remote.layers.len() {
            anyhow::bail!(
                "base {name}: the manifest has {} layers, the config {} diff_ids",
                remote.layers.len(),
                remote.config.rootfs.diff_ids.len()
            );
        }
        let layers = remote
            .layers
            .iter()
            .zip(&remote.config.rootfs.diff_ids)
            .map(|(descriptor, diff_id)| ImageLayer {
                descriptor: descriptor.clone(),
                diff_id: diff_id.clone(),
                path: self.blob_dir.join(descriptor.digest.hex()),
                name: "base".into(),
                from_base: true,
                check: true,
            })
            .collect();
        Ok(BaseImage {
            format: remote.format,
            config: remote.config,
            layers,
            digest: Some(remote.digest),
            name,
            remote: Some(reference.clone()),
        })
    }

    /// Forgets the downloaded blob `digest` (found not to match it), so the
    /// next use downloads it again. True when there was one.
    pub(crate) fn discard_blob(&self, digest: &Digest) -> bool {
        std::fs::remove_file(self.blob_dir.join(digest.hex())).is_ok()
    }

    /// `reference` pinned by digest (`REGISTRY/REPO@sha256:…`): as given when it
    /// carries one, else the digest of the manifest its tag points to now.
    pub async fn pin(&self, reference: &ImageReference) -> Result<String> {
        let digest = match &reference.digest {
            Some(digest) => digest.clone(),
            None => {
                let registry = self.pool.get(&reference.registry).await?;
                crate::registry::manifests::get_manifest(
                    &registry,
                    &reference.repository,
                    &reference.reference(),
                )
                .await?
                .digest
            }
        };
        Ok(reference.pinned(&digest))
    }

    /// Downloads the base's layers that are not on disk yet; marks those
    /// that are as used (for the layer cache's pruning).
    pub async fn fetch_base_layers(&self, base: &BaseImage) -> Result<()> {
        let Some(reference) = &base.remote else {
            return Ok(());
        };
        let (present, missing): (Vec<_>, Vec<_>) =
            base.layers.iter().partition(|l| l.path.is_file());
        for layer in present {
            crate::image::cache_dir::mark_used(&layer.path);
        }
        let missing: Vec<Digest> = missing
            .iter()
            .map(|l| l.descriptor.digest.clone())
            .collect();
        let registry = self.pool.get(&reference.registry).await?;
        ensure_blobs(&registry, &reference.repository, &missing, &self.blob_dir).await
    }

    /// Pushes `publication` to `target` under its tag and `extra_tags`:
    /// every blob first, then the platform manifests (by digest, when there
    /// is an index), then the top manifest under each tag. `bases[i]` is the
    /// base of image `i`.
    pub async fn push(
        &self,
        target: &ImageReference,
        extra_tags: &[String],
        publication: &Publication,
        bases: &[BaseImage],
        progress: &dyn PushProgress,
    ) -> Result<PushSummary> {
        let started = Instant::now();
        let mut blobs: Vec<BlobToPush> = Vec::new();
        for (image, base) in publication.images().iter().zip(bases) {
            let same_registry_origin = base
                .remote
                .as_ref()
                .filter(|r| r.registry == target.registry)
                .map(|r| r.repository.clone());
            if base.remote.is_some() && same_registry_origin.is_none() {
                // Another registry: the bytes have to come here first.
                self.fetch_base_layers(base).await?;
            }
            let config_path = self.blob_dir.join(image.config_digest().hex());
            if !config_path.is_file() {
                crate::util::fs::write_atomic(&config_path, &image.config_bytes)?;
            }
            for layer in &image.layers {
                if !blobs.iter().any(|b| b.digest == layer.descriptor.digest) {
                    blobs.push(BlobToPush {
                        digest: layer.descriptor.digest.clone(),
                        size: layer.descriptor.size,
                        path: layer.path.clone(),
                        origin: if layer.from_base {
                            same_registry_origin.clone()
                        } else {
                            None
                        },
                    });
                }
            }
            if !blobs.iter().any(|b| &b.digest == image.config_digest()) {
                blobs.push(BlobToPush {
                    digest: image.config_digest().clone(),
                    size: image.config_bytes.len() as u64,
                    path: config_path,
                    origin: None,
                });
            }
        }
        let mut tags: Vec<String> = vec![target.tag.clone().unwrap_or_else(|| "latest".into())];
        for tag in extra_tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        let repo = &target.repository;
        let outcomes = {
            if self.create_repository
                && is_ecr_host(&target.registry)
                && ensure_repository(&target.registry, repo, &self.aws).await?
            {
                eprintln!("created ECR repository {repo}");
            }
            let registry = self.pool.get(&target.registry).await?;
            let outcomes = push_blobs(&registry, repo, &blobs, self.push, progress).await?;
            if let Publication::Multi { images, .. } = publication {
                for image in images {
                    let media_type = image.format.manifest_media_type();
                    push_manifest(&registry, repo, &[], media_type, &image.manifest_bytes).await?;
                }
            }
            let (media_type, bytes) = publication.top();
            push_manifest(&registry, repo, &tags, media_type, bytes).await?;
            outcomes
        };
        let count = |wanted: BlobOutcome| outcomes.iter().filter(|o| **o == wanted).count();
        Ok(PushSummary {
            uploaded: count(BlobOutcome::Uploaded),
            mounted: count(BlobOutcome::Mounted),
            present: count(BlobOutcome::Present),
            bytes_uploaded: blobs
                .iter()
                .zip(&outcomes)
                .filter(|(_, o)| **o == BlobOutcome::Uploaded)
                .map(|(b, _)| b.size)
                .sum(),
            outcomes: blobs
                .iter()
                .map(|b| b.digest.clone())
                .zip(outcomes)
                .collect(),
            seconds: started.elapsed().as_secs_f64(),
            tags,
        })
    }
}
