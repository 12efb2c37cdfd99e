//! Databases for the test suites: each test its own, cloned with `CREATE
//! DATABASE … TEMPLATE` from a template prepared (migrated) once.
//!
//! Works on any PostgreSQL server the caller may create databases on (the
//! local test cluster, or a CI service given by `DATABASE_URL`), through
//! `psql`. The template's name carries a key the caller derives from what
//! the template holds (e.g. the migration versions), so a new migration
//! makes a new template instead of reusing a stale one. Preparing the
//! template is serialised between the processes of this machine by a lock
//! file; cloning needs no lock.

use std::fmt::Display;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::binaries::find_bin_dir;
use crate::config::validate_database_name;
use crate::error::LocalClusterError;
use crate::lease::StartLock;
use crate::placement::short_hash;
use crate::process::{combined_output, run};

/// Creates and drops databases on one server, as its admin URL allows.
#[derive(Debug, Clone)]
pub struct Databases {
    admin_url: String,
    psql: PathBuf,
}

impl Databases {
    /// `admin_url` is a connection to a maintenance database (e.g.
    /// `…/postgres`) of a role that may create databases.
    pub fn new(admin_url: &str) -> Self {
        let psql = find_bin_dir()
            .ok()
            .map(|dir| dir.join("psql"))
            .filter(|psql| psql.is_file())
            .unwrap_or_else(|| PathBuf::from("psql"));
        Self {
            admin_url: admin_url.to_owned(),
            psql,
        }
    }

    /// The URL of `database` on this server.
    pub fn url_for(&self, database: &str) -> String {
        with_database(&self.admin_url, database)
    }

    /// A new database `<prefix>_<random>`, cloned from `template`; the
    /// template is created first if missing, and `prepare` (given its URL)
    /// fills it. Returns the new database's name.
    pub fn create_from_template<E: Display>(
        &self,
        template: &str,
        prefix: &str,
        prepare: impl FnOnce(&str) -> Result<(), E>,
    ) -> Result<String, LocalClusterError> {
        validate_database_name(template)?;
        self.ensure_template(template, prepare)?;
        let name = fresh_name(prefix)?;
        self.sql(&format!("CREATE DATABASE {name} TEMPLATE {template}"))?;
        Ok(name)
    }

    /// A new, empty database `<prefix>_<random>`; its name.
    pub fn create_empty(&self, prefix: &str) -> Result<String, LocalClusterError> {
        let name = fresh_name(prefix)?;
        self.sql(&format!("CREATE DATABASE {name}"))?;
        Ok(name)
    }

    /// Drops `database`, disconnecting whoever is still connected.
    pub fn drop_database(&self, database: &str) -> Result<(), LocalClusterError> {
        validate_database_name(database)?;
        self.sql(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .map(drop)
    }

    fn ensure_template<E: Display>(
        &self,
        template: &str,
        prepare: impl FnOnce(&str) -> Result<(), E>,
    ) -> Result<(), LocalClusterError> {
        let exists = |this: &Self| -> Result<bool, LocalClusterError> {
            let query = format!("SELECT 1 FROM pg_database WHERE datname = '{template}'");
            Ok(this.sql(&query)? == "1")
        };
        if exists(self)? {
            return Ok(());
        }
        let lock_file = std::env::temp_dir().join(format!(
            "request-desk-template-{}.lock",
            short_hash(self.admin_url.as_ref())
        ));
        let _lock = StartLock::acquire(&lock_file)?;
        if exists(self)? {
            return Ok(());
        }
        // Prepared under another name and renamed when complete, so that a
        // failed or interrupted preparation never leaves a half template.
        let building = fresh_name("tmpl")?;
        self.sql(&format!("CREATE DATABASE {building}"))?;
        if let Err(error) = prepare(&self.url_for(&building)) {
            let _ = self.drop_database(&building);
            return Err(LocalClusterError::PrepareTemplate {
                template: template.to_owned(),
                message: error.to_string(),
            });
        }
        // A pool may keep a connection open a moment after `prepare`:
        // renaming and cloning need the database to themselves.
        self.sql(&format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{building}'"
        ))?;
        self.sql(&format!("ALTER DATABASE {building} RENAME TO {template}"))?;
        self.sql(&format!("ALTER DATABASE {template} WITH IS_TEMPLATE true"))?;
        tracing::info!("prepared the template database {template}");
        Ok(())
    }

    /// Runs one statement; its output, trimmed.
    fn sql(&self, query: &str) -> Result<String, LocalClusterError> {
        let mut cmd = Command::new(&self.psql);
        cmd.args(["-X", "-w", "-q", "-tA", "-v", "ON_ERROR_STOP=1"])
            .arg("-d")
            .arg(&self.admin_url)
            .arg("-c")
            .arg(query)
            .env("PGCONNECT_TIMEOUT", "10");
        let (desc, output) = run(&mut cmd)?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        } else {
            Err(LocalClusterError::CommandFailed {
                command: desc,
                output: combined_output(&output),
            })
        }
    }
}

/// `url` with its database (the path) replaced by `database`; the query
/// string, if any, is kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{database}?{q}"),
        None => format!("{host_part}/{database}"),
    }
}

/// `<prefix>_<12 hex digits>`, unique across processes and calls.
fn fresh_name(prefix: &str) -> Result<String, LocalClusterError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let name = format!("{prefix}_{}", short_hash(seed.as_ref()));
    validate_database_name(&name)?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_replaced_and_the_query_kept() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "t_1"),
            "postgres://u:p@h:5432/t_1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:54339", "x"),
            "postgres://postgres@127.0.0.1:54339/x"
        );
    }

    #[test]
    fn fresh_names_are_valid_and_distinct() {
        let a = fresh_name("hubtest").unwrap();
        let b = fresh_name("hubtest").unwrap();
        assert_ne!(a, b);
        assert!(
            a.starts_with("hubtest_") && a.len() == "hubtest_".len() + 12,
            "{a}"
        );
        assert!(fresh_name("Bad-Prefix").is_err());
    }
}
