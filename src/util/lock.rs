//! Advisory locks (`flock`) on open files. Builds hold a shared lock on the
//! layer cache and a prune an exclusive one; every temporary file and work
//! directory is locked by the process writing it, so a sweep never removes
//! one that a live process still writes. The kernel drops a process's locks
//! when it dies, however it dies, so a killed build leaves none behind.

use rustix::fs::{flock, FlockOperation};
use std::fs::File;
use std::io;
use std::time::{Duration, Instant};

/// How often a waiting lock is tried again.
const RETRY_EVERY: Duration = Duration::from_millis(50);

/// A shared lock (many holders) or an exclusive one (one holder).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LockKind {
    /// Many holders at once (builds using the cache).
    Shared,
    /// One holder, no shared ones (a prune; the writer of a temporary file).
    Exclusive,
}

/// Locks `file` if nobody holds a conflicting lock; `Ok(false)` if somebody does.
pub(crate) fn try_lock(file: &File, kind: LockKind) -> io::Result<bool> {
    let operation = match kind {
        LockKind::Shared => FlockOperation::NonBlockingLockShared,
        LockKind::Exclusive => FlockOperation::NonBlockingLockExclusive,
    };
    match flock(file, operation) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(errno) => Err(errno.into()),
    }
}

/// Locks `file`, trying again every 50 ms for at most `wait`. `on_wait` runs
/// once, when the first try finds the lock taken (to say what is awaited).
/// `Ok(false)` when the wait ran out.
pub(crate) fn lock_within(
    file: &File,
    kind: LockKind,
    wait: Duration,
    on_wait: impl FnOnce(),
) -> io::Result<bool> {
    if try_lock(file, kind)? {
        return Ok(true);
    }
    on_wait();
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        std::thread::sleep(RETRY_EVERY.min(deadline.saturating_duration_since(Instant::now())));
        if try_lock(file, kind)? {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_locks_coexist_and_exclude_an_exclusive_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let open = || File::create(&path).unwrap();
        let (one, two, three) = (open(), open(), open());
        assert!(try_lock(&one, LockKind::Shared).unwrap());
        assert!(try_lock(&two, LockKind::Shared).unwrap());
        assert!(!try_lock(&three, LockKind::Exclusive).unwrap());
        let mut waited = false;
        let got = lock_within(
            &three,
            LockKind::Exclusive,
            Duration::from_millis(120),
            || waited = true,
        )
        .unwrap();
        assert!(!got && waited);
        drop((one, two));
        assert!(try_lock(&three, LockKind::Exclusive).unwrap());
    }
}
