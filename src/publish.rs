//! Writing a built image to its destination, and making again any blob
//! found bad on the way. Destinations check what they take: a layout or an
//! archive hashes each blob this run did not make (`dest`), a registry checks
//! what it receives. When one of them reports a blob that does not match its
//! digest, a cached layer is rebuilt (one warning line), a base layer or
//! config kept in the cache is dropped to be downloaded or written again, and
//! the write is tried again — each blob once. A bad blob of an `oci:` base
//! cannot be made here: that is a one-line error naming it.

use crate::dest::remote::{PushSummary, RegistryAccess};
use crate::dest::{self, BaseImage, Location};
use crate::error::usage;
use crate::image::assemble::Publication;
use crate::image::cache::LayerCache;
use crate::image::digest::DigestMismatch;
use crate::image::layer::{BuiltLayer, LayerSpec};
use crate::image::Digest;
use crate::registry::blobs::DigestRejected;
use crate::registry::push::PushProgress;
use anyhow::Result;
use std::collections::BTreeSet;
use std::path::Path;

/// Where a built image goes, with what it needs to get there.
pub(crate) struct Output<'a> {
    /// The destination.
    pub to: &'a Location,
    /// More tags (registry destinations).
    pub tags: &'a [String],
    /// The image (or index).
    pub publication: &'a Publication,
    /// Each platform's base.
    pub bases: &'a [BaseImage],
    /// Registry clients, when a registry is involved.
    pub registries: Option<&'a RegistryAccess>,
    /// The build's work directory.
    pub work: &'a Path,
    /// Layers streamed to the registry while they were written.
    pub streamed: &'a [Digest],
}

/// What the build knows to make its layers again.
pub(crate) struct Repairs<'a> {
    /// Each app layer's spec…
    pub specs: &'a [LayerSpec],
    /// …what it became…
    pub built: &'a [BuiltLayer],
    /// …and whether that came from the cache.
    pub cached: &'a [bool],
    /// The layer cache, if the build uses one.
    pub cache: Option<&'a LayerCache>,
}

/// Writes (or pushes) `output`, repairing bad blobs as they are found.
pub(crate) async fn publish(
    output: &Output<'_>,
    repairs: Repairs<'_>,
    progress: &dyn PushProgress,
) -> Result<Option<PushSummary>> {
    let mut repaired = BTreeSet::new();
    // Each round repairs one blob or gives up; a blob is repaired at most once.
    let blobs = repairs.built.len() + output.bases.iter().map(|b| b.layers.len()).sum::<usize>();
    for _ in 0..=blobs + 1 {
        match output.write(progress).await {
            Ok(summary) => return Ok(summary),
            Err(error) => repair(output, &repairs, &mut repaired, error)?,
        }
    }
    anyhow::bail!(
        "writing {}: blobs kept failing their digest check",
        output.to
    )
}

impl Output<'_> {
    /// Writes (or pushes) the image once.
    async fn write(&self, progress: &dyn PushProgress) -> Result<Option<PushSummary>> {
        match self.to {
            Location::OciLayout { dir, tag } => {
                for base in self.bases {
                    self.fetch_base_layers(base).await?;
                }
                dest::oci_layout::write_image(dir, tag.as_deref(), self.publication)?;
                Ok(None)
            }
            Location::DockerArchive { file, reference } => {
                self.fetch_base_layers(&self.bases[0]).await?;
                let image = &self.publication.images()[0];
                dest::docker_archive::write_image(file, reference.as_deref(), image, self.work)?;
                Ok(None)
            }
            Location::Registry(target) => {
                let access = self
                    .registries
                    .expect("made by the build for registry destinations");
                let summary = access
                    .push(
                        target,
                        self.tags,
                        self.publication,
                        self.bases,
                        self.streamed,
                        progress,
                    )
                    .await?;
                Ok(Some(summary))
            }
            Location::Scratch => Err(usage("--to scratch: scratch is only a base")),
        }
    }

    async fn fetch_base_layers(&self, base: &BaseImage) -> Result<()> {
        match self.registries {
            Some(access) => access.fetch_base_layers(base).await,
            None => Ok(()),
        }
    }
}

/// Repairs the blob `error` is about and returns `Ok` to try again, or
/// returns the error (made clearer when it names a base layout's blob).
fn repair(
    output: &Output<'_>,
    repairs: &Repairs<'_>,
    repaired: &mut BTreeSet<Digest>,
    error: anyhow::Error,
) -> Result<()> {
    let Some(digest) = bad_blob(&error) else {
        return Err(error);
    };
    if !repaired.insert(digest.clone()) {
        return Err(error);
    }
    let cached_layer =
        (0..repairs.built.len()).find(|&i| repairs.built[i].digest == digest && repairs.cached[i]);
    if let (Some(i), Some(cache)) = (cached_layer, repairs.cache) {
        let name = &repairs.built[i].name;
        eprintln!(
            "hoist: warning: cached layer {name} ({digest}) does not match its digest; discarded it and rebuilt the layer"
        );
        let rebuilt = cache.rewrite(&repairs.specs[i])?;
        if rebuilt.digest != digest {
            anyhow::bail!(
                "cached layer {name} was recorded as {digest} but rebuilds as {} (hint: run the build again)",
                rebuilt.digest
            );
        }
        return Ok(());
    }
    let from_layout = output.bases.iter().find(|base| {
        base.remote.is_none()
            && base
                .layers
                .iter()
                .any(|l| l.descriptor.digest == digest && l.check)
    });
    if let Some(base) = from_layout {
        anyhow::bail!(
            "base {}: layer blob {digest} does not match its digest (the layout is damaged; hint: copy the base image into it again)",
            base.name
        );
    }
    if let Some(access) = output.registries {
        if access.discard_blob(&digest) {
            eprintln!(
                "hoist: warning: cached blob {digest} does not match its digest; discarded it to fetch or write it again"
            );
            return Ok(());
        }
    }
    Err(error)
}

/// The digest of the blob `error` says does not match it, if it says so.
fn bad_blob(error: &anyhow::Error) -> Option<Digest> {
    error.chain().find_map(|cause| {
        if let Some(mismatch) = cause.downcast_ref::<DigestMismatch>() {
            return Some(mismatch.expected.clone());
        }
        cause
            .downcast_ref::<DigestRejected>()
            .map(|rejected| rejected.digest.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_blobs_are_found_anywhere_in_the_chain() {
        let expected = Digest::of(b"a");
        let mismatch = anyhow::Error::new(DigestMismatch {
            expected: expected.clone(),
            actual: Digest::of(b"b"),
            path: "/x".into(),
        })
        .context("writing the image");
        assert_eq!(bad_blob(&mismatch), Some(expected));
        assert_eq!(bad_blob(&anyhow::anyhow!("refused")), None);
    }
}
