//! OCI image layouts (`oci:DIR[:TAG]`): reading a base from one, adding an
//! image to one. Tags are `org.opencontainers.image.ref.name` annotations in
//! `index.json`; adding an image keeps the layout's other tags.
//!
//! A layout gets its own copy of every blob (a reflink where the file system
//! can), never a hard link into the layer cache or a base layout, so nothing
//! done to those later reaches a finished layout. Blobs this run did not
//! make (cache hits, base layers) are hashed as they are copied; all of an
//! image's missing blobs are staged and checked before the first is placed,
//! so a blob that does not match its digest leaves the layout untouched.

use crate::dest::{check_platform, BaseImage};
use crate::error::{usage, usage_hint};
use crate::image::assemble::{Image, ImageLayer, Publication};
use crate::image::config::ImageConfig;
use crate::image::digest::{DigestMismatch, HashingWriter};
use crate::image::manifest::{
    is_index, Descriptor, Index, Manifest, ManifestFormat, REF_NAME_ANNOTATION,
};
use crate::image::platform::Platform;
use crate::image::Digest;
use crate::util::fs::{disk_full_or, is_disk_full, write_atomic, DiskFull};
use crate::util::temp::{self, Place, TempFile, TempKind};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The path of a blob in the layout at `dir`.
pub(crate) fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs")
        .join(digest.algorithm())
        .join(digest.hex())
}

fn name_of(dir: &Path, tag: Option<&str>) -> String {
    match tag {
        Some(t) => format!("oci:{}:{t}", dir.display()),
        None => format!("oci:{}", dir.display()),
    }
}

/// Reads a blob and checks it against its digest.
fn read_blob(dir: &Path, descriptor: &Descriptor) -> Result<Vec<u8>> {
    let path = blob_path(dir, &descriptor.digest);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "reading blob {} of oci:{}",
            descriptor.digest,
            dir.display()
        )
    })?;
    if Digest::of(&bytes) != descriptor.digest {
        anyhow::bail!(
            "blob {} of oci:{} does not match its digest (the layout is corrupt)",
            descriptor.digest,
            dir.display()
        );
    }
    Ok(bytes)
}

/// Reads the base image `tag` (or the only image) of the layout at `dir`.
pub(crate) fn read_base(dir: &Path, tag: Option<&str>, platform: &Platform) -> Result<BaseImage> {
    let name = name_of(dir, tag);
    let index_bytes = std::fs::read(dir.join("index.json")).map_err(|_| {
        usage_hint(
            format!("base {name}: no OCI image layout at {}", dir.display()),
            "check the path; an OCI layout has index.json and blobs/ (skopeo copy ... oci:DIR:TAG makes one)",
        )
    })?;
    let index = Index::from_slice(&index_bytes)
        .map_err(|e| usage(format!("base {name}: index.json is not valid ({e})")))?;
    let mut descriptor = select_tag(dir, &index, tag, &name)?;
    if is_index(&descriptor.media_type) {
        let nested = Index::from_slice(&read_blob(dir, &descriptor)?)
            .with_context(|| format!("parsing index {} of {name}", descriptor.digest))?;
        descriptor = select_platform(&nested, platform, &name)?;
    }
    let manifest_bytes = read_blob(dir, &descriptor)?;
    let manifest = Manifest::from_slice(&manifest_bytes)
        .with_context(|| format!("parsing manifest {} of {name}", descriptor.digest))?;
    let media_type = manifest
        .media_type
        .clone()
        .unwrap_or(descriptor.media_type.clone());
    let format = ManifestFormat::of_manifest(&media_type).ok_or_else(|| {
        usage(format!(
            "base {name}: unsupported manifest media type {media_type}"
        ))
    })?;
    let config = ImageConfig::from_slice(&read_blob(dir, &manifest.config)?)
        .with_context(|| format!("parsing config of {name}"))?;
    check_platform(&name, &config, platform)?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        anyhow::bail!(
            "base {name}: the manifest has {} layers but the config lists {} diff_ids",
            manifest.layers.len(),
            config.rootfs.diff_ids.len()
        );
    }
    let mut layers = Vec::new();
    for (descriptor, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
        let path = blob_path(dir, &descriptor.digest);
        if !path.is_file() {
            anyhow::bail!("base {name}: layer blob {} is missing", descriptor.digest);
        }
        layers.push(ImageLayer {
            descriptor: descriptor.clone(),
            diff_id: diff_id.clone(),
            path,
            name: "base".into(),
            from_base: true,
            // Hashed where its bytes are used: copied into a layout or an
            // archive here, or checked by the registry it is pushed to.
            check: true,
        });
    }
    Ok(BaseImage {
        format,
        config,
        layers,
        digest: Some(Digest::of(&manifest_bytes)),
        name,
        remote: None,
    })
}

/// Reads the image `tag` (or the only image) of the layout at `dir`
/// exactly as stored, for copying: an index with every image it lists, or
/// (with `platform`) the one image for it.
pub(crate) fn read_image(
    dir: &Path,
    tag: Option<&str>,
    platform: Option<&Platform>,
) -> Result<Publication> {
    let name = name_of(dir, tag);
    let index_bytes = std::fs::read(dir.join("index.json")).map_err(|_| {
        usage_hint(
            format!("{name}: no OCI image layout at {}", dir.display()),
            "check the path; an OCI layout has index.json and blobs/",
        )
    })?;
    let index = Index::from_slice(&index_bytes)
        .map_err(|e| usage(format!("{name}: index.json is not valid ({e})")))?;
    let top = select_tag(dir, &index, tag, &name)?;
    let read_image_at = |descriptor: &Descriptor| -> Result<Image> {
        let manifest_bytes = read_blob(dir, descriptor)?;
        let manifest = Manifest::from_slice(&manifest_bytes)
            .with_context(|| format!("parsing manifest {} of {name}", descriptor.digest))?;
        let media_type = manifest
            .media_type
            .clone()
            .unwrap_or(descriptor.media_type.clone());
        let config_bytes = read_blob(dir, &manifest.config)?;
        for layer in &manifest.layers {
            if !blob_path(dir, &layer.digest).is_file() {
                anyhow::bail!("{name}: layer blob {} is missing", layer.digest);
            }
        }
        crate::dest::stored_image(
            &name,
            &media_type,
            manifest_bytes,
            config_bytes,
            descriptor.platform.as_ref(),
            |digest| blob_path(dir, digest),
        )
    };
    if !is_index(&top.media_type) {
        let image = read_image_at(&top)?;
        if let Some(wanted) = platform {
            let config = ImageConfig::from_slice(&image.config_bytes)
                .with_context(|| format!("parsing the config of {name}"))?;
            check_platform(&name, &config, wanted)?;
        }
        return Ok(Publication::Single(Box::new(image)));
    }
    let nested_bytes = read_blob(dir, &top)?;
    let nested = Index::from_slice(&nested_bytes)
        .with_context(|| format!("parsing index {} of {name}", top.digest))?;
    if let Some(wanted) = platform {
        let descriptor = select_platform(&nested, wanted, &name)?;
        return Ok(Publication::Single(Box::new(read_image_at(&descriptor)?)));
    }
    let mut images = Vec::new();
    for descriptor in &nested.manifests {
        if is_index(&descriptor.media_type) {
            anyhow::bail!(
                "{name}: lists another index ({}); hoist copies one level of index",
                descriptor.digest
            );
        }
        images.push(read_image_at(descriptor)?);
    }
    Ok(Publication::Multi {
        images,
        index_bytes: nested_bytes,
        media_type: nested.media_type.clone().unwrap_or(top.media_type.clone()),
    })
}

/// The image `tag` names in the layout's index, else its only image; the
/// referrers listed beside it (manifests with a `subject`) are not images
/// to pick.
fn select_tag(dir: &Path, index: &Index, tag: Option<&str>, name: &str) -> Result<Descriptor> {
    let images: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| subject_of(dir, &d.digest).is_none())
        .collect();
    let tags: Vec<&str> = index
        .manifests
        .iter()
        .filter_map(|d| d.annotation(REF_NAME_ANNOTATION))
        .collect();
    let found = match tag {
        Some(tag) => index
            .manifests
            .iter()
            .find(|d| d.annotation(REF_NAME_ANNOTATION) == Some(tag)),
        None if images.len() == 1 => images.first().copied(),
        None => None,
    };
    found.cloned().ok_or_else(|| {
        let known = if tags.is_empty() {
            "none".to_string()
        } else {
            tags.join(", ")
        };
        match tag {
            Some(tag) => usage_hint(
                format!("base {name}: no image tagged {tag:?}"),
                format!("tags there: {known}"),
            ),
            None => usage_hint(
                format!("base {name}: the layout holds {} images", images.len()),
                format!("name one with oci:DIR:TAG; tags there: {known}"),
            ),
        }
    })
}

fn select_platform(index: &Index, platform: &Platform, name: &str) -> Result<Descriptor> {
    index
        .select_platform(platform)
        .cloned()
        .map_err(|offered| unknown_platform(name, platform, &offered))
}

/// The error for a base that has no image for `platform`.
fn unknown_platform(name: &str, platform: &Platform, offered: &[String]) -> anyhow::Error {
    usage_hint(
        format!("base {name}: unknown platform {platform}"),
        format!(
            "the base offers {}; pass one with --platform",
            offered.join(", ")
        ),
    )
}

/// Adds `publication` (an image, or an index of platform images) to the
/// layout at `dir` under `tag`. A new layout is built beside `dir` and
/// renamed into place; in an existing one, blobs are added
/// first and `index.json` is replaced atomically last.
pub(crate) fn write_image(dir: &Path, tag: Option<&str>, publication: &Publication) -> Result<()> {
    write_image_inner(dir, tag, publication).map_err(|error| {
        if !is_disk_full(&error) {
            return error;
        }
        disk_full_or(error, || {
            DiskFull::new(
                format!("writing the image into {}", dir.display()),
                bytes_to_add(dir, publication),
                "free space there or choose another destination",
            )
        })
    })
}

fn write_image_inner(dir: &Path, tag: Option<&str>, publication: &Publication) -> Result<()> {
    let exists = dir.exists();
    if exists {
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_none();
        if !empty && !dir.join(LAYOUT_FILE).is_file() {
            return Err(usage_hint(
                format!("{}: exists and is not an OCI image layout", dir.display()),
                "choose an empty or new directory for oci:",
            ));
        }
        if !empty {
            // Temporary files a killed hoist left in the layout.
            temp::sweep(dir, Place::Owned);
            temp::sweep(&dir.join("blobs").join("sha256"), Place::Owned);
            write_into(dir, tag, publication)?;
            return Ok(());
        }
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    temp::sweep(parent, Place::Foreign);
    let staging = temp::dir_in(parent, TempKind::Layout)?;
    write_into(staging.path(), tag, publication)?;
    if exists {
        std::fs::remove_dir(dir).with_context(|| format!("replacing empty {}", dir.display()))?;
    }
    staging
        .persist(dir)
        .with_context(|| format!("moving layout into {}", dir.display()))
}

/// About how many bytes adding `publication` to the layout at `dir` writes.
fn bytes_to_add(dir: &Path, publication: &Publication) -> u64 {
    let mut seen = std::collections::BTreeSet::new();
    publication
        .images()
        .iter()
        .flat_map(|image| {
            let small = (image.config_bytes.len() + image.manifest_bytes.len()) as u64;
            let layers: u64 = image
                .layers
                .iter()
                .filter(|l| seen.insert(l.descriptor.digest.clone()))
                .filter(|l| !blob_path(dir, &l.descriptor.digest).is_file())
                .map(|l| l.descriptor.size)
                .sum();
            [small, layers]
        })
        .sum()
}

fn write_into(dir: &Path, tag: Option<&str>, publication: &Publication) -> Result<()> {
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).with_context(|| format!("creating {}", blobs.display()))?;
    if !dir.join(LAYOUT_FILE).is_file() {
        write_atomic(&dir.join(LAYOUT_FILE), LAYOUT_CONTENT)?;
    }
    // Every missing layer blob is copied (and checked) before any is placed.
    let mut staged: Vec<(TempFile, PathBuf)> = Vec::new();
    for image in publication.images() {
        for layer in &image.layers {
            let dest = blob_path(dir, &layer.descriptor.digest);
            if dest.is_file() || staged.iter().any(|(_, d)| *d == dest) {
                continue;
            }
            staged.push((stage_blob(layer, &blobs)?, dest));
        }
    }
    for (temp, dest) in staged {
        temp.persist(&dest)
            .with_context(|| format!("writing {}", dest.display()))?;
    }
    for image in publication.images() {
        for (bytes, digest) in [
            (&image.config_bytes, image.config_digest()),
            (&image.manifest_bytes, &image.digest),
        ] {
            let path = blob_path(dir, digest);
            if !path.is_file() {
                write_atomic(&path, bytes)?;
            }
        }
    }
    let mut descriptor = match publication {
        Publication::Single(image) => image.descriptor(),
        Publication::Multi {
            index_bytes,
            media_type,
            ..
        } => {
            let descriptor = Descriptor::of_bytes(media_type, index_bytes);
            let path = blob_path(dir, &descriptor.digest);
            if !path.is_file() {
                write_atomic(&path, index_bytes)?;
            }
            descriptor
        }
    };
    let mut index = match std::fs::read(dir.join("index.json")) {
        Ok(bytes) => Index::from_slice(&bytes)
            .with_context(|| format!("parsing {}/index.json", dir.display()))?,
        Err(_) => Index::empty(),
    };
    index
        .manifests
        .retain(|d| d.annotation(REF_NAME_ANNOTATION) != tag);
    if let Some(tag) = tag {
        descriptor.annotations = Some(BTreeMap::from([(
            REF_NAME_ANNOTATION.to_string(),
            tag.to_string(),
        )]));
    }
    index.manifests.push(descriptor);
    write_atomic(&dir.join("index.json"), &index.to_bytes())
}

/// Adds `referrers` (artifact manifests with a `subject`) to the layout at
/// `dir`: their blobs and manifests first, then one `index.json` entry each,
/// untagged, as OCI 1.1 tools look for them. A referrer already listed, or
/// one whose kind (`dev.hoist.attestation`) its subject already has, is
/// left out. Returns, for each, whether it was added.
pub(crate) fn add_referrers(
    dir: &Path,
    referrers: &[crate::registry::referrers::Referrer],
) -> Result<Vec<bool>> {
    let kind_of = |d: &Descriptor| {
        d.annotation(crate::attest::KIND_ANNOTATION)
            .map(str::to_string)
    };
    let mut index = read_index(dir)?;
    let mut added = Vec::with_capacity(referrers.len());
    for referrer in referrers {
        let kind = kind_of(&referrer.descriptor);
        let carried = index.manifests.iter().any(|listed| {
            listed.digest == referrer.digest
                || (kind.is_some()
                    && kind_of(listed) == kind
                    && subject_of(dir, &listed.digest).as_ref() == Some(&referrer.subject))
        });
        added.push(!carried);
        if !carried {
            write_referrer(dir, &mut index, referrer)?;
        }
    }
    if added.contains(&true) {
        write_atomic(&dir.join("index.json"), &index.to_bytes())?;
    }
    Ok(added)
}

/// Adds one referrer to the layout at `dir`, as it is (a copy carries
/// anyone's, so only the same digest counts as there). Returns whether it
/// was added.
pub(crate) fn add_referrer(
    dir: &Path,
    referrer: &crate::registry::referrers::Referrer,
) -> Result<bool> {
    let mut index = read_index(dir)?;
    if index.manifests.iter().any(|d| d.digest == referrer.digest) {
        return Ok(false);
    }
    write_referrer(dir, &mut index, referrer)?;
    write_atomic(&dir.join("index.json"), &index.to_bytes())?;
    Ok(true)
}

/// The `index.json` entries of the layout at `dir` whose manifest names
/// `subject` (its referrers, as OCI 1.1 tools write them).
pub(crate) fn referrers_of(dir: &Path, subject: &Digest) -> Result<Vec<Descriptor>> {
    Ok(read_index(dir)?
        .manifests
        .into_iter()
        .filter(|d| subject_of(dir, &d.digest).as_ref() == Some(subject))
        .collect())
}

/// The bytes of blob `digest` in the layout at `dir`, checked against it.
pub(crate) fn read_checked_blob(dir: &Path, digest: &Digest) -> Result<Vec<u8>> {
    let path = blob_path(dir, digest);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "reading blob {digest} of oci:{} (the layout lacks it)",
            dir.display()
        )
    })?;
    if Digest::of(&bytes) != *digest {
        anyhow::bail!(
            "blob {digest} of oci:{} does not match its digest (the layout is corrupt)",
            dir.display()
        );
    }
    Ok(bytes)
}

/// The `subject` the manifest blob `digest` names, if it is a manifest with
/// one.
fn subject_of(dir: &Path, digest: &Digest) -> Option<Digest> {
    let bytes = std::fs::read(blob_path(dir, digest)).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Digest::parse(value["subject"]["digest"].as_str()?).ok()
}

/// The layout's `index.json`.
fn read_index(dir: &Path) -> Result<Index> {
    Index::from_slice(
        &std::fs::read(dir.join("index.json"))
            .with_context(|| format!("reading {}/index.json", dir.display()))?,
    )
    .with_context(|| format!("parsing {}/index.json", dir.display()))
}

/// Writes the blobs and manifest of `referrer` and lists it in `index`.
fn write_referrer(
    dir: &Path,
    index: &mut Index,
    referrer: &crate::registry::referrers::Referrer,
) -> Result<()> {
    for blob in referrer
        .blobs
        .iter()
        .chain(std::iter::once(&referrer.manifest))
    {
        let path = blob_path(dir, &Digest::of(blob));
        if !path.is_file() {
            write_atomic(&path, blob)?;
        }
    }
    index.manifests.push(referrer.descriptor.clone());
    Ok(())
}

/// Copies a layer blob into a temporary file in `blobs` (synced), hashing
/// it on the way when the layer asks to be checked; a copy that does not
/// match its digest is a [`DigestMismatch`] and is removed.
fn stage_blob(layer: &ImageLayer, blobs: &Path) -> Result<TempFile> {
    let source_path = &layer.path;
    let mut source = File::open(source_path)
        .with_context(|| format!("opening blob {}", source_path.display()))?;
    let temp = temp::file_in(blobs, TempKind::Blob)?;
    let copying = || format!("copying {} into {}", source_path.display(), blobs.display());
    let out = temp.reopen().with_context(copying)?;
    let out = if layer.check {
        let mut hashing = HashingWriter::new(BufWriter::with_capacity(1 << 20, out));
        std::io::copy(&mut source, &mut hashing).with_context(copying)?;
        let (buffered, actual, _) = hashing.finish();
        if actual != layer.descriptor.digest {
            return Err(DigestMismatch {
                expected: layer.descriptor.digest.clone(),
                actual,
                path: source_path.clone(),
            }
            .into());
        }
        buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(copying)?
    } else {
        // File to file: the kernel copies (or reflinks) without a pass here.
        let mut out = out;
        std::io::copy(&mut source, &mut out).with_context(copying)?;
        out
    };
    out.sync_all().with_context(copying)?;
    Ok(temp)
}
