//! Who is using a cluster, told by `flock(2)` locks on files beside it.
//!
//! * The start-up lock (`<data_dir>.lock`, exclusive) serialises starting
//!   and stopping between processes: cargo nextest runs one process per
//!   test, and two dev servers may start at once.
//! * Every user holds a lease: a shared lock on `<data_dir>.lease`, for as
//!   long as it uses the cluster. A user leaving takes the start-up lock and
//!   tries an exclusive lock on the lease file: it succeeds only when no
//!   other lease is held, and only then is the server stopped. A process
//!   that dies releases its locks with its file descriptors, so a crashed
//!   dev server never keeps a cluster alive, nor stops it under another.
//!
//! The locks are `std::fs::File::lock*` (flock on Linux) on descriptors
//! opened close-on-exec, so neither `pg_ctl` nor the server it forks
//! inherits them (a lock inherited by the long-lived server would never be
//! released).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::{io_error, LocalClusterError};

fn open(path: &Path) -> Result<File, LocalClusterError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| io_error(format!("opening {}", path.display()), e))
}

/// The exclusive start-up lock, released on drop.
#[derive(Debug)]
pub(crate) struct StartLock(#[allow(dead_code)] File);

impl StartLock {
    /// Waits for the lock.
    pub(crate) fn acquire(path: &Path) -> Result<Self, LocalClusterError> {
        let file = open(path)?;
        file.lock()
            .map_err(|e| io_error(format!("locking {}", path.display()), e))?;
        Ok(Self(file))
    }
}

/// A shared lease on a cluster, released on drop.
#[derive(Debug)]
pub struct Lease(#[allow(dead_code)] File);

impl Lease {
    /// Takes a lease. Only ever waits for a user that is checking whether
    /// it is the last one (a moment).
    pub(crate) fn take(path: &Path) -> Result<Self, LocalClusterError> {
        let file = open(path)?;
        file.lock_shared()
            .map_err(|e| io_error(format!("locking {}", path.display()), e))?;
        Ok(Self(file))
    }
}

/// Whether nobody holds a lease on `path` right now. Call with the start-up
/// lock held, so that nobody takes one while the answer is acted on.
pub(crate) fn nobody_leases(path: &Path) -> Result<bool, LocalClusterError> {
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(io_error(format!("locking {}", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempDir;

    #[test]
    fn the_last_lease_to_go_leaves_nobody() {
        let tmp = TempDir::new("lease");
        let path = tmp.path().join("pg.lease");
        assert!(nobody_leases(&path).unwrap());
        let first = Lease::take(&path).unwrap();
        let second = Lease::take(&path).unwrap();
        assert!(!nobody_leases(&path).unwrap());
        drop(first);
        assert!(!nobody_leases(&path).unwrap(), "the second still holds one");
        drop(second);
        assert!(nobody_leases(&path).unwrap());
    }
}
