//! The local layer cache: never compress the same input twice.
//!
//! A layer's *key* is a hash of everything that decides its bytes — entry
//! paths, kinds, modes, owners, sizes, content identities (a zip entry's
//! CRC-32, a host file's SHA-256, inline bytes' SHA-256), the mtime, the
//! resolved compression and hoist's version (which pins the tar writer and
//! the compressor). The cache maps a key to a record of the layer's digests
//! and keeps the compressed blob, so a rebuild reads the jar's central
//! directory, finds every unchanged layer here and writes only what changed.
//!
//! Integrity: blobs and records are synced before they are renamed into
//! place, and a record names its blob by digest. A cache hit is handed out
//! as *to be checked* ([`BuiltLayer::check`]): whoever copies its bytes into
//! an output hashes them on the way (`dest`), and a registry checks what it
//! receives. A blob found not to match is [`LayerCache::rewrite`]n by the
//! build. The directory, its lock, last-use times and pruning are
//! [`crate::image::cache_dir`]'s.

use crate::image::cache_dir::{mark_used, CacheDir};
use crate::image::compression::Compression;
use crate::image::digest::{Digest, HashingWriter};
use crate::image::layer::{write_layer_teed, BlobTee, BuiltLayer, Content, EntryKind, LayerSpec};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bumped when anything that shapes layer bytes changes without a version bump.
const KEY_SCHEME: &str = "hoist-layer-key-v1";

/// A directory of cached layer blobs and their digests, held open (and
/// shared-locked) for one build.
#[derive(Clone, Debug)]
pub(crate) struct LayerCache {
    dir: CacheDir,
}

/// What the cache records per key.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheRecord {
    diff_id: Digest,
    digest: Digest,
    size: u64,
    uncompressed_size: u64,
    compression: String,
    file_count: usize,
}

impl LayerCache {
    /// Opens (creating) the cache at `root`, shared-locked until dropped.
    pub(crate) fn open(root: &Path) -> Result<Self> {
        Ok(Self {
            dir: CacheDir::open_shared(root)?,
        })
    }

    /// `$XDG_CACHE_HOME/hoist`, else `~/.cache/hoist`.
    pub(crate) fn default_root() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("hoist"))
    }

    /// Where blobs are kept.
    pub(crate) fn blob_dir(&self) -> PathBuf {
        self.dir.blob_dir()
    }

    /// True when the cache holds at least one layer record: a cache kept
    /// between builds, where a layer it lacks is most likely new content.
    pub(crate) fn is_warm(&self) -> bool {
        std::fs::read_dir(self.dir.records_dir())
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(false)
    }

    fn record_path(&self, key: &Digest) -> PathBuf {
        self.dir.records_dir().join(format!("{}.json", key.hex()))
    }

    /// The cached layer for `spec` (marked used, its bytes to be checked
    /// where they are used), or a freshly written one (then cached).
    /// Returns the layer and whether it came from the cache.
    pub(crate) fn get_or_write(
        &self,
        spec: &LayerSpec,
        tee: Option<&mut dyn BlobTee>,
    ) -> Result<(BuiltLayer, bool)> {
        let key = layer_key(spec)?;
        if let Some(layer) = self.lookup(&key, spec) {
            mark_used(&layer.path);
            return Ok((layer, true));
        }
        Ok((self.write(&key, spec, tee)?, false))
    }

    /// Writes `spec` afresh over its cached blob and record: the repair of
    /// an entry whose blob did not match its digest.
    pub(crate) fn rewrite(&self, spec: &LayerSpec) -> Result<BuiltLayer> {
        self.write(&layer_key(spec)?, spec, None)
    }

    fn write(
        &self,
        key: &Digest,
        spec: &LayerSpec,
        tee: Option<&mut dyn BlobTee>,
    ) -> Result<BuiltLayer> {
        let layer = write_layer_teed(spec, &self.blob_dir(), tee)?;
        let record = CacheRecord {
            diff_id: layer.diff_id.clone(),
            digest: layer.digest.clone(),
            size: layer.size,
            uncompressed_size: layer.uncompressed_size,
            compression: layer.compression.to_string(),
            file_count: layer.file_count,
        };
        // A cache that cannot be written only costs speed next time.
        let _ = crate::util::fs::write_atomic(
            &self.record_path(key),
            &serde_json::to_vec(&record).expect("a cache record serialises"),
        );
        Ok(layer)
    }

    fn lookup(&self, key: &Digest, spec: &LayerSpec) -> Option<BuiltLayer> {
        let bytes = std::fs::read(self.record_path(key)).ok()?;
        let record: CacheRecord = serde_json::from_slice(&bytes).ok()?;
        let path = self.blob_dir().join(record.digest.hex());
        let on_disk = std::fs::metadata(&path).ok()?;
        if on_disk.len() != record.size {
            return None;
        }
        Some(BuiltLayer {
            name: spec.name.clone(),
            diff_id: record.diff_id,
            digest: record.digest,
            size: record.size,
            uncompressed_size: record.uncompressed_size,
            compression: record.compression.parse().unwrap_or(Compression::Auto),
            path,
            file_count: record.file_count,
            check: true,
        })
    }
}

/// The cache key of a layer spec: a hash of everything that decides its bytes.
pub(crate) fn layer_key(spec: &LayerSpec) -> Result<Digest> {
    let mut hasher = HashingWriter::new(std::io::sink());
    writeln!(
        hasher,
        "{KEY_SCHEME}\n{}\n{}\nmtime {}",
        env!("CARGO_PKG_VERSION"),
        spec.effective_compression(),
        spec.mtime
    )?;
    for entry in spec.entries() {
        let content = match &entry.kind {
            EntryKind::Directory => "dir".to_string(),
            EntryKind::File { size, content } => {
                format!("file {size} {}", content_identity(content)?)
            }
            EntryKind::Symlink { target } => format!("symlink {target}"),
            EntryKind::HardLink { target } => format!("link {target}"),
            EntryKind::CharDevice { major, minor } => format!("char {major}:{minor}"),
            EntryKind::BlockDevice { major, minor } => format!("block {major}:{minor}"),
            EntryKind::Fifo => "fifo".to_string(),
        };
        // Paths may hold any byte but NUL; NUL separates the fields.
        write!(
            hasher,
            "{}\0{:o}\0{}\0{}\0{content}\0",
            entry.path, entry.mode, entry.uid, entry.gid
        )?;
    }
    Ok(hasher.finish().1)
}

fn content_identity(content: &Content) -> Result<String> {
    Ok(match content {
        Content::Bytes(bytes) => format!("sha256 {}", Digest::of(bytes)),
        Content::ZipEntry { crc32, .. } => format!("crc32 {crc32:08x}"),
        Content::HostFile(path) => {
            let file =
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let mut hasher = Sha256::new();
            std::io::copy(
                &mut std::io::BufReader::with_capacity(1 << 20, file),
                &mut hasher,
            )
            .with_context(|| format!("reading {}", path.display()))?;
            format!("sha256 {}", hex::encode(hasher.finalize()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::layer::NormalizedLayerBuilder;
    use std::sync::Arc;

    #[test]
    fn the_directory_reads_the_blob_a_record_names() {
        let digest = Digest::of(b"blob");
        let record = CacheRecord {
            diff_id: Digest::of(b"tar"),
            digest: digest.clone(),
            size: 4,
            uncompressed_size: 3,
            compression: "gzip".into(),
            file_count: 1,
        };
        let bytes = serde_json::to_vec(&record).unwrap();
        assert_eq!(
            crate::image::cache_dir::record_blob(&bytes).as_deref(),
            Some(digest.hex())
        );
        assert_eq!(crate::image::cache_dir::record_blob(b"{\"dig"), None);
    }

    fn spec(text: &str) -> LayerSpec {
        let mut b = NormalizedLayerBuilder::new();
        b.file(
            "/app/a.txt",
            text.len() as u64,
            Content::Bytes(Arc::from(text.as_bytes())),
            false,
        );
        b.build("t").unwrap()
    }

    #[test]
    fn a_second_build_comes_from_the_cache_with_the_same_digests() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::open(dir.path()).unwrap();
        let (first, hit) = cache.get_or_write(&spec("one"), None).unwrap();
        assert!(!hit);
        let (again, hit) = cache.get_or_write(&spec("one"), None).unwrap();
        assert!(hit);
        assert_eq!(
            (&first.digest, &first.diff_id),
            (&again.digest, &again.diff_id)
        );
        let (other, hit) = cache.get_or_write(&spec("two"), None).unwrap();
        assert!(!hit);
        assert_ne!(other.digest, again.digest);
    }

    #[test]
    fn key_changes_with_mode_mtime_and_compression() {
        let base = layer_key(&spec("x")).unwrap();
        let mut later = spec("x");
        later.mtime = 99;
        assert_ne!(layer_key(&later).unwrap(), base);
        let mut stored = spec("x");
        stored.compression = Compression::Stored;
        assert_ne!(layer_key(&stored).unwrap(), base);
        assert_eq!(layer_key(&spec("x")).unwrap(), base);
    }

    #[test]
    fn hits_are_handed_out_to_be_checked_and_a_rewrite_repairs_the_blob() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::open(dir.path()).unwrap();
        let (fresh, _) = cache.get_or_write(&spec("kept"), None).unwrap();
        assert!(
            !fresh.check,
            "bytes written by this run need no second look"
        );
        let (hit, cached) = cache.get_or_write(&spec("kept"), None).unwrap();
        assert!(cached && hit.check);
        let mut bytes = std::fs::read(&hit.path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&hit.path, &bytes).unwrap();
        let repaired = cache.rewrite(&spec("kept")).unwrap();
        assert_eq!(repaired.digest, hit.digest);
        assert_eq!(
            Digest::of(&std::fs::read(&hit.path).unwrap()),
            hit.digest,
            "the blob matches its digest again"
        );
    }

    #[test]
    fn a_missing_blob_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::open(dir.path()).unwrap();
        let (built, _) = cache.get_or_write(&spec("gone"), None).unwrap();
        std::fs::remove_file(&built.path).unwrap();
        let (rebuilt, hit) = cache.get_or_write(&spec("gone"), None).unwrap();
        assert!(!hit);
        assert!(rebuilt.path.is_file());
    }
}
