//! [`LocalCluster`]: a handle on a started (or reused) cluster, holding a
//! lease on it for as long as it lives.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::binaries::find_bin_dir;
use crate::config::{validate_database_name, LocalClusterConfig};
use crate::error::{io_error, LocalClusterError};
use crate::lease::{nobody_leases, Lease, StartLock};
use crate::placement::{self, Layout, SHARED_ROOT};
use crate::process::{combined_output, run};
use crate::server;
use crate::tools::{RunAs, Tools, SUPERUSER};

/// A running local cluster, used by this process.
///
/// The handle holds a lease (see [`crate::lease`]). Dropping it gives the
/// lease back, and the last user to leave stops the server, unless the
/// cluster is pinned ([`LocalCluster::keep_running`]): two dev servers on
/// one checkout share one cluster, and the first to exit does not stop it
/// under the other.
#[derive(Debug)]
pub struct LocalCluster {
    config: LocalClusterConfig,
    layout: Layout,
    tools: Tools,
    lease: Option<Lease>,
}

impl LocalCluster {
    /// Starts (or reuses) the cluster described by `config`.
    ///
    /// Initialises the data directory if it holds no cluster, starts the
    /// server unless it is already running, takes a lease, waits until the
    /// server accepts connections (at most ~30 s) and creates
    /// `config.database` if missing. Blocks; call it from `spawn_blocking`
    /// inside an async runtime.
    pub fn start(config: LocalClusterConfig) -> Result<LocalCluster, LocalClusterError> {
        Self::start_with_shared_root(config, Path::new(SHARED_ROOT))
    }

    fn start_with_shared_root(
        config: LocalClusterConfig,
        shared_root: &Path,
    ) -> Result<LocalCluster, LocalClusterError> {
        validate_database_name(&config.database)?;
        let config = absolute(config)?;
        let tools = Tools {
            bin_dir: find_bin_dir()?,
            run_as: RunAs::detect()?,
        };
        if let Some(parent) = config.data_dir.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(parent)
                .map_err(|e| io_error(format!("creating {}", parent.display()), e))?;
        }

        let lock = StartLock::acquire(&config.lock_file())?;
        let layout = placement::prepare(&config, &tools, shared_root)?;
        if !layout.data_dir.join("PG_VERSION").is_file() {
            server::init(&config, &layout, &tools)?;
        }
        if tools.is_running(&layout.data_dir)? {
            if let Some(running) = server::running_port(&layout.data_dir) {
                if running != config.port {
                    return Err(LocalClusterError::PortMismatch {
                        data_dir: layout.data_dir.clone(),
                        running,
                        wanted: config.port,
                    });
                }
            }
            tracing::info!(
                "reusing the local PostgreSQL already running in {} on port {}",
                layout.data_dir.display(),
                config.port
            );
        } else {
            // A pin outlives its server only after a crash or a reboot.
            remove_if_present(&layout.pin_file)?;
            server::ensure_port_free(config.port)?;
            server::start(&config, &layout, &tools)?;
        }
        let lease = Lease::take(&layout.lease_file)?;
        drop(lock);

        let cluster = LocalCluster {
            config,
            layout,
            tools,
            lease: Some(lease),
        };
        // From here on, a failure drops `cluster`, which stops the server if
        // nobody else uses it.
        server::wait_until_ready(cluster.config.port, &cluster.tools)?;
        cluster.ensure_database_inner(&cluster.config.database)?;
        Ok(cluster)
    }

    /// Stops the cluster described by `config` if it is running, whoever
    /// uses it, without starting or creating anything (no binaries are
    /// looked for when no server was started). Returns whether it was
    /// running.
    pub fn stop_if_running(config: LocalClusterConfig) -> Result<bool, LocalClusterError> {
        let config = absolute(config)?;
        let layout = Layout::existing(&config);
        if !layout.data_dir.join("postmaster.pid").exists() {
            remove_if_present(&layout.pin_file)?;
            return Ok(false);
        }
        let _lock = StartLock::acquire(&layout.lock_file)?;
        let tools = Tools {
            bin_dir: find_bin_dir()?,
            run_as: RunAs::detect()?,
        };
        let running = tools.is_running(&layout.data_dir)?;
        if running {
            server::stop(&layout.data_dir, &tools)?;
        }
        remove_if_present(&layout.pin_file)?;
        Ok(running)
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>` for the configured
    /// database.
    pub fn database_url(&self) -> String {
        self.url_for(&self.config.database)
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>` for any database of
    /// this cluster.
    pub fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@127.0.0.1:{}/{database}",
            self.config.port
        )
    }

    /// Creates `database` in this cluster unless it exists.
    pub fn ensure_database(&self, database: &str) -> Result<(), LocalClusterError> {
        validate_database_name(database)?;
        self.ensure_database_inner(database)
    }

    /// Stops the server (`pg_ctl stop -m fast`) now, whoever else uses it,
    /// and unpins it.
    pub fn stop(mut self) -> Result<(), LocalClusterError> {
        self.lease = None;
        let _lock = StartLock::acquire(&self.layout.lock_file)?;
        server::stop(&self.layout.data_dir, &self.tools)?;
        remove_if_present(&self.layout.pin_file)
    }

    /// Pins the cluster (it outlives every user until
    /// [`LocalCluster::stop_if_running`]) and gives the lease back.
    pub fn keep_running(mut self) -> Result<(), LocalClusterError> {
        let pin = &self.layout.pin_file;
        fs::write(pin, "").map_err(|e| io_error(format!("writing {}", pin.display()), e))?;
        self.lease = None;
        Ok(())
    }

    /// The configuration (with `data_dir` made absolute).
    pub fn config(&self) -> &LocalClusterConfig {
        &self.config
    }

    /// The TCP port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.config.port
    }

    /// The data directory in use (absolute): the configured one, or its place
    /// under `/var/tmp` (see [`crate::placement`]).
    pub fn data_dir(&self) -> &Path {
        &self.layout.data_dir
    }

    /// Where the cluster's files are.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The server log file.
    pub fn log_file(&self) -> PathBuf {
        self.layout.log_file.clone()
    }

    /// The directory of the PostgreSQL binaries in use.
    pub fn bin_dir(&self) -> &Path {
        &self.tools.bin_dir
    }

    fn ensure_database_inner(&self, database: &str) -> Result<(), LocalClusterError> {
        let query = format!("SELECT 1 FROM pg_database WHERE datname = '{database}'");
        let mut cmd = self.tools.psql(self.config.port, "postgres", &query);
        let (desc, output) = run(&mut cmd)?;
        if !output.status.success() {
            return Err(LocalClusterError::CommandFailed {
                command: desc,
                output: combined_output(&output),
            });
        }
        if String::from_utf8_lossy(&output.stdout).trim() == "1" {
            return Ok(());
        }
        tracing::info!(
            "creating database {database} in the local PostgreSQL on port {}",
            self.config.port
        );
        let mut cmd = self.tools.client("createdb");
        cmd.args(["-w", "-h", "127.0.0.1", "-p"])
            .arg(self.config.port.to_string())
            .args(["-U", SUPERUSER, database]);
        let (desc, output) = run(&mut cmd)?;
        let text = combined_output(&output);
        if output.status.success() || text.contains("already exists") {
            Ok(())
        } else {
            Err(LocalClusterError::CommandFailed {
                command: desc,
                output: text,
            })
        }
    }

    /// Gives the lease back and, if nobody else holds one and the cluster
    /// is not pinned, stops the server.
    fn leave(&mut self) -> Result<(), LocalClusterError> {
        let Some(lease) = self.lease.take() else {
            return Ok(());
        };
        let _lock = StartLock::acquire(&self.layout.lock_file)?;
        drop(lease);
        if self.layout.pin_file.exists() || !nobody_leases(&self.layout.lease_file)? {
            return Ok(());
        }
        server::stop(&self.layout.data_dir, &self.tools)
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if let Err(error) = self.leave() {
            tracing::warn!("could not stop the local PostgreSQL: {error}");
        }
    }
}

fn absolute(mut config: LocalClusterConfig) -> Result<LocalClusterConfig, LocalClusterError> {
    config.data_dir = std::path::absolute(&config.data_dir)
        .map_err(|e| io_error(format!("resolving {}", config.data_dir.display()), e))?;
    Ok(config)
}

fn remove_if_present(path: &Path) -> Result<(), LocalClusterError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(format!("removing {}", path.display()), e)),
    }
}
