//! Finding the machine's PostgreSQL server binaries.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::LocalClusterError;

/// The directory of the PostgreSQL server binaries: `PG_BIN_DIR`, else the
/// highest-numbered `/usr/lib/postgresql/*/bin` holding `pg_ctl`, else the
/// (symlink-resolved) directory of `pg_ctl` on `PATH`.
pub fn find_bin_dir() -> Result<PathBuf, LocalClusterError> {
    discover_bin_dir(
        std::env::var_os("PG_BIN_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        Path::new("/usr/lib/postgresql"),
        std::env::var_os("PATH"),
    )
}

fn discover_bin_dir(
    env_dir: Option<PathBuf>,
    lib_root: &Path,
    path_var: Option<OsString>,
) -> Result<PathBuf, LocalClusterError> {
    if let Some(dir) = env_dir {
        return if dir.join("pg_ctl").is_file() {
            Ok(dir)
        } else {
            Err(LocalClusterError::BinariesNotFound {
                searched: format!("PG_BIN_DIR={}", dir.display()),
            })
        };
    }

    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(lib_root)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = parse_version(entry.file_name().to_str()?)?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }

    if let Some(path_var) = path_var.as_deref() {
        for dir in std::env::split_paths(path_var) {
            let candidate = dir.join("pg_ctl");
            if candidate.is_file() {
                let resolved = fs::canonicalize(&candidate).unwrap_or(candidate);
                if let Some(parent) = resolved.parent() {
                    return Ok(parent.to_path_buf());
                }
            }
        }
    }

    Err(LocalClusterError::BinariesNotFound {
        searched: format!("$PG_BIN_DIR, {}/*/bin, $PATH", lib_root.display()),
    })
}

/// `"15"` → `[15]`, `"9.6"` → `[9, 6]`; anything else → `None`.
fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{touch, TempDir};

    #[test]
    fn pg_bin_dir_wins_and_must_hold_pg_ctl() {
        let tmp = TempDir::new("env");
        let custom = tmp.path().join("custom/bin");
        touch(&custom.join("pg_ctl"));
        let lib = tmp.path().join("lib/postgresql");
        touch(&lib.join("16/bin/pg_ctl"));

        assert_eq!(
            discover_bin_dir(Some(custom.clone()), &lib, None).unwrap(),
            custom
        );
        let err = discover_bin_dir(Some(tmp.path().join("nowhere")), &lib, None).unwrap_err();
        assert!(matches!(err, LocalClusterError::BinariesNotFound { .. }));
    }

    #[test]
    fn highest_numbered_version_with_pg_ctl_wins() {
        let tmp = TempDir::new("versions");
        let lib = tmp.path().join("lib/postgresql");
        touch(&lib.join("9.6/bin/pg_ctl"));
        touch(&lib.join("13/bin/pg_ctl"));
        touch(&lib.join("15/bin/pg_ctl"));
        touch(&lib.join("17/bin/psql")); // client only: skipped
        touch(&lib.join("latest/bin/pg_ctl")); // not a version: skipped

        assert_eq!(
            discover_bin_dir(None, &lib, None).unwrap(),
            lib.join("15/bin")
        );
    }

    #[test]
    fn falls_back_to_pg_ctl_on_path_resolving_symlinks() {
        let tmp = TempDir::new("path");
        let real = tmp.path().join("real/bin");
        touch(&real.join("pg_ctl"));
        let on_path = tmp.path().join("on-path");
        fs::create_dir_all(&on_path).unwrap();
        std::os::unix::fs::symlink(real.join("pg_ctl"), on_path.join("pg_ctl")).unwrap();
        let empty = tmp.path().join("empty");
        fs::create_dir_all(&empty).unwrap();
        let path_var = std::env::join_paths([&empty, &on_path]).unwrap();

        let found = discover_bin_dir(None, &tmp.path().join("no-lib"), Some(path_var)).unwrap();
        assert_eq!(found, fs::canonicalize(&real).unwrap());
    }

    #[test]
    fn missing_binaries_explain_how_to_install_them() {
        let tmp = TempDir::new("none");
        let path_var = OsString::from(tmp.path().as_os_str());
        let err = discover_bin_dir(None, &tmp.path().join("no-lib"), Some(path_var)).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("pg_ctl, initdb"), "{message}");
        assert!(
            message.contains("sudo apt-get install -y postgresql"),
            "{message}"
        );
        assert!(message.contains("DATABASE_URL"), "{message}");
    }

    #[test]
    fn versions_parse_numerically() {
        assert_eq!(parse_version("15"), Some(vec![15]));
        assert_eq!(parse_version("9.6"), Some(vec![9, 6]));
        assert_eq!(parse_version("latest"), None);
        assert_eq!(parse_version(""), None);
        assert!(parse_version("13") > parse_version("9.6"));
    }
}
