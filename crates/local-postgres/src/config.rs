//! What a local cluster is: its data directory, port and database, and the
//! two presets (dev and test).

use std::path::{Path, PathBuf};

use crate::error::LocalClusterError;

/// Port of the dev-mode cluster.
pub const DEV_PORT: u16 = 54329;
/// Port of the test cluster (`TEST_PG_PORT` overrides it).
pub const TEST_PORT: u16 = 54339;
/// Longest Unix socket path the kernel accepts (`sizeof(sun_path) - 1`).
pub const MAX_SOCKET_PATH: usize = 107;

/// Where and how the local cluster lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalClusterConfig {
    /// The cluster's data directory (`PGDATA`), which also holds the server's
    /// Unix socket. When this process is root and the `postgres` user cannot
    /// reach it, the data lives under `/var/tmp` instead (see
    /// [`crate::placement`]); the lock and lease files stay next to it.
    pub data_dir: PathBuf,
    /// TCP port on `127.0.0.1`.
    pub port: u16,
    /// Database created if missing and used by
    /// [`LocalCluster::database_url`](crate::LocalCluster::database_url).
    pub database: String,
    /// Trade crash safety for speed (`fsync`, `synchronous_commit` and
    /// `full_page_writes` off, `initdb --no-sync`). Only for throw-away
    /// clusters such as the test one.
    pub fast_unsafe: bool,
}

impl LocalClusterConfig {
    /// Dev-mode defaults: data dir `<dir>/postgres`, port 54329, database
    /// `request_desk`, durable. `dir` is the dev-mode directory (`.data` of
    /// the checkout by default, `LOCAL_DB_DIR` to move it).
    pub fn dev(dir: &Path) -> Self {
        Self {
            data_dir: dir.join("postgres"),
            port: DEV_PORT,
            database: "request_desk".to_owned(),
            fast_unsafe: false,
        }
    }

    /// Test defaults: data dir `<dir>/test-postgres`, port 54339, database
    /// `postgres`, with durability switched off for speed. `TEST_PG_PORT`
    /// overrides the port (two checkouts testing side by side).
    pub fn test(dir: &Path) -> Self {
        let port = std::env::var("TEST_PG_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(TEST_PORT);
        Self {
            data_dir: dir.join("test-postgres"),
            port,
            database: "postgres".to_owned(),
            fast_unsafe: true,
        }
    }

    /// `<data_dir><suffix>`: the files kept beside the data directory.
    pub(crate) fn beside(&self, suffix: &str) -> PathBuf {
        let mut path = self.data_dir.clone().into_os_string();
        path.push(suffix);
        PathBuf::from(path)
    }

    /// The lock file serialising start-up and stop between processes:
    /// `<data_dir>.lock`.
    pub fn lock_file(&self) -> PathBuf {
        self.beside(".lock")
    }
}

/// Checks that `name` is 1 to 63 characters from `[a-z0-9_]`.
pub fn validate_database_name(name: &str) -> Result<(), LocalClusterError> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(LocalClusterError::InvalidDatabaseName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_the_documented_defaults() {
        let dir = Path::new("/project/.data");
        let dev = LocalClusterConfig::dev(dir);
        assert_eq!(dev.data_dir, Path::new("/project/.data/postgres"));
        assert_eq!((dev.port, dev.database.as_str()), (54329, "request_desk"));
        assert!(!dev.fast_unsafe);
        assert_eq!(dev.lock_file(), Path::new("/project/.data/postgres.lock"));

        let test = LocalClusterConfig::test(dir);
        assert_eq!(test.data_dir, Path::new("/project/.data/test-postgres"));
        let expected_port = std::env::var("TEST_PG_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(54339);
        assert_eq!(
            (test.port, test.database.as_str()),
            (expected_port, "postgres")
        );
        assert!(test.fast_unsafe);
    }

    #[test]
    fn database_names_are_validated() {
        for good in ["request_desk", "postgres", "t_1234_abc", "x"] {
            assert!(validate_database_name(good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(64);
        for bad in [
            "",
            "Request",
            "a-b",
            "a b",
            "x'; drop",
            "é",
            too_long.as_str(),
        ] {
            assert!(
                matches!(
                    validate_database_name(bad),
                    Err(LocalClusterError::InvalidDatabaseName(_))
                ),
                "{bad}"
            );
        }
    }
}
