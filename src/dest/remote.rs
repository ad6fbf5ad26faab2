//! Registries as a place for images: read a base from a repository (blobs
//! fetched only when the destination needs their bytes) and push an image to
//! one (base layers mounted from the base's repository when it is in the same
//! registry).

use crate::dest::{check_platform, BaseImage};
use crate::image::assemble::{ImageLayer, Publication};
use crate::image::config::ImageConfig;
use crate::image::platform::Platform;
use crate::image::Digest;
use crate::registry::blobs::SessionRefused;
use crate::registry::ecr::{ensure_repository, is_ecr_host};
use crate::registry::pool::RegistryPool;
use crate::registry::pull::{ensure_blob, ensure_blobs, resolve};
use crate::registry::push::{
    push_blobs, push_manifest_by_digest, BlobOutcome, BlobToPush, PushOptions, PushProgress,
};
use crate::registry::referrers::ReferrerPush;
use crate::registry::stream::StreamTee;
use crate::registry::tags::{put_tagged, ImmutableTags, TagMutability};
use crate::registry::transport::ClientOptions;
use crate::registry::ImageReference;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// The digest `image` is pinned by.
fn pinned_digest(image: &ImageReference) -> Result<Digest> {
    image
        .digest
        .clone()
        .ok_or_else(|| anyhow::anyhow!("{image} is not pinned by digest"))
}

/// Registry clients and where fetched blobs are kept.
pub struct RegistryAccess {
    pool: RegistryPool,
    aws: crate::aws::AwsOptions,
    blob_dir: PathBuf,
    push: PushOptions,
    create_repository: bool,
    /// ECR repositories (`host/repo`) already known to exist in this run.
    ensured: std::sync::Mutex<std::collections::HashSet<String>>,
    immutable_tags: ImmutableTags,
}

/// The streams of a push's app layers: the writer's ends (taken by the
/// layer writers) and the upload tasks.
pub(crate) struct LayerStreams {
    /// One tee per layer, in order.
    pub(crate) tees: Vec<Option<StreamTee>>,
    tasks: Vec<tokio::task::JoinHandle<Result<Option<Digest>>>>,
}

impl LayerStreams {
    /// Stops every upload: the build failed, nothing is pushed.
    pub(crate) fn abandon(self) {
        for task in self.tasks {
            task.abort();
        }
    }

    /// Waits for every upload; returns the digests that went up. A stream
    /// that failed is said once (unless the registry refused its session,
    /// which the push will report) and left to the push, which sends that
    /// blob from its file.
    pub(crate) async fn finish(self) -> Vec<Digest> {
        drop(self.tees);
        let mut streamed = Vec::new();
        for task in self.tasks {
            match task.await {
                Ok(Ok(Some(digest))) => streamed.push(digest),
                Ok(Ok(None)) => {}
                // The registry would not open a session (no such
                // repository, no permission): the push meets the same
                // answer and reports it once.
                Ok(Err(error)) if error.is::<SessionRefused>() => {}
                Ok(Err(error)) => eprintln!(
                    "hoist: warning: {}; the push sends that layer from its file",
                    crate::error::one_line(&error)
                ),
                Err(error) => eprintln!("hoist: warning: a layer stream stopped: {error}"),
            }
        }
        streamed
    }
}

/// What a push did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushSummary {
    /// Outcome per blob digest (layers and config).
    pub outcomes: Vec<(Digest, BlobOutcome)>,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Of those, the blobs streamed while their layers were written.
    pub streamed: usize,
    /// Blobs mounted from another repository.
    pub mounted: usize,
    /// Blobs the repository had.
    pub present: usize,
    /// Bytes of the uploaded blobs.
    pub bytes_uploaded: u64,
    /// Seconds the push took (a build that streamed layers counts from
    /// when the streams opened, as uploading began then).
    pub seconds: f64,
    /// The tags that name the image now.
    pub tags: Vec<String>,
    /// Immutable tags left naming another image (`[registry] immutable-tags = "skip"`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_tags: Vec<String>,
}

impl RegistryAccess {
    /// Access with `options`, keeping fetched blobs in `blob_dir`.
    /// With `create_repository`, a missing ECR repository is created before a push.
    pub fn new(options: ClientOptions, blob_dir: PathBuf, create_repository: bool) -> Result<Self> {
        std::fs::create_dir_all(&blob_dir)
            .with_context(|| format!("creating {}", blob_dir.display()))?;
        Ok(Self {
            aws: options.aws.clone(),
            immutable_tags: options.immutable_tags,
            pool: RegistryPool::new(options),
            blob_dir,
            push: PushOptions::default(),
            create_repository,
            ensured: Default::default(),
        })
    }

    /// With `--create-repository`, creates `target`'s ECR repository if it
    /// is missing; asked once per run and repository.
    async fn ensure_ecr_repository(&self, target: &ImageReference) -> Result<()> {
        if !self.create_repository || !is_ecr_host(&target.registry) {
            return Ok(());
        }
        let key = format!("{}/{}", target.registry, target.repository);
        if self
            .ensured
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key)
        {
            return Ok(());
        }
        if ensure_repository(&target.registry, &target.repository, &self.aws).await? {
            eprintln!("created ECR repository {}", target.repository);
        }
        self.ensured
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key);
        Ok(())
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

    /// Reads the image `reference` names exactly as stored: an index with
    /// every image it lists, or (with `platform`) the one image for it. Only
    /// manifests and configs are fetched; layers stay in the registry until
    /// a destination needs their bytes ([`Self::fetch_base_layers`] on the
    /// returned bases) or can mount them.
    pub(crate) async fn read_image(
        &self,
        reference: &ImageReference,
        platform: Option<&Platform>,
    ) -> Result<(Publication, Vec<BaseImage>)> {
        use crate::image::manifest::{is_index, Index};
        use crate::registry::manifests::get_manifest;
        let registry = self.pool.get(&reference.registry).await?;
        let repo = &reference.repository;
        let top = get_manifest(&registry, repo, &reference.reference()).await?;
        let mut listed: Vec<(crate::image::manifest::Descriptor, _)> = Vec::new();
        let index = if is_index(&top.media_type) {
            let index = Index::from_slice(&top.bytes)
                .with_context(|| format!("parsing the index of {reference}"))?;
            let wanted: Vec<_> = match platform {
                Some(platform) => {
                    vec![index
                        .select_platform(platform)
                        .cloned()
                        .map_err(|offered| {
                            crate::error::usage_hint(
                                format!("{reference}: no image for platform {platform}"),
                                format!("it offers {}", offered.join(", ")),
                            )
                        })?]
                }
                None => index.manifests.clone(),
            };
            for descriptor in wanted {
                if is_index(&descriptor.media_type) {
                    anyhow::bail!(
                        "{reference}: lists another index ({}); hoist copies one level of index",
                        descriptor.digest
                    );
                }
                let fetched = get_manifest(&registry, repo, descriptor.digest.as_str()).await?;
                listed.push((descriptor, fetched));
            }
            platform.is_none().then_some(top)
        } else {
            let descriptor =
                crate::image::manifest::Descriptor::of_bytes(&top.media_type, &top.bytes);
            listed.push((descriptor, top));
            None
        };
        let mut images = Vec::new();
        let mut bases = Vec::new();
        for (descriptor, fetched) in listed {
            let manifest = crate::image::manifest::Manifest::from_slice(&fetched.bytes)
                .with_context(|| format!("parsing manifest {} of {reference}", fetched.digest))?;
            let config_path =
                ensure_blob(&registry, repo, &manifest.config.digest, &self.blob_dir).await?;
            let config_bytes = std::fs::read(&config_path)
                .with_context(|| format!("reading {}", config_path.display()))?;
            let image = crate::dest::stored_image(
                &reference.to_string(),
                &fetched.media_type,
                fetched.bytes,
                config_bytes,
                descriptor.platform.as_ref(),
                |digest| self.blob_dir.join(digest.hex()),
            )?;
            if let (Some(wanted), None) = (platform, &index) {
                check_platform(
                    &reference.to_string(),
                    &ImageConfig::from_slice(&image.config_bytes).unwrap_or_default(),
                    wanted,
                )?;
            }
            bases.push(BaseImage {
                format: image.format,
                config: ImageConfig::from_slice(&image.config_bytes).unwrap_or_default(),
                layers: image.layers.clone(),
                digest: Some(image.digest.clone()),
                name: reference.to_string(),
                remote: Some(reference.clone()),
            });
            images.push(image);
        }
        let publication = match index {
            Some(top) => Publication::Multi {
                images,
                index_bytes: top.bytes,
                media_type: top.media_type,
            },
            None => Publication::Single(Box::new(images.remove(0))),
        };
        Ok((publication, bases))
    }

    /// Puts `tags` on the manifest `source` (pinned by digest) names, in the
    /// same repository: one manifest `GET` by digest and a `PUT` per tag, no
    /// blob traffic (the blobs are there: the manifest is).
    pub(crate) async fn retag(
        &self,
        source: &ImageReference,
        tags: &[String],
    ) -> Result<crate::registry::tags::TagResult> {
        let registry = self.pool.get(&source.registry).await?;
        let fetched = crate::registry::manifests::get_manifest(
            &registry,
            &source.repository,
            &source.reference(),
        )
        .await?;
        let mutability = self.tag_mutability(source).await;
        put_tagged(
            &registry,
            &source.repository,
            tags,
            &fetched.media_type,
            &fetched.bytes,
            &mutability,
            self.immutable_tags,
        )
        .await
    }

    /// The tags that name `image`'s digest in its repository: ECR's
    /// DescribeImages for ECR hosts (`None`: ECR does not have the image,
    /// e.g. a lifecycle policy expired it), else the registry's tag list,
    /// each tag looked up.
    pub async fn tags_of(&self, image: &ImageReference) -> Result<Option<Vec<String>>> {
        let digest = pinned_digest(image)?;
        if is_ecr_host(&image.registry) {
            let aws = self.pool.aws_for(&image.registry);
            return crate::registry::ecr::image_tags(
                &image.registry,
                &image.repository,
                digest.as_str(),
                aws,
            )
            .await;
        }
        self.registry_tags_of(image).await.map(Some)
    }

    /// The tags naming `image`'s digest, from the registry's own tag list.
    async fn registry_tags_of(&self, image: &ImageReference) -> Result<Vec<String>> {
        let digest = pinned_digest(image)?;
        let registry = self.pool.get(&image.registry).await?;
        crate::registry::manifests::tags_naming(&registry, &image.repository, &digest).await
    }

    /// For an image in ECR: one warning line when the repository's lifecycle
    /// policy would expire it (with the tags it has now), so that ECS could
    /// no longer pull it at the next scale-out. `None` when it is safe, not
    /// in ECR, or the repository has no policy.
    pub async fn lifecycle_warning(&self, image: &ImageReference) -> Result<Option<String>> {
        if !is_ecr_host(&image.registry) {
            return Ok(None);
        }
        let aws = self.pool.aws_for(&image.registry).clone();
        let Some(text) =
            crate::registry::ecr::lifecycle_policy(&image.registry, &image.repository, &aws)
                .await?
        else {
            return Ok(None);
        };
        let policy = crate::registry::lifecycle::LifecyclePolicy::parse(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}/{}: lifecycle policy: {e}",
                image.registry,
                image.repository
            )
        })?;
        // Just pushed, ECR may not list it yet: then its registry API does.
        let tags = match self.tags_of(image).await? {
            Some(tags) => tags,
            None => self.registry_tags_of(image).await?,
        };
        // ECR counts referrers as images (aws/containers-roadmap#2613):
        // this image's, from the referrers API; and when the rule that
        // handles it counts untagged or any images and referrers take part,
        // the repository's total (DescribeImages). A count that cannot be
        // read is not known, never 0.
        let referrers = self.referrer_count(image).await;
        let images = if referrers > 0 && policy.counts_referrers(&tags) {
            crate::registry::ecr::image_count(&image.registry, &image.repository, &aws)
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        let counted = crate::registry::lifecycle::Counted { images, referrers };
        Ok(policy.risk_counted(&tags, &counted).map(|risk| {
            let held = if tags.is_empty() {
                "no tag".to_string()
            } else {
                format!("tags {}", tags.join(", "))
            };
            format!(
                "warning: {image} runs, held by {held}; the lifecycle policy of {} may expire it ({}) and ECS could then not pull it (hint: add a rule of higher priority that keeps this environment's tags, e.g. tagPatternList [\"prod-*\"] with countNumber {}+)",
                image.repository,
                risk.rule,
                crate::registry::lifecycle::KEEP_THRESHOLD
            )
        }))
    }

    /// How many referrers `image` (pinned by digest) has, for the lifecycle
    /// warning: a registry that cannot list them counts none.
    async fn referrer_count(&self, image: &ImageReference) -> usize {
        let Ok(digest) = pinned_digest(image) else {
            return 0;
        };
        let Ok(registry) = self.pool.get(&image.registry).await else {
            return 0;
        };
        crate::registry::referrers::list_referrers(&registry, &image.repository, &digest, None)
            .await
            .map_or(0, |listed| listed.len())
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

    /// Streams for the app layers of a push to `target` (one per layer, in
    /// order), when streaming them while they are written pays: when the
    /// repository holds no tag yet (a first push: every layer is new), or
    /// when `cache_warm` (a layer the cache does not have is new content).
    /// A fresh CI runner without a cache pushing to a repository used before
    /// does not stream: most of its layers are likely there already, and a
    /// HEAD after the build saves sending them. `None`: no streaming.
    pub(crate) async fn layer_streams(
        &self,
        target: &ImageReference,
        count: usize,
        cache_warm: bool,
    ) -> Result<Option<LayerStreams>> {
        let repo = &target.repository;
        self.ensure_ecr_repository(target).await?;
        let registry = self.pool.get(&target.registry).await?;
        if !cache_warm && crate::registry::manifests::has_tags(&registry, repo).await? {
            return Ok(None);
        }
        let (tees, tasks) = (0..count)
            .map(|_| crate::registry::stream::stream_blob(registry.clone(), repo.clone()))
            .map(|(tee, task)| (Some(tee), task))
            .unzip();
        Ok(Some(LayerStreams { tees, tasks }))
    }

    /// Attaches `referrers` to their subjects in `target`'s repository: a
    /// referrer whose kind (`dev.hoist.attestation`) the subject already
    /// carries is left alone, so a re-run pushes nothing. Each outcome is
    /// returned; a refusal is an outcome, not an error.
    pub(crate) async fn attach_referrers(
        &self,
        target: &ImageReference,
        referrers: &[crate::registry::referrers::Referrer],
    ) -> Result<Vec<(crate::registry::referrers::Referrer, ReferrerPush)>> {
        use crate::registry::referrers::{list_referrers, push_referrer, ReferrerOutcome};
        let registry = self.pool.get(&target.registry).await?;
        let repo = &target.repository;
        let mut outcomes = Vec::new();
        for referrer in referrers {
            let kind = referrer
                .descriptor
                .annotations
                .as_ref()
                .and_then(|a| a.get(crate::attest::KIND_ANNOTATION))
                .cloned();
            let present = list_referrers(&registry, repo, &referrer.subject, None).await?;
            let carried = kind.as_ref().is_some_and(|kind| {
                present.iter().any(|d| {
                    d.annotations
                        .as_ref()
                        .and_then(|a| a.get(crate::attest::KIND_ANNOTATION))
                        == Some(kind)
                })
            });
            let pushed = if carried {
                ReferrerPush {
                    outcome: ReferrerOutcome::AlreadyThere,
                    uploaded_blobs: 0,
                }
            } else {
                push_referrer(&registry, repo, referrer).await?
            };
            outcomes.push((referrer.clone(), pushed));
        }
        Ok(outcomes)
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
        streamed: &[Digest],
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
        let (outcomes, tagged, streamed) = {
            self.ensure_ecr_repository(target).await?;
            let registry = self.pool.get(&target.registry).await?;
            // Blobs streamed while the layers were written are there already.
            let (sent, to_push): (Vec<&BlobToPush>, Vec<&BlobToPush>) =
                blobs.iter().partition(|b| streamed.contains(&b.digest));
            let to_push: Vec<BlobToPush> = to_push.into_iter().cloned().collect();
            let pushed = push_blobs(&registry, repo, &to_push, self.push, progress).await?;
            for blob in &sent {
                progress.blob_started(&blob.digest, blob.size);
                progress.blob_finished(&blob.digest, blob.size, BlobOutcome::Uploaded);
            }
            let outcomes: Vec<BlobOutcome> = blobs
                .iter()
                .map(
                    |b| match to_push.iter().position(|p| p.digest == b.digest) {
                        Some(i) => pushed[i],
                        None => BlobOutcome::Uploaded,
                    },
                )
                .collect();
            if let Publication::Multi { images, .. } = publication {
                for image in images {
                    let media_type = image.format.manifest_media_type();
                    push_manifest_by_digest(&registry, repo, media_type, &image.manifest_bytes)
                        .await?;
                }
            }
            let (media_type, bytes) = publication.top();
            let mutability = self.tag_mutability(target).await;
            let tagged = put_tagged(
                &registry,
                repo,
                &tags,
                media_type,
                bytes,
                &mutability,
                self.immutable_tags,
            )
            .await?;
            (outcomes, tagged, sent.len())
        };
        let count = |wanted: BlobOutcome| outcomes.iter().filter(|o| **o == wanted).count();
        Ok(PushSummary {
            uploaded: count(BlobOutcome::Uploaded),
            streamed,
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
            tags: tagged.written,
            skipped_tags: tagged.skipped,
        })
    }

    /// The tag mutability of `target`'s repository: read from ECR
    /// (DescribeRepositories, once per push) for ECR hosts, else unknown.
    pub(crate) async fn tag_mutability(&self, target: &ImageReference) -> TagMutability {
        if is_ecr_host(&target.registry) {
            crate::registry::ecr::tag_mutability(&target.registry, &target.repository, &self.aws)
                .await
        } else {
            TagMutability::Unknown
        }
    }
}
