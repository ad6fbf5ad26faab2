//! An independent reader of OCI layouts for the tests: finds an image by tag,
//! checks every blob against its digest and unpacks the layers. Written
//! against the spec with serde_json values, not with hoist's own types.

#![allow(dead_code)]

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// An image read from a layout.
pub struct LayoutImage {
    /// The layout directory.
    pub dir: PathBuf,
    /// The manifest digest.
    pub digest: String,
    /// The manifest JSON.
    pub manifest: Value,
    /// The config JSON.
    pub config: Value,
}

/// `sha256:<hex>` of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The entries of the layout's `index.json`, each as JSON text, sorted (a
/// rewrite may reorder them).
pub fn index_entries(dir: &Path) -> Vec<String> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let mut all: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.to_string())
        .collect();
    all.sort();
    all
}

/// Reads a blob and asserts it matches its digest.
#[track_caller]
pub fn blob(dir: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    let bytes = std::fs::read(dir.join("blobs/sha256").join(hex))
        .unwrap_or_else(|e| panic!("blob {digest} in {}: {e}", dir.display()));
    assert_eq!(
        sha256(&bytes),
        digest,
        "blob content does not match its digest"
    );
    bytes
}

impl LayoutImage {
    /// Opens the image tagged `tag` in the layout at `dir`.
    #[track_caller]
    pub fn open(dir: &Path, tag: &str) -> Self {
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let descriptor = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap_or_else(|| panic!("no tag {tag} in {index}"))
            .clone();
        let digest = descriptor["digest"].as_str().unwrap().to_string();
        let manifest: Value = serde_json::from_slice(&blob(dir, &digest)).unwrap();
        let config: Value =
            serde_json::from_slice(&blob(dir, manifest["config"]["digest"].as_str().unwrap()))
                .unwrap();
        Self {
            dir: dir.to_path_buf(),
            digest,
            manifest,
            config,
        }
    }

    /// The layer digests, bottom first.
    pub fn layer_digests(&self) -> Vec<String> {
        self.manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_string())
            .collect()
    }

    /// The media type of layer `i`.
    pub fn layer_media_type(&self, i: usize) -> String {
        self.manifest["layers"][i]["mediaType"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The uncompressed tar of layer `i`, checked against the config's
    /// diff_id. zstd layers are read by the `zstd` command, not by the
    /// library hoist writes them with.
    #[track_caller]
    pub fn layer_tar(&self, i: usize) -> Vec<u8> {
        let digest = self.layer_digests()[i].clone();
        let compressed = blob(&self.dir, &digest);
        let mut tar = Vec::new();
        if self.layer_media_type(i).ends_with("+zstd") {
            let path = self
                .dir
                .join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:"));
            let output = std::process::Command::new("zstd")
                .args(["-d", "-c", "-q"])
                .arg(&path)
                .output()
                .unwrap_or_else(|e| panic!("running zstd (apt-get install zstd): {e}"));
            assert!(output.status.success(), "zstd -d {}", path.display());
            tar = output.stdout;
        } else {
            flate2::read::GzDecoder::new(&compressed[..])
                .read_to_end(&mut tar)
                .unwrap();
        }
        assert_eq!(
            sha256(&tar),
            self.config["rootfs"]["diff_ids"][i],
            "diff_id of layer {i}"
        );
        tar
    }

    /// Paths (as in the tar) of layer `i`.
    pub fn layer_paths(&self, i: usize) -> Vec<String> {
        let tar = self.layer_tar(i);
        let mut archive = tar::Archive::new(&tar[..]);
        archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    /// Unpacks all layers into `root`, bottom first.
    pub fn unpack(&self, root: &Path) {
        for i in 0..self.layer_digests().len() {
            let tar = self.layer_tar(i);
            let mut archive = tar::Archive::new(&tar[..]);
            archive.set_preserve_permissions(true);
            archive.unpack(root).unwrap();
        }
    }

    /// A string array field of the runtime config (`Entrypoint`, `Cmd`).
    pub fn config_list(&self, key: &str) -> Vec<String> {
        self.config["config"][key]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }
}

/// Copies `source` (a skopeo transport reference, `docker://` read without
/// TLS checks) with skopeo into a new layout under `dir`, and reads it back:
/// skopeo checks every blob it copies, and every layer's tar is checked
/// against its diff_id here.
#[track_caller]
pub fn copied_by_skopeo(source: &str, dir: &Path) -> LayoutImage {
    let layout = dir.join("copied-by-skopeo");
    let mut args = vec!["copy", "--quiet"];
    if source.starts_with("docker://") {
        args.push("--src-tls-verify=false");
    }
    let target = format!("oci:{}:back", layout.display());
    args.extend([source, target.as_str()]);
    crate::support::cli::run_tool("skopeo", &args, "apt-get install skopeo");
    let back = LayoutImage::open(&layout, "back");
    for i in 0..back.layer_digests().len() {
        back.layer_tar(i);
    }
    back
}
