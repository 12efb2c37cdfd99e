//! The project-local PostgreSQL cluster.
//!
//! When `DATABASE_URL` is not set, the zero-config dev mode (and the test
//! suites) run against a PostgreSQL cluster that lives inside the project,
//! started from the machine's PostgreSQL *server* binaries (`initdb`,
//! `pg_ctl`, `postgres`):
//!
//! * dev mode: `<project>/.data/postgres`, port 54329, database `request_desk`
//!   (see [`LocalClusterConfig::dev`]);
//! * tests: `<project>/.data/test-postgres`, port 54339, database `postgres`,
//!   with durability switched off for speed (see [`LocalClusterConfig::test`]).
//!
//! [`LocalCluster::start`] initialises the data directory on first use
//! (`initdb --auth=trust -U postgres`), starts the server unless it is already
//! running (a running one is reused), waits until it accepts connections and
//! creates the configured database. The server listens on `127.0.0.1` only and
//! puts its Unix socket in the data directory, so nothing outside the project
//! is touched. Its log is written next to the data directory
//! (`.data/postgres.log`).
//!
//! Several processes may call [`LocalCluster::start`] at the same time (cargo
//! nextest runs one process per test): initialisation and start-up are
//! serialised with an exclusive lock on `<data_dir>.lock`.
//!
//! PostgreSQL refuses to run as root. When this process runs as root, the
//! server tools are run as the `postgres` system user through
//! `runuser -u postgres --`, and the data directory is handed over to that
//! user; every parent directory of the data directory must then be searchable
//! by it.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Port of the dev-mode cluster.
pub const DEV_PORT: u16 = 54329;
/// Port of the test cluster.
pub const TEST_PORT: u16 = 54339;

/// How long to wait for a (re)used server to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// `pg_ctl -t` for start and stop, in seconds.
const PG_CTL_TIMEOUT_SECS: &str = "60";
/// Longest Unix socket path the kernel accepts (`sizeof(sun_path) - 1`).
const MAX_SOCKET_PATH: usize = 107;
/// The superuser created by `initdb -U`.
const SUPERUSER: &str = "postgres";
/// The system user the server runs as when this process is root.
const SYSTEM_USER: &str = "postgres";

/// Where and how the local cluster lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalClusterConfig {
    /// The cluster's data directory (`PGDATA`). It also holds the server's
    /// Unix socket; the server log is written next to it (see
    /// [`LocalClusterConfig::log_file`]).
    pub data_dir: PathBuf,
    /// TCP port on `127.0.0.1`.
    pub port: u16,
    /// Database created if missing and used by [`LocalCluster::database_url`].
    pub database: String,
    /// Trade crash safety for speed (`fsync`, `synchronous_commit` and
    /// `full_page_writes` off, `initdb --no-sync`). Only for throw-away
    /// clusters such as the test one.
    pub fast_unsafe: bool,
}

impl LocalClusterConfig {
    /// Dev-mode defaults: data dir `<project_root>/.data/postgres`, port
    /// 54329, database `request_desk`, durable.
    pub fn dev(project_root: &Path) -> Self {
        Self {
            data_dir: project_root.join(".data").join("postgres"),
            port: DEV_PORT,
            database: "request_desk".to_owned(),
            fast_unsafe: false,
        }
    }

    /// Test defaults: data dir `<project_root>/.data/test-postgres`, port
    /// 54339, database `postgres`, with durability switched off for speed.
    /// `TEST_PG_PORT` overrides the port (two checkouts testing side by side).
    pub fn test(project_root: &Path) -> Self {
        let port = std::env::var("TEST_PG_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(TEST_PORT);
        Self {
            data_dir: project_root.join(".data").join("test-postgres"),
            port,
            database: "postgres".to_owned(),
            fast_unsafe: true,
        }
    }

    /// The server log: `<data_dir>/../<data dir name>.log`.
    pub fn log_file(&self) -> PathBuf {
        let mut name = self
            .data_dir
            .file_name()
            .map(OsStr::to_os_string)
            .unwrap_or_else(|| OsString::from("postgres"));
        name.push(".log");
        self.data_dir.with_file_name(name)
    }

    /// The lock file serialising start-up between processes: `<data_dir>.lock`.
    pub fn lock_file(&self) -> PathBuf {
        let mut path = self.data_dir.clone().into_os_string();
        path.push(".lock");
        PathBuf::from(path)
    }
}

/// Why the local cluster could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum LocalClusterError {
    /// No directory with `pg_ctl` (and `initdb`) was found.
    #[error(
        "PostgreSQL server binaries (pg_ctl, initdb) not found (looked in: {searched}); \
         install them with `sudo apt-get install -y postgresql`, point PG_BIN_DIR at their \
         directory, or set DATABASE_URL to an existing database"
    )]
    BinariesNotFound {
        /// The places that were searched.
        searched: String,
    },
    /// A file-system or process-spawning operation failed.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// A command exited unsuccessfully.
    #[error("`{command}` failed:\n{output}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// Its standard output and error (and, for a failed start, the end
        /// of the server log).
        output: String,
    },
    /// The database name is not made of `[a-z0-9_]` (1 to 63 characters).
    #[error("invalid database name {0:?}: use 1 to 63 characters from [a-z0-9_]")]
    InvalidDatabaseName(String),
    /// Running as root, but there is no `postgres` system user to run the
    /// server as.
    #[error(
        "PostgreSQL cannot run as root and there is no `postgres` system user to run it as; \
         install the server with `sudo apt-get install -y postgresql`, run as a normal user, \
         or set DATABASE_URL to an existing database"
    )]
    NoPostgresUser,
    /// Running as root, and the `postgres` system user cannot reach the data
    /// directory.
    #[error(
        "the `postgres` system user cannot reach {path}: PostgreSQL cannot run as root, so the \
         server runs as `postgres`, and every parent directory of the data directory must be \
         searchable by that user; move the project, run as a normal user, or set DATABASE_URL \
         to an existing database"
    )]
    DataDirUnreachable {
        /// The data directory.
        path: PathBuf,
    },
    /// The Unix socket path inside the data directory would be too long.
    #[error(
        "the data directory path is too long for PostgreSQL's Unix socket ({path} exceeds \
         {MAX_SOCKET_PATH} bytes); use a shorter project path"
    )]
    SocketPathTooLong {
        /// The socket path that would be used.
        path: PathBuf,
    },
    /// The cluster is already running, but on another port.
    #[error(
        "the PostgreSQL cluster in {data_dir} is already running on port {running}, not {wanted}; \
         stop it with `pg_ctl stop -D {data_dir}`"
    )]
    PortMismatch {
        /// The data directory.
        data_dir: PathBuf,
        /// The port the running server listens on.
        running: u16,
        /// The configured port.
        wanted: u16,
    },
    /// The server did not accept connections in time.
    #[error("PostgreSQL on 127.0.0.1:{port} did not accept connections within {waited:?}{detail}")]
    NotReady {
        /// The configured port.
        port: u16,
        /// How long we waited.
        waited: Duration,
        /// Last output of the readiness probe, if any.
        detail: String,
    },
}

/// A running local cluster.
///
/// Dropping a cluster that this process started (see [`LocalCluster::owned`])
/// stops it with `pg_ctl stop -m fast`, which disconnects every client,
/// including other processes that reused it. [`LocalCluster::keep_running`]
/// opts out; a cluster kept in a `static` is never dropped either.
#[derive(Debug)]
pub struct LocalCluster {
    config: LocalClusterConfig,
    tools: Tools,
    owned: bool,
    stopped: bool,
}

impl LocalCluster {
    /// Starts (or reuses) the cluster described by `config`.
    ///
    /// Initialises the data directory if it holds no cluster, starts the
    /// server unless it is already running (a running one is reused and is
    /// then not [`owned`](Self::owned)), waits until it accepts connections
    /// (at most ~30 s) and creates `config.database` if missing. Blocks; call
    /// it from `spawn_blocking` inside an async runtime.
    pub fn start(config: LocalClusterConfig) -> Result<LocalCluster, LocalClusterError> {
        validate_database_name(&config.database)?;
        let mut config = config;
        config.data_dir = std::path::absolute(&config.data_dir)
            .map_err(|e| io_error(format!("resolving {}", config.data_dir.display()), e))?;
        check_socket_path(&config)?;

        let bin_dir = find_bin_dir()?;
        let run_as = RunAs::detect()?;
        let tools = Tools { bin_dir, run_as };

        if let Some(parent) = config.data_dir.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(parent)
                .map_err(|e| io_error(format!("creating {}", parent.display()), e))?;
        }
        let _lock = lock_exclusive(&config.lock_file())?;

        prepare_data_dir(&config, &tools)?;
        if !config.data_dir.join("PG_VERSION").is_file() {
            init_cluster(&config, &tools)?;
        }

        let owned = if tools.is_running(&config.data_dir)? {
            if let Some(running) = running_port(&config.data_dir) {
                if running != config.port {
                    return Err(LocalClusterError::PortMismatch {
                        data_dir: config.data_dir.clone(),
                        running,
                        wanted: config.port,
                    });
                }
            }
            tracing::info!(
                "reusing the local PostgreSQL already running in {} on port {}",
                config.data_dir.display(),
                config.port
            );
            false
        } else {
            start_server(&config, &tools)?;
            true
        };

        let cluster = LocalCluster {
            config,
            tools,
            owned,
            stopped: false,
        };
        // From here on, a failure drops `cluster`, which stops a server we
        // have just started.
        cluster.wait_until_ready()?;
        cluster.ensure_database_inner(&cluster.config.database)?;
        Ok(cluster)
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

    /// Stops the server (`pg_ctl stop -m fast`), whether or not this process
    /// started it. Afterwards dropping the handle does nothing.
    pub fn stop(&mut self) -> Result<(), LocalClusterError> {
        self.stopped = true;
        self.owned = false;
        tracing::info!(
            "stopping local PostgreSQL in {}",
            self.config.data_dir.display()
        );
        let mut cmd = self.tools.server("pg_ctl");
        cmd.arg("stop").arg("-D").arg(&self.config.data_dir).args([
            "-m",
            "fast",
            "-w",
            "-t",
            PG_CTL_TIMEOUT_SECS,
        ]);
        let (desc, output) = run(&mut cmd)?;
        if output.status.success() || !self.tools.is_running(&self.config.data_dir)? {
            Ok(())
        } else {
            Err(LocalClusterError::CommandFailed {
                command: desc,
                output: combined_output(&output),
            })
        }
    }

    /// Forgets the handle without stopping the server.
    pub fn keep_running(mut self) {
        self.owned = false;
    }

    /// Whether this process started the server (and dropping the handle
    /// stops it).
    pub fn owned(&self) -> bool {
        self.owned && !self.stopped
    }

    /// The configuration (with `data_dir` made absolute).
    pub fn config(&self) -> &LocalClusterConfig {
        &self.config
    }

    /// The TCP port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.config.port
    }

    /// The data directory (absolute).
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// The server log file.
    pub fn log_file(&self) -> PathBuf {
        self.config.log_file()
    }

    /// The directory of the PostgreSQL binaries in use.
    pub fn bin_dir(&self) -> &Path {
        &self.tools.bin_dir
    }

    fn wait_until_ready(&self) -> Result<(), LocalClusterError> {
        let started = Instant::now();
        let port = self.config.port.to_string();
        let last = loop {
            let mut cmd = if self.tools.has("pg_isready") {
                let mut cmd = self.tools.client("pg_isready");
                cmd.args(["-h", "127.0.0.1", "-p", &port, "-U", SUPERUSER])
                    .args(["-d", "postgres", "-t", "2"]);
                cmd
            } else {
                self.tools.psql(self.config.port, "postgres", "SELECT 1")
            };
            let (_, output) = run(&mut cmd)?;
            if output.status.success() {
                return Ok(());
            }
            if started.elapsed() >= READY_TIMEOUT {
                break combined_output(&output);
            }
            thread::sleep(Duration::from_millis(200));
        };
        Err(LocalClusterError::NotReady {
            port: self.config.port,
            waited: started.elapsed(),
            detail: if last.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", last.trim())
            },
        })
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
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if self.owned && !self.stopped {
            if let Err(error) = self.stop() {
                tracing::warn!("could not stop the local PostgreSQL: {error}");
            }
        }
    }
}

/// The project root: the nearest ancestor of the current directory (or, as a
/// fallback, of this crate's source directory) whose `Cargo.toml` declares a
/// `[workspace]`. The `REQUEST_DESK_ROOT` environment variable overrides it;
/// the current directory is the last resort.
pub fn project_root() -> PathBuf {
    if let Some(root) = std::env::var_os("REQUEST_DESK_ROOT").filter(|v| !v.is_empty()) {
        return PathBuf::from(root);
    }
    let cwd = std::env::current_dir().ok();
    cwd.as_deref()
        .and_then(find_workspace_root)
        .or_else(|| find_workspace_root(Path::new(env!("CARGO_MANIFEST_DIR"))))
        .or(cwd)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The nearest ancestor of `start` (inclusive) holding a workspace
/// `Cargo.toml`.
fn find_workspace_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        manifest
            .lines()
            .any(|line| line.trim() == "[workspace]")
            .then(|| dir.to_path_buf())
    })
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

/// The effective uid from the text of `/proc/self/status`.
fn parse_effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line["Uid:".len()..].split_whitespace().nth(1)?.parse().ok()
}

fn effective_uid() -> Option<u32> {
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

/// Which OS user runs the server tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunAs {
    /// The user of this process.
    CurrentUser,
    /// The `postgres` system user (this process is root), with its uid.
    Postgres(u32),
}

impl RunAs {
    fn detect() -> Result<Self, LocalClusterError> {
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

/// The PostgreSQL binaries and how to run them.
#[derive(Debug, Clone)]
struct Tools {
    bin_dir: PathBuf,
    run_as: RunAs,
}

impl Tools {
    fn has(&self, program: &str) -> bool {
        self.bin_dir.join(program).is_file()
    }

    /// A server tool (`initdb`, `pg_ctl`, `test`…), run as the `postgres`
    /// user when this process is root.
    fn server(&self, program: &str) -> Command {
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
    fn client(&self, program: &str) -> Command {
        let mut cmd = if self.has(program) {
            Command::new(self.bin_dir.join(program))
        } else {
            Command::new(program)
        };
        cmd.env("PGCONNECT_TIMEOUT", "5");
        cmd
    }

    fn psql(&self, port: u16, database: &str, query: &str) -> Command {
        let mut cmd = self.client("psql");
        cmd.args(["-X", "-w", "-h", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .args(["-U", SUPERUSER, "-d", database, "-tAc", query]);
        cmd
    }

    /// `pg_ctl status`: exit code 0 means running.
    fn is_running(&self, data_dir: &Path) -> Result<bool, LocalClusterError> {
        let mut cmd = self.server("pg_ctl");
        cmd.arg("status").arg("-D").arg(data_dir);
        let (_, output) = run(&mut cmd)?;
        Ok(output.status.success())
    }
}

/// Creates the data directory (mode 0700) and, as root, hands it and the log
/// file over to the `postgres` user and checks that user can reach them.
fn prepare_data_dir(config: &LocalClusterConfig, tools: &Tools) -> Result<(), LocalClusterError> {
    let data_dir = &config.data_dir;
    match fs::DirBuilder::new().mode(0o700).create(data_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_error(format!("creating {}", data_dir.display()), e)),
    }
    let RunAs::Postgres(pg_uid) = tools.run_as else {
        return Ok(());
    };

    let owner = |path: &Path| {
        fs::metadata(path)
            .map(|m| m.uid())
            .map_err(|e| io_error(format!("inspecting {}", path.display()), e))
    };
    if owner(data_dir)? != pg_uid {
        let mut cmd = Command::new("chown");
        cmd.args(["-R", "postgres:postgres"]).arg(data_dir);
        run_ok(&mut cmd)?;
    }
    // pg_ctl (running as postgres) appends to the log, which lives in a
    // directory it may not be allowed to write to: create it for it.
    let log_file = config.log_file();
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .map_err(|e| io_error(format!("creating {}", log_file.display()), e))?;
    if owner(&log_file)? != pg_uid {
        let mut cmd = Command::new("chown");
        cmd.arg("postgres:postgres").arg(&log_file);
        run_ok(&mut cmd)?;
    }

    let mut cmd = tools.server("test");
    cmd.arg("-w").arg(data_dir);
    let (_, output) = run(&mut cmd)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(LocalClusterError::DataDirUnreachable {
            path: data_dir.clone(),
        })
    }
}

fn init_cluster(config: &LocalClusterConfig, tools: &Tools) -> Result<(), LocalClusterError> {
    if !tools.has("initdb") {
        return Err(LocalClusterError::BinariesNotFound {
            searched: format!("{} (no initdb there)", tools.bin_dir.display()),
        });
    }
    tracing::info!(
        "initialising a local PostgreSQL cluster in {}",
        config.data_dir.display()
    );
    let mut cmd = tools.server("initdb");
    cmd.arg("-D").arg(&config.data_dir).args([
        "-U",
        SUPERUSER,
        "--auth=trust",
        "--encoding=UTF8",
        "--no-locale",
    ]);
    if config.fast_unsafe {
        cmd.arg("--no-sync");
    }
    run_ok(&mut cmd).map(drop)
}

fn start_server(config: &LocalClusterConfig, tools: &Tools) -> Result<(), LocalClusterError> {
    tracing::info!(
        "starting local PostgreSQL in {} on port {}",
        config.data_dir.display(),
        config.port
    );
    let log_file = config.log_file();
    let mut cmd = tools.server("pg_ctl");
    cmd.arg("start")
        .arg("-D")
        .arg(&config.data_dir)
        .arg("-l")
        .arg(&log_file)
        .args(["-w", "-t", PG_CTL_TIMEOUT_SECS, "-o"])
        .arg(server_options(config));
    let (desc, output) = run(&mut cmd)?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = combined_output(&output);
    if let Some(tail) = log_tail(&log_file, 30) {
        text.push_str(&format!(
            "\n--- last lines of {} ---\n{tail}",
            log_file.display()
        ));
    }
    Err(LocalClusterError::CommandFailed {
        command: desc,
        output: text,
    })
}

/// The `pg_ctl -o` string (interpreted by `/bin/sh`).
fn server_options(config: &LocalClusterConfig) -> String {
    let mut options = format!(
        "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
        config.port,
        shell_quote(&config.data_dir.to_string_lossy())
    );
    if config.fast_unsafe {
        options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
    }
    options
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn check_socket_path(config: &LocalClusterConfig) -> Result<(), LocalClusterError> {
    let socket = config.data_dir.join(format!(".s.PGSQL.{}", config.port));
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        Err(LocalClusterError::SocketPathTooLong { path: socket })
    } else {
        Ok(())
    }
}

/// The port recorded in `postmaster.pid` (its fourth line).
fn running_port(data_dir: &Path) -> Option<u16> {
    fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .nth(3)?
        .trim()
        .parse()
        .ok()
}

// `File::lock` is stable since Rust 1.89 (the workspace's `rust-version`).
fn lock_exclusive(path: &Path) -> Result<File, LocalClusterError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| io_error(format!("opening {}", path.display()), e))?;
    file.lock()
        .map_err(|e| io_error(format!("locking {}", path.display()), e))?;
    Ok(file)
}

fn log_tail(path: &Path, lines: usize) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let all: Vec<&str> = text.lines().collect();
    Some(all[all.len().saturating_sub(lines)..].join("\n"))
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` to completion, capturing its output.
fn run(cmd: &mut Command) -> Result<(String, Output), LocalClusterError> {
    let desc = describe(cmd);
    tracing::debug!("running {desc}");
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io_error(format!("running `{desc}`"), e))?;
    Ok((desc, output))
}

/// Runs `cmd`, failing unless it exits successfully.
fn run_ok(cmd: &mut Command) -> Result<Output, LocalClusterError> {
    let (desc, output) = run(cmd)?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(LocalClusterError::CommandFailed {
            command: desc,
            output: combined_output(&output),
        })
    }
}

fn combined_output(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.trim().is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&stderr);
    }
    if text.trim().is_empty() {
        text = format!("(no output; {})", output.status);
    }
    text
}

fn io_error(context: impl Into<String>, error: std::io::Error) -> LocalClusterError {
    LocalClusterError::Io(context.into(), error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(label: &str) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "request-desk-local-pg-{label}-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "").unwrap();
    }

    #[test]
    fn configs_have_the_documented_defaults() {
        let root = Path::new("/project");
        let dev = LocalClusterConfig::dev(root);
        assert_eq!(dev.data_dir, Path::new("/project/.data/postgres"));
        assert_eq!((dev.port, dev.database.as_str()), (54329, "request_desk"));
        assert!(!dev.fast_unsafe);
        assert_eq!(dev.log_file(), Path::new("/project/.data/postgres.log"));
        assert_eq!(dev.lock_file(), Path::new("/project/.data/postgres.lock"));

        let test = LocalClusterConfig::test(root);
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

    #[test]
    fn pg_bin_dir_wins_and_must_hold_pg_ctl() {
        let tmp = TempDir::new("env");
        let custom = tmp.0.join("custom/bin");
        touch(&custom.join("pg_ctl"));
        let lib = tmp.0.join("lib/postgresql");
        touch(&lib.join("16/bin/pg_ctl"));

        assert_eq!(
            discover_bin_dir(Some(custom.clone()), &lib, None).unwrap(),
            custom
        );
        let err = discover_bin_dir(Some(tmp.0.join("nowhere")), &lib, None).unwrap_err();
        assert!(matches!(err, LocalClusterError::BinariesNotFound { .. }));
    }

    #[test]
    fn highest_numbered_version_with_pg_ctl_wins() {
        let tmp = TempDir::new("versions");
        let lib = tmp.0.join("lib/postgresql");
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
        let real = tmp.0.join("real/bin");
        touch(&real.join("pg_ctl"));
        let on_path = tmp.0.join("on-path");
        fs::create_dir_all(&on_path).unwrap();
        std::os::unix::fs::symlink(real.join("pg_ctl"), on_path.join("pg_ctl")).unwrap();
        let empty = tmp.0.join("empty");
        fs::create_dir_all(&empty).unwrap();
        let path_var = std::env::join_paths([&empty, &on_path]).unwrap();

        let found = discover_bin_dir(None, &tmp.0.join("no-lib"), Some(path_var)).unwrap();
        assert_eq!(found, fs::canonicalize(&real).unwrap());
    }

    #[test]
    fn missing_binaries_explain_how_to_install_them() {
        let tmp = TempDir::new("none");
        let path_var = OsString::from(tmp.0.as_os_str());
        let err = discover_bin_dir(None, &tmp.0.join("no-lib"), Some(path_var)).unwrap_err();
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

    #[test]
    fn effective_uid_is_read_from_proc_status() {
        let status = "Name:\tcargo\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(parse_effective_uid(status), Some(0));
        assert_eq!(parse_effective_uid("Name:\tx\n"), None);
    }

    #[test]
    fn workspace_root_is_the_nearest_workspace_manifest() {
        let tmp = TempDir::new("root");
        fs::write(
            tmp.0.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/a\"]\n",
        )
        .unwrap();
        let member = tmp.0.join("crates/a/src");
        fs::create_dir_all(&member).unwrap();
        fs::write(
            tmp.0.join("crates/a/Cargo.toml"),
            "[package]\nname = \"a\"\n[workspace.dependencies]\n",
        )
        .unwrap();

        assert_eq!(find_workspace_root(&member), Some(tmp.0.clone()));
        assert_eq!(find_workspace_root(&tmp.0), Some(tmp.0.clone()));
    }

    #[test]
    fn server_options_quote_the_socket_dir_and_add_fast_settings_for_tests() {
        let mut config = LocalClusterConfig::dev(Path::new("/it's here"));
        let dev = server_options(&config);
        assert_eq!(
            dev,
            r"-p 54329 -k '/it'\''s here/.data/postgres' -c listen_addresses=127.0.0.1 -c max_connections=300"
        );
        config.fast_unsafe = true;
        let fast = server_options(&config);
        assert!(fast.ends_with("-c fsync=off -c synchronous_commit=off -c full_page_writes=off"));
    }

    #[test]
    fn overly_long_socket_paths_are_refused() {
        let long = PathBuf::from(format!("/{}", "x".repeat(100)));
        assert!(matches!(
            check_socket_path(&LocalClusterConfig::dev(&long)),
            Err(LocalClusterError::SocketPathTooLong { .. })
        ));
        assert!(check_socket_path(&LocalClusterConfig::dev(Path::new("/work/main"))).is_ok());
    }

    /// Starts a real cluster from the machine's binaries, reuses it, stops it.
    /// Run with `cargo test -p request-desk-infrastructure --lib local_postgres -- --ignored`.
    #[test]
    #[ignore = "needs the PostgreSQL server binaries; slow"]
    fn starts_and_reuses_a_real_cluster() {
        let base = PathBuf::from(format!("/tmp/request-desk-pg-it-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&base)
            .unwrap();
        let _cleanup = TempDir(base.clone());
        let config = LocalClusterConfig {
            data_dir: base.join("pg"),
            port: 54349,
            database: "local_pg_it".to_owned(),
            fast_unsafe: true,
        };

        let mut first = LocalCluster::start(config.clone()).expect("first start");
        assert!(first.owned());
        assert_eq!(
            first.database_url(),
            "postgres://postgres@127.0.0.1:54349/local_pg_it"
        );

        let select = |cluster: &LocalCluster, db: &str| {
            let output = cluster
                .tools
                .psql(cluster.port(), db, "select 1")
                .output()
                .unwrap();
            (
                output.status.success(),
                String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            )
        };
        assert_eq!(select(&first, "local_pg_it"), (true, "1".to_owned()));

        let second = LocalCluster::start(config).expect("second start");
        assert!(!second.owned());
        second.ensure_database("another_db").unwrap();
        assert_eq!(select(&second, "another_db"), (true, "1".to_owned()));
        drop(second); // not owned: the server keeps running
        assert_eq!(select(&first, "postgres"), (true, "1".to_owned()));

        first.stop().expect("stop");
        assert!(!first.owned());
        assert!(!select(&first, "postgres").0);
    }
}
