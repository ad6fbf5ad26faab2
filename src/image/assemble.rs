//! Putting an image together: base config and layers + new layers + runtime
//! settings → config bytes, manifest bytes and digests.

use crate::image::config::{History, ImageConfig};
use crate::image::digest::Digest;
use crate::image::layer::BuiltLayer;
use crate::image::manifest::{Descriptor, Manifest, ManifestFormat};
use crate::image::platform::Platform;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A layer blob of a finished image: its descriptor and where its bytes are.
#[derive(Clone, Debug)]
pub struct ImageLayer {
    /// The layer's descriptor as it appears in the manifest.
    pub descriptor: Descriptor,
    /// The uncompressed digest.
    pub diff_id: Digest,
    /// The blob file.
    pub path: PathBuf,
    /// A name for people (`dependencies`, `base`, …).
    pub name: String,
    /// True for layers that came with the base image.
    pub from_base: bool,
    /// True when this run did not make the blob (a cache hit, a base layer
    /// read from a layout or the cache): its bytes are hashed wherever they
    /// go into an output.
    pub check: bool,
}

/// What hoist sets on the image besides its layers.
#[derive(Clone, Debug, Default)]
pub(crate) struct RuntimeSettings {
    /// Entrypoint.
    pub entrypoint: Vec<String>,
    /// Default arguments (`None` clears the base's `Cmd`).
    pub cmd: Vec<String>,
    /// Working directory.
    pub working_dir: Option<String>,
    /// Extra environment variables, `KEY=VALUE`.
    pub env: Vec<(String, String)>,
    /// Exposed ports, `8080` or `8080/udp`.
    pub ports: Vec<String>,
    /// User to run as.
    pub user: Option<String>,
    /// Labels to set (on top of the base's).
    pub labels: BTreeMap<String, String>,
    /// The `created` time written into the config and history.
    pub created: String,
}

/// A finished image: config and manifest bytes, digests, layer blobs.
#[derive(Clone, Debug)]
pub struct Image {
    /// Manifest format (follows the base unless forced).
    pub format: ManifestFormat,
    /// The config's canonical bytes.
    pub config_bytes: Vec<u8>,
    /// The manifest's canonical bytes.
    pub manifest_bytes: Vec<u8>,
    /// The manifest.
    pub manifest: Manifest,
    /// The manifest's digest: the image digest.
    pub digest: Digest,
    /// Layers, bottom first.
    pub layers: Vec<ImageLayer>,
    /// The platform, from the config.
    pub platform: Platform,
}

impl Image {
    /// The manifest's descriptor (for an index), with the platform.
    pub fn descriptor(&self) -> Descriptor {
        let mut d = Descriptor::new(
            self.format.manifest_media_type(),
            self.digest.clone(),
            self.manifest_bytes.len() as u64,
        );
        d.platform = Some(self.platform.clone());
        d
    }

    /// The config's digest.
    pub fn config_digest(&self) -> &Digest {
        &self.manifest.config.digest
    }
}

/// Builds the image: `base_config` (with its layers already in
/// `base_layers`) plus `app_layers`, with `settings` applied.
pub(crate) fn assemble(
    mut config: ImageConfig,
    base_layers: Vec<ImageLayer>,
    app_layers: &[BuiltLayer],
    settings: &RuntimeSettings,
    format: ManifestFormat,
) -> Image {
    config.created = Some(settings.created.clone());
    // Drop what describes how the base was built, not what this image is.
    config.extra.remove("container");
    config.extra.remove("container_config");
    config.extra.remove("docker_version");
    let runtime = config.runtime_mut();
    runtime.entrypoint = Some(settings.entrypoint.clone());
    runtime.cmd = (!settings.cmd.is_empty()).then(|| settings.cmd.clone());
    if let Some(dir) = &settings.working_dir {
        runtime.working_dir = Some(dir.clone());
    }
    if let Some(user) = &settings.user {
        runtime.user = Some(user.clone());
    }
    for (key, value) in &settings.env {
        runtime.set_env(key, value);
    }
    if !settings.ports.is_empty() {
        let ports = runtime.exposed_ports.get_or_insert_with(BTreeMap::new);
        for port in &settings.ports {
            let key = if port.contains('/') {
                port.clone()
            } else {
                format!("{port}/tcp")
            };
            ports.insert(key, Value::Object(Default::default()));
        }
    }
    for (key, value) in &settings.labels {
        runtime.set_label(key, value);
    }
    let mut layers = base_layers;
    for built in app_layers {
        config.push_layer(
            built.diff_id.clone(),
            History {
                created: Some(settings.created.clone()),
                created_by: Some(format!("hoist: {} layer", built.name)),
                comment: Some(format!("{} files", built.file_count)),
                ..History::default()
            },
        );
        layers.push(ImageLayer {
            descriptor: Descriptor::new(
                format.layer_media_type_of(built.compression),
                built.digest.clone(),
                built.size,
            ),
            diff_id: built.diff_id.clone(),
            path: built.path.clone(),
            name: built.name.clone(),
            from_base: false,
            check: built.check,
        });
    }
    for layer in &mut layers {
        layer.descriptor.media_type = format.convert_layer_media_type(&layer.descriptor.media_type);
    }
    let platform = Platform {
        architecture: config.architecture.clone(),
        os: config.os.clone(),
        variant: config.variant.clone(),
        os_version: config
            .extra
            .get("os.version")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let config_bytes = config.to_bytes();
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(format.manifest_media_type().to_string()),
        config: Descriptor::of_bytes(format.config_media_type(), &config_bytes),
        layers: layers.iter().map(|l| l.descriptor.clone()).collect(),
        annotations: None,
    };
    let manifest_bytes = manifest.to_bytes();
    Image {
        format,
        digest: Digest::of(&manifest_bytes),
        config_bytes,
        manifest_bytes,
        manifest,
        layers,
        platform,
    }
}

/// What a build publishes: one image, or one image per platform under an index.
#[derive(Clone, Debug)]
pub enum Publication {
    /// A single-platform image.
    Single(Box<Image>),
    /// Several platform images and the index that lists them.
    Multi {
        /// The images, in the order the platforms were asked for.
        images: Vec<Image>,
        /// The index's canonical bytes.
        index_bytes: Vec<u8>,
        /// The index media type (OCI index, or Docker manifest list when
        /// every image is in Docker format).
        media_type: String,
    },
}

impl Publication {
    /// One image per platform, under an index when there are several.
    pub fn of(mut images: Vec<Image>) -> Self {
        if images.len() == 1 {
            return Publication::Single(Box::new(images.remove(0)));
        }
        let docker = images.iter().all(|i| i.format == ManifestFormat::Docker);
        let media_type = if docker {
            crate::image::manifest::DOCKER_MANIFEST_LIST
        } else {
            crate::image::manifest::OCI_INDEX
        };
        let index = crate::image::manifest::Index {
            schema_version: 2,
            media_type: Some(media_type.to_string()),
            manifests: images.iter().map(Image::descriptor).collect(),
            annotations: None,
            extra: BTreeMap::new(),
        };
        Publication::Multi {
            images,
            index_bytes: index.to_bytes(),
            media_type: media_type.to_string(),
        }
    }

    /// The images.
    pub fn images(&self) -> &[Image] {
        match self {
            Publication::Single(image) => std::slice::from_ref(image.as_ref()),
            Publication::Multi { images, .. } => images,
        }
    }

    /// The top manifest: its media type and bytes (what a tag points at).
    pub fn top(&self) -> (&str, &[u8]) {
        match self {
            Publication::Single(image) => {
                (image.format.manifest_media_type(), &image.manifest_bytes)
            }
            Publication::Multi {
                index_bytes,
                media_type,
                ..
            } => (media_type, index_bytes),
        }
    }

    /// The digest a tag points at.
    pub fn digest(&self) -> Digest {
        Digest::of(self.top().1)
    }
}
