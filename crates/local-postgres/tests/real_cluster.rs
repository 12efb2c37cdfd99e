//! Real clusters from the machine's PostgreSQL binaries: reuse, leases,
//! pins, stopping without starting, and a checkout the `postgres` user
//! cannot reach. Each test skips (saying why) when the binaries are missing.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use request_desk_local_postgres::{effective_uid, find_bin_dir, LocalCluster, LocalClusterConfig};

/// A scratch directory (mode `mode`) under `/tmp`, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str, mode: u32) -> Self {
        let dir = PathBuf::from(format!("/tmp/rd-lpg-{label}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::DirBuilder::new().mode(mode).create(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn binaries_or_skip(test: &str) -> Option<PathBuf> {
    match find_bin_dir() {
        Ok(dir) => Some(dir),
        Err(error) => {
            eprintln!("skipping {test}: {error}");
            None
        }
    }
}

fn config(dir: &Path, port: u16) -> LocalClusterConfig {
    LocalClusterConfig {
        data_dir: dir.join(".data/pg"),
        port,
        database: "local_pg_it".to_owned(),
        fast_unsafe: true,
    }
}

/// A port nothing listens on now. A fixed one would sit in the ephemeral
/// range, where a busy test run's own connections sometimes hold it.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `select 1` on `port` answers.
fn answers(bin_dir: &Path, port: u16) -> bool {
    let psql = bin_dir.join("psql");
    let psql = if psql.is_file() {
        psql
    } else {
        PathBuf::from("psql")
    };
    Command::new(psql)
        .args(["-X", "-w", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "postgres", "-d", "postgres", "-tAc", "select 1"])
        .env("PGCONNECT_TIMEOUT", "3")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn two_users_share_a_cluster_and_the_last_to_leave_stops_it() {
    let Some(bin) = binaries_or_skip("two_users_share_a_cluster") else {
        return;
    };
    let dir = Scratch::new("lease", 0o755);
    let port = free_port();

    let first = LocalCluster::start(config(&dir.0, port)).expect("first start");
    assert_eq!(
        first.database_url(),
        format!("postgres://postgres@127.0.0.1:{port}/local_pg_it")
    );
    let second = LocalCluster::start(config(&dir.0, port)).expect("second start (reuse)");
    second.ensure_database("another_db").unwrap();

    drop(first); // the first dev server exits: the second still uses it
    assert!(answers(&bin, port), "stopped under the second user");
    drop(second); // the last one leaves
    assert!(
        !answers(&bin, port),
        "still running after its last user left"
    );
}

#[test]
fn a_pinned_cluster_outlives_its_users_until_stopped() {
    let Some(bin) = binaries_or_skip("a_pinned_cluster_outlives_its_users") else {
        return;
    };
    let dir = Scratch::new("pin", 0o755);
    let port = free_port();

    LocalCluster::start(config(&dir.0, port))
        .unwrap()
        .keep_running()
        .unwrap();
    let user = LocalCluster::start(config(&dir.0, port)).unwrap();
    drop(user);
    assert!(
        answers(&bin, port),
        "a pinned cluster was stopped by a user"
    );

    assert!(LocalCluster::stop_if_running(config(&dir.0, port)).unwrap());
    assert!(!answers(&bin, port));
    assert!(!LocalCluster::stop_if_running(config(&dir.0, port)).unwrap());
}

#[test]
fn stopping_a_cluster_that_never_ran_creates_nothing() {
    let dir = Scratch::new("nostart", 0o755);
    assert!(!LocalCluster::stop_if_running(config(&dir.0, 54353)).unwrap());
    assert!(!dir.0.join(".data").exists(), "stop created files");
}

/// Root's clones live in a 0700 home that the `postgres` user (who runs the
/// server, since PostgreSQL refuses root) cannot enter: the data moves to
/// `/var/tmp/request-desk-<hash>/`, keyed by the checkout.
#[test]
fn as_root_a_checkout_the_postgres_user_cannot_reach_still_gets_a_cluster() {
    if effective_uid() != Some(0) {
        eprintln!("skipping the 0700-home test: it needs root (the server then runs as postgres)");
        return;
    }
    let Some(bin) = binaries_or_skip("the 0700-home test") else {
        return;
    };
    let home = Scratch::new("home0700", 0o700);
    let checkout = home.0.join("checkout");
    fs::create_dir_all(&checkout).unwrap();
    let port = free_port();

    let cluster = LocalCluster::start(config(&checkout, port)).expect("start in a 0700 home");
    let data_dir = cluster.data_dir().to_path_buf();
    let shared = data_dir.parent().unwrap().to_path_buf();
    let _cleanup = Scratch(shared.clone());
    assert!(
        shared
            .to_string_lossy()
            .starts_with("/var/tmp/request-desk-"),
        "{}",
        data_dir.display()
    );
    assert!(cluster.layout().relocated);
    assert!(answers(&bin, port));
    let location = fs::read_to_string(checkout.join(".data/pg.location")).unwrap();
    assert_eq!(location.trim(), data_dir.to_str().unwrap());

    // The same checkout finds the same data again, and stops it.
    drop(cluster);
    assert!(!answers(&bin, port));
    let again = LocalCluster::start(config(&checkout, port)).unwrap();
    assert_eq!(again.data_dir(), data_dir);
    drop(again);
    assert!(!LocalCluster::stop_if_running(config(&checkout, port)).unwrap());
}
