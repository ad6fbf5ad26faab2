//! The layer cache's directory and its bookkeeping: the layout on disk, the
//! lock that keeps a prune away from running builds, when each blob was last
//! used, how much the cache holds (`hoist cache du`) and pruning it
//! (`hoist cache prune`). What the records mean is the layer cache's; here
//! only a record's `digest` is read.
//!
//! ```text
//! ROOT/lock               flock: shared by every build using the cache, exclusive for a prune
//! ROOT/blobs/sha256/HEX   layers hoist wrote; base layers and configs it downloaded
//! ROOT/layers/KEY.json    layer records: cache key → digests (image::cache)
//! ROOT/startup/KEY/       start-up archives and their facts (kept by the startup module)
//! ```
//!
//! Start-up archives count in `du`, and a prune with `older_than` removes
//! those unused for longer (`max_size` weighs the blobs only).
//!
//! **Last use.** A blob's modification time is when it was last used: set
//! when it is written and again each time a build takes it from the cache.
//! A prune removes blobs unused for longer than `older_than`, then the least
//! recently used until the blobs fit in `max_size`, then the records left
//! without a blob and the temporary files killed processes left behind.
//!
//! **Prune vs builds: a lock, not a grace period.** Every build holds a
//! shared lock on `ROOT/lock` from opening the cache until it is done; a
//! prune takes the exclusive lock, so it waits (at most `wait`) until no
//! build runs, and a build started during a prune waits for it to finish.
//! A prune therefore never deletes a blob a running build is using, however
//! long that build takes. The locks are `flock`s: the kernel releases them
//! when a process dies, so a killed build never blocks a prune.

use crate::util::lock::{lock_within, LockKind};
use crate::util::temp::{self, Place, TempFiles};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long a build waits for a running prune before giving up.
const BUILD_WAITS_FOR_PRUNE: Duration = Duration::from_secs(600);

/// An open cache directory, locked for as long as it lives.
#[derive(Clone, Debug)]
pub(crate) struct CacheDir {
    root: PathBuf,
    _lock: Arc<File>,
}

impl CacheDir {
    /// Opens (creating) the cache at `root` for a build: a shared lock,
    /// after waiting for a running prune if there is one. Sweeps temporary
    /// files that killed processes left.
    pub(crate) fn open_shared(root: &Path) -> Result<Self> {
        let dir = Self::open(root, LockKind::Shared, BUILD_WAITS_FOR_PRUNE, || {
            eprintln!(
                "hoist: waiting for a prune of the layer cache {} to finish",
                root.display()
            )
        })?;
        dir.sweep();
        Ok(dir)
    }

    fn open(root: &Path, kind: LockKind, wait: Duration, on_wait: impl FnOnce()) -> Result<Self> {
        for sub in ["blobs/sha256", "layers"] {
            std::fs::create_dir_all(root.join(sub)).with_context(|| {
                format!("creating cache directory {}", root.join(sub).display())
            })?;
        }
        let lock_path = root.join("lock");
        // flock needs no write access: a read-only cache (shared, restored)
        // still locks.
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .or_else(|_| File::open(&lock_path))
            .with_context(|| format!("opening {}", lock_path.display()))?;
        let locked = lock_within(&lock, kind, wait, on_wait)
            .with_context(|| format!("locking {}", lock_path.display()))?;
        if !locked {
            let (who, hint) = match kind {
                LockKind::Shared => ("a prune", "try again when it is done"),
                LockKind::Exclusive => (
                    "running builds",
                    "prune when they are done, or wait longer with --wait",
                ),
            };
            bail!(
                "the layer cache {} is in use by {who} (waited {}; hint: {hint})",
                root.display(),
                humantime::format_duration(wait)
            );
        }
        Ok(Self {
            root: root.to_path_buf(),
            _lock: Arc::new(lock),
        })
    }

    /// Where blobs are kept.
    pub(crate) fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }

    /// Where layer records are kept.
    pub(crate) fn records_dir(&self) -> PathBuf {
        self.root.join("layers")
    }

    /// Removes the temporary files that killed processes left in the cache.
    fn sweep(&self) -> TempFiles {
        let mut swept = temp::sweep(&self.blob_dir(), Place::Owned);
        swept += temp::sweep(&self.records_dir(), Place::Owned);
        swept
    }
}

/// Marks the blob at `path` as used now (its modification time is the cache's
/// LRU clock). Best effort: a read-only cache simply ages.
pub(crate) fn mark_used(path: &Path) {
    if let Ok(file) = File::options().write(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// One blob in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BlobEntry {
    name: String,
    size: u64,
    last_used: SystemTime,
}

/// The blobs of a cache directory (files named by a sha256 hex digest).
fn blobs(blob_dir: &Path) -> Vec<BlobEntry> {
    let Ok(entries) = std::fs::read_dir(blob_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let is_digest = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
            let meta = entry.metadata().ok().filter(|m| m.is_file() && is_digest)?;
            Some(BlobEntry {
                name,
                size: meta.len(),
                last_used: meta.modified().ok()?,
            })
        })
        .collect()
}

/// The hex digest of the blob a layer record names: its `digest` field
/// (`sha256:HEX`), the one field of a record the directory's bookkeeping
/// reads; `None` for a record that cannot be read.
pub(crate) fn record_blob(bytes: &[u8]) -> Option<String> {
    let record: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let digest = crate::image::Digest::parse(record.get("digest")?.as_str()?).ok()?;
    Some(digest.hex().to_string())
}

/// The layer records: (path, the blob hex they point at, if readable).
fn records(records_dir: &Path) -> Vec<(PathBuf, Option<String>)> {
    let Ok(entries) = std::fs::read_dir(records_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|path| {
            let blob = std::fs::read(&path)
                .ok()
                .and_then(|bytes| record_blob(&bytes));
            (path, blob)
        })
        .collect()
}

/// What the cache holds (`hoist cache du`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheUsage {
    /// The cache directory.
    pub dir: PathBuf,
    /// Blob files.
    pub blobs: usize,
    /// Their bytes: the cache's size.
    pub bytes: u64,
    /// Layer records (cache keys).
    pub layers: usize,
    /// Temporary files (of running builds, or left by killed ones).
    pub temporary: usize,
    /// Their bytes.
    pub temporary_bytes: u64,
    /// Seconds since the least recently used blob was used.
    pub oldest_use_seconds: Option<u64>,
    /// Start-up archives kept.
    pub startup_archives: usize,
    /// Their bytes.
    pub startup_bytes: u64,
}

/// What the cache at `root` holds. Reads only: no lock, nothing created.
pub fn cache_usage(root: &Path) -> Result<CacheUsage> {
    let blob_dir = root.join("blobs/sha256");
    let blobs = blobs(&blob_dir);
    let mut temporary = temp::count(&blob_dir, Place::Owned);
    temporary += temp::count(&root.join("layers"), Place::Owned);
    let now = SystemTime::now();
    let archives = startup_archives(root);
    Ok(CacheUsage {
        startup_archives: archives.len(),
        startup_bytes: archives.iter().map(|a| a.size).sum(),
        dir: root.to_path_buf(),
        blobs: blobs.len(),
        bytes: blobs.iter().map(|b| b.size).sum(),
        layers: records(&root.join("layers")).len(),
        temporary: temporary.count,
        temporary_bytes: temporary.bytes,
        oldest_use_seconds: blobs
            .iter()
            .map(|b| {
                now.duration_since(b.last_used)
                    .unwrap_or_default()
                    .as_secs()
            })
            .max(),
    })
}

/// Limits for a prune.
#[derive(Clone, Debug)]
pub struct PruneOptions {
    /// Remove blobs unused for longer than this.
    pub older_than: Option<Duration>,
    /// Then remove the least recently used until the blobs fit in this many bytes.
    pub max_size: Option<u64>,
    /// How long to wait for running builds to finish with the cache.
    pub wait: Duration,
}

/// What a prune did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    /// The cache directory.
    pub dir: PathBuf,
    /// Blobs removed.
    pub removed_blobs: usize,
    /// Their bytes.
    pub removed_bytes: u64,
    /// Layer records removed (their blob was gone, or they were unreadable).
    pub removed_layers: usize,
    /// Stale temporary files removed.
    pub removed_temporary: usize,
    /// Start-up archives removed (unused for longer than `older_than`).
    pub removed_startup: usize,
    /// Blobs kept.
    pub kept_blobs: usize,
    /// Their bytes: the cache's size now.
    pub kept_bytes: u64,
}

/// Prunes the cache at `root` to `options`' limits, least recently used
/// first, once no build is using it (see the module doc).
pub fn prune_cache(root: &Path, options: &PruneOptions) -> Result<PruneReport> {
    let mut report = PruneReport {
        dir: root.to_path_buf(),
        removed_blobs: 0,
        removed_bytes: 0,
        removed_layers: 0,
        removed_temporary: 0,
        removed_startup: 0,
        kept_blobs: 0,
        kept_bytes: 0,
    };
    if !root.is_dir() {
        return Ok(report);
    }
    let dir = CacheDir::open(root, LockKind::Exclusive, options.wait, || {
        eprintln!(
            "hoist: waiting for builds using the layer cache {} to finish (at most {})",
            root.display(),
            humantime::format_duration(options.wait)
        )
    })?;
    report.removed_temporary = dir.sweep().count;
    let blob_dir = dir.blob_dir();
    let mut entries = blobs(&blob_dir);
    let victims = choose_victims(&entries, SystemTime::now(), options);
    for &i in victims.iter().rev() {
        let entry = entries.remove(i);
        let path = blob_dir.join(&entry.name);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                report.removed_blobs += 1;
                report.removed_bytes += entry.size;
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("removing {}", path.display()))
            }
        }
    }
    for (path, blob) in records(&dir.records_dir()) {
        let dangling = blob.is_none_or(|hex| !blob_dir.join(hex).is_file());
        if dangling && std::fs::remove_file(&path).is_ok() {
            report.removed_layers += 1;
        }
    }
    if let Some(limit) = options.older_than {
        let now = SystemTime::now();
        for archive in startup_archives(root) {
            let old = now
                .duration_since(archive.last_used)
                .is_ok_and(|age| age > limit);
            let staging = archive.name.starts_with(".staging-");
            if (old || staging)
                && std::fs::remove_dir_all(root.join("startup").join(&archive.name)).is_ok()
            {
                report.removed_startup += 1;
            }
        }
    }
    report.kept_blobs = entries.len();
    report.kept_bytes = entries.iter().map(|e| e.size).sum();
    Ok(report)
}

/// The start-up archive directories of the cache at `root`: name, bytes,
/// last use (the newest file's modification time).
fn startup_archives(root: &Path) -> Vec<BlobEntry> {
    let Ok(entries) = std::fs::read_dir(root.join("startup")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| {
            let files: Vec<std::fs::Metadata> = std::fs::read_dir(e.path())
                .map(|d| d.flatten().filter_map(|f| f.metadata().ok()).collect())
                .unwrap_or_default();
            BlobEntry {
                name: e.file_name().to_string_lossy().into_owned(),
                size: files.iter().map(|m| m.len()).sum(),
                last_used: files
                    .iter()
                    .filter_map(|m| m.modified().ok())
                    .max()
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            }
        })
        .collect()
}

/// The indexes (ascending) of the blobs a prune removes: those unused for
/// longer than `older_than`, then the least recently used (ties by name)
/// until the rest fit in `max_size`.
fn choose_victims(entries: &[BlobEntry], now: SystemTime, options: &PruneOptions) -> Vec<usize> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| {
        (entries[a].last_used, &entries[a].name).cmp(&(entries[b].last_used, &entries[b].name))
    });
    let mut total: u64 = entries.iter().map(|e| e.size).sum();
    let mut victims = Vec::new();
    for i in order {
        let entry = &entries[i];
        let too_old = options.older_than.is_some_and(|limit| {
            now.duration_since(entry.last_used)
                .is_ok_and(|age| age > limit)
        });
        let too_big = options.max_size.is_some_and(|limit| total > limit);
        if too_old || too_big {
            victims.push(i);
            total -= entry.size;
        }
    }
    victims.sort_unstable();
    victims
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn entry(name: &str, size: u64, days_ago: u64, now: SystemTime) -> BlobEntry {
        BlobEntry {
            name: name.into(),
            size,
            last_used: now - DAY * days_ago as u32,
        }
    }

    fn options(older_than_days: Option<u32>, max_size: Option<u64>) -> PruneOptions {
        PruneOptions {
            older_than: older_than_days.map(|d| DAY * d),
            max_size,
            wait: Duration::ZERO,
        }
    }

    #[test]
    fn victims_are_the_old_then_the_least_recently_used() {
        let now = SystemTime::now();
        let entries = vec![
            entry("a", 100, 40, now), // unused for 40 days
            entry("b", 300, 1, now),
            entry("c", 200, 10, now),
            entry("d", 50, 0, now),
        ];
        assert_eq!(
            choose_victims(&entries, now, &options(None, None)),
            [] as [usize; 0]
        );
        assert_eq!(choose_victims(&entries, now, &options(Some(30), None)), [0]);
        // 650 bytes in all; to fit in 400, c (10 days) then a (40 days) go first.
        assert_eq!(
            choose_victims(&entries, now, &options(None, Some(400))),
            [0, 2]
        );
        assert_eq!(
            choose_victims(&entries, now, &options(None, Some(350))),
            [0, 2]
        );
        assert_eq!(
            choose_victims(&entries, now, &options(None, Some(349))),
            [0, 1, 2]
        );
        assert_eq!(
            choose_victims(&entries, now, &options(Some(5), Some(0))),
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn a_prune_keeps_what_fits_and_drops_dangling_records() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::open_shared(dir.path()).unwrap();
        let blob_dir = cache.blob_dir();
        let now = SystemTime::now();
        for (i, days) in [(1u8, 20u32), (2, 2), (3, 0)] {
            let name = hex::encode([i; 32]);
            std::fs::write(blob_dir.join(&name), vec![i; 1000]).unwrap();
            File::options()
                .write(true)
                .open(blob_dir.join(&name))
                .unwrap()
                .set_modified(now - DAY * days)
                .unwrap();
            let record = format!(
                r#"{{"diffId":"sha256:{name}","digest":"sha256:{name}","size":1000,"uncompressedSize":1000,"compression":"gzip:6","fileCount":1}}"#
            );
            std::fs::write(cache.records_dir().join(format!("{name}.json")), record).unwrap();
        }
        std::fs::write(cache.records_dir().join("broken.json"), b"{").unwrap();
        let usage = cache_usage(dir.path()).unwrap();
        assert_eq!((usage.blobs, usage.bytes, usage.layers), (3, 3000, 4));

        // A prune waits for the build holding the cache, then gives up.
        let busy = prune_cache(
            dir.path(),
            &PruneOptions {
                wait: Duration::from_millis(100),
                ..options(None, Some(0))
            },
        )
        .unwrap_err();
        assert!(
            busy.to_string().contains("in use by running builds"),
            "{busy}"
        );
        drop(cache);

        let report = prune_cache(dir.path(), &options(Some(10), Some(1500))).unwrap();
        assert_eq!(
            (
                report.removed_blobs,
                report.removed_layers,
                report.kept_blobs,
                report.kept_bytes
            ),
            (2, 3, 1, 1000)
        );
        assert!(blob_dir.join(hex::encode([3u8; 32])).is_file());
        let usage = cache_usage(dir.path()).unwrap();
        assert_eq!((usage.blobs, usage.layers), (1, 1));
    }
}
