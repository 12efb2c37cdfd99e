//! Where a cluster's files actually live.
//!
//! Normally exactly where [`LocalClusterConfig::data_dir`] says. But when
//! this process is root, the server runs as the `postgres` system user, who
//! cannot enter a checkout under a home directory of mode 0700 (root's clones
//! usually live there). Then the data directory and its log move to
//! `/var/tmp/request-desk-<hash>/`, where `<hash>` is a short hash of the
//! configured data directory's parent, so each checkout keeps its own
//! cluster, and it survives reboots as the checkout's would. A
//! `<data_dir>.location` file in the checkout says where the data went.
//!
//! The lock, lease and pin files always stay beside the configured data
//! directory: only this process's user touches them.

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::{LocalClusterConfig, MAX_SOCKET_PATH};
use crate::error::{io_error, LocalClusterError};
use crate::process::{run, run_ok};
use crate::tools::{RunAs, Tools};

/// Where the clusters of checkouts the `postgres` user cannot reach live.
pub const SHARED_ROOT: &str = "/var/tmp";

/// The files of one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `PGDATA` (and the directory of the Unix socket).
    pub data_dir: PathBuf,
    /// The server log, `<data dir>.log`.
    pub log_file: PathBuf,
    /// Serialises start-up and stop between processes.
    pub lock_file: PathBuf,
    /// Every process using the cluster holds a shared lock on it; the last
    /// to leave stops the server (see [`crate::lease`]).
    pub lease_file: PathBuf,
    /// Present while someone asked the cluster to outlive its users
    /// (`local-db`, the test suites): then nobody stops it on leaving.
    pub pin_file: PathBuf,
    /// Whether the data moved out of the checkout (see the module docs).
    pub relocated: bool,
}

impl Layout {
    /// The layout with the data where the configuration says.
    pub fn in_place(config: &LocalClusterConfig) -> Self {
        Self::with_data_dir(config, config.data_dir.clone(), false)
    }

    /// The layout with the data under `shared_root/request-desk-<hash>/`.
    pub fn relocated(config: &LocalClusterConfig, shared_root: &Path) -> Self {
        let parent = config.data_dir.parent().unwrap_or(Path::new("/"));
        let name = config
            .data_dir
            .file_name()
            .map_or_else(|| "postgres".into(), |n| n.to_os_string());
        let dir = shared_root
            .join(format!("request-desk-{}", short_hash(parent)))
            .join(name);
        Self::with_data_dir(config, dir, true)
    }

    fn with_data_dir(config: &LocalClusterConfig, data_dir: PathBuf, relocated: bool) -> Self {
        let mut log = data_dir.clone().into_os_string();
        log.push(".log");
        Self {
            log_file: PathBuf::from(log),
            data_dir,
            lock_file: config.lock_file(),
            lease_file: config.beside(".lease"),
            pin_file: config.beside(".pinned"),
            relocated,
        }
    }

    /// Where a [`Layout::relocated`] cluster records the data's place.
    pub fn location_file(config: &LocalClusterConfig) -> PathBuf {
        config.beside(".location")
    }

    /// The layout of a cluster that may already exist, without creating
    /// anything: the recorded relocation if there is one, else in place.
    pub fn existing(config: &LocalClusterConfig) -> Self {
        match fs::read_to_string(Self::location_file(config)) {
            Ok(text) if !text.trim().is_empty() => {
                Self::with_data_dir(config, PathBuf::from(text.trim()), true)
            }
            _ => Self::in_place(config),
        }
    }
}

/// 48 bits of FNV-1a over the path's bytes, in hex: stable across Rust
/// versions and machines, short enough for the socket path.
pub(crate) fn short_hash(path: &Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:012x}", hash >> 16)
}

/// Decides where the cluster lives, creates its data directory (mode 0700)
/// and, as root, hands it and the log file over to the `postgres` user and
/// checks that user can reach them. Call with the start-up lock held.
pub(crate) fn prepare(
    config: &LocalClusterConfig,
    tools: &Tools,
    shared_root: &Path,
) -> Result<Layout, LocalClusterError> {
    let parent = config.data_dir.parent().unwrap_or(Path::new("/"));
    let layout = if tools.server_user_can_enter(parent)? {
        Layout::in_place(config)
    } else {
        let layout = Layout::relocated(config, shared_root);
        let home = layout
            .data_dir
            .parent()
            .expect("a relocated dir has a parent");
        create_shared_dir(home)?;
        let location = Layout::location_file(config);
        fs::write(&location, format!("{}\n", layout.data_dir.display()))
            .map_err(|e| io_error(format!("writing {}", location.display()), e))?;
        tracing::info!(
            "the postgres user cannot reach {}: keeping the cluster's data in {}",
            parent.display(),
            layout.data_dir.display()
        );
        layout
    };
    check_socket_path(&layout.data_dir, config.port)?;

    let data_dir = &layout.data_dir;
    match fs::DirBuilder::new().mode(0o700).create(data_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_error(format!("creating {}", data_dir.display()), e)),
    }
    let RunAs::Postgres(pg_uid) = tools.run_as else {
        return Ok(layout);
    };

    if owner(data_dir)? != pg_uid {
        let mut cmd = Command::new("chown");
        cmd.args(["-R", "postgres:postgres"]).arg(data_dir);
        run_ok(&mut cmd)?;
    }
    // pg_ctl (running as postgres) appends to the log, which lives in a
    // directory it may not be allowed to write to: create it for it.
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&layout.log_file)
        .map_err(|e| io_error(format!("creating {}", layout.log_file.display()), e))?;
    if owner(&layout.log_file)? != pg_uid {
        let mut cmd = Command::new("chown");
        cmd.arg("postgres:postgres").arg(&layout.log_file);
        run_ok(&mut cmd)?;
    }

    let mut cmd = tools.server("test");
    cmd.arg("-w").arg(data_dir);
    let (_, output) = run(&mut cmd)?;
    if output.status.success() {
        Ok(layout)
    } else {
        Err(LocalClusterError::DataDirUnreachable {
            path: data_dir.clone(),
        })
    }
}

fn owner(path: &Path) -> Result<u32, LocalClusterError> {
    fs::metadata(path)
        .map(|m| m.uid())
        .map_err(|e| io_error(format!("inspecting {}", path.display()), e))
}

/// `/var/tmp/request-desk-<hash>`: created by root with mode 0755; one
/// that exists must be root's and writable by nobody else (`/var/tmp` is
/// world-writable: someone else could have made it first).
fn create_shared_dir(dir: &Path) -> Result<(), LocalClusterError> {
    match fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_error(format!("creating {}", dir.display()), e)),
    }
    let meta = fs::symlink_metadata(dir)
        .map_err(|e| io_error(format!("inspecting {}", dir.display()), e))?;
    if !meta.is_dir() || meta.uid() != 0 || meta.permissions().mode() & 0o022 != 0 {
        return Err(LocalClusterError::UnsafeSharedDir {
            path: dir.to_path_buf(),
        });
    }
    Ok(())
}

/// The socket `<data_dir>/.s.PGSQL.<port>` must fit in `sun_path`.
pub(crate) fn check_socket_path(data_dir: &Path, port: u16) -> Result<(), LocalClusterError> {
    let socket = data_dir.join(format!(".s.PGSQL.{port}"));
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        Err(LocalClusterError::SocketPathTooLong { path: socket })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_place_files_sit_beside_the_data_dir() {
        let config = LocalClusterConfig::dev(Path::new("/project/.data"));
        let layout = Layout::in_place(&config);
        assert_eq!(layout.data_dir, Path::new("/project/.data/postgres"));
        assert_eq!(layout.log_file, Path::new("/project/.data/postgres.log"));
        assert_eq!(layout.lock_file, Path::new("/project/.data/postgres.lock"));
        assert_eq!(
            layout.lease_file,
            Path::new("/project/.data/postgres.lease")
        );
        assert_eq!(layout.pin_file, Path::new("/project/.data/postgres.pinned"));
        assert!(!layout.relocated);
    }

    #[test]
    fn relocated_data_is_keyed_by_the_checkout_and_keeps_its_locks_at_home() {
        let a = LocalClusterConfig::dev(Path::new("/root/a/.data"));
        let b = LocalClusterConfig::dev(Path::new("/root/b/.data"));
        let (la, lb) = (
            Layout::relocated(&a, Path::new("/var/tmp")),
            Layout::relocated(&b, Path::new("/var/tmp")),
        );
        assert_ne!(la.data_dir, lb.data_dir);
        assert_eq!(la, Layout::relocated(&a, Path::new("/var/tmp")), "stable");
        let home = la.data_dir.parent().unwrap();
        assert!(
            home.to_str().unwrap().starts_with("/var/tmp/request-desk-"),
            "{}",
            home.display()
        );
        assert_eq!(la.data_dir.file_name().unwrap(), "postgres");
        assert_eq!(la.log_file, home.join("postgres.log"));
        assert_eq!(la.lock_file, Path::new("/root/a/.data/postgres.lock"));
        assert_eq!(la.lease_file, Path::new("/root/a/.data/postgres.lease"));
        assert!(la.relocated);
        // A test cluster of the same checkout gets its own directory beside it.
        let t = Layout::relocated(
            &LocalClusterConfig::test(Path::new("/root/a/.data")),
            Path::new("/var/tmp"),
        );
        assert_eq!(t.data_dir, home.join("test-postgres"));
        check_socket_path(&t.data_dir, 54339).unwrap();
    }

    #[test]
    fn short_hashes_are_twelve_hex_digits() {
        let h = short_hash(Path::new("/work/main/.data"));
        assert_eq!(h.len(), 12);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()), "{h}");
        assert_eq!(h, short_hash(Path::new("/work/main/.data")));
    }

    #[test]
    fn overly_long_socket_paths_are_refused() {
        let long = PathBuf::from(format!("/{}", "x".repeat(100)));
        assert!(matches!(
            check_socket_path(&long, 54329),
            Err(LocalClusterError::SocketPathTooLong { .. })
        ));
        assert!(check_socket_path(Path::new("/work/main/.data/postgres"), 54329).is_ok());
    }
}
