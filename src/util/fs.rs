//! Files that appear whole or not at all, and writes that run out of space.
//! Atomic writes go through a temporary file beside the target, synced, then
//! renamed over it ([`write_atomic`]). A write that fails for lack of space
//! becomes one [`DiskFull`] error naming the place and what it needed. Used
//! by the layer cache, OCI layouts, docker archives and report files alike.

use crate::util::temp::{self, TempKind};
use anyhow::{Context, Result};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The directory `path` lives in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced,
/// then renamed over it. Readers see the old content or the new, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let written = (|| -> Result<()> {
        let temp = temp::file_in(parent_of(path), TempKind::Write)?;
        let mut file = temp.as_file();
        file.write_all(bytes)?;
        file.sync_all()?;
        temp.persist(path)?;
        Ok(())
    })();
    written.map_err(|error| {
        if is_disk_full(&error) {
            disk_full_or(error, || {
                DiskFull::new(
                    format!("writing {}", path.display()),
                    bytes.len() as u64,
                    "free space there or write it elsewhere",
                )
            })
        } else {
            error.context(format!("writing {}", path.display()))
        }
    })
}

/// A write that failed because its file system is full (or the quota is
/// used up): what was being written where, about how much it needed, and
/// what to do.
#[derive(Debug)]
pub(crate) struct DiskFull {
    what: String,
    needed: Option<u64>,
    hint: String,
}

impl DiskFull {
    /// `what` names the write and its place (`writing layer app to /cache`);
    /// `needed` is about how many bytes it needs.
    pub(crate) fn new(what: impl Into<String>, needed: u64, hint: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            needed: Some(needed),
            hint: hint.into(),
        }
    }

    /// A full disk where the size needed is not known beforehand.
    pub(crate) fn size_unknown(what: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            needed: None,
            hint: hint.into(),
        }
    }
}

impl fmt::Display for DiskFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no space left on device: {}", self.what)?;
        if let Some(needed) = self.needed {
            write!(f, " needs about {}", human_bytes(needed))?;
        }
        write!(f, " (hint: {})", self.hint)
    }
}

impl std::error::Error for DiskFull {}

/// True when `error`, anywhere in its chain, is a full file system or an
/// exhausted quota.
pub(crate) fn is_disk_full(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<DiskFull>().is_some()
            || cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                )
            })
    })
}

/// `error` replaced by `describe()` when it is a full disk (and not already
/// described), else unchanged.
pub(crate) fn disk_full_or(
    error: anyhow::Error,
    describe: impl FnOnce() -> DiskFull,
) -> anyhow::Error {
    if !is_disk_full(&error) || error.chain().any(|c| c.is::<DiskFull>()) {
        return error;
    }
    describe().into()
}

/// `1536` → `1.5 KiB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The nearest existing ancestor of `path` (made absolute), for work files
/// beside a destination that may not exist yet.
pub(crate) fn existing_ancestor(path: &Path) -> Result<PathBuf> {
    let absolute =
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
    Ok(absolute
        .ancestors()
        .skip(1)
        .find(|p| p.is_dir())
        .unwrap_or(Path::new("/"))
        .to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_and_leave_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_full_disk_is_told_in_one_line() {
        let io = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let error = anyhow::Error::from(io).context("writing x");
        assert!(is_disk_full(&error));
        let told = disk_full_or(error, || {
            DiskFull::new("writing layer app to /c", 5 << 20, "free space")
        });
        assert_eq!(
            crate::error::one_line(&told),
            "no space left on device: writing layer app to /c needs about 5.0 MiB (hint: free space)"
        );
        let other = anyhow::anyhow!("permission denied");
        assert!(!is_disk_full(&other));
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
