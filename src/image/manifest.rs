//! Manifests, indexes and descriptors, in OCI and Docker v2 schema 2 form.

use crate::image::compression::Compression;
use crate::image::config::{DOCKER_CONFIG, OCI_CONFIG};
use crate::image::digest::Digest;
use crate::image::layer::{DOCKER_LAYER_GZIP, OCI_LAYER_GZIP, OCI_LAYER_ZSTD};
use crate::image::platform::Platform;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// OCI image manifest media type.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker v2 schema 2 manifest media type.
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list media type.
pub(crate) const DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// The annotation naming a tag in an OCI layout's index.
pub(crate) const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// Which family of media types an image uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestFormat {
    /// OCI image spec media types.
    Oci,
    /// Docker v2 schema 2 media types.
    Docker,
}

impl ManifestFormat {
    /// The manifest media type of this format.
    pub fn manifest_media_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => OCI_MANIFEST,
            ManifestFormat::Docker => DOCKER_MANIFEST,
        }
    }

    /// The config media type of this format.
    pub fn config_media_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => OCI_CONFIG,
            ManifestFormat::Docker => DOCKER_CONFIG,
        }
    }

    /// The gzip layer media type of this format.
    pub fn layer_media_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => OCI_LAYER_GZIP,
            ManifestFormat::Docker => DOCKER_LAYER_GZIP,
        }
    }

    /// The media type of a layer compressed with `compression` (zstd has an
    /// OCI type only: see [`ManifestFormat::for_layers`]).
    pub fn layer_media_type_of(self, compression: Compression) -> &'static str {
        match compression {
            Compression::Zstd(_) => OCI_LAYER_ZSTD,
            _ => self.layer_media_type(),
        }
    }

    /// The format of an image whose layers are compressed with
    /// `compression` or come as `base_media_types`: `wanted` when given, else
    /// `default` — except that zstd layers need OCI (Docker v2s2 has no zstd
    /// layer type), so they choose OCI and refuse an explicit Docker.
    pub fn for_layers<'a>(
        wanted: Option<ManifestFormat>,
        default: ManifestFormat,
        compression: Compression,
        mut base_media_types: impl Iterator<Item = &'a str>,
    ) -> anyhow::Result<ManifestFormat> {
        let zstd_base = base_media_types.any(|m| m.ends_with("+zstd"));
        if !compression.is_zstd() && !zstd_base {
            return Ok(wanted.unwrap_or(default));
        }
        if wanted == Some(ManifestFormat::Docker) {
            let what = if compression.is_zstd() {
                format!("--compression {compression}")
            } else {
                "a base with zstd layers".to_string()
            };
            return Err(crate::error::usage_hint(
                format!("{what} needs OCI manifests: Docker v2s2 has no zstd layer type"),
                "drop --format docker (zstd images are OCI), or use --compression gzip",
            ));
        }
        Ok(ManifestFormat::Oci)
    }

    /// The format a manifest media type belongs to.
    pub fn of_manifest(media_type: &str) -> Option<Self> {
        match media_type {
            OCI_MANIFEST => Some(ManifestFormat::Oci),
            DOCKER_MANIFEST => Some(ManifestFormat::Docker),
            _ => None,
        }
    }

    /// Translates a layer media type into this format's equivalent.
    pub fn convert_layer_media_type(self, media_type: &str) -> String {
        let table = [
            (OCI_LAYER_GZIP, DOCKER_LAYER_GZIP),
            (
                "application/vnd.oci.image.layer.v1.tar",
                "application/vnd.docker.image.rootfs.diff.tar",
            ),
            (
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            ),
        ];
        for (oci, docker) in table {
            match self {
                ManifestFormat::Oci if media_type == docker => return oci.to_string(),
                ManifestFormat::Docker if media_type == oci => return docker.to_string(),
                _ => {}
            }
        }
        media_type.to_string()
    }
}

/// A content descriptor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The target's media type.
    pub media_type: String,
    /// The target's digest.
    pub digest: Digest,
    /// The target's size in bytes.
    pub size: u64,
    /// The platform (in indexes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Every other field (urls, artifactType, …), kept.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Descriptor {
    /// A descriptor of `bytes` with `media_type`.
    pub fn of_bytes(media_type: &str, bytes: &[u8]) -> Self {
        Self::new(media_type, Digest::of(bytes), bytes.len() as u64)
    }

    /// A plain descriptor.
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Self {
        Self {
            media_type: media_type.to_string(),
            digest,
            size,
            platform: None,
            annotations: None,
            extra: BTreeMap::new(),
        }
    }

    /// The value of annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

/// An image manifest (OCI or Docker v2s2; the fields are the same).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's own media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The config.
    pub config: Descriptor,
    /// The layers, bottom first.
    pub layers: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Manifest {
    /// Parses a manifest.
    pub fn from_slice(bytes: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serialises")
    }
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// The index's own media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests it lists.
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Every other field, kept.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Index {
    /// An empty OCI index.
    pub(crate) fn empty() -> Self {
        Self {
            schema_version: 2,
            media_type: Some(OCI_INDEX.to_string()),
            manifests: Vec::new(),
            annotations: None,
            extra: BTreeMap::new(),
        }
    }

    /// Parses an index.
    pub(crate) fn from_slice(bytes: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }

    /// The first manifest for `platform`, or the platforms there are.
    pub(crate) fn select_platform(
        &self,
        platform: &crate::image::platform::Platform,
    ) -> Result<&Descriptor, Vec<String>> {
        self.manifests
            .iter()
            .find(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)))
            .ok_or_else(|| {
                self.manifests
                    .iter()
                    .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
                    .collect()
            })
    }

    /// The canonical bytes.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an index always serialises")
    }
}

/// True for index / manifest-list media types.
pub(crate) fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}
