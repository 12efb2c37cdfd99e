//! The measurements: availability latency, booking under contention,
//! connection cost with delivery latency, and the refetch stampede.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use time::Date;

use crate::api::{Api, Booked};
use crate::hub::{now_ns, Mode, Swarm};
use crate::procfs::{self, CpuUse, CpuWatch, Scrape};
use crate::server::Database;
use crate::stats::{Latencies, Summary};

/// `GET /api/availability` latency for one span.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityResult {
    pub days: i64,
    pub samples: usize,
    pub response_bytes: usize,
    pub latency: Summary,
}

pub async fn availability(
    api: &Api,
    token: &str,
    today: Date,
    spans: &[i64],
    samples: usize,
) -> anyhow::Result<Vec<AvailabilityResult>> {
    let mut out = Vec::new();
    for &days in spans {
        let to = today + time::Duration::days(days - 1);
        let mut bytes = 0;
        for _ in 0..samples.min(50) {
            bytes = api.availability_raw(token, today, to).await?.len();
        }
        let mut hist = Latencies::default();
        for _ in 0..samples {
            let t0 = Instant::now();
            api.availability_raw(token, today, to).await?;
            hist.record_ns(t0.elapsed().as_nanos() as u64);
        }
        out.push(AvailabilityResult {
            days,
            samples,
            response_bytes: bytes,
            latency: hist.summary(),
        });
    }
    Ok(out)
}

/// K concurrent bookers over D dates.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingResult {
    pub bookers: usize,
    pub dates: usize,
    pub capacity_per_date: i64,
    pub attempted: usize,
    pub created: usize,
    pub rejected_full: usize,
    pub errors: usize,
    pub seconds: f64,
    /// Every answered attempt (201 or 409) per second.
    pub attempts_per_second: f64,
    /// Successful bookings (201) per second.
    pub created_per_second: f64,
    pub latency: Summary,
    /// Dates whose `used` exceeds their capacity, per `GET /api/availability`.
    pub overbooked_dates: usize,
    /// Dates whose `used` differs from the 201s the bench counted.
    pub used_mismatches: usize,
    /// The database's own count, when the bench owns the database:
    /// dates with more live requests than capacity, dates whose `used`
    /// differs from the live requests, dates checked.
    pub database_check: Option<DbCheck>,
    pub server_mean_booking_ms: Option<f64>,
    pub cpu: CpuUse,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DbCheck {
    pub overbooked_dates: u64,
    pub used_mismatches: u64,
    pub dates_checked: u64,
}

#[allow(clippy::too_many_arguments)]
pub async fn booking(
    api: &Api,
    admin: &str,
    tokens: &[Arc<str>],
    dates: &[Date],
    warmup_date: Date,
    capacity: i64,
    bookings: usize,
    bookers: usize,
    server_pid: Option<u32>,
    db: Option<&Database>,
) -> anyhow::Result<BookingResult> {
    for &d in dates {
        api.set_override(admin, d, capacity).await?;
    }
    let first = *dates.iter().min().context("at least one date")?;
    let last = *dates.iter().max().context("at least one date")?;
    let before: HashMap<Date, i64> = api
        .availability(&tokens[0], first, last)
        .await?
        .into_iter()
        .map(|d| (d.date, d.used))
        .collect();

    // Warm up the pool and the server's connections.
    let warm: Vec<_> = (0..bookers.min(bookings).max(1))
        .map(|i| {
            let api = api.clone();
            let token = Arc::clone(&tokens[i % tokens.len()]);
            tokio::spawn(async move { api.book(&token, warmup_date, "bench warm-up").await })
        })
        .collect();
    for w in warm {
        w.await??;
    }

    let next = Arc::new(AtomicUsize::new(0));
    let scrape0 = Scrape::parse(&api.metrics().await.unwrap_or_default());
    let cpu = CpuWatch::start(server_pid);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..bookers.max(1) {
        let (api, next, tokens, dates) = (
            api.clone(),
            Arc::clone(&next),
            tokens.to_vec(),
            dates.to_vec(),
        );
        tasks.push(tokio::spawn(async move {
            let mut hist = Latencies::default();
            let mut created: HashMap<Date, i64> = HashMap::new();
            let (mut full, mut errors) = (0usize, 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bookings {
                    break;
                }
                let date = dates[i % dates.len()];
                let token = &tokens[i % tokens.len()];
                let t0 = Instant::now();
                let r = api.book(token, date, "bench contention").await;
                hist.record_ns(t0.elapsed().as_nanos() as u64);
                match r {
                    Ok(Booked::Created) => *created.entry(date).or_default() += 1,
                    Ok(Booked::Full) => full += 1,
                    Ok(Booked::Other(_)) | Err(_) => errors += 1,
                }
            }
            (hist, created, full, errors)
        }));
    }
    let mut hist = Latencies::default();
    let mut created: HashMap<Date, i64> = HashMap::new();
    let (mut full, mut errors) = (0, 0);
    for t in tasks {
        let (h, c, f, e) = t.await?;
        hist.add(&h);
        for (d, n) in c {
            *created.entry(d).or_default() += n;
        }
        full += f;
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu.stop();
    let scrape1 = Scrape::parse(&api.metrics().await.unwrap_or_default());

    let after = api.availability(&tokens[0], first, last).await?;
    let mut overbooked = 0;
    let mut mismatches = 0;
    for day in after.iter().filter(|d| dates.contains(&d.date)) {
        if day.used > day.capacity {
            overbooked += 1;
        }
        let expected = before.get(&day.date).copied().unwrap_or(0)
            + created.get(&day.date).copied().unwrap_or(0);
        if day.used != expected {
            mismatches += 1;
        }
    }
    let database_check = match db {
        Some(db) => Some(db_check(db).await?),
        None => None,
    };
    let total_created: i64 = created.values().sum();
    Ok(BookingResult {
        bookers,
        dates: dates.len(),
        capacity_per_date: capacity,
        attempted: bookings,
        created: total_created as usize,
        rejected_full: full,
        errors,
        seconds,
        attempts_per_second: (bookings - errors) as f64 / seconds,
        created_per_second: total_created as f64 / seconds,
        latency: hist.summary(),
        overbooked_dates: overbooked,
        used_mismatches: mismatches,
        database_check,
        server_mean_booking_ms: scrape1.booking_mean_ms_since(&scrape0),
        cpu,
    })
}

/// Counts, in the database itself, the dates with more live requests than
/// capacity and the dates whose `used` counter disagrees with them.
async fn db_check(db: &Database) -> anyhow::Result<DbCheck> {
    let row = db
        .query(
            "SELECT count(*) FILTER (WHERE live > cap), count(*) FILTER (WHERE live <> used), count(*) \
             FROM (SELECT COALESCE(d.capacity_override, s.daily_capacity) AS cap, d.used, \
                          (SELECT count(*) FROM requests r WHERE r.due_date = d.date \
                             AND r.status IN ('pending', 'in_progress', 'completed')) AS live \
                   FROM days d CROSS JOIN settings s) AS x",
        )
        .await?;
    let n: Vec<u64> = row
        .split('|')
        .map(|v| v.trim().parse().unwrap_or(u64::MAX))
        .collect();
    Ok(DbCheck {
        overbooked_dates: n.first().copied().unwrap_or(u64::MAX),
        used_mismatches: n.get(1).copied().unwrap_or(u64::MAX),
        dates_checked: n.get(2).copied().unwrap_or(0),
    })
}

/// Timed bookings against an open swarm.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResult {
    pub mode: &'static str,
    pub probes: usize,
    /// Connection × booking pairs that should have seen the event.
    pub expected: usize,
    pub received: usize,
    pub share_received: f64,
    /// Deliveries that beat the booking's HTTP response (counted as 0 ms).
    pub before_response: usize,
    /// Booking response → event at the client (event mode), or → refetched
    /// availability at the client (refetch mode).
    pub latency: Summary,
    /// The same, measured from the moment the booking request was sent.
    pub latency_from_request: Summary,
    /// The same, from the event's `timestamp` (stamped by the server right
    /// after the commit; millisecond resolution, so up to 1 ms high).
    pub latency_from_commit: Summary,
    /// The probe bookings' own HTTP latency.
    pub booking_latency: Summary,
    pub server_fanout_mean_ms: Option<f64>,
    /// HTTP requests the server answered during the run.
    pub server_requests: f64,
    pub server_requests_per_second: f64,
    pub server_requests_per_booking: f64,
    pub cpu: CpuUse,
    /// Server CPU ms per probe: one booking and the broadcast it causes to
    /// every connection (the booking's own share is the contention table's
    /// CPU per booking, about a millisecond).
    pub server_cpu_ms_per_broadcast: Option<f64>,
    /// Server CPU µs per message received by a connection.
    pub server_cpu_us_per_message: Option<f64>,
    pub server_closes: u64,
    pub refetch_errors: u64,
}

/// How to pace the probes.
#[derive(Debug, Clone, Copy)]
pub struct ProbePlan {
    pub probes: usize,
    /// Start a probe every `interval` (the next one waits for the previous
    /// to finish in any case).
    pub interval: Duration,
    pub timeout: Duration,
    pub mode: Mode,
}

#[allow(clippy::too_many_arguments)]
pub async fn delivery(
    swarm: &Swarm,
    api: &Api,
    token: &str,
    date: Date,
    plan: ProbePlan,
    server_pid: Option<u32>,
) -> anyhow::Result<DeliveryResult> {
    let mut used = api
        .availability(token, date, date)
        .await?
        .first()
        .map_or(0, |d| d.used);
    let closes0 = swarm.server_closes();
    let refetch0 = swarm.refetch_errors();
    let scrape0 = Scrape::parse(&api.metrics().await.unwrap_or_default());
    let cpu = CpuWatch::start(server_pid);
    let started = Instant::now();
    let mut hist = Latencies::default();
    let mut from_request = Latencies::default();
    let mut from_commit = Latencies::default();
    let mut booking = Latencies::default();
    let (mut expected, mut received, mut before, mut done) = (0, 0, 0, 0);
    for p in 0..plan.probes {
        let target = swarm.arm(date, used + 1, plan.mode);
        let t0 = Instant::now();
        let request = now_ns();
        let r = api.book(token, date, "bench probe").await?;
        let response = now_ns();
        booking.record_ns(t0.elapsed().as_nanos() as u64);
        if r != Booked::Created {
            swarm.collect(
                request,
                response,
                0,
                &mut Latencies::default(),
                &mut Latencies::default(),
                &mut Latencies::default(),
            );
            anyhow::bail!("probe booking on {date} answered {r:?}");
        }
        used += 1;
        swarm.wait(plan.timeout).await;
        let o = swarm.collect(
            request,
            response,
            target,
            &mut hist,
            &mut from_request,
            &mut from_commit,
        );
        expected += o.expected;
        received += o.received;
        before += o.before_response;
        done += 1;
        let due = started + plan.interval * (p as u32 + 1);
        tokio::time::sleep_until(due.into()).await;
    }
    let cpu = cpu.stop();
    let scrape1 = Scrape::parse(&api.metrics().await.unwrap_or_default());
    // Our two /metrics scrapes are not the server's work.
    let server_requests = (scrape1.http_requests - scrape0.http_requests - 1.0).max(0.0);
    Ok(DeliveryResult {
        mode: match plan.mode {
            Mode::Event => "event",
            Mode::Refetch => "refetch",
        },
        probes: done,
        expected,
        received,
        share_received: if expected == 0 {
            0.0
        } else {
            received as f64 / expected as f64
        },
        before_response: before,
        latency: hist.summary(),
        latency_from_request: from_request.summary(),
        latency_from_commit: from_commit.summary(),
        booking_latency: booking.summary(),
        server_fanout_mean_ms: scrape1.fanout_mean_ms_since(&scrape0),
        server_requests,
        server_requests_per_second: server_requests / cpu.wall_seconds,
        server_requests_per_booking: server_requests / done.max(1) as f64,
        server_cpu_ms_per_broadcast: cpu
            .server_cpu_seconds
            .filter(|_| done > 0)
            .map(|s| s * 1000.0 / done as f64),
        server_cpu_us_per_message: cpu
            .server_cpu_seconds
            .filter(|_| received > 0)
            .map(|s| s * 1e6 / received as f64),
        cpu,
        server_closes: swarm.server_closes() - closes0,
        refetch_errors: swarm.refetch_errors() - refetch0,
    })
}

/// Connection cost and delivery at one connection count.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelResult {
    pub connections: usize,
    /// Why the level was not run (e.g. the open-file limit).
    pub skipped: Option<String>,
    pub open: crate::hub::OpenReport,
    pub server_rss_before_kib: Option<u64>,
    pub server_rss_after_kib: Option<u64>,
    /// (RSS after − RSS before) / connections open, in bytes.
    pub server_bytes_per_connection: Option<f64>,
    pub server_threads: Option<u64>,
    pub bench_bytes_per_connection: Option<f64>,
    /// Open connections the server reports (`hub_connections{transport="websockets"}`).
    pub server_reported_connections: f64,
    pub delivery: Option<DeliveryResult>,
    /// Connections that ended before the bench closed them, and the first reasons.
    pub dropped: u64,
    pub drop_reasons: Vec<String>,
}

impl LevelResult {
    pub fn skipped(connections: usize, why: String) -> LevelResult {
        LevelResult {
            connections,
            skipped: Some(why),
            open: crate::hub::OpenReport::default(),
            server_rss_before_kib: None,
            server_rss_after_kib: None,
            server_bytes_per_connection: None,
            server_threads: None,
            bench_bytes_per_connection: None,
            server_reported_connections: 0.0,
            delivery: None,
            dropped: 0,
            drop_reasons: Vec::new(),
        }
    }
}

/// Reads RSS of the server and of the bench.
pub fn rss(pid: Option<u32>) -> (Option<u64>, Option<u64>) {
    (
        pid.and_then(procfs::rss_kib),
        procfs::rss_kib(std::process::id()),
    )
}

/// Waits until the server reports no more WebSocket connections than `at_most` (30 s at most).
pub async fn wait_connections_drop(api: &Api, at_most: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let s = Scrape::parse(&api.metrics().await.unwrap_or_default());
        if s.ws_connections <= at_most {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A storm of concurrent logins while an authenticated `GET /api/availability`
/// is sampled: password hashing must not stall database work.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginStormResult {
    pub logins: usize,
    /// 200 with a token.
    pub signed_in: usize,
    /// 429 `rate_limited`.
    pub rate_limited: usize,
    /// 503: the hashing queue was full.
    pub hashing_busy: usize,
    pub other: usize,
    /// From the first login sent to the last answer.
    pub storm_seconds: f64,
    pub login_latency: Summary,
    /// `GET /api/availability` (the default range) before the storm.
    pub availability_before: Summary,
    /// The same while the storm runs.
    pub availability_during: Summary,
}

pub async fn login_storm(
    base: &str,
    token: &str,
    logins: usize,
    baseline_samples: usize,
) -> anyhow::Result<LoginStormResult> {
    let sampler = crate::api::client(4);
    let url = format!("{base}/api/availability");
    let sample = || {
        let request = sampler.get(&url).bearer_auth(token);
        async move {
            let t0 = Instant::now();
            let r = request.send().await?;
            anyhow::ensure!(
                r.status().is_success(),
                "GET /api/availability: {}",
                r.status()
            );
            r.bytes().await?;
            Ok::<_, anyhow::Error>(t0.elapsed())
        }
    };
    let mut before = Latencies::default();
    for _ in 0..baseline_samples {
        before.record_ns(sample().await?.as_nanos() as u64);
    }

    // The storm: every login at once, from a client of its own.
    let storm_client = crate::api::client(logins);
    let emails = [
        "alice@example.com",
        "bob@example.com",
        "designer@example.com",
        "admin@example.com",
    ];
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Instant::now();
    let storm = {
        let done = done.clone();
        let base = base.to_owned();
        tokio::spawn(async move {
            let attempts = (0..logins).map(|i| {
                let request = storm_client
                    .post(format!("{base}/api/auth/login"))
                    .json(&serde_json::json!({"email": emails[i % emails.len()], "password": "demo-password"}));
                async move {
                    let t0 = Instant::now();
                    let status = request.send().await.map(|r| r.status().as_u16());
                    (status, t0.elapsed())
                }
            });
            let results = futures_util::future::join_all(attempts).await;
            done.store(true, Ordering::SeqCst);
            results
        })
    };
    let mut during = Latencies::default();
    while !done.load(Ordering::SeqCst) {
        during.record_ns(sample().await?.as_nanos() as u64);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let results = storm.await.context("the login storm task")?;
    let storm_seconds = started.elapsed().as_secs_f64();
    let mut latency = Latencies::default();
    let (mut ok, mut limited, mut busy, mut other) = (0, 0, 0, 0);
    for (status, took) in results {
        latency.record_ns(took.as_nanos() as u64);
        match status {
            Ok(200) => ok += 1,
            Ok(429) => limited += 1,
            Ok(503) => busy += 1,
            _ => other += 1,
        }
    }
    Ok(LoginStormResult {
        logins,
        signed_in: ok,
        rate_limited: limited,
        hashing_busy: busy,
        other,
        storm_seconds,
        login_latency: latency.summary(),
        availability_before: before.summary(),
        availability_during: during.summary(),
    })
}

/// One date's row held `FOR UPDATE` by another session while bookings for
/// it pile up: everything else must keep answering.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StuckLockResult {
    /// How long the other session held the row.
    pub held_seconds: f64,
    /// Bookings sent for the stuck date, and how they were answered (status → count).
    pub stuck_bookings: usize,
    pub stuck_outcomes: std::collections::BTreeMap<u16, usize>,
    /// Unrelated requests while the row was held: `GET /api/availability`,
    /// `GET /health/ready` and a booking on another date, in turn.
    pub unrelated: Summary,
    /// Unrelated requests that did not answer 2xx.
    pub unrelated_failures: usize,
}

pub async fn stuck_lock(
    base: &str,
    token: &str,
    db: &Database,
    stuck: Date,
    other: Date,
    bookings: usize,
    hold: Duration,
) -> anyhow::Result<StuckLockResult> {
    let fmt = crate::api::date_str;
    db.query(&format!(
        "INSERT INTO days (date) VALUES ('{}') ON CONFLICT DO NOTHING",
        fmt(stuck)
    ))
    .await?;
    let locker = {
        let (db, date, secs) = (db.clone(), fmt(stuck), hold.as_secs_f64());
        tokio::spawn(async move {
            db.query(&format!(
                "BEGIN; SELECT 1 FROM days WHERE date = '{date}' FOR UPDATE; SELECT pg_sleep({secs}); COMMIT;"
            ))
            .await
        })
    };
    // Until the other session holds the row.
    let started = Instant::now();
    loop {
        let held = db
            .query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid()")
            .await?;
        if held.trim() == "1" {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(10),
            "the row lock was never taken"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let held_since = Instant::now();
    let client = crate::api::client(bookings + 4);
    let stuck_requests: Vec<_> = (0..bookings)
        .map(|i| {
            let request = client
                .post(format!("{base}/api/requests"))
                .bearer_auth(token)
                .json(&serde_json::json!({"title": format!("stuck {i}"), "dueDate": fmt(stuck)}));
            tokio::spawn(async move {
                request
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    let mut unrelated = Latencies::default();
    let mut failures = 0;
    let mut turn = 0usize;
    while !locker.is_finished() {
        let request = match turn % 3 {
            0 => client
                .get(format!("{base}/api/availability"))
                .bearer_auth(token),
            1 => client.get(format!("{base}/health/ready")),
            _ => client
                .post(format!("{base}/api/requests"))
                .bearer_auth(token)
                .json(&serde_json::json!({"title": "unrelated", "dueDate": fmt(other)})),
        };
        turn += 1;
        let t0 = Instant::now();
        let ok = match request.send().await {
            Ok(r) => {
                let ok = r.status().is_success();
                let _ = r.bytes().await;
                ok
            }
            Err(_) => false,
        };
        unrelated.record_ns(t0.elapsed().as_nanos() as u64);
        if !ok {
            failures += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let held_seconds = held_since.elapsed().as_secs_f64();
    locker.await.context("the locking session")??;
    let mut stuck_outcomes = std::collections::BTreeMap::new();
    for r in stuck_requests {
        *stuck_outcomes.entry(r.await.unwrap_or(0)).or_insert(0) += 1;
    }
    Ok(StuckLockResult {
        held_seconds,
        stuck_bookings: bookings,
        stuck_outcomes,
        unrelated: unrelated.summary(),
        unrelated_failures: failures,
    })
}
