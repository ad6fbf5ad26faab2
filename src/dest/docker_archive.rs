//! Docker archives (`docker-archive:FILE[:REF]`), the format of `docker save`,
//! read by `docker load` and `podman load`: a tar holding `manifest.json`, the
//! config and one uncompressed tar per layer. hoist writes the layout of
//! Docker 25+ (`blobs/sha256/<hex>`, layers named by their diff_id).
//!
//! Each layer is decompressed on its way in and checked against its diff_id;
//! a layer this run did not make (a cache hit, a base layer) is also hashed
//! as it is read and must match its digest. The archive is written to a
//! temporary file beside the target, synced and renamed: it appears whole.

use crate::dest::{check_platform, BaseImage};
use crate::error::{usage, usage_hint};
use crate::image::assemble::{Image, ImageLayer};
use crate::image::compression::Compression;
use crate::image::compressor::{decompressing_reader, framing_of, Framing};
use crate::image::config::ImageConfig;
use crate::image::digest::{DigestMismatch, HashingReader, HashingWriter};
use crate::image::layer::compress_tar_stream;
use crate::image::manifest::{Descriptor, ManifestFormat};
use crate::image::platform::Platform;
use crate::image::Digest;
use crate::util::fs::{disk_full_or, is_disk_full, DiskFull};
use crate::util::temp::{self, Place, TempKind};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;

/// One image of an archive's `manifest.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// `name` → `name:latest` when it carries no tag or digest.
fn with_default_tag(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if last.contains(':') || last.contains('@') {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    }
}

/// Runs `visit` over the archive's entries until it returns `false`.
fn scan(file: &Path, mut visit: impl FnMut(&str, &mut dyn Read) -> Result<bool>) -> Result<()> {
    let handle = File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut archive = tar::Archive::new(handle);
    for entry in archive
        .entries_with_seek()
        .with_context(|| format!("reading {}", file.display()))?
    {
        let mut entry = entry.with_context(|| format!("reading {}", file.display()))?;
        let name = entry
            .path()?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if !visit(&name, &mut entry)? {
            break;
        }
    }
    Ok(())
}

fn read_member(file: &Path, wanted: &str) -> Result<Option<Vec<u8>>> {
    let mut found = None;
    scan(file, |name, reader| {
        if name == wanted {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes)?;
            found = Some(bytes);
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok(found)
}

/// Reads a base image from a docker archive; its layers are recompressed
/// (reproducibly) into `work`.
pub(crate) fn read_base(
    file: &Path,
    reference: Option<&str>,
    platform: &Platform,
    work: &Path,
) -> Result<BaseImage> {
    read_archive(file, reference, platform, Compression::Auto, work).map(|(base, _)| base)
}

/// Reads an image from a docker archive for copying: its config bytes
/// exactly as stored (so the image ID, the config digest, is kept), its
/// layers recompressed reproducibly (`compression`; `Auto` means gzip, as
/// a tar stream tells nothing of its files) into `work`, and a manifest of
/// `format` made for them. An image hoist built with the same format and
/// compression comes back with the digest it had.
pub(crate) fn read_image(
    file: &Path,
    reference: Option<&str>,
    platform: Option<&Platform>,
    format: ManifestFormat,
    compression: Compression,
    work: &Path,
) -> Result<Image> {
    // An archive holds one image per entry; without a platform, take what it has.
    let any = Platform {
        architecture: String::new(),
        os: String::new(),
        variant: None,
        os_version: None,
    };
    let (base, config_bytes) =
        read_archive(file, reference, platform.unwrap_or(&any), compression, work)?;
    let layers: Vec<_> = base
        .layers
        .into_iter()
        .map(|mut layer| {
            layer.descriptor.media_type = format.layer_media_type_of(compression).to_string();
            layer
        })
        .collect();
    let manifest = crate::image::manifest::Manifest {
        schema_version: 2,
        media_type: Some(format.manifest_media_type().to_string()),
        config: Descriptor::of_bytes(format.config_media_type(), &config_bytes),
        layers: layers.iter().map(|l| l.descriptor.clone()).collect(),
        annotations: None,
    };
    let manifest_bytes = manifest.to_bytes();
    Ok(Image {
        format,
        digest: Digest::of(&manifest_bytes),
        platform: Platform {
            architecture: base.config.architecture.clone(),
            os: base.config.os.clone(),
            variant: base.config.variant.clone(),
            os_version: None,
        },
        config_bytes,
        manifest_bytes,
        manifest,
        layers,
    })
}

/// [`read_base`], with the config's bytes as stored.
fn read_archive(
    file: &Path,
    reference: Option<&str>,
    platform: &Platform,
    compression: Compression,
    work: &Path,
) -> Result<(BaseImage, Vec<u8>)> {
    let name = format!("docker-archive:{}", file.display());
    if !file.is_file() {
        return Err(usage_hint(
            format!("base {name}: no such file"),
            "check the path (docker save -o FILE IMAGE makes one)",
        ));
    }
    let manifest_bytes = read_member(file, "manifest.json")
        .map_err(|e| usage(format!("base {name}: not a docker archive ({e:#})")))?
        .ok_or_else(|| {
            usage(format!(
                "base {name}: not a docker archive (no manifest.json)"
            ))
        })?;
    let images: Vec<ArchiveManifest> = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| usage(format!("base {name}: manifest.json is not valid ({e})")))?;
    let tags = |m: &ArchiveManifest| m.repo_tags.clone().unwrap_or_default();
    let chosen = match reference {
        Some(r) => {
            let wanted = with_default_tag(r);
            images.iter().find(|m| tags(m).contains(&wanted))
        }
        None if images.len() == 1 => images.first(),
        None => None,
    }
    .ok_or_else(|| {
        let known: Vec<String> = images.iter().flat_map(tags).collect();
        usage_hint(
            format!(
                "base {name}: no image {}",
                reference.unwrap_or("(several in the archive)")
            ),
            format!(
                "name one as docker-archive:FILE:REF; there: {}",
                known.join(", ")
            ),
        )
    })?;
    let config_bytes = read_member(file, &chosen.config)?
        .ok_or_else(|| usage(format!("base {name}: config {} is missing", chosen.config)))?;
    let config = ImageConfig::from_slice(&config_bytes)
        .with_context(|| format!("parsing config of {name}"))?;
    if !platform.os.is_empty() {
        check_platform(&name, &config, platform)?;
    }
    let wanted: BTreeSet<&str> = chosen.layers.iter().map(String::as_str).collect();
    let mut built = HashMap::new();
    scan(file, |member, reader| {
        if wanted.contains(member) && !built.contains_key(member) {
            let buffered = BufReader::with_capacity(1 << 16, reader);
            let tar = decompressing_reader(buffered)?;
            let layer = compress_tar_stream("base", tar, compression, work)?;
            built.insert(member.to_string(), layer);
        }
        Ok(built.len() < wanted.len())
    })?;
    if config.rootfs.diff_ids.len() != chosen.layers.len() {
        bail!(
            "base {name}: manifest.json lists {} layers, the config {}",
            chosen.layers.len(),
            config.rootfs.diff_ids.len()
        );
    }
    let mut layers = Vec::new();
    for (member, diff_id) in chosen.layers.iter().zip(&config.rootfs.diff_ids) {
        let layer = built
            .get(member)
            .ok_or_else(|| usage(format!("base {name}: layer {member} is missing")))?;
        if &layer.diff_id != diff_id {
            bail!(
                "base {name}: layer {member} has diff_id {}, the config says {diff_id}",
                layer.diff_id
            );
        }
        layers.push(ImageLayer {
            descriptor: Descriptor::new(
                ManifestFormat::Docker.layer_media_type_of(layer.compression),
                layer.digest.clone(),
                layer.size,
            ),
            diff_id: layer.diff_id.clone(),
            path: layer.path.clone(),
            name: "base".into(),
            from_base: true,
            // Recompressed by this run.
            check: false,
        });
    }
    let base = BaseImage {
        format: ManifestFormat::Docker,
        config,
        layers,
        digest: None,
        name,
        remote: None,
    };
    Ok((base, config_bytes))
}

/// Writes `image` as a docker archive at `file`, atomically. Layers are
/// decompressed (and checked against their diff_id) into `work` on the way.
pub(crate) fn write_image(
    file: &Path,
    reference: Option<&str>,
    image: &Image,
    work: &Path,
) -> Result<()> {
    write_image_inner(file, reference, image, work).map_err(|error| {
        if !is_disk_full(&error) {
            return error;
        }
        disk_full_or(error, || {
            // Uncompressed layers: at least the compressed size, usually more.
            let layers: u64 = image.layers.iter().map(|l| l.descriptor.size).sum();
            DiskFull::new(
                format!("writing {}", file.display()),
                layers + image.config_bytes.len() as u64,
                "free space on that file system or choose another destination",
            )
        })
    })
}

fn write_image_inner(
    file: &Path,
    reference: Option<&str>,
    image: &Image,
    work: &Path,
) -> Result<()> {
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    temp::sweep(parent, Place::Foreign);
    let temp = temp::file_in(parent, TempKind::Archive)?;
    let mut tar = tar::Builder::new(BufWriter::with_capacity(1 << 20, temp.reopen()?));
    for dir in ["blobs/", "blobs/sha256/"] {
        append(
            &mut tar,
            dir,
            0,
            tar::EntryType::Directory,
            std::io::empty(),
        )?;
    }
    let mut layer_paths = Vec::new();
    let mut written = BTreeSet::new();
    for layer in &image.layers {
        let member = format!("blobs/sha256/{}", layer.diff_id.hex());
        layer_paths.push(member.clone());
        if !written.insert(layer.diff_id.clone()) {
            continue;
        }
        let mut plain = tempfile::tempfile_in(work).context("creating a temporary layer file")?;
        let (size, diff_id) = decompress_into(layer, &mut plain)?;
        if diff_id != layer.diff_id {
            bail!(
                "layer {} decompresses to {diff_id}, expected {}",
                layer.descriptor.digest,
                layer.diff_id
            );
        }
        plain.rewind()?;
        append(
            &mut tar,
            &member,
            size,
            tar::EntryType::Regular,
            BufReader::new(plain),
        )?;
    }
    let config_member = format!("blobs/sha256/{}", image.config_digest().hex());
    append(
        &mut tar,
        &config_member,
        image.config_bytes.len() as u64,
        tar::EntryType::Regular,
        &image.config_bytes[..],
    )?;
    let manifest = vec![ArchiveManifest {
        config: config_member,
        repo_tags: reference.map(|r| vec![with_default_tag(r)]),
        layers: layer_paths,
    }];
    let manifest_bytes = serde_json::to_vec(&manifest)?;
    append(
        &mut tar,
        "manifest.json",
        manifest_bytes.len() as u64,
        tar::EntryType::Regular,
        &manifest_bytes[..],
    )?;
    let mut out = tar.into_inner().context("finishing the archive")?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    temp.persist(file)
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(())
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    kind: tar::EntryType,
    data: impl Read,
) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    header.set_mtime(crate::image::layer::DEFAULT_MTIME);
    header.set_uid(0);
    header.set_gid(0);
    tar.append_data(&mut header, name, data)
        .with_context(|| format!("writing {name} into the archive"))
}

/// Decompresses a gzip, zstd (or plain) layer blob into `out`; returns its size
/// and digest. A layer to be checked must also hash to its digest, read
/// to the end whether it decompresses or not: a [`DigestMismatch`] says
/// which blob is bad rather than how its bytes failed to decompress.
fn decompress_into(layer: &ImageLayer, out: &mut File) -> Result<(u64, Digest)> {
    let blob = &layer.path;
    let file = File::open(blob).with_context(|| format!("opening {}", blob.display()))?;
    let mut reader = BufReader::with_capacity(1 << 16, HashingReader::new(file));
    let framing = framing_of(&mut reader)?;
    let mut writer = HashingWriter::new(BufWriter::with_capacity(1 << 20, out));
    let copied = match framing {
        Framing::Gzip => {
            let mut decoder = flate2::bufread::MultiGzDecoder::new(reader);
            let copied = std::io::copy(&mut decoder, &mut writer);
            reader = decoder.into_inner();
            copied
        }
        Framing::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(reader)?;
            let copied = std::io::copy(&mut decoder, &mut writer);
            reader = decoder.finish();
            copied
        }
        Framing::Plain => std::io::copy(&mut reader, &mut writer),
    };
    if layer.check {
        std::io::copy(&mut reader, &mut std::io::sink())
            .with_context(|| format!("reading {}", blob.display()))?;
        let actual = reader.into_inner().finish();
        if actual != layer.descriptor.digest {
            return Err(DigestMismatch {
                expected: layer.descriptor.digest.clone(),
                actual,
                path: blob.clone(),
            }
            .into());
        }
    }
    copied.with_context(|| format!("decompressing {}", blob.display()))?;
    let (mut inner, digest, size) = writer.finish();
    inner.flush()?;
    Ok((size, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_member_gzip_layer_is_read_to_its_end() {
        // eStargz and `cat a.gz b.gz` layers are several gzip members in a row.
        let dir = tempfile::tempdir().unwrap();
        let blob = dir.path().join("layer.gz");
        let mut bytes = Vec::new();
        for part in [&b"first member, "[..], &b"second member"[..]] {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(part).unwrap();
            bytes.extend(encoder.finish().unwrap());
        }
        std::fs::write(&blob, &bytes).unwrap();
        let mut out = tempfile::tempfile().unwrap();
        let layer = ImageLayer {
            descriptor: crate::image::manifest::Descriptor {
                media_type: crate::image::layer::OCI_LAYER_GZIP.into(),
                digest: Digest::of(&bytes),
                size: bytes.len() as u64,
                platform: None,
                annotations: None,
                extra: Default::default(),
            },
            diff_id: Digest::of(b"first member, second member"),
            path: blob.clone(),
            name: "multi-member".into(),
            from_base: true,
            check: true,
        };
        let (size, digest) = decompress_into(&layer, &mut out).unwrap();
        assert_eq!(size, 27);
        assert_eq!(digest, Digest::of(b"first member, second member"));
    }
}
