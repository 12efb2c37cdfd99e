//! Starting the server under test on a fresh database, and cleaning up.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::distributions::{Alphanumeric, DistString};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Which PostgreSQL the bench's database lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Cluster {
    /// The project-local test cluster (`local-db --test`): fsync and
    /// full_page_writes off, so commits do not wait for the disk.
    Test,
    /// The project-local dev cluster (`local-db`): durable commits.
    Dev,
}

/// A database made for one run; dropped by [`Database::drop_now`].
#[derive(Debug, Clone)]
pub struct Database {
    /// Server URL on the maintenance database (`…/postgres`).
    admin_url: String,
    pub name: String,
    pub url: String,
}

/// Replaces the database name (the last path segment) of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (head, tail) = url
        .split_once("://")
        .context("a PostgreSQL URL starts with postgres://")?;
    let (authority, rest) = tail.split_once('/').unwrap_or((tail, ""));
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Ok(format!("{head}://{authority}/{name}{query}"))
}

async fn psql(url: &str, sql: &str) -> anyhow::Result<String> {
    let out = Command::new("psql")
        .args([
            url,
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .context("running psql (install the PostgreSQL client)")?;
    if !out.status.success() {
        bail!(
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Database {
    /// Starts (or reuses) the project-local cluster through the server
    /// binary and returns its server URL.
    pub async fn cluster_url(server_bin: &Path, cluster: Cluster) -> anyhow::Result<String> {
        let mut cmd = Command::new(server_bin);
        cmd.arg("local-db");
        if cluster == Cluster::Test {
            cmd.arg("--test");
        }
        let out = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .await
            .with_context(|| format!("running {} local-db", server_bin.display()))?;
        if !out.status.success() {
            bail!("`request-desk local-db` failed");
        }
        let url = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("postgres"))
            .map(str::to_owned)
            .context("`request-desk local-db` printed no URL")?;
        Ok(url)
    }

    /// A fresh, migrated `bench_<random>` database on the server behind
    /// `server_url`, made the way every suite makes its own: `request-desk
    /// local-db --test --new-database` (a clone of the migrated template).
    pub async fn create(server_bin: &Path, server_url: &str) -> anyhow::Result<Database> {
        let out = Command::new(server_bin)
            .args(["local-db", "--test", "--new-database", "--prefix", "bench"])
            .env("DATABASE_URL", server_url)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .await
            .with_context(|| format!("running {} local-db --new-database", server_bin.display()))?;
        if !out.status.success() {
            bail!("`request-desk local-db --test --new-database` failed");
        }
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let name = url
            .rsplit('/')
            .next()
            .and_then(|n| n.split('?').next())
            .filter(|n| !n.is_empty())
            .with_context(|| format!("`local-db --new-database` printed no database URL: {url}"))?
            .to_owned();
        Ok(Database {
            admin_url: with_database(server_url, "postgres")?,
            name,
            url,
        })
    }

    /// Runs a query on this database.
    pub async fn query(&self, sql: &str) -> anyhow::Result<String> {
        psql(&self.url, sql).await
    }

    /// One long-lived `psql` on this database, for queries asked many times
    /// a second (a new `psql` per query costs a process and a backend).
    pub async fn session(&self) -> anyhow::Result<Session> {
        let mut child = Command::new("psql")
            .args([&self.url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("running psql (install the PostgreSQL client)")?;
        let stdin = child.stdin.take().context("psql stdin")?;
        let stdout = child.stdout.take().context("psql stdout")?;
        Ok(Session {
            _child: child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        })
    }

    pub async fn drop_now(&self) -> anyhow::Result<()> {
        psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await
        .map(|_| ())
    }
}

/// A `psql` kept open on one database (see [`Database::session`]).
#[derive(Debug)]
pub struct Session {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

/// Printed after each query's rows, so the session knows where they end.
const END_OF_ROWS: &str = "--bench-end-of-rows--";

impl Session {
    /// Runs one statement; returns its rows, columns separated by `|`.
    pub async fn query(&mut self, sql: &str) -> anyhow::Result<Vec<String>> {
        self.stdin
            .write_all(format!("{sql};\n\\echo {END_OF_ROWS}\n").as_bytes())
            .await
            .context("psql session ended")?;
        self.stdin.flush().await?;
        let mut rows = Vec::new();
        loop {
            match self.lines.next_line().await? {
                Some(line) if line == END_OF_ROWS => return Ok(rows),
                Some(line) if line.is_empty() => {}
                Some(line) => rows.push(line),
                None => bail!("the psql session ended (see its error above)"),
            }
        }
    }
}

/// The server process under test.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub pid: u32,
    pub url: String,
    pub log: PathBuf,
}

impl Server {
    /// Spawns `request-desk` on a free loopback port and waits until
    /// `/health/ready` answers 200.
    pub async fn start(
        bin: &Path,
        database_url: &str,
        pool_size: Option<u32>,
        extra_env: &[(String, String)],
        log: PathBuf,
    ) -> anyhow::Result<Server> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let secret = Alphanumeric.sample_string(&mut rand::thread_rng(), 40);
        let mut cmd = Command::new(bin);
        cmd.env("DATABASE_URL", database_url)
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("JWT_SECRET", secret)
            .env("SEED_DEMO", "true")
            .env("RUST_LOG", "warn")
            .env("LOG_FORMAT", "text")
            .env("JWT_TTL_MINUTES", "600")
            // The bench is one client address signing in many users: the
            // per-address and per-email limits would refuse most of them
            // (`--server-env` can set them back).
            .env("LOGIN_LIMIT_PER_ADDRESS", "0")
            .env("LOGIN_LIMIT_PER_EMAIL", "0")
            .env("REGISTRATION_LIMIT_PER_ADDRESS", "0")
            // Likewise its thousands of hub connections from a few users.
            .env("HUB_MAX_CONNECTIONS_PER_USER", "0")
            .env("HUB_NEGOTIATE_PER_SECOND", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true);
        cmd.envs(extra_env.iter().map(|(k, v)| (k, v)));
        if let Some(size) = pool_size {
            cmd.env("DATABASE_POOL_SIZE", size.to_string());
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("server pid")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    return Ok::<_, anyhow::Error>(rest.trim().to_owned());
                }
            }
            bail!("the server exited before listening (see {})", log.display())
        })
        .await
        .context("the server did not start within 120 s")??;
        // Keep draining stdout into the log so the server never blocks on it.
        let log_path = log.clone();
        tokio::spawn(async move {
            let Ok(mut file) = tokio::fs::OpenOptions::new()
                .append(true)
                .open(&log_path)
                .await
            else {
                return;
            };
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = file.write_all(format!("{line}\n").as_bytes()).await;
            }
        });
        let server = Server {
            child,
            pid,
            url,
            log,
        };
        wait_ready(&server.url).await?;
        Ok(server)
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// Polls `GET /health/ready` until 200 (60 s at most).
pub async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/health/ready")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("{base}/health/ready did not answer 200 within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:54339/postgres", "bench_x").unwrap(),
            "postgres://postgres@127.0.0.1:54339/bench_x"
        );
        assert_eq!(
            with_database("postgres://u:p@h:1/db?sslmode=disable", "b").unwrap(),
            "postgres://u:p@h:1/b?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h", "b").unwrap(),
            "postgres://h/b"
        );
    }
}
