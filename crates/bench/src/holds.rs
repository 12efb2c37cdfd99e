//! Holds under contention (issue 14): one workload of people who pick a
//! day, type for a while and submit, run twice over identical dates —
//! without holds, then with them — followed by an all-out loop of hold
//! takes and releases; all along, a checker reads the database for any day
//! with `used + held > capacity`.
//!
//! Every simulated person has an account of their own: a user has one live
//! hold at a time (taking a new one releases the old), so two people sharing
//! an account would release each other's holds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use time::Date;
use tokio::task::JoinHandle;

use crate::api::{date_str, Api, HoldTaken, Submitted};
use crate::server::{Database, Session};
use crate::stats::{Latencies, Summary};

/// The phase's shape (the `--hold-*` options).
#[derive(Debug, Clone)]
pub struct HoldsPlan {
    /// Simulated people, each with an account of their own.
    pub users: usize,
    /// Dates they compete for.
    pub dates: usize,
    /// Capacity of each of those dates; `dates × capacity < users`.
    pub capacity: i64,
    /// Typing time, drawn uniformly from this range (ms).
    pub think_ms: (u64, u64),
    /// Arrivals are spread uniformly over this many ms.
    pub arrival_ms: u64,
    /// Seed of the workload (arrivals, typing times, date preferences).
    pub seed: u64,
    /// Workers (each an account) in the take-and-release loop.
    pub loop_workers: usize,
    /// Dates of the loop and their capacity.
    pub loop_dates: usize,
    pub loop_capacity: i64,
    pub loop_seconds: f64,
    /// Pause between two checker polls.
    pub poll_gap: Duration,
}

impl HoldsPlan {
    /// Accounts the phase needs.
    pub fn accounts(&self) -> usize {
        self.users.max(self.loop_workers).max(1)
    }

    /// Dates the phase needs: the workload's twice (one set per run), then the loop's.
    pub fn days(&self) -> usize {
        2 * self.dates.max(1) + self.loop_dates.max(1)
    }
}

/// One simulated person: when they open the form, how long they type, and
/// the order in which they like the dates (indices into the phase's dates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    pub arrive_ms: u64,
    pub think_ms: u64,
    pub preference: Vec<usize>,
}

/// The workload: the same for both runs, and for every run with the same seed.
pub fn visitors(
    users: usize,
    dates: usize,
    think_ms: (u64, u64),
    arrival_ms: u64,
    seed: u64,
) -> Vec<Visitor> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (lo, hi) = (think_ms.0.min(think_ms.1), think_ms.0.max(think_ms.1));
    (0..users)
        .map(|_| {
            let arrive_ms = rng.gen_range(0..=arrival_ms);
            let think_ms = rng.gen_range(lo..=hi);
            let mut preference: Vec<usize> = (0..dates).collect();
            preference.shuffle(&mut rng);
            Visitor {
                arrive_ms,
                think_ms,
                preference,
            }
        })
        .collect()
}

/// `part / whole`, 0 when there is no whole.
pub fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// One run of the workload.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadResult {
    pub holds: bool,
    pub users: usize,
    pub dates: usize,
    pub capacity_per_date: i64,
    /// People whose picker showed no date with a free slot: they never typed.
    pub saw_no_free_day: usize,
    /// People refused (409 `capacity_full`) on every date they asked a hold for.
    pub hold_refused: usize,
    /// Refused hold requests (one person may be refused on several dates).
    pub hold_requests_refused: usize,
    pub holds_taken: usize,
    /// `POST /api/requests` sent after typing.
    pub submissions: usize,
    pub booked: usize,
    /// Submissions answered 409 `capacity_full`.
    pub failed_capacity: usize,
    /// `failed_capacity / submissions`.
    pub failed_capacity_share: f64,
    /// Submissions answered 409 `hold_expired`.
    pub hold_expired: usize,
    /// Anything else (other statuses, transport errors).
    pub errors: usize,
    pub first_errors: Vec<String>,
    /// From the start of the run to its last answer.
    pub seconds: f64,
    /// Holds taken per second of the run (bounded by the arrivals: not a throughput).
    pub holds_per_second: Option<f64>,
    pub hold_latency: Summary,
    pub submit_latency: Summary,
    pub checker: Option<CheckerWindow>,
}

/// The take-and-release loop.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoopResult {
    pub workers: usize,
    pub dates: usize,
    pub capacity_per_date: i64,
    pub seconds: f64,
    pub taken: usize,
    pub refused: usize,
    pub released: usize,
    pub errors: usize,
    /// Holds taken (201) per second.
    pub holds_per_second: f64,
    /// Answered hold requests (201 or 409) per second.
    pub attempts_per_second: f64,
    pub take_latency: Summary,
    pub checker: Option<CheckerWindow>,
}

/// What the checker saw during one part of the phase.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckerWindow {
    pub polls: u64,
    /// (poll, date) pairs with `used + held > capacity`.
    pub violations: u64,
    /// (poll, date) pairs with `used + held = capacity`: the checker did see full days.
    pub full_seen: u64,
}

/// The whole phase.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldsResult {
    pub seed: u64,
    pub think_ms: (u64, u64),
    pub arrival_ms: u64,
    pub without_holds: WorkloadResult,
    pub with_holds: WorkloadResult,
    pub take_release: LoopResult,
    /// Dates the checker read at each poll, and the pause between polls.
    pub checked_dates: usize,
    pub poll_gap_ms: u64,
    /// The first violations seen (date, used + held, capacity).
    pub first_violations: Vec<String>,
    /// Days (of every date, not just the phase's) over capacity at the end.
    pub final_violations: Option<u64>,
    /// Why the phase failed; empty when it passed.
    pub problems: Vec<String>,
}

impl HoldsResult {
    pub fn violations(&self) -> Option<u64> {
        let windows = [
            self.without_holds.checker,
            self.with_holds.checker,
            self.take_release.checker,
        ];
        if windows.iter().all(Option::is_none) {
            return None;
        }
        Some(
            windows.iter().flatten().map(|w| w.violations).sum::<u64>()
                + self.final_violations.unwrap_or(0),
        )
    }
}

/// The checker's query over `dates` (every day in the database with `None`):
/// one row `date|used|held|capacity` per day, as the server admits against:
/// `capacity` is the day's override, else the daily capacity (a closed
/// weekday or a day out of the window keeps its capacity and simply admits
/// nothing); `used` is the larger of the day's counter and its active
/// requests (they must agree; the booking phase checks that); `held` counts
/// the holds live on the database's clock (`expires_at > now()`), as the
/// server does. One statement, so one snapshot: a booking that consumes a
/// hold is seen before or after, never half-way.
fn check_sql(dates: Option<&[Date]>) -> String {
    let filter = dates.map_or(String::new(), |ds| {
        let list: Vec<String> = ds.iter().map(|d| format!("'{}'", date_str(*d))).collect();
        format!("WHERE d.date IN ({})", list.join(", "))
    });
    format!(
        "SELECT d.date, GREATEST(d.used, r.n), h.n, COALESCE(d.capacity_override, s.daily_capacity) \
         FROM days d CROSS JOIN settings s \
         CROSS JOIN LATERAL (SELECT count(*) AS n FROM requests r WHERE r.due_date = d.date \
                               AND r.status IN ('pending', 'in_progress', 'completed')) r \
         CROSS JOIN LATERAL (SELECT count(*) AS n FROM holds h \
                               WHERE h.date = d.date AND h.expires_at > now()) h \
         {filter} ORDER BY d.date"
    )
}

/// A `psql` session for the checker. Without JIT: PostgreSQL would compile
/// the query (its cost estimate crosses `jit_above_cost`), which takes tens
/// of ms for a query that runs in a fraction of one.
async fn check_session(db: &Database) -> anyhow::Result<Session> {
    let mut session = db.session().await?;
    session.query("SET jit = off").await?;
    Ok(session)
}

/// One day as the checker read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DayLoad {
    date: Date,
    used: i64,
    held: i64,
    capacity: i64,
}

impl DayLoad {
    /// Parses `date|used|held|capacity`.
    fn parse(row: &str) -> anyhow::Result<DayLoad> {
        let cols: Vec<&str> = row.split('|').map(str::trim).collect();
        anyhow::ensure!(
            cols.len() == 4,
            "expected date|used|held|capacity, got {row:?}"
        );
        let num = |i: usize| -> anyhow::Result<i64> {
            cols[i]
                .parse()
                .with_context(|| format!("a count in {row:?}"))
        };
        Ok(DayLoad {
            date: crate::api::parse_date(cols[0]).with_context(|| format!("a date in {row:?}"))?,
            used: num(1)?,
            held: num(2)?,
            capacity: num(3)?,
        })
    }

    fn over(&self) -> bool {
        self.used + self.held > self.capacity
    }

    fn full(&self) -> bool {
        self.used + self.held == self.capacity
    }

    fn describe(&self) -> String {
        format!(
            "{}: {} used + {} held > capacity {}",
            date_str(self.date),
            self.used,
            self.held,
            self.capacity
        )
    }
}

/// Everything the checker has seen so far.
#[derive(Debug, Default, Clone)]
struct Tally {
    polls: u64,
    /// (poll, date) pairs over capacity, on any of the phase's dates.
    violations: u64,
    /// (poll, date) pairs at exactly capacity, per date.
    full: HashMap<Date, u64>,
    first: Vec<String>,
}

impl Tally {
    fn record(&mut self, days: &[DayLoad]) {
        self.polls += 1;
        for d in days {
            if d.full() {
                *self.full.entry(d.date).or_default() += 1;
            }
            if d.over() {
                self.violations += 1;
                eprintln!(
                    "bench:   VIOLATION of used + held ≤ capacity: {}",
                    d.describe()
                );
                if self.first.len() < 5 {
                    self.first.push(d.describe());
                }
            }
        }
    }

    /// What was seen since `before`; full days counted on `dates` only.
    fn since(&self, before: &Tally, dates: &[Date]) -> CheckerWindow {
        let full = |t: &Tally| {
            dates
                .iter()
                .map(|d| t.full.get(d).copied().unwrap_or(0))
                .sum::<u64>()
        };
        CheckerWindow {
            polls: self.polls - before.polls,
            violations: self.violations - before.violations,
            full_seen: full(self) - full(before),
        }
    }
}

/// Polls the database until stopped.
struct Checker {
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Checker {
    async fn start(db: &Database, dates: &[Date], gap: Duration) -> anyhow::Result<Checker> {
        let mut session = check_session(db).await?;
        session
            .query(&format!(
                "PREPARE holds_check AS {}",
                check_sql(Some(dates))
            ))
            .await?;
        // One poll before the phase, so a broken query fails here and now.
        let rows = session.query("EXECUTE holds_check").await?;
        anyhow::ensure!(
            rows.len() == dates.len(),
            "the checker sees {} of the phase's {} dates",
            rows.len(),
            dates.len()
        );
        for row in &rows {
            DayLoad::parse(row)?;
        }
        let tally = Arc::new(Mutex::new(Tally::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = {
            let (tally, stop) = (Arc::clone(&tally), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let days = session
                        .query("EXECUTE holds_check")
                        .await?
                        .iter()
                        .map(|r| DayLoad::parse(r))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    tally.lock().expect("not poisoned").record(&days);
                    tokio::time::sleep(gap).await;
                }
                Ok(())
            })
        };
        Ok(Checker { tally, stop, task })
    }

    fn snapshot(&self) -> Tally {
        self.tally.lock().expect("not poisoned").clone()
    }

    /// Runs `part` on `dates`, returning what the checker saw meanwhile.
    async fn watch<T>(
        checker: Option<&Checker>,
        dates: &[Date],
        part: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<(T, Option<CheckerWindow>)> {
        let before = checker.map(Checker::snapshot);
        let out = part.await?;
        let window = checker
            .zip(before)
            .map(|(c, b)| c.snapshot().since(&b, dates));
        Ok((out, window))
    }

    async fn stop(self) -> anyhow::Result<Vec<String>> {
        self.stop.store(true, Ordering::SeqCst);
        let first = self.snapshot().first;
        self.task.await.context("the checker task")??;
        Ok(first)
    }
}

/// How one simulated person's visit ended.
#[derive(Debug)]
struct Visit {
    saw_no_free_day: bool,
    refused_requests: usize,
    hold: Option<i64>,
    hold_ns: Vec<u64>,
    submitted: Option<(Submitted, u64)>,
    error: Option<String>,
}

/// Opens the picker, picks (taking a hold if `holds`), types, submits.
async fn visit(
    api: Api,
    token: Arc<str>,
    dates: Arc<Vec<Date>>,
    who: Visitor,
    holds: bool,
    start: Instant,
) -> Visit {
    let mut v = Visit {
        saw_no_free_day: false,
        refused_requests: 0,
        hold: None,
        hold_ns: Vec::new(),
        submitted: None,
        error: None,
    };
    tokio::time::sleep_until((start + Duration::from_millis(who.arrive_ms)).into()).await;
    let (first, last) = (dates[0], dates[dates.len() - 1]);
    let shown = match api.availability(&token, first, last).await {
        Ok(days) => days,
        Err(e) => {
            v.error = Some(format!("{e:#}"));
            return v;
        }
    };
    let free: Vec<Date> = who
        .preference
        .iter()
        .map(|&i| dates[i])
        .filter(|d| shown.iter().any(|s| s.date == *d && s.remaining() > 0))
        .collect();
    let Some(&first_free) = free.first() else {
        v.saw_no_free_day = true;
        return v;
    };
    let mut date = first_free;
    if holds {
        for &d in &free {
            let t0 = Instant::now();
            let r = api.take_hold(&token, d).await;
            v.hold_ns.push(t0.elapsed().as_nanos() as u64);
            match r {
                Ok(HoldTaken::Taken(id)) => {
                    v.hold = Some(id);
                    date = d;
                    break;
                }
                Ok(HoldTaken::Full) => v.refused_requests += 1,
                Ok(HoldTaken::Other(status)) => {
                    v.error = Some(format!("POST /api/holds answered {status}"));
                    return v;
                }
                Err(e) => {
                    v.error = Some(format!("{e:#}"));
                    return v;
                }
            }
        }
        if v.hold.is_none() {
            return v; // no hold offered: this person does not type
        }
    }
    tokio::time::sleep(Duration::from_millis(who.think_ms)).await;
    let t0 = Instant::now();
    match api
        .submit(&token, date, "bench hold workload", v.hold)
        .await
    {
        Ok(s) => v.submitted = Some((s, t0.elapsed().as_nanos() as u64)),
        Err(e) => v.error = Some(format!("{e:#}")),
    }
    v
}

async fn workload(
    api: &Api,
    tokens: &[Arc<str>],
    dates: &[Date],
    capacity: i64,
    people: &[Visitor],
    holds: bool,
) -> anyhow::Result<WorkloadResult> {
    let dates = Arc::new(dates.to_vec());
    let start = Instant::now() + Duration::from_millis(50);
    let tasks: Vec<_> = people
        .iter()
        .enumerate()
        .map(|(i, who)| {
            tokio::spawn(visit(
                api.clone(),
                Arc::clone(&tokens[i]),
                Arc::clone(&dates),
                who.clone(),
                holds,
                start,
            ))
        })
        .collect();
    let mut r = WorkloadResult {
        holds,
        users: people.len(),
        dates: dates.len(),
        capacity_per_date: capacity,
        saw_no_free_day: 0,
        hold_refused: 0,
        hold_requests_refused: 0,
        holds_taken: 0,
        submissions: 0,
        booked: 0,
        failed_capacity: 0,
        failed_capacity_share: 0.0,
        hold_expired: 0,
        errors: 0,
        first_errors: Vec::new(),
        seconds: 0.0,
        holds_per_second: None,
        hold_latency: Summary::default(),
        submit_latency: Summary::default(),
        checker: None,
    };
    let (mut hold_latency, mut submit_latency) = (Latencies::default(), Latencies::default());
    for t in tasks {
        let v = t.await.context("a visitor task")?;
        r.saw_no_free_day += usize::from(v.saw_no_free_day);
        r.hold_requests_refused += v.refused_requests;
        for ns in &v.hold_ns {
            hold_latency.record_ns(*ns);
        }
        if v.hold.is_some() {
            r.holds_taken += 1;
        } else if holds && v.refused_requests > 0 && v.error.is_none() {
            r.hold_refused += 1;
        }
        if let Some((s, ns)) = v.submitted {
            r.submissions += 1;
            submit_latency.record_ns(ns);
            match s {
                Submitted::Created(_) => r.booked += 1,
                Submitted::Full => r.failed_capacity += 1,
                Submitted::HoldExpired => r.hold_expired += 1,
                Submitted::Other(status) => {
                    r.errors += 1;
                    if r.first_errors.len() < 3 {
                        r.first_errors
                            .push(format!("POST /api/requests answered {status}"));
                    }
                }
            }
        }
        if let Some(e) = v.error {
            r.errors += 1;
            if r.first_errors.len() < 3 {
                r.first_errors.push(e);
            }
        }
    }
    r.seconds = start.elapsed().as_secs_f64();
    r.failed_capacity_share = share(r.failed_capacity, r.submissions);
    r.holds_per_second = holds.then(|| r.holds_taken as f64 / r.seconds);
    r.hold_latency = hold_latency.summary();
    r.submit_latency = submit_latency.summary();
    Ok(r)
}

/// Every worker takes a hold on the next date in turn and releases it at
/// once, as fast as it can, for `seconds`.
async fn take_release(
    api: &Api,
    tokens: &[Arc<str>],
    dates: &[Date],
    capacity: i64,
    workers: usize,
    seconds: f64,
) -> anyhow::Result<LoopResult> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (api, token, dates) = (api.clone(), Arc::clone(&tokens[w]), dates.to_vec());
            tokio::spawn(async move {
                let mut latency = Latencies::default();
                let (mut taken, mut refused, mut released, mut errors) = (0, 0, 0, 0);
                let mut turn = w;
                while Instant::now() < deadline {
                    let date = dates[turn % dates.len()];
                    turn += 1;
                    let t0 = Instant::now();
                    let r = api.take_hold(&token, date).await;
                    latency.record_ns(t0.elapsed().as_nanos() as u64);
                    match r {
                        Ok(HoldTaken::Taken(id)) => {
                            taken += 1;
                            match api.release_hold(&token, id).await {
                                Ok(true) => released += 1,
                                _ => errors += 1,
                            }
                        }
                        Ok(HoldTaken::Full) => refused += 1,
                        Ok(HoldTaken::Other(_)) | Err(_) => errors += 1,
                    }
                }
                (latency, taken, refused, released, errors)
            })
        })
        .collect();
    let mut latency = Latencies::default();
    let (mut taken, mut refused, mut released, mut errors) = (0, 0, 0, 0);
    for t in tasks {
        let (l, a, b, c, d) = t.await.context("a take-and-release worker")?;
        latency.add(&l);
        taken += a;
        refused += b;
        released += c;
        errors += d;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(LoopResult {
        workers,
        dates: dates.len(),
        capacity_per_date: capacity,
        seconds,
        taken,
        refused,
        released,
        errors,
        holds_per_second: taken as f64 / seconds,
        attempts_per_second: (taken + refused) as f64 / seconds,
        take_latency: latency.summary(),
        checker: None,
    })
}

/// The phase. `tokens` has one account per simulated person
/// ([`HoldsPlan::accounts`]); `days` the phase's fresh dates ([`HoldsPlan::days`]).
pub async fn holds(
    api: &Api,
    admin: &str,
    tokens: &[Arc<str>],
    days: &[Date],
    plan: &HoldsPlan,
    db: Option<&Database>,
) -> anyhow::Result<HoldsResult> {
    anyhow::ensure!(
        tokens.len() >= plan.accounts(),
        "the holds phase needs {} accounts, got {}",
        plan.accounts(),
        tokens.len()
    );
    anyhow::ensure!(
        days.len() >= plan.days(),
        "the holds phase needs {} dates",
        plan.days()
    );
    let n = plan.dates.max(1);
    let (without_dates, rest) = days.split_at(n);
    let (with_dates, rest) = rest.split_at(n);
    let loop_dates = &rest[..plan.loop_dates.max(1)];
    for &d in without_dates.iter().chain(with_dates) {
        api.set_override(admin, d, plan.capacity).await?;
    }
    for &d in loop_dates {
        api.set_override(admin, d, plan.loop_capacity).await?;
    }
    let checker = match db {
        Some(db) => Some(Checker::start(db, &days[..plan.days()], plan.poll_gap).await?),
        None => None,
    };
    let people = visitors(plan.users, n, plan.think_ms, plan.arrival_ms, plan.seed);

    eprintln!("bench:   without holds");
    let (mut without, w) = Checker::watch(
        checker.as_ref(),
        without_dates,
        workload(api, tokens, without_dates, plan.capacity, &people, false),
    )
    .await?;
    without.checker = w;
    eprintln!("bench:   with holds");
    let (mut with, w) = Checker::watch(
        checker.as_ref(),
        with_dates,
        workload(api, tokens, with_dates, plan.capacity, &people, true),
    )
    .await?;
    with.checker = w;
    eprintln!(
        "bench:   take and release: {} workers for {:.1} s",
        plan.loop_workers, plan.loop_seconds
    );
    let (mut looped, w) = Checker::watch(
        checker.as_ref(),
        loop_dates,
        take_release(
            api,
            tokens,
            loop_dates,
            plan.loop_capacity,
            plan.loop_workers.max(1),
            plan.loop_seconds,
        ),
    )
    .await?;
    looped.checker = w;

    let (first_violations, final_violations) = match (checker, db) {
        (Some(c), Some(db)) => {
            let first = c.stop().await?;
            let mut session = check_session(db).await?;
            let mut over = 0;
            for row in session.query(&check_sql(None)).await? {
                let day = DayLoad::parse(&row)?;
                if day.over() {
                    eprintln!("bench:   VIOLATION at the end: {}", day.describe());
                    over += 1;
                }
            }
            (first, Some(over))
        }
        _ => (Vec::new(), None),
    };
    let mut result = HoldsResult {
        seed: plan.seed,
        think_ms: plan.think_ms,
        arrival_ms: plan.arrival_ms,
        without_holds: without,
        with_holds: with,
        take_release: looped,
        checked_dates: plan.days(),
        poll_gap_ms: plan.poll_gap.as_millis() as u64,
        first_violations,
        final_violations,
        problems: Vec::new(),
    };
    result.problems = problems(&result);
    for p in &result.problems {
        eprintln!("bench:   HOLDS PHASE FAILED: {p}");
    }
    Ok(result)
}

/// What makes the phase fail: a day over capacity at any poll, or a
/// hold-backed submission refused for capacity.
fn problems(r: &HoldsResult) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(v) = r.violations().filter(|&v| v > 0) {
        out.push(format!(
            "{v} violations of used + held ≤ capacity (first: {})",
            r.first_violations.join("; ")
        ));
    }
    if r.with_holds.failed_capacity > 0 {
        out.push(format!(
            "{} of {} submissions with a live hold failed for capacity",
            r.with_holds.failed_capacity, r.with_holds.submissions
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workload_is_the_same_for_the_same_seed() {
        let a = visitors(40, 3, (50, 400), 600, 14);
        assert_eq!(a, visitors(40, 3, (50, 400), 600, 14));
        assert_ne!(a, visitors(40, 3, (50, 400), 600, 15));
        assert_eq!(a.len(), 40);
        for v in &a {
            assert!(v.arrive_ms <= 600);
            assert!((50..=400).contains(&v.think_ms));
            let mut p = v.preference.clone();
            p.sort_unstable();
            assert_eq!(p, vec![0, 1, 2]);
        }
        // A reversed range is read the right way round.
        assert!(visitors(5, 1, (300, 100), 0, 1)
            .iter()
            .all(|v| (100..=300).contains(&v.think_ms) && v.arrive_ms == 0));
    }

    #[test]
    fn share_of_nothing_is_zero() {
        assert_eq!(share(0, 0), 0.0);
        assert_eq!(share(3, 12), 0.25);
    }

    #[test]
    fn the_plan_counts_its_accounts_and_dates() {
        let plan = HoldsPlan {
            users: 60,
            dates: 3,
            capacity: 12,
            think_ms: (50, 400),
            arrival_ms: 600,
            seed: 14,
            loop_workers: 16,
            loop_dates: 2,
            loop_capacity: 4,
            loop_seconds: 3.0,
            poll_gap: Duration::from_millis(10),
        };
        assert_eq!(plan.accounts(), 60);
        assert_eq!(plan.days(), 8);
        assert_eq!(
            HoldsPlan {
                loop_workers: 80,
                ..plan
            }
            .accounts(),
            80
        );
    }

    #[test]
    fn reads_the_checkers_rows() {
        let d = DayLoad::parse("2027-01-02|3|2|4").unwrap();
        assert_eq!((d.used, d.held, d.capacity), (3, 2, 4));
        assert!(d.over() && !d.full());
        assert!(DayLoad::parse("2027-01-02|2|2|4").unwrap().full());
        assert!(DayLoad::parse("2027-01-02|x|2|4").is_err());
        assert!(DayLoad::parse("2027-01-02|2|4").is_err());
    }

    #[test]
    fn a_window_counts_violations_anywhere_and_full_days_on_its_dates() {
        let day = |s: &str| crate::api::parse_date(s).unwrap();
        let load = |date, used, held| DayLoad {
            date: day(date),
            used,
            held,
            capacity: 4,
        };
        let mut t = Tally::default();
        t.record(&[load("2027-01-01", 4, 0), load("2027-01-02", 1, 0)]);
        let before = t.clone();
        t.record(&[load("2027-01-01", 4, 0), load("2027-01-02", 3, 1)]);
        t.record(&[load("2027-01-01", 4, 1), load("2027-01-02", 2, 2)]);
        let w = t.since(&before, &[day("2027-01-02")]);
        assert_eq!((w.polls, w.violations, w.full_seen), (2, 1, 2));
        assert_eq!(t.first, vec!["2027-01-01: 4 used + 1 held > capacity 4"]);
    }

    #[test]
    fn the_check_reads_only_the_given_dates() {
        let d = crate::api::parse_date("2027-01-02").unwrap();
        assert!(check_sql(Some(&[d])).contains("WHERE d.date IN ('2027-01-02')"));
        assert!(!check_sql(None).contains("WHERE d.date"));
    }

    fn workload_result(holds: bool, failed: usize) -> WorkloadResult {
        WorkloadResult {
            holds,
            users: 10,
            dates: 1,
            capacity_per_date: 5,
            saw_no_free_day: 0,
            hold_refused: 0,
            hold_requests_refused: 0,
            holds_taken: 0,
            submissions: 10,
            booked: 10 - failed,
            failed_capacity: failed,
            failed_capacity_share: share(failed, 10),
            hold_expired: 0,
            errors: 0,
            first_errors: Vec::new(),
            seconds: 1.0,
            holds_per_second: None,
            hold_latency: Summary::default(),
            submit_latency: Summary::default(),
            checker: Some(CheckerWindow {
                polls: 10,
                violations: 0,
                full_seen: 4,
            }),
        }
    }

    #[test]
    fn the_phase_fails_on_a_violation_or_a_held_submission_refused() {
        let mut r = HoldsResult {
            seed: 1,
            think_ms: (1, 2),
            arrival_ms: 0,
            without_holds: workload_result(false, 5),
            with_holds: workload_result(true, 0),
            take_release: LoopResult {
                workers: 1,
                dates: 1,
                capacity_per_date: 1,
                seconds: 1.0,
                taken: 1,
                refused: 0,
                released: 1,
                errors: 0,
                holds_per_second: 1.0,
                attempts_per_second: 1.0,
                take_latency: Summary::default(),
                checker: None,
            },
            checked_dates: 3,
            poll_gap_ms: 10,
            first_violations: Vec::new(),
            final_violations: Some(0),
            problems: Vec::new(),
        };
        // Failures for capacity without holds are the point, not a problem.
        assert!(problems(&r).is_empty());
        assert_eq!(r.violations(), Some(0));
        r.with_holds.failed_capacity = 1;
        assert_eq!(problems(&r).len(), 1);
        r.with_holds.failed_capacity = 0;
        r.final_violations = Some(2);
        assert_eq!(r.violations(), Some(2));
        assert_eq!(problems(&r).len(), 1);
    }
}
