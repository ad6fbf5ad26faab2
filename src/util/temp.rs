//! Every temporary file and work directory hoist makes, and their cleanup —
//! on drop, on interrupt, and after a process that was killed.
//!
//! - Made here ([`file_in`], [`dir_in`]), each is registered with this
//!   process and locked (`flock`, exclusive) by it for as long as it lives.
//!   Dropped, it is removed; persisted, it is renamed into place.
//! - On SIGINT/SIGTERM the binary calls [`remove_all_and_hold`], which
//!   removes every registered path and keeps the registry locked until the
//!   process exits. Creating and persisting take the same lock, so an output
//!   is either renamed into place whole before the cleanup, or never.
//! - [`sweep`] removes what a killed process (SIGKILL, power loss) left:
//!   only names made here, only when older than [`STALE_AFTER`], and only
//!   when no process holds their lock — a live writer always does, so a
//!   sweep never takes a file that is still being written.
//!
//! Nothing else in the library makes a named temporary file or directory
//! (an unnamed one, gone with its handle, needs none of this).

use crate::util::lock::{try_lock, LockKind};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

/// A temporary file or directory left by another process is swept once it
/// is this old (by modification time) and unlocked.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Random characters after the prefix (tempfile's default, stated here
/// because the sweep matches names by it).
const RANDOM_CHARS: usize = 6;

/// What a temporary file or directory is for; each has its own name prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TempKind {
    /// A layer blob being written (`.layer-*`).
    Layer,
    /// A blob being downloaded (`.download-*`).
    Download,
    /// A small file being replaced atomically (`.hoist-*`).
    Write,
    /// A blob being copied into a layout (`.blob-*`).
    Blob,
    /// A build's work directory (`.hoist-build-*`).
    Build,
    /// A new OCI layout before it is renamed into place (`.hoist-layout-*`).
    Layout,
    /// A docker archive before it is renamed into place (`.hoist-archive-*`).
    Archive,
    /// A scratch directory in the system temp directory (`.hoist-scratch-*`).
    Scratch,
}

impl TempKind {
    const ALL: [TempKind; 8] = [
        TempKind::Layer,
        TempKind::Download,
        TempKind::Write,
        TempKind::Blob,
        TempKind::Build,
        TempKind::Layout,
        TempKind::Archive,
        TempKind::Scratch,
    ];

    /// The name prefix.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            TempKind::Layer => ".layer-",
            TempKind::Download => ".download-",
            TempKind::Write => ".hoist-",
            TempKind::Blob => ".blob-",
            TempKind::Build => ".hoist-build-",
            TempKind::Layout => ".hoist-layout-",
            TempKind::Archive => ".hoist-archive-",
            TempKind::Scratch => ".hoist-scratch-",
        }
    }

    /// True for the kinds made in directories hoist does not own (beside an
    /// output, in the system temp directory).
    fn made_in_foreign_dirs(self) -> bool {
        matches!(
            self,
            TempKind::Build | TempKind::Layout | TempKind::Archive | TempKind::Scratch
        )
    }
}

/// Which names a sweep may take in a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// A directory hoist owns (the layer cache, an OCI layout): every kind.
    Owned,
    /// Any other directory: only the work directories and staged outputs
    /// hoist makes beside an output.
    Foreign,
}

/// The kind of temporary name `name` is, if it is one hoist makes.
fn kind_of(name: &str, place: Place) -> Option<TempKind> {
    TempKind::ALL.into_iter().find(|kind| {
        let allowed = place == Place::Owned || kind.made_in_foreign_dirs();
        allowed
            && name.strip_prefix(kind.prefix()).is_some_and(|rest| {
                rest.len() == RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            })
    })
}

/// This process's live temporary paths, by registration number.
struct Registry {
    next: u64,
    live: BTreeMap<u64, PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    live: BTreeMap::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registry {
    fn add(&mut self, path: &Path) -> u64 {
        self.next += 1;
        self.live.insert(self.next, path.to_path_buf());
        self.next
    }
}

/// A temporary file: removed when dropped unless persisted.
pub(crate) struct TempFile {
    file: Option<tempfile::NamedTempFile>,
    id: u64,
}

/// Makes a temporary file of `kind` in `dir`, registered and locked.
pub(crate) fn file_in(dir: &Path, kind: TempKind) -> Result<TempFile> {
    let mut registry = registry();
    let file = tempfile::Builder::new()
        .prefix(kind.prefix())
        .rand_bytes(RANDOM_CHARS)
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    // Without locks (some network file systems) only the age protects it.
    let _ = try_lock(file.as_file(), LockKind::Exclusive);
    let id = registry.add(file.path());
    Ok(TempFile {
        file: Some(file),
        id,
    })
}

impl TempFile {
    fn inner(&self) -> &tempfile::NamedTempFile {
        self.file
            .as_ref()
            .expect("present until persisted or dropped")
    }

    /// Where it is.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        self.inner().path()
    }

    /// The open file.
    pub(crate) fn as_file(&self) -> &File {
        self.inner().as_file()
    }

    /// Another handle to it (for a writer that owns its file).
    pub(crate) fn reopen(&self) -> std::io::Result<File> {
        self.inner().reopen()
    }

    /// Renames it to `dest`, replacing what is there. An interrupt's cleanup
    /// and this rename exclude each other.
    pub(crate) fn persist(mut self, dest: &Path) -> std::io::Result<()> {
        let file = self
            .file
            .take()
            .expect("present until persisted or dropped");
        let mut registry = registry();
        match file.persist(dest) {
            Ok(_) => {
                registry.live.remove(&self.id);
                Ok(())
            }
            Err(error) => {
                self.file = Some(error.file);
                Err(error.error)
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Removed first, then forgotten: an interrupt in between finds the
        // path gone, never a file it does not know.
        drop(self.file.take());
        registry().live.remove(&self.id);
    }
}

/// A temporary directory: removed with its content when dropped unless persisted.
pub(crate) struct TempDir {
    dir: Option<tempfile::TempDir>,
    _lock: Option<File>,
    id: u64,
}

/// Makes a temporary directory of `kind` in `parent`, registered and locked.
pub(crate) fn dir_in(parent: &Path, kind: TempKind) -> Result<TempDir> {
    let mut registry = registry();
    let dir = tempfile::Builder::new()
        .prefix(kind.prefix())
        .rand_bytes(RANDOM_CHARS)
        .tempdir_in(parent)
        .with_context(|| format!("creating a work directory in {}", parent.display()))?;
    let lock = File::open(dir.path())
        .ok()
        .filter(|f| try_lock(f, LockKind::Exclusive).unwrap_or(false));
    let id = registry.add(dir.path());
    Ok(TempDir {
        dir: Some(dir),
        _lock: lock,
        id,
    })
}

/// A scratch directory in the system temp directory (`.hoist-scratch-*`),
/// removed when dropped or on interrupt.
pub(crate) fn scratch_dir() -> Result<TempDir> {
    dir_in(&std::env::temp_dir(), TempKind::Scratch)
}

impl TempDir {
    /// Where it is.
    pub(crate) fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("present until persisted or dropped")
            .path()
    }

    /// Renames it to `dest` (which must not exist, or be an empty
    /// directory). An interrupt's cleanup and this rename exclude each other.
    pub(crate) fn persist(mut self, dest: &Path) -> std::io::Result<()> {
        let mut registry = registry();
        std::fs::rename(self.path(), dest)?;
        if let Some(dir) = self.dir.take() {
            // Renamed away: nothing left for it to delete.
            let _ = dir.keep();
        }
        registry.live.remove(&self.id);
        Ok(())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        drop(self.dir.take());
        registry().live.remove(&self.id);
    }
}

/// Removes every temporary file and directory of this process, then keeps
/// the registry locked for good: no new one is made and none is renamed into
/// place after this. For an interrupt handler, right before the process
/// exits. Returns how many it removed.
pub fn remove_all_and_hold() -> usize {
    let registry = registry();
    let removed = registry
        .live
        .values()
        .filter(|path| remove_path(path).is_ok())
        .count();
    // Never unlocked: the process is about to exit.
    std::mem::forget(registry);
    removed
}

fn remove_path(path: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path)?.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

/// Temporary files hoist made, found in one directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TempFiles {
    /// How many.
    pub count: usize,
    /// Their bytes (directories: everything in them).
    pub bytes: u64,
}

impl std::ops::AddAssign for TempFiles {
    fn add_assign(&mut self, other: Self) {
        self.count += other.count;
        self.bytes += other.bytes;
    }
}

/// Counts the temporary names hoist makes in `dir` (live or stale).
pub(crate) fn count(dir: &Path, place: Place) -> TempFiles {
    let mut found = TempFiles::default();
    for (path, _) in temp_entries(dir, place) {
        found += TempFiles {
            count: 1,
            bytes: bytes_under(&path),
        };
    }
    found
}

/// Removes the temporary files and directories in `dir` that a killed
/// process left: older than [`STALE_AFTER`] and locked by nobody.
/// Best effort: what cannot be removed stays for the next sweep.
pub(crate) fn sweep(dir: &Path, place: Place) -> TempFiles {
    let mut removed = TempFiles::default();
    let now = SystemTime::now();
    for (path, modified) in temp_entries(dir, place) {
        let old = now
            .duration_since(modified)
            .is_ok_and(|age| age >= STALE_AFTER);
        if !old {
            continue;
        }
        // A live writer holds an exclusive lock until it is done.
        let Ok(handle) = File::open(&path) else {
            continue;
        };
        if !try_lock(&handle, LockKind::Exclusive).unwrap_or(false) {
            continue;
        }
        let bytes = bytes_under(&path);
        if remove_path(&path).is_ok() {
            removed += TempFiles { count: 1, bytes };
        }
    }
    removed
}

/// The temporary entries of `dir` with their modification times.
fn temp_entries(dir: &Path, place: Place) -> Vec<(PathBuf, SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| kind_of(name, place).is_some())
        })
        .filter_map(|entry| {
            let modified = entry.metadata().ok()?.modified().ok()?;
            Some((entry.path(), modified))
        })
        .collect()
}

/// The bytes of a file, or of everything under a directory.
fn bytes_under(path: &Path) -> u64 {
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn age(path: &Path, by: Duration) {
        File::open(path)
            .unwrap()
            .set_modified(SystemTime::now() - by)
            .unwrap();
    }

    #[test]
    fn names_are_recognised_by_kind_and_place() {
        assert_eq!(
            kind_of(".layer-a1B2c3", Place::Owned),
            Some(TempKind::Layer)
        );
        assert_eq!(
            kind_of(".hoist-x1y2z3", Place::Owned),
            Some(TempKind::Write)
        );
        assert_eq!(
            kind_of(".hoist-build-x1y2z3", Place::Foreign),
            Some(TempKind::Build)
        );
        // A user's own files beside an output are never taken for ours.
        assert_eq!(kind_of(".hoist-x1y2z3", Place::Foreign), None);
        assert_eq!(kind_of(".hoist-config", Place::Foreign), None);
        assert_eq!(kind_of(".hoist-build-cache", Place::Foreign), None);
        assert_eq!(kind_of(".layer-a1B2c3", Place::Foreign), None);
        assert_eq!(kind_of(".layer-a1B2c", Place::Owned), None);
        assert_eq!(kind_of("layer-a1B2c3", Place::Owned), None);
    }

    #[test]
    fn dropped_files_and_dirs_are_removed_and_persisted_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_in(dir.path(), TempKind::Write).unwrap();
        let path = file.path().to_path_buf();
        assert!(registry().live.values().any(|p| *p == path));
        drop(file);
        assert!(!path.exists());
        assert!(!registry().live.values().any(|p| *p == path));

        let file = file_in(dir.path(), TempKind::Write).unwrap();
        let temp_path = file.path().to_path_buf();
        assert!(file.persist(&dir.path().join("missing/x")).is_err());
        assert!(!temp_path.exists(), "a failed persist leaves nothing");

        let file = file_in(dir.path(), TempKind::Write).unwrap();
        file.reopen().unwrap().write_all(b"kept").unwrap();
        let temp_path = file.path().to_path_buf();
        file.persist(&dir.path().join("final")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("final")).unwrap(), b"kept");
        assert!(!registry().live.values().any(|p| *p == temp_path));

        let work = dir_in(dir.path(), TempKind::Layout).unwrap();
        std::fs::write(work.path().join("index.json"), b"{}").unwrap();
        work.persist(&dir.path().join("layout")).unwrap();
        assert!(dir.path().join("layout/index.json").is_file());
        let work = dir_in(dir.path(), TempKind::Build).unwrap();
        let work_path = work.path().to_path_buf();
        drop(work);
        assert!(!work_path.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "final and layout"
        );
    }

    #[test]
    fn a_sweep_takes_only_old_unlocked_temporary_names() {
        let dir = tempfile::tempdir().unwrap();
        let make = |name: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, b"12345").unwrap();
            path
        };
        let stale = make(".layer-AAAAAA");
        let young = make(".layer-BBBBBB");
        let mine = make(".layer-CCCCCC");
        let unrelated = make("notes.txt");
        let stale_dir = dir.path().join(".hoist-build-DDDDDD");
        std::fs::create_dir(&stale_dir).unwrap();
        std::fs::write(stale_dir.join("x"), b"123").unwrap();
        for path in [&stale, &mine, &unrelated, &stale_dir] {
            age(path, STALE_AFTER + Duration::from_secs(60));
        }
        // A live writer's lock keeps its file, however old.
        let holder = File::open(&mine).unwrap();
        assert!(try_lock(&holder, LockKind::Exclusive).unwrap());

        assert_eq!(count(dir.path(), Place::Owned).count, 4);
        assert_eq!(
            sweep(dir.path(), Place::Foreign),
            TempFiles { count: 1, bytes: 3 },
            "beside outputs only the work directory is hoist's"
        );
        assert_eq!(
            sweep(dir.path(), Place::Owned),
            TempFiles { count: 1, bytes: 5 }
        );
        assert!(!stale.exists() && !stale_dir.exists());
        assert!(young.exists() && mine.exists() && unrelated.exists());
        drop(holder);
        assert_eq!(sweep(dir.path(), Place::Owned).count, 1);
        assert!(!mine.exists());
    }
}
