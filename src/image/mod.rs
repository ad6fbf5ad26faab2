//! The image model and reproducible layer writing.
//!
//! This module owns what an image *is*: layers (tar streams, gzip-compressed,
//! with their diff_id and digest), the image config, manifests and indexes. It
//! never touches the network and knows nothing of Java: callers hand it a
//! [`layer::LayerSpec`] (which files, with which metadata) and get back a blob
//! on disk with its digests.
//!
//! Reproducibility rules live here: sorted entries, fixed mtimes, normalised
//! ownership and modes (except for root-filesystem layers), one tar header
//! format, one pinned gzip implementation with fixed header bytes.

pub mod assemble;
pub mod cache;
pub mod compression;
pub mod config;
pub mod digest;
pub mod gzip;
pub mod layer;
pub mod manifest;
pub mod platform;
pub mod tree;

pub use digest::Digest;

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename.
pub fn write_file_atomic(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".hoist-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
