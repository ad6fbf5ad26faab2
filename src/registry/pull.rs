//! Pulling: resolve a reference to one platform's manifest and config, and
//! fetch layer blobs into a content-addressed directory only when needed.

use crate::error::usage_hint;
use crate::image::config::ImageConfig;
use crate::image::manifest::{is_index, Descriptor, Index, Manifest, ManifestFormat};
use crate::image::platform::Platform;
use crate::image::Digest;
use crate::registry::blobs::download_blob;
use crate::registry::manifests::get_manifest;
use crate::registry::reference::ImageReference;
use crate::registry::transport::Registry;
use anyhow::{anyhow, Context, Result};
use futures_util::stream::{self, TryStreamExt};
use std::path::{Path, PathBuf};

/// How many blobs are downloaded at once.
const PARALLEL_DOWNLOADS: usize = 4;

/// A base image resolved in a registry.
#[derive(Clone, Debug)]
pub(crate) struct RemoteImage {
    /// The manifest's format.
    pub format: ManifestFormat,
    /// The platform manifest's digest.
    pub digest: Digest,
    /// The config.
    pub config: ImageConfig,
    /// The layer descriptors, bottom first.
    pub layers: Vec<Descriptor>,
}

/// Resolves `reference` for `platform`: an index is narrowed to the matching
/// manifest; the config is fetched (and kept in `blob_dir`).
pub(crate) async fn resolve(
    registry: &Registry,
    reference: &ImageReference,
    platform: &Platform,
    blob_dir: &Path,
) -> Result<RemoteImage> {
    let repo = &reference.repository;
    let mut fetched = get_manifest(registry, repo, &reference.reference()).await?;
    if is_index(&fetched.media_type) {
        let index = Index::from_slice(&fetched.bytes)
            .with_context(|| format!("parsing the index of {reference}"))?;
        let chosen = index.select_platform(platform).map_err(|offered| {
            usage_hint(
                format!("base {reference}: unknown platform {platform}"),
                format!(
                    "the base offers {}; pass one with --platform",
                    offered.join(", ")
                ),
            )
        })?;
        fetched = get_manifest(registry, repo, chosen.digest.as_str()).await?;
    }
    let format = ManifestFormat::of_manifest(&fetched.media_type).ok_or_else(|| {
        anyhow!(
            "base {reference}: {} is not an image manifest",
            fetched.media_type
        )
    })?;
    let manifest = Manifest::from_slice(&fetched.bytes)
        .with_context(|| format!("parsing the manifest of {reference}"))?;
    let config_bytes = config_blob(registry, repo, &manifest.config.digest, blob_dir).await?;
    let config = ImageConfig::from_slice(&config_bytes)
        .with_context(|| format!("parsing the config of {reference}"))?;
    Ok(RemoteImage {
        format,
        digest: fetched.digest,
        config,
        layers: manifest.layers,
    })
}

/// The bytes of config blob `digest`: kept in `blob_dir`, downloaded again
/// when the kept copy does not match its digest (it is small: always checked).
async fn config_blob(
    registry: &Registry,
    repo: &str,
    digest: &Digest,
    blob_dir: &Path,
) -> Result<Vec<u8>> {
    let path = ensure_blob(registry, repo, digest, blob_dir).await?;
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    if &Digest::of(&bytes) == digest {
        return Ok(bytes);
    }
    eprintln!(
        "hoist: warning: cached config {digest} does not match its digest; downloading it again"
    );
    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    let path = ensure_blob(registry, repo, digest, blob_dir).await?;
    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
}

/// The path of `digest` in `blob_dir`, downloading it first if it is not there.
pub(crate) async fn ensure_blob(
    registry: &Registry,
    repo: &str,
    digest: &Digest,
    blob_dir: &Path,
) -> Result<PathBuf> {
    let path = blob_dir.join(digest.hex());
    // A broken-off download starts again (bounded); wrong bytes do not.
    let mut attempts = 0;
    while !path.is_file() {
        attempts += 1;
        match download_blob(registry, repo, digest, &path).await {
            Ok(()) => break,
            Err(error)
                if attempts < 3 && error.is::<crate::registry::blobs::DownloadInterrupted>() =>
            {
                continue
            }
            Err(error) => return Err(error),
        }
    }
    Ok(path)
}

/// Downloads every blob of `digests` missing from `blob_dir`, a few at a time.
pub(crate) async fn ensure_blobs(
    registry: &Registry,
    repo: &str,
    digests: &[Digest],
    blob_dir: &Path,
) -> Result<()> {
    stream::iter(digests.iter().map(Ok::<_, anyhow::Error>))
        .try_for_each_concurrent(PARALLEL_DOWNLOADS, |digest| async move {
            ensure_blob(registry, repo, digest, blob_dir)
                .await
                .map(|_| ())
        })
        .await
}
