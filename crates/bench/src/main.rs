//! `request-desk-bench`: the load generator and benchmark suite.
//!
//! It starts the server itself (release binary next to this one, on a fresh
//! database of the project-local PostgreSQL) unless `--url` is given, then
//! measures availability latency, booking under contention, holds under
//! contention, connection cost and delivery latency at each connection
//! count, and the refetch stampede.
//! It prints Markdown tables, writes a JSON report and, with `--markdown`,
//! rewrites the generated block of `docs/benchmarks.md`.

mod api;
mod holds;
mod hub;
mod phases;
mod procfs;
mod report;
mod scale;
mod server;
mod soak;
mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use time::Date;

use crate::api::Api;
use crate::holds::HoldsPlan;
use crate::hub::{Mode, OpenParams, RefetchCtx, Swarm};
use crate::phases::{LevelResult, ProbePlan};
use crate::report::{Report, Stampede};
use crate::server::{Cluster, Database, Server};

#[derive(Debug, Parser)]
#[command(version, about = "Load generator and benchmark suite for Request Desk")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Everything: availability, booking, holds, connections + delivery, stampede.
    Suite(Opts),
    /// `GET /api/availability` latency for 30, 90 and 366 days.
    Availability(Opts),
    /// K concurrent bookers over D dates, then the overbooking check.
    Booking(Opts),
    /// Connection cost and delivery latency at each `--connections` count.
    Delivery(Opts),
    /// Event mode versus the old refetch-on-every-change design.
    Stampede(Opts),
    /// A storm of concurrent logins while `GET /api/availability` is sampled.
    Logins(Opts),
    /// Pick, type and submit without and with holds; holds/s; `used + held ≤ capacity` checked throughout.
    Holds(Opts),
    /// Minutes of steady bookings, holds and hub churn; fails if the server's
    /// memory, descriptors, threads, tasks or database connections keep growing.
    Soak(SoakCmd),
}

#[derive(Debug, Args)]
struct SoakCmd {
    #[command(flatten)]
    opts: Opts,
    #[command(flatten)]
    soak: SoakArgs,
}

#[derive(Debug, Clone, Args)]
struct SoakArgs {
    /// How long the soak runs, in seconds.
    #[arg(long, default_value_t = 600)]
    soak_seconds: u64,
    /// Hub viewers kept open (WebSockets, negotiated).
    #[arg(long, default_value_t = 5_000)]
    soak_viewers: usize,
    /// Viewer groups; one group reconnects every `--soak-churn-seconds`.
    #[arg(long, default_value_t = 10)]
    soak_groups: usize,
    /// Seconds between two reconnecting groups (and between two samples).
    #[arg(long, default_value_t = 60)]
    soak_churn_seconds: u64,
    /// People booking, each with an account of their own.
    #[arg(long, default_value_t = 8)]
    soak_workers: usize,
    /// Each person picks, types and submits once per this many ms.
    #[arg(long, default_value_t = 1000)]
    soak_cycle_ms: u64,
    /// Dates they book (capacity `--soak-capacity` each).
    #[arg(long, default_value_t = 14)]
    soak_dates: usize,
    /// Capacity of each soak date.
    #[arg(long, default_value_t = 20)]
    soak_capacity: i64,
    /// Bookings each person keeps before cancelling the oldest.
    #[arg(long, default_value_t = 20)]
    soak_keep: usize,
    /// Every this many picks, the person leaves the hold to expire (0: never).
    #[arg(long, default_value_t = 10)]
    soak_abandon_every: u64,
    /// Where to write the soak's JSON (every sample).
    #[arg(long, default_value = "target/bench/soak.json")]
    soak_json: PathBuf,
}

#[derive(Debug, Clone, Args)]
struct Opts {
    /// Benchmark a running server instead of starting one (http://IP:PORT).
    #[arg(long)]
    url: Option<String>,
    /// Pid of the `--url` server, for its RSS and CPU time.
    #[arg(long, requires = "url")]
    server_pid: Option<u32>,
    /// The server binary (default: `request-desk` next to this binary).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// PostgreSQL server URL to create the bench database on (default: the
    /// project-local cluster chosen by `--cluster`).
    #[arg(long)]
    database_url: Option<String>,
    /// Project-local cluster: `test` (fsync off) or `dev` (durable).
    #[arg(long, value_enum, default_value_t = Cluster::Test)]
    cluster: Cluster,
    /// `DATABASE_POOL_SIZE` for the server (default: the server's, 10).
    #[arg(long)]
    pool_size: Option<u32>,
    /// Extra environment for the server it starts, KEY=VALUE (repeatable),
    /// e.g. `MALLOC_MMAP_THRESHOLD_=1048576`.
    #[arg(long, value_parser = parse_env)]
    server_env: Vec<(String, String)>,

    /// With `delivery`: run it over each of these numbers of instances on one
    /// database (e.g. 1,3), the first `--connections` count spread over
    /// them and the bookings through the first; prints the scale-out table.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    instances: Vec<usize>,

    /// Hub connection counts to measure, e.g. 1000,10000,50000.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    connections: Vec<usize>,
    /// Timed bookings at each connection count.
    #[arg(long, default_value_t = 50)]
    probes: usize,
    /// Pause between timed bookings, in ms.
    #[arg(long, default_value_t = 20)]
    probe_gap_ms: u64,
    /// How long a timed booking waits for every connection, in ms.
    #[arg(long, default_value_t = 10_000)]
    probe_timeout_ms: u64,
    /// Connection attempts in flight at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// New connections per second (0: as fast as the concurrency allows).
    #[arg(long, default_value_t = 0.0)]
    ramp_rate: f64,
    /// Connect straight to the WebSocket (skipNegotiation) instead of negotiating first.
    #[arg(long)]
    skip_negotiate: bool,
    /// Connections per source address (127.0.0.x), to stay within the ephemeral ports.
    #[arg(long, default_value_t = 20_000)]
    per_ip: usize,
    /// Seconds to let the connections settle before reading the server's RSS.
    #[arg(long, default_value_t = 3.0)]
    idle_secs: f64,

    /// Booking attempts under contention.
    #[arg(long, default_value_t = 500)]
    bookings: usize,
    /// Concurrent bookers.
    #[arg(long, default_value_t = 32)]
    bookers: usize,
    /// Dates the bookers compete for.
    #[arg(long, default_value_t = 10)]
    dates: usize,
    /// Capacity of each contended date (default: 80 % of bookings / dates).
    #[arg(long)]
    date_capacity: Option<i64>,

    /// Requests per span for the availability latency.
    #[arg(long, default_value_t = 300)]
    availability_samples: usize,

    /// Connections for the stampede comparison.
    #[arg(long, default_value_t = 1000)]
    stampede_connections: usize,
    /// Bookings in each stampede mode.
    #[arg(long, default_value_t = 20)]
    stampede_bookings: usize,
    /// One booking every this many ms in the stampede modes.
    #[arg(long, default_value_t = 500)]
    stampede_interval_ms: u64,
    /// Days each refetch asks for (the picker's range).
    #[arg(long, default_value_t = 60)]
    stampede_days: i64,

    /// Concurrent logins in the login storm.
    #[arg(long, default_value_t = 1000)]
    logins: usize,

    /// Leave the holds phase out of `suite`.
    #[arg(long)]
    skip_holds: bool,
    /// People in the holds workload, each with an account of their own (one
    /// live hold per user).
    #[arg(long, default_value_t = 60)]
    hold_users: usize,
    /// Dates they compete for.
    #[arg(long, default_value_t = 3)]
    hold_dates: usize,
    /// Capacity of each of those dates (default: 60 % of the people, spread
    /// over the dates, so 40 % cannot be booked).
    #[arg(long)]
    hold_capacity: Option<i64>,
    /// Typing time between picking a day and submitting, drawn uniformly
    /// from MIN,MAX ms.
    #[arg(long, value_name = "MIN,MAX", value_delimiter = ',', default_values_t = [50, 400])]
    hold_think_ms: Vec<u64>,
    /// The people open the form over this many ms.
    #[arg(long, default_value_t = 600)]
    hold_arrival_ms: u64,
    /// Seed of the holds workload (arrivals, typing times, date preferences).
    #[arg(long, default_value_t = 14)]
    hold_seed: u64,
    /// Workers (each its own account) in the all-out take-and-release loop.
    #[arg(long, default_value_t = 16)]
    hold_loop_workers: usize,
    /// Dates of that loop.
    #[arg(long, default_value_t = 2)]
    hold_loop_dates: usize,
    /// Capacity of each loop date (default: workers / (2 × dates), so the
    /// loop keeps its days full and is refused often).
    #[arg(long)]
    hold_loop_capacity: Option<i64>,
    /// How long the loop runs, in seconds.
    #[arg(long, default_value_t = 3.0)]
    hold_loop_seconds: f64,
    /// Pause between two polls of the database checker, in ms.
    #[arg(long, default_value_t = 10)]
    hold_poll_ms: u64,

    /// Requester accounts to register; connections and bookers use them round-robin.
    #[arg(long, default_value_t = 20)]
    users: usize,
    /// Raise the open-file limit (for the bench and the server it starts) to this.
    #[arg(long, default_value_t = 250_000)]
    fd_limit: u64,
    /// Before starting, wait up to this many seconds for the machine to be
    /// quiet (under 0.3 busy cores), so other work does not skew the figures.
    #[arg(long, default_value_t = 0)]
    wait_quiet_secs: u64,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/bench/report.json")]
    json: PathBuf,
    /// Rewrite the generated block of this Markdown file (docs/benchmarks.md).
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// The command line to record in the report (e.g. `just bench`).
    #[arg(long)]
    command: Option<String>,
}

fn parse_env(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {raw:?}"))
}

#[derive(Debug, Clone, Copy)]
struct Phases {
    availability: bool,
    booking: bool,
    delivery: bool,
    stampede: bool,
    logins: bool,
    holds: bool,
}

impl Phases {
    const NONE: Phases = Phases {
        availability: false,
        booking: false,
        delivery: false,
        stampede: false,
        logins: false,
        holds: false,
    };
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let none = Phases::NONE;
    let (opts, phases) = match cli.command {
        Cmd::Delivery(opts) if opts.instances != [1] => {
            procfs::raise_fd_limit(opts.fd_limit);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            return runtime.block_on(run_scale(opts));
        }
        Cmd::Soak(SoakCmd { mut opts, soak }) => {
            // Holds left to expire should expire within the soak.
            if !opts.server_env.iter().any(|(k, _)| k == "HOLD_TTL_SECONDS") {
                opts.server_env
                    .push(("HOLD_TTL_SECONDS".into(), "20".into()));
            }
            // Before any thread or child exists, so all inherit it.
            procfs::raise_fd_limit(opts.fd_limit);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            return runtime.block_on(run_soak(opts, soak));
        }
        Cmd::Suite(o) => {
            let holds = !o.skip_holds;
            (
                o,
                Phases {
                    availability: true,
                    booking: true,
                    delivery: true,
                    stampede: true,
                    logins: true,
                    holds,
                },
            )
        }
        Cmd::Availability(o) => (
            o,
            Phases {
                availability: true,
                ..none
            },
        ),
        Cmd::Booking(o) => (
            o,
            Phases {
                booking: true,
                ..none
            },
        ),
        Cmd::Delivery(o) => (
            o,
            Phases {
                delivery: true,
                ..none
            },
        ),
        Cmd::Stampede(o) => (
            o,
            Phases {
                stampede: true,
                ..none
            },
        ),
        Cmd::Logins(o) => (
            o,
            Phases {
                logins: true,
                ..none
            },
        ),
        Cmd::Holds(o) => (
            o,
            Phases {
                holds: true,
                ..none
            },
        ),
    };
    // Before any thread or child exists, so all inherit it.
    let fd_limit = procfs::raise_fd_limit(opts.fd_limit);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(opts, phases, fd_limit))
}

/// The server binary: `--server-bin`, else `request-desk` next to this one.
fn server_bin(opts: &Opts) -> anyhow::Result<PathBuf> {
    let bin = match &opts.server_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("bench binary directory")?
            .join("request-desk"),
    };
    anyhow::ensure!(
        bin.is_file(),
        "{} not found: build it (cargo build --release --bin request-desk) or pass --server-bin / --url",
        bin.display()
    );
    Ok(bin)
}

impl Setup {
    /// Stops the server it started and drops its database.
    async fn tear_down(self) {
        if let Some(server) = self.server {
            server.stop().await;
        }
        if let Some(db) = &self.db {
            if let Err(e) = db.drop_now().await {
                eprintln!("bench: could not drop {}: {e:#}", db.name);
            }
        }
    }
}

struct Setup {
    server: Option<Server>,
    db: Option<Database>,
    database: String,
    base: String,
    pid: Option<u32>,
}

async fn start(opts: &Opts) -> anyhow::Result<Setup> {
    if let Some(url) = &opts.url {
        return Ok(Setup {
            server: None,
            db: None,
            database: "the `--url` server's own".into(),
            base: url.trim_end_matches('/').to_owned(),
            pid: opts.server_pid,
        });
    }
    let bin = server_bin(opts)?;
    let (server_url, database) = match &opts.database_url {
        Some(u) => (
            u.clone(),
            "the PostgreSQL given by --database-url".to_owned(),
        ),
        None => {
            let u = Database::cluster_url(&bin, opts.cluster).await?;
            let what = match opts.cluster {
                Cluster::Test => "project-local **test** cluster (`request-desk local-db --test`; fsync, synchronous_commit and full_page_writes off: commits do not wait for the disk)",
                Cluster::Dev => "project-local **dev** cluster (`request-desk local-db`; durable: fsync on)",
            };
            (u, what.to_owned())
        }
    };
    let db = Database::create(&bin, &server_url).await?;
    eprintln!("bench: database {} on {server_url}", db.name);
    let log = PathBuf::from("target/bench/server.log");
    let server = match Server::start(&bin, &db.url, opts.pool_size, &opts.server_env, log).await {
        Ok(s) => s,
        Err(e) => {
            let _ = db.drop_now().await;
            return Err(e);
        }
    };
    eprintln!(
        "bench: server pid {} at {} (log: {})",
        server.pid,
        server.url,
        server.log.display()
    );
    Ok(Setup {
        base: server.url.clone(),
        pid: Some(server.pid),
        server: Some(server),
        database: format!("{database}, a fresh database `{}`", db.name),
        db: Some(db),
    })
}

/// Waits (at most `limit`) until the machine uses under 0.3 cores; returns
/// the busy cores last seen.
async fn wait_quiet(limit: Duration) -> f64 {
    let deadline = Instant::now() + limit;
    loop {
        let before = procfs::machine_busy_seconds();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let busy = (procfs::machine_busy_seconds() - before) / 2.0;
        if busy < 0.3 || Instant::now() >= deadline {
            return busy;
        }
        eprintln!("bench: the machine is busy ({busy:.2} cores); waiting for it to quiet down");
    }
}

async fn run(opts: Opts, phases: Phases, fd_limit: u64) -> anyhow::Result<()> {
    let busy = wait_quiet(Duration::from_secs(opts.wait_quiet_secs)).await;
    eprintln!("bench: machine busy {busy:.2} cores at the start");
    let setup = start(&opts).await?;
    let result = suite(&opts, phases, fd_limit, busy, &setup).await;
    setup.tear_down().await;
    let report = result?;
    println!("{}", report.tables());
    if let Some(h) = report.holds.as_ref().filter(|h| !h.problems.is_empty()) {
        anyhow::bail!("the holds phase failed: {}", h.problems.join("; "));
    }
    Ok(())
}

async fn run_scale(mut opts: Opts) -> anyhow::Result<()> {
    anyhow::ensure!(
        opts.url.is_none(),
        "--instances starts its own servers over one database: leave out --url"
    );
    anyhow::ensure!(
        opts.instances.iter().all(|n| (1..=16).contains(n)),
        "--instances: counts from 1 to 16"
    );
    // One secret for every instance: a token from one is good on the others.
    if !opts.server_env.iter().any(|(k, _)| k == "JWT_SECRET") {
        let secret: String = (0..40)
            .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
            .collect();
        opts.server_env.push(("JWT_SECRET".into(), secret));
    }
    let setup = start(&opts).await?;
    let mut extra = Vec::new();
    let result = scale_on(&opts, &setup, &mut extra).await;
    for server in extra {
        server.stop().await;
    }
    setup.tear_down().await;
    let runs = result?;
    if let Some(dir) = opts.json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&opts.json, serde_json::to_vec_pretty(&runs)?)?;
    println!("{}", scale::table(&runs));
    let problems: Vec<String> = runs.iter().flat_map(scale::problems).collect();
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("; "));
    Ok(())
}

async fn scale_on(
    opts: &Opts,
    setup: &Setup,
    extra: &mut Vec<Server>,
) -> anyhow::Result<Vec<scale::ScaleResult>> {
    let db = setup.db.as_ref().context("the bench's own database")?;
    let bin = server_bin(opts)?;
    let api = Api::new(&setup.base, api::client(usize::MAX));
    let admin = api.login("admin@example.com", "demo-password").await?;
    let settings = api.public_settings().await?;
    api.configure(&admin, &settings, 100_000, 365).await?;
    let today = api.public_settings().await?.today;
    let tokens = sign_in(&api, rand::random::<u32>(), 0..opts.users.max(1)).await?;
    let most = opts.instances.iter().copied().max().unwrap_or(1);
    for i in 1..most {
        let log = PathBuf::from(format!("target/bench/server-{i}.log"));
        let server = Server::start(&bin, &db.url, opts.pool_size, &opts.server_env, log).await?;
        eprintln!("bench: instance {i}: pid {} at {}", server.pid, server.url);
        extra.push(server);
    }
    let all: Vec<scale::Instance> = std::iter::once(scale::Instance {
        base: setup.base.clone(),
        pid: setup.pid,
    })
    .chain(extra.iter().map(|s| scale::Instance {
        base: s.url.clone(),
        pid: Some(s.pid),
    }))
    .collect();
    let viewers = opts.connections.first().copied().unwrap_or(1000);
    let plan = scale::ScalePlan {
        viewers,
        probes: opts.probes,
        interval: Duration::from_millis(opts.probe_gap_ms),
        timeout: Duration::from_millis(opts.probe_timeout_ms),
        concurrency: opts.connect_concurrency,
        negotiate: !opts.skip_negotiate,
        idle: Duration::from_secs_f64(opts.idle_secs),
    };
    let mut runs = Vec::new();
    for (k, &n) in opts.instances.iter().enumerate() {
        eprintln!(
            "bench: {n} instance(s), {viewers} viewers in all, {} bookings",
            plan.probes
        );
        let run = scale::scale(
            &all[..n],
            &plan,
            &api.http,
            tokens.clone(),
            &tokens[0],
            day(today, k + 1),
        )
        .await?;
        eprintln!(
            "bench:   commit → viewer p50 {:.1} ms, p99 {:.1} ms",
            run.from_commit.p50_ms, run.from_commit.p99_ms
        );
        runs.push(run);
        for instance in &all[..n] {
            phases::wait_connections_drop(&Api::new(&instance.base, api.http.clone()), 0.0).await;
        }
    }
    Ok(runs)
}

async fn run_soak(opts: Opts, args: SoakArgs) -> anyhow::Result<()> {
    let setup = start(&opts).await?;
    let result = soak_on(&opts, &args, &setup).await;
    setup.tear_down().await;
    let result = result?;
    if let Some(dir) = args.soak_json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.soak_json, serde_json::to_vec_pretty(&result)?)?;
    println!("{}", soak::table(&result));
    eprintln!("bench: every sample in {}", args.soak_json.display());
    anyhow::ensure!(
        result.problems.is_empty(),
        "the soak failed: {}",
        result.problems.join("; ")
    );
    Ok(())
}

async fn soak_on(opts: &Opts, args: &SoakArgs, setup: &Setup) -> anyhow::Result<soak::SoakResult> {
    let api = Api::new(&setup.base, api::client(usize::MAX));
    let admin = api.login("admin@example.com", "demo-password").await?;
    let settings = api.public_settings().await?;
    api.configure(&admin, &settings, args.soak_capacity, 365)
        .await?;
    let today = api.public_settings().await?.today;
    let dates: Vec<Date> = (1..=args.soak_dates.max(1))
        .map(|i| day(today, i))
        .collect();
    let run_id = rand::random::<u32>();
    let workers = sign_in(&api, run_id, 0..args.soak_workers.max(1)).await?;
    let viewers = sign_in(
        &api,
        run_id,
        workers.len()..workers.len() + opts.users.max(1),
    )
    .await?;
    eprintln!(
        "bench: soak for {} s: {} people over {} dates of capacity {}, {} viewers, a group of {} reconnecting every {} s",
        args.soak_seconds,
        workers.len(),
        dates.len(),
        args.soak_capacity,
        args.soak_viewers,
        args.soak_viewers.div_ceil(args.soak_groups.max(1)),
        args.soak_churn_seconds
    );
    let plan = soak::SoakPlan {
        duration: Duration::from_secs(args.soak_seconds),
        viewers: args.soak_viewers,
        groups: args.soak_groups,
        churn_every: Duration::from_secs(args.soak_churn_seconds.max(1)),
        workers: workers.len(),
        cycle: Duration::from_millis(args.soak_cycle_ms.max(1)),
        keep: args.soak_keep,
        abandon_every: args.soak_abandon_every,
        dates,
        base: setup.base.clone(),
        seed: opts.hold_seed,
    };
    soak::soak(plan, &api, workers, viewers, setup.db.as_ref()).await
}

/// Registers requesters `bench-<run>-<i>` for `range` and signs them in, four at a time.
async fn sign_in(
    api: &Api,
    run_id: u32,
    range: std::ops::Range<usize>,
) -> anyhow::Result<Vec<Arc<str>>> {
    let mut tokens = Vec::new();
    for chunk in range.collect::<Vec<_>>().chunks(4) {
        let logins = chunk.iter().map(|i| {
            let api = api.clone();
            let email = format!("bench-{run_id:08x}-{i}@example.com");
            async move { api.register_and_login(&email, "bench-password").await }
        });
        for t in futures_util::future::join_all(logins).await {
            tokens.push(t?.into());
        }
    }
    Ok(tokens)
}

/// The holds phase's shape from the options.
fn holds_plan(opts: &Opts) -> HoldsPlan {
    let dates = opts.hold_dates.max(1);
    let loop_workers = opts.hold_loop_workers.max(1);
    let loop_dates = opts.hold_loop_dates.max(1);
    // One value: that long for everyone.
    let think = |i: usize| {
        opts.hold_think_ms
            .get(i)
            .or(opts.hold_think_ms.first())
            .copied()
            .unwrap_or(0)
    };
    HoldsPlan {
        users: opts.hold_users.max(1),
        dates,
        capacity: opts
            .hold_capacity
            .unwrap_or_else(|| ((opts.hold_users * 3 / 5) / dates).max(1) as i64),
        think_ms: (think(0), think(1)),
        arrival_ms: opts.hold_arrival_ms,
        seed: opts.hold_seed,
        loop_workers,
        loop_dates,
        loop_capacity: opts
            .hold_loop_capacity
            .unwrap_or_else(|| (loop_workers / (2 * loop_dates)).max(1) as i64),
        loop_seconds: opts.hold_loop_seconds,
        poll_gap: Duration::from_millis(opts.hold_poll_ms),
    }
}

fn day(today: Date, offset: usize) -> Date {
    today + time::Duration::days(offset as i64)
}

async fn suite(
    opts: &Opts,
    phases: Phases,
    fd_limit: u64,
    busy_at_start: f64,
    setup: &Setup,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let argv = std::env::args()
        .map(|a| {
            if a.contains(' ') {
                format!("\"{a}\"")
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let base = setup.base.clone();
    let pid = setup.pid;
    let api = Api::new(&base, api::client(usize::MAX));

    // Accounts and settings: every weekday open, a year's window, ample capacity.
    let admin = api.login("admin@example.com", "demo-password").await?;
    let settings = api.public_settings().await?;
    api.configure(&admin, &settings, 100_000, 365).await?;
    let today = api.public_settings().await?.today;
    let run_id = rand::random::<u32>();
    let tokens = sign_in(&api, run_id, 0..opts.users.max(1)).await?;
    eprintln!("bench: {} users signed in; today is {today}", tokens.len());

    let mut report = Report {
        generated_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        command: opts.command.clone().unwrap_or_else(|| argv.clone()),
        argv,
        commit: procfs::commit(),
        machine: procfs::machine(fd_limit),
        database: setup.database.clone(),
        server_url: base.clone(),
        server_pid: pid,
        pool_size: opts.pool_size,
        server_env: opts
            .server_env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        seconds: 0.0,
        busy_cores_at_start: busy_at_start,
        availability: Vec::new(),
        booking: None,
        holds: None,
        login_storm: None,
        stuck_lock: None,
        levels: Vec::new(),
        stampede: None,
        targets: Vec::new(),
    };

    // Dates: 1..=D contended, D+1 warm-up, then one per connection level, then the stampede's.
    let contended: Vec<Date> = (1..=opts.dates.max(1)).map(|i| day(today, i)).collect();
    let warmup_date = day(today, opts.dates + 1);
    let level_date = |i: usize| day(today, opts.dates + 2 + i);
    let stampede_date = day(today, opts.dates + 2 + opts.connections.len());

    if phases.availability {
        eprintln!("bench: availability latency");
        report.availability = phases::availability(
            &api,
            &tokens[0],
            today,
            &[30, 90, 366],
            opts.availability_samples,
        )
        .await?;
    }

    if phases.logins {
        eprintln!("bench: login storm of {} concurrent logins", opts.logins);
        report.login_storm = Some(
            phases::login_storm(&base, &tokens[0], opts.logins, opts.availability_samples).await?,
        );
    }

    if phases.booking {
        if let Some(db) = setup.db.as_ref() {
            eprintln!("bench: a row lock held for 6 s while 15 bookings for its date arrive");
            let stuck = day(today, opts.dates + 3 + opts.connections.len());
            let other = day(today, opts.dates + 4 + opts.connections.len());
            report.stuck_lock = Some(
                phases::stuck_lock(
                    &base,
                    &tokens[0],
                    db,
                    stuck,
                    other,
                    15,
                    Duration::from_secs(6),
                )
                .await?,
            );
        }
        let capacity = opts
            .date_capacity
            .unwrap_or_else(|| ((opts.bookings * 4 / 5) / opts.dates.max(1)).max(1) as i64);
        eprintln!(
            "bench: booking: {} bookers, {} attempts over {} dates of capacity {capacity}",
            opts.bookers, opts.bookings, opts.dates
        );
        report.booking = Some(
            phases::booking(
                &api,
                &admin,
                &tokens,
                &contended,
                warmup_date,
                capacity,
                opts.bookings,
                opts.bookers,
                pid,
                setup.db.as_ref(),
            )
            .await?,
        );
    }

    if phases.holds {
        let plan = holds_plan(opts);
        // Every person an account of their own: the suite's, then more.
        let mut people = tokens.clone();
        if people.len() < plan.accounts() {
            eprintln!(
                "bench: signing in {} more users for the holds phase",
                plan.accounts() - people.len()
            );
            people.extend(sign_in(&api, run_id, people.len()..plan.accounts()).await?);
        }
        // After every other phase's dates.
        let first = opts.dates + 5 + opts.connections.len();
        let days: Vec<Date> = (first..first + plan.days())
            .map(|i| day(today, i))
            .collect();
        eprintln!(
            "bench: holds: {} people pick, type {}–{} ms and submit, over {} dates of capacity {}; then {} workers take and release holds for {:.1} s",
            plan.users,
            plan.think_ms.0,
            plan.think_ms.1,
            plan.dates,
            plan.capacity,
            plan.loop_workers,
            plan.loop_seconds
        );
        if setup.db.is_none() {
            eprintln!("bench:   (no database of its own with --url: used + held ≤ capacity is not checked)");
        }
        report.holds =
            Some(holds::holds(&api, &admin, &people, &days, &plan, setup.db.as_ref()).await?);
    }

    let refetch_api = Api::new(&base, api::client(usize::MAX));
    let refetch_ctx = || RefetchCtx {
        api: refetch_api.clone(),
        from: today,
        to: day(today, opts.stampede_days.max(1) as usize - 1),
    };
    let mut next_ip = 2u32; // 127.0.0.2 onwards; 127.0.0.1 is the REST clients'.
    let open_params = |n: usize, first_ip: u32| OpenParams {
        base: base.clone(),
        connections: n,
        concurrency: opts.connect_concurrency,
        ramp_rate: opts.ramp_rate,
        negotiate: !opts.skip_negotiate,
        first_ip,
        per_ip: opts.per_ip,
        max_failures: (n / 100).max(100),
    };
    let stampede_plan = |mode| ProbePlan {
        probes: opts.stampede_bookings,
        interval: Duration::from_millis(opts.stampede_interval_ms),
        timeout: Duration::from_millis(opts.probe_timeout_ms),
        mode,
    };
    let stampede_levels = opts.connections.contains(&opts.stampede_connections) && phases.delivery;

    if phases.delivery {
        for (i, &n) in opts.connections.iter().enumerate() {
            // Each connection is one descriptor in the bench and one in the server.
            let needed = n as u64 + 2_048;
            let server_limit = pid.and_then(procfs::fd_limit_of);
            let limit = fd_limit.min(server_limit.unwrap_or(u64::MAX));
            if limit < needed {
                let why = format!(
                    "open-file limit {limit} < {needed} needed, and it cannot be raised here \
                     (setrlimit above the hard limit needs CAP_SYS_RESOURCE)"
                );
                eprintln!("bench: skipping {n} connections: {why}");
                report.levels.push(LevelResult::skipped(n, why));
                continue;
            }
            eprintln!("bench: opening {n} hub connections");
            let (rss0, bench0) = phases::rss(pid);
            let (swarm, open) = Swarm::open(
                &open_params(n, next_ip),
                &api.http,
                tokens.clone(),
                Some(refetch_ctx()),
            )
            .await?;
            next_ip += swarm.ips_used;
            eprintln!(
                "bench:   {} connected ({} failed) in {:.1} s, {:.0}/s",
                open.connected, open.failed, open.seconds, open.per_second
            );
            tokio::time::sleep(Duration::from_secs_f64(opts.idle_secs)).await;
            let (rss1, bench1) = phases::rss(pid);
            let live = swarm.live();
            let per = |a: Option<u64>, b: Option<u64>| match (a, b) {
                (Some(a), Some(b)) if live > 0 => {
                    Some((b as f64 - a as f64) * 1024.0 / live as f64)
                }
                _ => None,
            };
            let reported =
                procfs::Scrape::parse(&api.metrics().await.unwrap_or_default()).ws_connections;
            eprintln!("bench:   delivery: {} timed bookings", opts.probes);
            let delivery = if live > 0 && opts.probes > 0 {
                Some(
                    phases::delivery(
                        &swarm,
                        &api,
                        &tokens[0],
                        level_date(i),
                        ProbePlan {
                            probes: opts.probes,
                            interval: Duration::from_millis(opts.probe_gap_ms),
                            timeout: Duration::from_millis(opts.probe_timeout_ms),
                            mode: Mode::Event,
                        },
                        pid,
                    )
                    .await?,
                )
            } else {
                None
            };
            if let Some(d) = &delivery {
                eprintln!(
                    "bench:   p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {:.3} % received",
                    d.latency.p50_ms,
                    d.latency.p99_ms,
                    d.latency.max_ms,
                    d.share_received * 100.0
                );
            }
            let mut level = LevelResult {
                connections: n,
                skipped: None,
                open,
                server_rss_before_kib: rss0,
                server_rss_after_kib: rss1,
                server_bytes_per_connection: per(rss0, rss1),
                server_threads: pid.and_then(procfs::threads),
                bench_bytes_per_connection: per(bench0, bench1),
                server_reported_connections: reported,
                delivery,
                dropped: 0,
                drop_reasons: Vec::new(),
            };
            if phases.stampede && stampede_levels && n == opts.stampede_connections {
                report.stampede = Some(
                    stampede(
                        opts,
                        &swarm,
                        &api,
                        &tokens[0],
                        stampede_date,
                        pid,
                        &stampede_plan,
                    )
                    .await?,
                );
            }
            (level.dropped, level.drop_reasons) = swarm.unexpected_ends();
            if level.dropped > 0 {
                eprintln!(
                    "bench:   {} connections ended early: {:?}",
                    level.dropped, level.drop_reasons
                );
            }
            report.levels.push(level);
            eprintln!("bench:   closing");
            swarm.close().await;
            phases::wait_connections_drop(&api, 0.0).await;
        }
    }

    if phases.stampede && !stampede_levels {
        let n = opts.stampede_connections;
        eprintln!("bench: opening {n} hub connections for the stampede");
        let (swarm, open) = Swarm::open(
            &open_params(n, next_ip),
            &api.http,
            tokens.clone(),
            Some(refetch_ctx()),
        )
        .await?;
        eprintln!(
            "bench:   {} connected ({} failed)",
            open.connected, open.failed
        );
        report.stampede = Some(
            stampede(
                opts,
                &swarm,
                &api,
                &tokens[0],
                stampede_date,
                pid,
                &stampede_plan,
            )
            .await?,
        );
        swarm.close().await;
    }

    report.seconds = started.elapsed().as_secs_f64();
    report.judge();
    if let Some(dir) = opts.json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&opts.json, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", opts.json.display()))?;
    eprintln!("bench: JSON report in {}", opts.json.display());
    if let Some(md) = &opts.markdown {
        report::write_markdown(md, &report.tables())?;
        eprintln!("bench: rewrote {}", md.display());
    }
    Ok(report)
}

async fn stampede(
    opts: &Opts,
    swarm: &Swarm,
    api: &Api,
    token: &str,
    date: Date,
    pid: Option<u32>,
    plan: &dyn Fn(Mode) -> ProbePlan,
) -> anyhow::Result<Stampede> {
    eprintln!("bench:   stampede: event mode");
    let event = phases::delivery(swarm, api, token, date, plan(Mode::Event), pid).await?;
    eprintln!("bench:   stampede: refetch mode");
    let refetch = phases::delivery(swarm, api, token, date, plan(Mode::Refetch), pid).await?;
    eprintln!(
        "bench:   event p99 {:.2} ms, {:.0} req/s; refetch p99 {:.2} ms, {:.0} req/s",
        event.latency.p99_ms,
        event.server_requests_per_second,
        refetch.latency.p99_ms,
        refetch.server_requests_per_second
    );
    Ok(Stampede {
        connections: swarm.live(),
        refetch_days: opts.stampede_days,
        interval_ms: opts.stampede_interval_ms,
        event,
        refetch,
    })
}
