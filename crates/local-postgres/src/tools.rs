//! The PostgreSQL tools and the OS user that runs them.
//!
//! PostgreSQL refuses to run as root. When this process runs as root, the
//! server tools (`initdb`, `pg_ctl`) run as the `postgres` system user
//! through `runuser -u postgres --`; the client tools (`psql`, `createdb`,
//! `pg_isready`) always run as this process's user, over TCP.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{io_error, LocalClusterError};
use crate::process::run;

/// The superuser created by `initdb -U`.
pub(crate) const SUPERUSER: &str = "postgres";
/// The system user the server runs as when this process is root.
const SYSTEM_USER: &str = "postgres";

/// Which OS user runs the server tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunAs {
    /// The user of this process.
    CurrentUser,
    /// The `postgres` system user (this process is root), with its uid.
    Postgres(u32),
}

impl RunAs {
    pub(crate) fn detect() -> Result<Self, LocalClusterError> {
        if effective_uid() != Some(0) {
            return Ok(RunAs::CurrentUser);
        }
        let output = Command::new("id")
            .args(["-u", SYSTEM_USER])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| io_error("running `id -u postgres`", e))?;
        let uid = output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
            .flatten()
            .ok_or(LocalClusterError::NoPostgresUser)?;
        Ok(RunAs::Postgres(uid))
    }
}

/// The effective uid from the text of `/proc/self/status`.
fn parse_effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line["Uid:".len()..].split_whitespace().nth(1)?.parse().ok()
}

/// This process's effective uid (`/proc/self/status`, else `id -u`).
pub fn effective_uid() -> Option<u32> {
    if let Some(uid) = fs::read_to_string("/proc/self/status")
        .ok()
        .as_deref()
        .and_then(parse_effective_uid)
    {
        return Some(uid);
    }
    let output = Command::new("id").arg("-u").output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .flatten()
}

/// The PostgreSQL binaries and how to run them.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub(crate) bin_dir: PathBuf,
    pub(crate) run_as: RunAs,
}

impl Tools {
    pub(crate) fn has(&self, program: &str) -> bool {
        self.bin_dir.join(program).is_file()
    }

    /// A server tool (`initdb`, `pg_ctl`, `test`…), run as the `postgres`
    /// user when this process is root.
    pub(crate) fn server(&self, program: &str) -> Command {
        let program = if self.has(program) {
            self.bin_dir.join(program)
        } else {
            PathBuf::from(program)
        };
        let mut cmd = match self.run_as {
            RunAs::CurrentUser => Command::new(program),
            RunAs::Postgres(_) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", SYSTEM_USER, "--"]).arg(program);
                // The postgres user may not be able to enter our directory.
                cmd.current_dir("/");
                cmd
            }
        };
        cmd.env_remove("PGDATA");
        cmd
    }

    /// A client tool (`psql`, `createdb`, `pg_isready`), run as this user;
    /// from the binaries' directory if present there, else from `PATH`.
    pub(crate) fn client(&self, program: &str) -> Command {
        let mut cmd = if self.has(program) {
            Command::new(self.bin_dir.join(program))
        } else {
            Command::new(program)
        };
        cmd.env("PGCONNECT_TIMEOUT", "5");
        cmd
    }

    /// `psql -tAc query` on `database` as the superuser.
    pub(crate) fn psql(&self, port: u16, database: &str, query: &str) -> Command {
        let mut cmd = self.client("psql");
        cmd.args(["-X", "-w", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .args(["-U", SUPERUSER, "-d", database, "-tAc", query]);
        cmd
    }

    /// `pg_ctl status`: exit code 0 means running.
    pub(crate) fn is_running(&self, data_dir: &Path) -> Result<bool, LocalClusterError> {
        let mut cmd = self.server("pg_ctl");
        cmd.arg("status").arg("-D").arg(data_dir);
        let (_, output) = run(&mut cmd)?;
        Ok(output.status.success())
    }

    /// Whether the server's user can enter `dir` (as root: `test -x` run as
    /// `postgres`; otherwise always).
    pub(crate) fn server_user_can_enter(&self, dir: &Path) -> Result<bool, LocalClusterError> {
        if self.run_as == RunAs::CurrentUser {
            return Ok(true);
        }
        let mut cmd = self.server("test");
        cmd.arg("-x").arg(dir);
        let (_, output) = run(&mut cmd)?;
        Ok(output.status.success())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_uid_is_read_from_proc_status() {
        let status = "Name:\tcargo\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(parse_effective_uid(status), Some(0));
        assert_eq!(parse_effective_uid("Name:\tx\n"), None);
    }
}
