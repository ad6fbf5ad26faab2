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

pub(crate) mod artifact;
pub(crate) mod assemble;
pub(crate) mod cache;
pub(crate) mod cache_dir;
pub(crate) mod compression;
pub(crate) mod compressor;
pub(crate) mod config;
pub(crate) mod digest;
pub(crate) mod gzip;
pub(crate) mod layer;
pub(crate) mod manifest;
pub(crate) mod platform;
pub(crate) mod tree;
pub(crate) mod unpack;

pub use digest::Digest;

pub use compression::Compression;
pub use manifest::ManifestFormat;
pub use platform::Platform;
