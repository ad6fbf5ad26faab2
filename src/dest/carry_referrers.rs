//! The OCI 1.1 referrers `hoist copy` and `promote` carry with an image
//! (issue 26), from a registry or an OCI layout to a registry or an OCI
//! layout: every referrer of each manifest copied (the index and each
//! platform manifest) — hoist's SBOM and provenance and anyone's
//! signatures — and the referrers of those (a signature of an SBOM),
//! [`MAX_REFERRER_DEPTH`] levels and [`MAX_REFERRERS`] at most. Their bytes
//! are kept, so are their digests.
//!
//! A registry lists them through the referrers API or its fallback tag; a
//! layout lists them as the `index.json` entries whose manifest names the
//! subject. A registry takes them with `OCI-Subject` or the fallback tag; a
//! layout as one more untagged `index.json` entry. A referrer the
//! destination refuses (ECR answers 405 to one whose subject is an index:
//! aws/containers-roadmap#2783) is named in one line and the copy goes on.
//! A docker archive holds no referrers.

use crate::dest::oci_layout;
use crate::image::manifest::{is_index, Descriptor, Manifest};
use crate::image::Digest;
use crate::registry::referrers::{
    list_referrers, push_referrer, referrer_descriptor, Referrer, ReferrerOutcome,
};
use crate::registry::transport::Registry;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Levels of referrers a copy follows: the image's, and theirs (a
/// signature of an SBOM).
pub(crate) const MAX_REFERRER_DEPTH: usize = 2;
/// Referrers a copy carries at most; the rest are counted as left behind.
pub(crate) const MAX_REFERRERS: usize = 256;
/// Bytes of blobs one referrer may have (they are held in memory).
const MAX_REFERRER_BLOB_BYTES: u64 = 64 << 20;

/// The referrers a copy carried.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferrersCopied {
    /// Referrers written to the destination.
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

/// Where referrers are read from or written to.
pub(crate) enum ReferrerStore {
    /// A repository in a registry.
    Registry {
        /// The registry's client.
        registry: Arc<Registry>,
        /// The repository.
        repository: String,
    },
    /// An OCI image layout.
    Layout {
        /// The layout directory.
        dir: PathBuf,
    },
}

impl std::fmt::Display for ReferrerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReferrerStore::Registry {
                registry,
                repository,
            } => write!(f, "{}/{repository}", registry.host()),
            ReferrerStore::Layout { dir } => write!(f, "oci:{}", dir.display()),
        }
    }
}

impl ReferrerStore {
    /// The referrers of `subject` listed here.
    async fn list(&self, subject: &Digest) -> Result<Vec<Descriptor>> {
        match self {
            ReferrerStore::Registry {
                registry,
                repository,
            } => list_referrers(registry, repository, subject, None).await,
            ReferrerStore::Layout { dir } => oci_layout::referrers_of(dir, subject),
        }
    }

    /// The referrer `digest` of `subject`, bytes as stored, with its blobs
    /// (config and layers, checked against their digests); `Err(reason)`
    /// for one hoist does not carry: an index, or one whose blobs are
    /// larger than [`MAX_REFERRER_BLOB_BYTES`].
    async fn fetch(
        &self,
        subject: &Digest,
        digest: &Digest,
        scratch: &Path,
    ) -> Result<std::result::Result<Referrer, String>> {
        let (media_type, bytes) = match self {
            ReferrerStore::Registry {
                registry,
                repository,
            } => {
                let fetched =
                    crate::registry::manifests::get_manifest(registry, repository, digest.as_str())
                        .await?;
                (fetched.media_type, fetched.bytes)
            }
            ReferrerStore::Layout { dir } => {
                let bytes = oci_layout::read_checked_blob(dir, digest)?;
                let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v["mediaType"].as_str().map(str::to_string))
                    .unwrap_or_default();
                (media_type, bytes)
            }
        };
        if is_index(&media_type) {
            return Ok(Err(format!(
                "it is an index ({media_type}); hoist carries referrers that are image manifests"
            )));
        }
        let manifest = Manifest::from_slice(&bytes)
            .with_context(|| format!("parsing referrer {digest} in {self}"))?;
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
            blobs.push(match self {
                ReferrerStore::Registry {
                    registry,
                    repository,
                } => {
                    let path = crate::registry::pull::ensure_blob(
                        registry,
                        repository,
                        &descriptor.digest,
                        scratch,
                    )
                    .await?;
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?
                }
                ReferrerStore::Layout { dir } => {
                    oci_layout::read_checked_blob(dir, &descriptor.digest)?
                }
            });
        }
        Ok(Ok(Referrer {
            descriptor: referrer_descriptor(&bytes)?,
            digest: digest.clone(),
            subject: subject.clone(),
            blobs,
            manifest: bytes,
        }))
    }

    /// Writes `referrer` here.
    async fn add(&self, referrer: &Referrer) -> Result<ReferrerOutcome> {
        match self {
            ReferrerStore::Registry {
                registry,
                repository,
            } => Ok(push_referrer(registry, repository, referrer).await?.outcome),
            ReferrerStore::Layout { dir } => Ok(if oci_layout::add_referrer(dir, referrer)? {
                ReferrerOutcome::Api
            } else {
                ReferrerOutcome::AlreadyThere
            }),
        }
    }
}

/// Carries the referrers of `subjects` (manifests now in both places) from
/// `from` to `to`, then theirs, down to [`MAX_REFERRER_DEPTH`] levels. A
/// referrer refused or not carried is one warning line; a source that
/// cannot list its referrers is one too.
pub(crate) async fn carry_referrers(
    from: &ReferrerStore,
    to: &ReferrerStore,
    subjects: &[Digest],
    scratch: &Path,
) -> Result<ReferrersCopied> {
    let mut copied = ReferrersCopied::default();
    let mut seen: HashSet<Digest> = subjects.iter().cloned().collect();
    let mut level = subjects.to_vec();
    for _ in 0..MAX_REFERRER_DEPTH {
        let mut next = Vec::new();
        for subject in &level {
            let listed = match from.list(subject).await {
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
                let referrer = match from.fetch(subject, &descriptor.digest, scratch).await? {
                    Ok(referrer) => referrer,
                    Err(reason) => {
                        refused(&reason);
                        copied.refused += 1;
                        continue;
                    }
                };
                match to.add(&referrer).await? {
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
