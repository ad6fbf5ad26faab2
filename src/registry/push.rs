//! Pushing: blobs in parallel (bounded), each HEAD → mount → upload; then
//! the manifest by digest ([`crate::registry::tags`] puts it under tags). A
//! manifest goes up only after all its blobs.

use crate::image::Digest;
use crate::registry::blobs::{blob_exists, mount_blob, upload_blob, MountOutcome};
use crate::registry::manifests::{put_manifest, PutOutcome};
use crate::registry::pull::ensure_blob;
use crate::registry::transport::Registry;
use anyhow::Result;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use std::path::PathBuf;

/// What happened to one blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobOutcome {
    /// Its bytes were sent.
    Uploaded,
    /// The registry linked it from another repository.
    Mounted,
    /// The repository had it already.
    Present,
}

/// A blob to put in the target repository.
#[derive(Clone, Debug)]
pub(crate) struct BlobToPush {
    /// Its digest.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// Where its bytes are (or will be put, when fetched from `origin`).
    pub path: PathBuf,
    /// Another repository of the same registry that has it (mount source,
    /// and where to fetch it from if it is not on disk).
    pub origin: Option<String>,
}

/// Hears about blob progress; the CLI draws it.
pub trait PushProgress: Send + Sync {
    /// A blob is being looked at.
    fn blob_started(&self, _digest: &Digest, _size: u64) {}
    /// Bytes of a blob were sent.
    fn blob_bytes(&self, _digest: &Digest, _bytes: u64) {}
    /// A blob is done.
    fn blob_finished(&self, _digest: &Digest, _size: u64, _outcome: BlobOutcome) {}
}

/// Tuning for pushes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PushOptions {
    /// Blobs in flight at once.
    pub parallel: usize,
    /// Upload part size.
    pub chunk_size: usize,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            parallel: 4,
            chunk_size: crate::registry::blobs::DEFAULT_CHUNK_SIZE,
        }
    }
}

/// Puts every blob in `repo`; returns an outcome per blob, in order.
pub(crate) async fn push_blobs(
    registry: &Registry,
    repo: &str,
    blobs: &[BlobToPush],
    options: PushOptions,
    progress: &dyn PushProgress,
) -> Result<Vec<BlobOutcome>> {
    // Unordered, so a small blob never waits behind a big one's slot.
    let mut done: Vec<(usize, BlobOutcome)> = stream::iter(blobs.iter().enumerate())
        .map(|(i, blob)| async move {
            push_blob(registry, repo, blob, options, progress)
                .await
                .map(|o| (i, o))
        })
        .buffer_unordered(options.parallel.max(1))
        .try_collect()
        .await?;
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, outcome)| outcome).collect())
}

async fn push_blob(
    registry: &Registry,
    repo: &str,
    blob: &BlobToPush,
    options: PushOptions,
    progress: &dyn PushProgress,
) -> Result<BlobOutcome> {
    progress.blob_started(&blob.digest, blob.size);
    let outcome = if blob_exists(registry, repo, &blob.digest).await? {
        BlobOutcome::Present
    } else {
        let mut session = None;
        let mut mounted = false;
        if let Some(from) = blob.origin.as_deref().filter(|from| *from != repo) {
            match mount_blob(registry, repo, &blob.digest, from).await? {
                MountOutcome::Mounted => mounted = true,
                MountOutcome::UploadAt(location) => session = Some(location),
                MountOutcome::Refused => {}
            }
        }
        if mounted {
            BlobOutcome::Mounted
        } else {
            if !blob.path.is_file() {
                let from = blob.origin.as_deref().unwrap_or(repo);
                let dir = blob.path.parent().expect("blob paths have a parent");
                ensure_blob(registry, from, &blob.digest, dir).await?;
            }
            let on_bytes = |n: u64| progress.blob_bytes(&blob.digest, n);
            upload_blob(
                registry,
                repo,
                &blob.digest,
                &blob.path,
                options.chunk_size,
                session,
                &on_bytes,
            )
            .await?;
            BlobOutcome::Uploaded
        }
    };
    progress.blob_finished(&blob.digest, blob.size, outcome);
    Ok(outcome)
}

/// Pushes a manifest under its digest (the platform manifests of an index).
pub(crate) async fn push_manifest_by_digest(
    registry: &Registry,
    repo: &str,
    media_type: &str,
    bytes: &[u8],
) -> Result<()> {
    let digest = Digest::of(bytes);
    match put_manifest(registry, repo, digest.as_str(), media_type, bytes).await? {
        PutOutcome::Stored => Ok(()),
        PutOutcome::TagImmutable(answer) => Err(crate::registry::transport::answer_error(
            &answer,
            registry.host(),
            &format!("pushing manifest {repo}@{digest}"),
        )),
    }
}
