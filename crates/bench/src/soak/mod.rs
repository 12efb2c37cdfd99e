//! The soak: minutes of steady bookings, holds, cancellations and hub churn
//! against one instance, sampling what the server holds — resident memory,
//! open descriptors, threads, tasks, database connections — to tell a leak
//! from a warm-up.
//!
//! Viewers are opened in groups; every `churn_every` one group closes and
//! reconnects (with ten groups and a minute, a tenth of the viewers every
//! minute). Samples are taken right before each churn, when every viewer is
//! connected and the workload is steady, so any two are comparable.
//!
//! How growth is judged: [`verdict`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::Date;
use tokio::sync::watch;

use crate::api::{self, Api, HoldTaken, Submitted};
use crate::hub::{OpenParams, Swarm};
use crate::server::Database;

mod verdict;

use verdict::{judge, metric, metric_sum};
pub use verdict::{table, Counts, Sample, SoakResult};

/// The soak's shape.
#[derive(Debug, Clone)]
pub struct SoakPlan {
    pub duration: Duration,
    pub viewers: usize,
    /// Viewer groups; one reconnects per `churn_every`.
    pub groups: usize,
    pub churn_every: Duration,
    /// Concurrent people booking, each with an account of their own.
    pub workers: usize,
    /// Each worker's pace: one pick → type → submit per cycle.
    pub cycle: Duration,
    /// Bookings a worker keeps; past it, it cancels its oldest.
    pub keep: usize,
    /// Every this many picks, the person walks away and leaves the hold to expire.
    pub abandon_every: u64,
    pub dates: Vec<Date>,
    pub base: String,
    pub seed: u64,
}

/// Shared by the workers.
#[derive(Debug, Default)]
struct Tally {
    holds: AtomicU64,
    held_full: AtomicU64,
    abandoned: AtomicU64,
    booked: AtomicU64,
    booked_full: AtomicU64,
    hold_expired: AtomicU64,
    cancelled: AtomicU64,
    failures: AtomicU64,
    first_failures: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn fail(&self, what: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if first.len() < 10 {
            first.push(what);
        }
    }
}

/// One person: pick a day (a hold), type, submit with the hold; keep
/// `keep` bookings, cancelling the oldest beyond; now and then walk away
/// from a hold and let it expire.
async fn worker(
    api: Api,
    token: Arc<str>,
    plan: Arc<SoakPlan>,
    index: usize,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
) {
    let mut rng = StdRng::seed_from_u64(plan.seed ^ (index as u64).wrapping_mul(0x9e37_79b9));
    let mut kept = std::collections::VecDeque::new();
    let mut picks = 0u64;
    let mut next = tokio::time::Instant::now();
    while !*stop.borrow() {
        next += plan.cycle;
        picks += 1;
        let date = plan.dates[rng.gen_range(0..plan.dates.len())];
        match api.take_hold(&token, date).await {
            Ok(HoldTaken::Taken(hold)) => {
                tally.holds.fetch_add(1, Ordering::Relaxed);
                if plan.abandon_every > 0 && picks.is_multiple_of(plan.abandon_every) {
                    tally.abandoned.fetch_add(1, Ordering::Relaxed);
                } else {
                    let typing = plan.cycle.mul_f64(rng.gen_range(0.2..0.6));
                    tokio::time::sleep(typing).await;
                    match api.submit(&token, date, "soak", Some(hold)).await {
                        Ok(Submitted::Created(id)) => {
                            tally.booked.fetch_add(1, Ordering::Relaxed);
                            kept.push_back(id);
                        }
                        Ok(Submitted::Full) => {
                            tally.booked_full.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Submitted::HoldExpired) => {
                            tally.hold_expired.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Submitted::Other(status)) => {
                            tally.fail(format!("POST /api/requests: {status}"))
                        }
                        Err(e) => tally.fail(format!("POST /api/requests: {e:#}")),
                    }
                }
            }
            Ok(HoldTaken::Full) => {
                tally.held_full.fetch_add(1, Ordering::Relaxed);
            }
            Ok(HoldTaken::Other(status)) => tally.fail(format!("POST /api/holds: {status}")),
            Err(e) => tally.fail(format!("POST /api/holds: {e:#}")),
        }
        while kept.len() > plan.keep {
            let id = kept.pop_front().expect("not empty");
            match api.cancel(&token, id).await {
                Ok(200) => {
                    tally.cancelled.fetch_add(1, Ordering::Relaxed);
                }
                Ok(status) => tally.fail(format!("POST /api/requests/{id}/cancel: {status}")),
                Err(e) => tally.fail(format!("POST /api/requests/{id}/cancel: {e:#}")),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn sample(api: &Api, db: Option<&Database>, started: Instant) -> anyhow::Result<Sample> {
    let text = api.metrics().await.context("GET /metrics")?;
    let read = |name| {
        metric(&text, name)
            .map(|v| v as u64)
            .with_context(|| format!("{name} is not in /metrics (a server older than the soak)"))
    };
    let db_connections = match db {
        Some(db) => db
            .query(&format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}'",
                db.name
            ))
            .await?
            .trim()
            .parse()
            .context("pg_stat_activity count")?,
        None => metric_sum(&text, "db_pool_connections", "") as u64,
    };
    Ok(Sample {
        at_seconds: started.elapsed().as_secs_f64(),
        rss_kib: read("process_resident_memory_bytes")? / 1024,
        open_fds: read("process_open_fds")?,
        threads: read("process_threads")?,
        tasks: read("hub_tasks")?,
        db_connections,
        hub_connections: metric_sum(&text, "hub_connections", "") as u64,
    })
}

/// Counts the viewers of `swarm` that ended unasked, and keeps the first reasons.
fn note_drops(swarm: &Swarm, dropped: &mut u64, reasons: &mut Vec<String>) {
    let (count, why) = swarm.unexpected_ends();
    *dropped += count;
    for reason in why {
        if reasons.len() < 5 && !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
}

fn open_params(plan: &SoakPlan, group: usize, connections: usize) -> OpenParams {
    OpenParams {
        base: plan.base.clone(),
        connections,
        concurrency: 100,
        ramp_rate: 0.0,
        negotiate: true,
        // 127.0.0.2 onwards, one address per group (127.0.0.1 is the REST clients').
        first_ip: 2 + group as u32,
        per_ip: connections.max(1),
        max_failures: connections,
    }
}

/// Runs the soak. `tokens`: the workers' accounts first, then the viewers'
/// (round-robin).
pub async fn soak(
    plan: SoakPlan,
    api: &Api,
    workers: Vec<Arc<str>>,
    viewers: Vec<Arc<str>>,
    db: Option<&Database>,
) -> anyhow::Result<SoakResult> {
    let plan = Arc::new(plan);
    let groups = plan.groups.max(1);
    let per_group = plan.viewers.div_ceil(groups);
    let http = api::client(64);
    let mut counts = Counts::default();
    let mut swarms = Vec::with_capacity(groups);
    for g in 0..groups {
        let (swarm, report) = Swarm::open(
            &open_params(&plan, g, per_group),
            &http,
            viewers.clone(),
            None,
        )
        .await?;
        anyhow::ensure!(
            report.failed == 0,
            "viewer group {g}: {} of {} connections failed: {:?}",
            report.failed,
            report.requested,
            report.first_errors
        );
        swarms.push(Some(swarm));
    }
    eprintln!(
        "bench: soak: {} viewers open in {groups} groups",
        per_group * groups
    );

    let tally = Arc::new(Tally::default());
    let (stop, stop_rx) = watch::channel(false);
    let tasks: Vec<_> = workers
        .iter()
        .enumerate()
        .map(|(i, token)| {
            tokio::spawn(worker(
                api.clone(),
                Arc::clone(token),
                Arc::clone(&plan),
                i,
                Arc::clone(&tally),
                stop_rx.clone(),
            ))
        })
        .collect();

    let started = Instant::now();
    // Let the workload reach its pace before the first reading.
    tokio::time::sleep(plan.cycle * 4).await;
    let mut samples = vec![sample(api, db, started).await?];
    let mut dropped = 0;
    let mut drop_reasons = Vec::new();
    let mut group = 0;
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + plan.churn_every,
        plan.churn_every,
    );
    while started.elapsed() + plan.churn_every / 2 < plan.duration {
        tick.tick().await;
        let s = sample(api, db, started).await?;
        eprintln!(
            "bench: soak {:>4.0} s: RSS {} KiB, {} fds, {} threads, {} tasks, {} DB connections, {} hub connections; {} booked, {} failures",
            s.at_seconds,
            s.rss_kib,
            s.open_fds,
            s.threads,
            s.tasks,
            s.db_connections,
            s.hub_connections,
            tally.booked.load(Ordering::Relaxed),
            tally.failures.load(Ordering::Relaxed),
        );
        samples.push(s);
        // A tenth (one group) reconnects.
        if let Some(old) = swarms[group].take() {
            note_drops(&old, &mut dropped, &mut drop_reasons);
            old.close().await;
        }
        let (fresh, report) = Swarm::open(
            &open_params(&plan, group, per_group),
            &http,
            viewers.clone(),
            None,
        )
        .await?;
        counts.reconnects += report.connected as u64;
        counts.reconnect_failures += report.failed as u64;
        swarms[group] = Some(fresh);
        group = (group + 1) % groups;
    }
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
    for swarm in swarms.into_iter().flatten() {
        note_drops(&swarm, &mut dropped, &mut drop_reasons);
        swarm.close().await;
    }

    let mut overbooked = Vec::new();
    if let (Some(first), Some(last)) = (plan.dates.iter().min(), plan.dates.iter().max()) {
        for day in api.availability(&workers[0], *first, *last).await? {
            if day.used > day.capacity {
                overbooked.push(format!(
                    "{}: {} of {}",
                    api::date_str(day.date),
                    day.used,
                    day.capacity
                ));
            }
        }
    }

    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    counts.holds = load(&tally.holds);
    counts.held_full = load(&tally.held_full);
    counts.abandoned = load(&tally.abandoned);
    counts.booked = load(&tally.booked);
    counts.booked_full = load(&tally.booked_full);
    counts.hold_expired = load(&tally.hold_expired);
    counts.cancelled = load(&tally.cancelled);
    counts.failures = load(&tally.failures);
    counts.dropped_viewers = dropped;

    let mut problems = judge(&samples, plan.viewers, plan.workers);
    if counts.failures > 0 {
        problems.push(format!("{} requests failed", counts.failures));
    }
    if counts.reconnect_failures > 0 {
        problems.push(format!("{} reconnects failed", counts.reconnect_failures));
    }
    if counts.dropped_viewers > 0 {
        problems.push(format!(
            "the server closed {} viewers",
            counts.dropped_viewers
        ));
    }
    if counts.booked == 0 {
        problems.push("nothing was booked".into());
    }
    if !overbooked.is_empty() {
        problems.push(format!("overbooked: {}", overbooked.join(", ")));
    }
    let first_failures = tally
        .first_failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(SoakResult {
        samples,
        counts,
        first_failures,
        drop_reasons,
        overbooked,
        problems,
    })
}
