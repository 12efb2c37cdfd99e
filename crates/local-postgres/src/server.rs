//! The server process: `initdb`, `pg_ctl start`/`stop`/`status`, and
//! waiting until it accepts connections.

use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::config::LocalClusterConfig;
use crate::error::LocalClusterError;
use crate::placement::Layout;
use crate::process::{combined_output, log_tail, run, run_ok};
use crate::tools::{Tools, SUPERUSER};

/// How long to wait for a (re)used server to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// `pg_ctl -t` for start and stop, in seconds.
const PG_CTL_TIMEOUT_SECS: &str = "60";

pub(crate) fn init(
    config: &LocalClusterConfig,
    layout: &Layout,
    tools: &Tools,
) -> Result<(), LocalClusterError> {
    if !tools.has("initdb") {
        return Err(LocalClusterError::BinariesNotFound {
            searched: format!("{} (no initdb there)", tools.bin_dir.display()),
        });
    }
    tracing::info!(
        "initialising a local PostgreSQL cluster in {}",
        layout.data_dir.display()
    );
    let mut cmd = tools.server("initdb");
    cmd.arg("-D").arg(&layout.data_dir).args([
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

pub(crate) fn start(
    config: &LocalClusterConfig,
    layout: &Layout,
    tools: &Tools,
) -> Result<(), LocalClusterError> {
    tracing::info!(
        "starting local PostgreSQL in {} on port {}",
        layout.data_dir.display(),
        config.port
    );
    let mut cmd = tools.server("pg_ctl");
    cmd.arg("start")
        .arg("-D")
        .arg(&layout.data_dir)
        .arg("-l")
        .arg(&layout.log_file)
        .args(["-w", "-t", PG_CTL_TIMEOUT_SECS, "-o"])
        .arg(options(config, &layout.data_dir));
    let (desc, output) = run(&mut cmd)?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = combined_output(&output);
    if let Some(tail) = log_tail(&layout.log_file, 30) {
        text.push_str(&format!(
            "\n--- last lines of {} ---\n{tail}",
            layout.log_file.display()
        ));
    }
    Err(LocalClusterError::CommandFailed {
        command: desc,
        output: text,
    })
}

/// `pg_ctl stop -m fast`; a server that is not running counts as stopped.
pub(crate) fn stop(data_dir: &Path, tools: &Tools) -> Result<(), LocalClusterError> {
    tracing::info!("stopping local PostgreSQL in {}", data_dir.display());
    let mut cmd = tools.server("pg_ctl");
    cmd.arg("stop")
        .arg("-D")
        .arg(data_dir)
        .args(["-m", "fast", "-w", "-t", PG_CTL_TIMEOUT_SECS]);
    let (desc, output) = run(&mut cmd)?;
    if output.status.success() || !tools.is_running(data_dir)? {
        Ok(())
    } else {
        Err(LocalClusterError::CommandFailed {
            command: desc,
            output: combined_output(&output),
        })
    }
}

/// The `pg_ctl -o` string (interpreted by `/bin/sh`).
fn options(config: &LocalClusterConfig, data_dir: &Path) -> String {
    let mut options = format!(
        "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
        config.port,
        shell_quote(&data_dir.to_string_lossy())
    );
    if config.fast_unsafe {
        options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
    }
    options
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Refuses to start on a port something else holds, naming the holder.
pub(crate) fn ensure_port_free(port: u16) -> Result<(), LocalClusterError> {
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(_) => Err(LocalClusterError::PortTaken {
            port,
            holder: cluster_on_port(port),
        }),
    }
}

/// The data directory of a running PostgreSQL started with `-p port`, from
/// `/proc` (Linux; `None` elsewhere or when the port's holder is something else).
pub(crate) fn cluster_on_port(port: u16) -> Option<std::path::PathBuf> {
    let port = port.to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let raw = std::fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<String> = raw
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let after = |flag: &str| {
                args.iter()
                    .position(|a| a == flag)
                    .and_then(|i| args.get(i + 1))
            };
            (args.first()?.ends_with("postgres") && after("-p") == Some(&port))
                .then(|| after("-D").map(std::path::PathBuf::from))
                .flatten()
        })
}

/// The port recorded in `postmaster.pid` (its fourth line).
pub(crate) fn running_port(data_dir: &Path) -> Option<u16> {
    fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .nth(3)?
        .trim()
        .parse()
        .ok()
}

/// Polls until the server on `port` accepts connections (at most ~30 s).
pub(crate) fn wait_until_ready(port: u16, tools: &Tools) -> Result<(), LocalClusterError> {
    let started = Instant::now();
    let port_text = port.to_string();
    let last = loop {
        let mut cmd = if tools.has("pg_isready") {
            let mut cmd = tools.client("pg_isready");
            cmd.args(["-h", "127.0.0.1", "-p", &port_text, "-U", SUPERUSER])
                .args(["-d", "postgres", "-t", "2"]);
            cmd
        } else {
            tools.psql(port, "postgres", "SELECT 1")
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
        port,
        waited: started.elapsed(),
        detail: if last.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", last.trim())
        },
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_port_held_by_something_else_is_refused_by_name() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let err = super::ensure_port_free(port).unwrap_err();
        assert!(
            matches!(err, LocalClusterError::PortTaken { port: p, holder: None } if p == port),
            "{err}"
        );
        assert!(err.to_string().contains("TEST_PG_PORT"), "{err}");
        drop(held);
        assert!(super::ensure_port_free(port).is_ok());
    }
    use super::*;

    #[test]
    fn options_quote_the_socket_dir_and_add_fast_settings_for_tests() {
        let mut config = LocalClusterConfig::dev(Path::new("/it's here/.data"));
        let dev = options(&config, &config.data_dir);
        assert_eq!(
            dev,
            r"-p 54329 -k '/it'\''s here/.data/postgres' -c listen_addresses=127.0.0.1 -c max_connections=300"
        );
        config.fast_unsafe = true;
        let fast = options(&config, &config.data_dir);
        assert!(fast.ends_with("-c fsync=off -c synchronous_commit=off -c full_page_writes=off"));
    }
}
