//! The SBOM attached to an image as an OCI 1.1 referrer (artifactType
//! [`CYCLONEDX`]), read back from a registry or an OCI layout, for
//! `hoist sbom IMAGE`. Only reads; the SBOM itself is [`crate::sbom`]'s.

use crate::image::manifest::{is_index, Descriptor, Index, Manifest};
use crate::image::platform::Platform;
use crate::image::Digest;
use crate::registry::manifests::get_manifest;
use crate::registry::pool::RegistryPool;
use crate::registry::referrers::list_referrers;
use crate::registry::{ClientOptions, ImageReference};
use anyhow::{anyhow, bail, Context, Result};
use std::path::Path;

/// The artifactType of a CycloneDX JSON SBOM referrer.
pub const CYCLONEDX: &str = "application/vnd.cyclonedx+json";
/// The annotation ordering referrers by age.
const CREATED: &str = "org.opencontainers.image.created";

/// An SBOM read from an image's referrers.
#[derive(Clone, Debug)]
pub struct AttachedSbom {
    /// The manifest the SBOM describes (a platform manifest).
    pub subject: Digest,
    /// The referrer manifest holding it.
    pub referrer: Digest,
    /// The document, as stored (its digest checked).
    pub bytes: Vec<u8>,
}

/// Why there is no SBOM to print.
#[derive(Debug, thiserror::Error)]
#[error("{what}: no SBOM attached to {subject}")]
pub struct NoSbom {
    /// The image as the user named it.
    pub what: String,
    /// The manifest searched.
    pub subject: Digest,
}

/// The newest descriptor (by `org.opencontainers.image.created`, else the
/// first listed) among `referrers`.
pub fn newest(referrers: &[Descriptor]) -> Option<&Descriptor> {
    let mut best: Option<&Descriptor> = None;
    for d in referrers {
        best = match best {
            Some(b)
                if d.annotation(CREATED).unwrap_or("") <= b.annotation(CREATED).unwrap_or("") =>
            {
                Some(b)
            }
            _ => Some(d),
        };
    }
    best
}

/// Which manifest of an index to read: `platform`'s, else linux/amd64's,
/// else the only one.
fn pick(index: &Index, platform: Option<&Platform>, what: &str) -> Result<Descriptor> {
    let images: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| d.platform.as_ref().is_some_and(|p| p.os != "unknown"))
        .collect();
    let wanted = platform
        .cloned()
        .unwrap_or_else(Platform::default_linux_amd64);
    if let Ok(d) = index.select_platform(&wanted) {
        return Ok(d.clone());
    }
    let offered: Vec<String> = images
        .iter()
        .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
        .collect();
    match (platform, images.as_slice()) {
        (None, [only]) => Ok((*only).clone()),
        _ => Err(crate::error::usage_hint(
            format!("{what}: no image for platform {wanted}"),
            format!("it offers {}; pick one with --platform", offered.join(", ")),
        )),
    }
}

/// The newest CycloneDX SBOM attached to the image `reference` names (for
/// an index: the manifest [`pick`] chooses), from the registry's referrers
/// (API, else the fallback tag).
pub async fn registry_sbom(
    options: ClientOptions,
    reference: &ImageReference,
    platform: Option<&Platform>,
) -> Result<AttachedSbom> {
    let pool = RegistryPool::new(options);
    let registry = pool.get(&reference.registry).await?;
    let repo = &reference.repository;
    let what = reference.to_string();
    let top = get_manifest(&registry, repo, &reference.reference()).await?;
    let subject = if is_index(&top.media_type) {
        let index = Index::from_slice(&top.bytes)
            .with_context(|| format!("parsing the index of {what}"))?;
        pick(&index, platform, &what)?.digest
    } else {
        top.digest.clone()
    };
    let listed = list_referrers(&registry, repo, &subject, Some(CYCLONEDX)).await?;
    let listed: Vec<Descriptor> = listed
        .into_iter()
        .filter(|d| d.extra.get("artifactType").and_then(|v| v.as_str()) == Some(CYCLONEDX))
        .collect();
    let Some(chosen) = newest(&listed) else {
        return Err(NoSbom { what, subject }.into());
    };
    let fetched = get_manifest(&registry, repo, chosen.digest.as_str()).await?;
    let manifest = Manifest::from_slice(&fetched.bytes)
        .with_context(|| format!("parsing referrer {} of {what}", chosen.digest))?;
    let layer = document_layer(&manifest, &what, &chosen.digest)?;
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    let path =
        crate::registry::pull::ensure_blob(&registry, repo, &layer.digest, dir.path()).await?;
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    check(&bytes, &layer.digest, &what)?;
    Ok(AttachedSbom {
        subject,
        referrer: chosen.digest.clone(),
        bytes,
    })
}

/// The SBOM layer of a referrer manifest: its one layer (the first whose
/// media type is CycloneDX's when there are several).
fn document_layer<'a>(
    manifest: &'a Manifest,
    what: &str,
    referrer: &Digest,
) -> Result<&'a Descriptor> {
    manifest
        .layers
        .iter()
        .find(|l| l.media_type == CYCLONEDX)
        .or(manifest.layers.first())
        .ok_or_else(|| anyhow!("{what}: SBOM referrer {referrer} has no layer"))
}

fn check(bytes: &[u8], digest: &Digest, what: &str) -> Result<()> {
    if Digest::of(bytes) != *digest {
        bail!("{what}: the SBOM blob does not match its digest {digest}");
    }
    Ok(())
}

/// The newest CycloneDX SBOM that `dir`'s index.json lists as a referrer of
/// the image `tag` names (else the only image): a descriptor with the
/// CycloneDX artifactType whose manifest's `subject` is that image or one of
/// its platform manifests. `Ok(None)`: none listed.
pub fn layout_sbom(
    dir: &Path,
    tag: Option<&str>,
    platform: Option<&Platform>,
) -> Result<Option<AttachedSbom>> {
    let what = match tag {
        Some(t) => format!("oci:{}:{t}", dir.display()),
        None => format!("oci:{}", dir.display()),
    };
    let read = |d: &Descriptor| -> Result<Vec<u8>> {
        let path = dir
            .join("blobs")
            .join(d.digest.algorithm())
            .join(d.digest.hex());
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        check(&bytes, &d.digest, &what)?;
        Ok(bytes)
    };
    let index_path = dir.join("index.json");
    let text =
        std::fs::read(&index_path).with_context(|| format!("reading {}", index_path.display()))?;
    let index =
        Index::from_slice(&text).with_context(|| format!("parsing {}", index_path.display()))?;
    let is_sbom =
        |d: &Descriptor| d.extra.get("artifactType").and_then(|v| v.as_str()) == Some(CYCLONEDX);
    let images: Vec<&Descriptor> = index.manifests.iter().filter(|d| !is_sbom(d)).collect();
    fn named(d: &Descriptor) -> Option<&str> {
        d.annotation("org.opencontainers.image.ref.name")
    }
    let image = match tag {
        Some(t) => images.iter().find(|d| named(d) == Some(t)).copied(),
        None => match images.as_slice() {
            [only] => Some(*only),
            many => many.iter().find(|d| named(d).is_some()).copied(),
        },
    }
    .ok_or_else(|| anyhow!("{what}: no such image in the layout"))?;
    let mut subjects = vec![image.digest.clone()];
    if is_index(&image.media_type) {
        let inner = Index::from_slice(&read(image)?)
            .with_context(|| format!("parsing the index of {what}"))?;
        let chosen = pick(&inner, platform, &what)?;
        subjects = vec![chosen.digest.clone(), image.digest.clone()];
    }
    let mut found: Vec<(Descriptor, Digest)> = Vec::new();
    for d in index.manifests.iter().filter(|d| is_sbom(d)) {
        let value: serde_json::Value = serde_json::from_slice(&read(d)?)
            .with_context(|| format!("parsing referrer {} of {what}", d.digest))?;
        let subject = value["subject"]["digest"]
            .as_str()
            .and_then(|s| Digest::parse(s).ok());
        if let Some(subject) = subject.filter(|s| subjects.contains(s)) {
            found.push((d.clone(), subject));
        }
    }
    let listed: Vec<Descriptor> = found.iter().map(|(d, _)| d.clone()).collect();
    let Some(chosen) = newest(&listed) else {
        return Ok(None);
    };
    let subject = found
        .iter()
        .find(|(d, _)| d.digest == chosen.digest)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| image.digest.clone());
    let manifest = Manifest::from_slice(&read(chosen)?)?;
    let layer = document_layer(&manifest, &what, &chosen.digest)?;
    Ok(Some(AttachedSbom {
        subject,
        referrer: chosen.digest.clone(),
        bytes: read(layer)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn referrer(n: u8, created: Option<&str>) -> Descriptor {
        let mut d = Descriptor::of_bytes(crate::image::manifest::OCI_MANIFEST, &[n]);
        if let Some(c) = created {
            d.annotations = Some(BTreeMap::from([(CREATED.to_string(), c.to_string())]));
        }
        d
    }

    #[test]
    fn the_newest_by_created_else_the_first() {
        let a = referrer(1, Some("2026-01-01T00:00:00Z"));
        let b = referrer(2, Some("2026-03-01T00:00:00Z"));
        let c = referrer(3, None);
        assert_eq!(
            newest(&[a.clone(), b.clone(), c.clone()]).unwrap().digest,
            b.digest
        );
        assert_eq!(
            newest(&[c.clone(), referrer(4, None)]).unwrap().digest,
            c.digest
        );
        assert!(newest(&[]).is_none());
    }
}
