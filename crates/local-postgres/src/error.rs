//! Why a local cluster could not be started, stopped or used: one enum whose
//! messages say what to do next.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::MAX_SOCKET_PATH;

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
    /// directory, not even in its place outside the checkout.
    #[error(
        "the `postgres` system user cannot reach {path}: PostgreSQL cannot run as root, so the \
         server runs as `postgres`, and every parent directory of the data directory must be \
         searchable by that user; run as a normal user, or set DATABASE_URL to an existing \
         database"
    )]
    DataDirUnreachable {
        /// The data directory.
        path: PathBuf,
    },
    /// The shared directory outside the checkout is not safe to use (not
    /// owned by root, or writable by others).
    #[error(
        "{path} is not owned by root or is writable by others, so it cannot hold the cluster \
         of a checkout the `postgres` user cannot reach; remove it, or set DATABASE_URL"
    )]
    UnsafeSharedDir {
        /// The directory.
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
    /// Another process (often another checkout's cluster) listens on the port.
    #[error(
        "port {port} on 127.0.0.1 is taken{}; stop that cluster (`request-desk local-db --data-dir <its directory> --port {port} --stop`, \
         or `just stop-db` in its checkout), or pick another port (`TEST_PG_PORT` for the test cluster, `--port` for `local-db`)",
        .holder.as_ref().map_or(String::new(), |d| format!(" by the PostgreSQL cluster in {}", d.display()))
    )]
    PortTaken {
        port: u16,
        /// The data directory of the PostgreSQL that holds it, when one does.
        holder: Option<PathBuf>,
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
    /// Filling a template database failed.
    #[error("preparing the template database {template}: {message}")]
    PrepareTemplate {
        /// The template's name.
        template: String,
        /// What the preparation said.
        message: String,
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

pub(crate) fn io_error(context: impl Into<String>, error: std::io::Error) -> LocalClusterError {
    LocalClusterError::Io(context.into(), error)
}
