//! Where images come from and go to: `scratch`, registries ([`remote`]), OCI
//! image layouts (`oci:DIR[:TAG]`) and docker archives
//! (`docker-archive:FILE[:REF]`).
//!
//! Each place is its own module that reads a base image from it and writes a
//! finished [`crate::image::assemble::Image`] to it. Writes are atomic: a
//! layout's `index.json` and an archive file appear only when complete.

pub(crate) mod attach;
pub mod attached_sbom;
pub(crate) mod carry_referrers;
pub(crate) mod copy;
pub(crate) mod docker_archive;
pub(crate) mod oci_layout;
pub(crate) mod remote;

use crate::error::{usage, usage_hint};
use crate::image::assemble::ImageLayer;
use crate::image::config::ImageConfig;
use crate::image::manifest::ManifestFormat;
use crate::image::platform::Platform;
use crate::image::Digest;
use anyhow::Result;
use std::fmt;
use std::path::{Path, PathBuf};

/// A place an image is read from or written to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The empty image.
    Scratch,
    /// An OCI image layout directory, with an optional tag.
    OciLayout {
        /// The layout directory.
        dir: PathBuf,
        /// The tag (`org.opencontainers.image.ref.name`).
        tag: Option<String>,
    },
    /// A `docker save` archive, with an optional image reference.
    DockerArchive {
        /// The archive file.
        file: PathBuf,
        /// `name:tag` recorded in the archive (`RepoTags`).
        reference: Option<String>,
    },
    /// A repository in a registry.
    Registry(crate::registry::ImageReference),
}

impl Location {
    /// Parses `scratch`, `oci:DIR[:TAG]` or `docker-archive:FILE[:REF]`.
    pub fn parse(text: &str) -> Result<Self> {
        if text == "scratch" {
            return Ok(Location::Scratch);
        }
        if let Some(rest) = text.strip_prefix("oci:") {
            let (dir, tag) = match rest.rsplit_once(':') {
                Some((dir, tag)) if !tag.contains('/') && !dir.is_empty() => (dir, Some(tag)),
                _ => (rest, None),
            };
            if dir.is_empty() {
                return Err(usage(format!(
                    "{text}: oci: needs a directory, e.g. oci:build/image:latest"
                )));
            }
            if let Some(tag) = tag {
                crate::registry::reference::check_tag(tag)
                    .map_err(|why| usage(format!("{text}: tag {tag:?} {why}")))?;
            }
            return Ok(Location::OciLayout {
                dir: PathBuf::from(dir),
                tag: tag.map(str::to_string),
            });
        }
        if let Some(rest) = text.strip_prefix("docker-archive:") {
            let (file, reference) = match rest.split_once(':') {
                Some((file, reference)) => (file, Some(reference)),
                None => (rest, None),
            };
            if file.is_empty() {
                return Err(usage(format!(
                    "{text}: docker-archive: needs a file, e.g. docker-archive:app.tar:app:latest"
                )));
            }
            return Ok(Location::DockerArchive {
                file: PathBuf::from(file),
                reference: reference.filter(|r| !r.is_empty()).map(str::to_string),
            });
        }
        let reference = text.strip_prefix("docker://").unwrap_or(text);
        crate::registry::ImageReference::parse(reference)
            .map(Location::Registry)
            .map_err(|e| {
                usage_hint(
                    format!("{text:?}: unknown image location ({e})"),
                    "use scratch, oci:DIR[:TAG], docker-archive:FILE[:REF] or REGISTRY/REPOSITORY[:TAG]",
                )
            })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Scratch => f.write_str("scratch"),
            Location::OciLayout { dir, tag } => {
                write!(f, "oci:{}", dir.display())?;
                tag.as_ref().map_or(Ok(()), |t| write!(f, ":{t}"))
            }
            Location::DockerArchive { file, reference } => {
                write!(f, "docker-archive:{}", file.display())?;
                reference.as_ref().map_or(Ok(()), |r| write!(f, ":{r}"))
            }
            Location::Registry(reference) => write!(f, "{reference}"),
        }
    }
}

/// A base image, read and ready to build on.
#[derive(Clone, Debug)]
pub struct BaseImage {
    /// Its manifest format.
    pub format: ManifestFormat,
    /// Its config.
    pub config: ImageConfig,
    /// Its layers with their blob files.
    pub layers: Vec<ImageLayer>,
    /// Its manifest digest (none for scratch).
    pub digest: Option<Digest>,
    /// How the user named it.
    pub name: String,
    /// The registry repository it came from, if any (its layers can be
    /// mounted from there, or fetched when needed).
    pub remote: Option<crate::registry::ImageReference>,
}

/// Reads the base image at `location` for `platform`. Layers that need
/// converting (docker archives hold uncompressed tars) are written to `work`.
pub(crate) async fn open_base(
    location: &Location,
    platform: &Platform,
    work: &Path,
    registries: Option<&remote::RegistryAccess>,
) -> Result<BaseImage> {
    match location {
        Location::Scratch => Ok(BaseImage {
            format: ManifestFormat::Oci,
            config: ImageConfig {
                architecture: platform.architecture.clone(),
                os: platform.os.clone(),
                variant: platform.variant.clone(),
                ..ImageConfig::default()
            },
            layers: Vec::new(),
            digest: None,
            name: "scratch".into(),
            remote: None,
        }),
        Location::Registry(reference) => {
            registries
                .expect("a registry location comes with registry access")
                .read_base(reference, platform)
                .await
        }
        Location::OciLayout { dir, tag } => oci_layout::read_base(dir, tag.as_deref(), platform),
        Location::DockerArchive { file, reference } => {
            docker_archive::read_base(file, reference.as_deref(), platform, work)
        }
    }
}

/// An image as stored somewhere, its bytes kept exactly (so that copying it
/// keeps its digest): the manifest and config bytes as read, each layer at
/// `layer_path(digest)`. The platform comes from the index's descriptor when
/// there is one, else from the config; diff_ids from the config (a layer of
/// an artifact whose config has none stands for itself).
pub(crate) fn stored_image(
    name: &str,
    media_type: &str,
    manifest_bytes: Vec<u8>,
    config_bytes: Vec<u8>,
    listed_platform: Option<&Platform>,
    layer_path: impl Fn(&Digest) -> PathBuf,
) -> Result<crate::image::assemble::Image> {
    use crate::image::manifest::Manifest;
    let manifest = Manifest::from_slice(&manifest_bytes)
        .map_err(|e| anyhow::anyhow!("{name}: the manifest is not valid ({e})"))?;
    let format = ManifestFormat::of_manifest(media_type)
        .ok_or_else(|| usage(format!("{name}: {media_type} is not an image manifest")))?;
    let config = ImageConfig::from_slice(&config_bytes).ok();
    let platform = match (listed_platform, &config) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => Platform {
            architecture: c.architecture.clone(),
            os: c.os.clone(),
            variant: c.variant.clone(),
            os_version: None,
        },
        (None, None) => Platform::default_linux_amd64(),
    };
    let diff_ids = config
        .map(|c| c.rootfs.diff_ids)
        .filter(|d| d.len() == manifest.layers.len());
    let layers = manifest
        .layers
        .iter()
        .enumerate()
        .map(|(i, descriptor)| ImageLayer {
            descriptor: descriptor.clone(),
            diff_id: diff_ids
                .as_ref()
                .map_or_else(|| descriptor.digest.clone(), |d| d[i].clone()),
            path: layer_path(&descriptor.digest),
            name: "copied".into(),
            from_base: true,
            // Read from another place: hashed wherever it goes.
            check: true,
        })
        .collect();
    Ok(crate::image::assemble::Image {
        format,
        digest: Digest::of(&manifest_bytes),
        config_bytes,
        manifest_bytes,
        manifest,
        layers,
        platform,
    })
}

/// Checks that a single-platform base is the platform asked for.
pub(crate) fn check_platform(name: &str, config: &ImageConfig, wanted: &Platform) -> Result<()> {
    let have = Platform {
        architecture: config.architecture.clone(),
        os: config.os.clone(),
        variant: config.variant.clone(),
        os_version: None,
    };
    if wanted.matches(&have) {
        Ok(())
    } else {
        Err(usage_hint(
            format!("base {name} is {have}, not {wanted}"),
            format!("pass --platform {have} or pick a base for {wanted}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(Location::parse("scratch").unwrap(), Location::Scratch);
        assert_eq!(
            Location::parse("oci:out/img:v1").unwrap(),
            Location::OciLayout {
                dir: "out/img".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            Location::parse("oci:out/img").unwrap(),
            Location::OciLayout {
                dir: "out/img".into(),
                tag: None
            }
        );
        assert_eq!(
            Location::parse("docker-archive:a.tar:demo/app:1.0").unwrap(),
            Location::DockerArchive {
                file: "a.tar".into(),
                reference: Some("demo/app:1.0".into())
            }
        );
        assert!(Location::parse("oci:").is_err());
        assert!(Location::parse("oci:x:bad tag").is_err());
        assert!(
            matches!(Location::parse("ghcr.io/x/y:1").unwrap(), Location::Registry(r) if r.repository == "x/y")
        );
        assert!(Location::parse("Bad Name").is_err());
    }
}
