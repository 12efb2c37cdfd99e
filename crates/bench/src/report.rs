//! The run's report: JSON, the printed tables and `docs/benchmarks.md`.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::holds::HoldsResult;
use crate::phases::{
    AvailabilityResult, BookingResult, DeliveryResult, LevelResult, LoginStormResult,
    StuckLockResult,
};
use crate::procfs::Machine;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub generated_at: String,
    pub command: String,
    /// The bench's own command line.
    pub argv: String,
    pub commit: String,
    pub machine: Machine,
    /// Which PostgreSQL and how it was set up.
    pub database: String,
    pub server_url: String,
    pub server_pid: Option<u32>,
    pub pool_size: Option<u32>,
    /// Extra environment given to the server (`--server-env`).
    pub server_env: Vec<String>,
    pub seconds: f64,
    /// Busy cores of the machine just before the run (over 2 s; other work
    /// on the machine skews the figures).
    pub busy_cores_at_start: f64,
    pub availability: Vec<AvailabilityResult>,
    pub booking: Option<BookingResult>,
    pub holds: Option<HoldsResult>,
    pub login_storm: Option<LoginStormResult>,
    pub stuck_lock: Option<StuckLockResult>,
    pub levels: Vec<LevelResult>,
    pub stampede: Option<Stampede>,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stampede {
    pub connections: usize,
    pub refetch_days: i64,
    pub interval_ms: u64,
    pub event: DeliveryResult,
    pub refetch: DeliveryResult,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub target: String,
    pub measured: String,
    /// `None`: not measured in this run.
    pub met: Option<bool>,
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.digits$}"))
}

fn kib(v: Option<u64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{:.1}", v as f64 / 1024.0))
}

fn count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Report {
    /// Judges the run against the targets.
    pub fn judge(&mut self) {
        let mut t = Vec::new();
        let ten_k = self.levels.iter().find(|l| l.connections == 10_000);
        let d10 = ten_k.and_then(|l| l.delivery.as_ref());
        t.push(Target {
            target: "p99 delivery < 50 ms at 10,000 connections".into(),
            measured: d10.map_or("–".into(), |d| {
                format!(
                    "p99 {:.1} ms (p50 {:.1}, max {:.1})",
                    d.latency.p99_ms, d.latency.p50_ms, d.latency.max_ms
                )
            }),
            met: d10.map(|d| d.latency.p99_ms < 50.0 && d.latency.samples > 0),
        });
        t.push(Target {
            target: "the same, counted from the commit instead of the booking's response (stricter reading)".into(),
            measured: d10.map_or("–".into(), |d| {
                format!(
                    "p99 {:.1} ms (p50 {:.1}, max {:.1})",
                    d.latency_from_commit.p99_ms, d.latency_from_commit.p50_ms, d.latency_from_commit.max_ms
                )
            }),
            met: d10.map(|d| d.latency_from_commit.p99_ms < 50.0 && d.latency_from_commit.samples > 0),
        });
        t.push(Target {
            target: "every connection served at 10,000 connections".into(),
            measured: ten_k.map_or("–".into(), |l| {
                let share = l.delivery.as_ref().map_or(0.0, |d| d.share_received);
                format!(
                    "{} of {} connected, {:.3} % of deliveries received",
                    count(l.open.connected),
                    count(l.connections),
                    share * 100.0
                )
            }),
            met: ten_k.map(|l| {
                l.open.connected == l.connections
                    && l.delivery
                        .as_ref()
                        .is_some_and(|d| d.received == d.expected && d.expected > 0)
            }),
        });
        t.push(Target {
            target: "server CPU per broadcast ≤ 75 ms at 10,000 connections".into(),
            measured: d10.map_or("–".into(), |d| {
                format!(
                    "{} ms per broadcast, {} µs per delivered message",
                    opt(d.server_cpu_ms_per_broadcast, 1),
                    opt(d.server_cpu_us_per_message, 2)
                )
            }),
            met: d10
                .and_then(|d| d.server_cpu_ms_per_broadcast)
                .map(|ms| ms <= 75.0),
        });
        t.push(Target {
            target: "connect p99 < 200 ms at 10,000 connections (no SYN retransmits)".into(),
            measured: ten_k.map_or("–".into(), |l| {
                format!(
                    "p99 {:.1} ms, {:.0} connections/s",
                    l.open.connect_latency.p99_ms, l.open.per_second
                )
            }),
            met: ten_k.map(|l| {
                l.open.connect_latency.p99_ms < 200.0 && l.open.connected == l.connections
            }),
        });
        t.push(Target {
            target: "≤ 6 KiB server memory per idle WebSocket at 10,000 connections".into(),
            measured: ten_k.map_or("–".into(), |l| {
                format!(
                    "{} KiB",
                    opt(l.server_bytes_per_connection.map(|b| b / 1024.0), 1)
                )
            }),
            met: ten_k
                .and_then(|l| l.server_bytes_per_connection)
                .map(|b| b <= 6.0 * 1024.0),
        });
        // Memory: the largest level gives the least noisy figure.
        let biggest = self
            .levels
            .iter()
            .filter(|l| l.server_bytes_per_connection.is_some())
            .max_by_key(|l| l.open.connected);
        t.push(Target {
            target: "< 8 KiB server memory per idle connection".into(),
            measured: biggest.map_or("–".into(), |l| {
                format!(
                    "{:.1} KiB at {} connections",
                    l.server_bytes_per_connection.unwrap_or(0.0) / 1024.0,
                    count(l.open.connected)
                )
            }),
            met: biggest
                .and_then(|l| l.server_bytes_per_connection)
                .map(|b| b < 8.0 * 1024.0),
        });
        let b = self.booking.as_ref();
        t.push(Target {
            target: "≥ 1,000 bookings/s with zero overbooking".into(),
            measured: b.map_or("–".into(), |b| {
                format!(
                    "{:.0} successful bookings/s ({:.0} answered attempts/s), {} overbooked dates",
                    b.created_per_second,
                    b.attempts_per_second,
                    b.overbooked_dates
                        + b.database_check.map_or(0, |c| c.overbooked_dates as usize)
                )
            }),
            met: b.map(|b| {
                b.created_per_second >= 1000.0
                    && b.overbooked_dates == 0
                    && b.used_mismatches == 0
                    && b.database_check
                        .is_none_or(|c| c.overbooked_dates == 0 && c.used_mismatches == 0)
            }),
        });
        let h = self.holds.as_ref();
        t.push(Target {
            target: "with holds, no submission fails for capacity, and used + held ≤ capacity throughout".into(),
            measured: h.map_or("–".into(), |h| {
                format!(
                    "{} of {} hold-backed submissions failed for capacity (without holds: {} of {}, {:.1} %); {} violations; {:.0} holds/s taken and released",
                    h.with_holds.failed_capacity,
                    h.with_holds.submissions,
                    h.without_holds.failed_capacity,
                    h.without_holds.submissions,
                    h.without_holds.failed_capacity_share * 100.0,
                    h.violations().map_or("unchecked".into(), |v| v.to_string()),
                    h.take_release.holds_per_second,
                )
            }),
            met: h.map(|h| h.problems.is_empty() && h.violations().is_some()),
        });
        let stuck = self.stuck_lock.as_ref();
        t.push(Target {
            target: "unrelated requests p99 < 200 ms while one date's row is locked and its bookings queue".into(),
            measured: stuck.map_or("–".into(), |l| {
                format!(
                    "p99 {:.1} ms (p50 {:.1}, max {:.1}) over {} requests, {} failed",
                    l.unrelated.p99_ms, l.unrelated.p50_ms, l.unrelated.max_ms, l.unrelated.samples, l.unrelated_failures
                )
            }),
            met: stuck.map(|l| l.unrelated.p99_ms < 200.0 && l.unrelated_failures == 0),
        });
        let a366 = self.availability.iter().find(|a| a.days == 366);
        t.push(Target {
            target: "GET /api/availability for 366 days < 5 ms (p99)".into(),
            measured: a366.map_or("–".into(), |a| {
                format!(
                    "p50 {:.2} ms, p99 {:.2} ms",
                    a.latency.p50_ms, a.latency.p99_ms
                )
            }),
            met: a366.map(|a| a.latency.p99_ms < 5.0),
        });
        self.targets = t;
    }

    /// The results as Markdown tables (printed, and put in docs/benchmarks.md).
    pub fn tables(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        if self.command == self.argv {
            let _ = writeln!(s, "- **Command**: `{}`", self.command);
        } else {
            let _ = writeln!(
                s,
                "- **Command**: `{}`, which runs `{}`",
                self.command, self.argv
            );
        }
        let _ = writeln!(s, "- **Commit**: `{}`", self.commit);
        let _ = writeln!(
            s,
            "- **When**: {} (took {:.0} s)",
            self.generated_at, self.seconds
        );
        let _ = writeln!(
            s,
            "- **Machine**: {} cores ({}), {:.1} GiB memory, Linux {}; open-file limit {}; bench client and server on the same cores",
            m.cores, m.cpu_model, m.memory_gib, m.kernel, m.fd_limit
        );
        let _ = writeln!(
            s,
            "- **Machine busy just before the run**: {:.2} cores (anything else running shares the two cores; see *rest of the machine* below)",
            self.busy_cores_at_start
        );
        let _ = writeln!(s, "- **Database**: {}", self.database);
        let _ = writeln!(
            s,
            "- **Server**: release build, `DATABASE_POOL_SIZE={}`, `RUST_LOG=warn`{}\n",
            self.pool_size
                .map_or("default (10)".into(), |p| p.to_string()),
            self.server_env
                .iter()
                .map(|e| format!(", `{e}`"))
                .collect::<String>()
        );

        let _ = writeln!(s, "### Targets\n");
        let _ = writeln!(s, "| target | measured | verdict |\n|---|---|---|");
        for t in &self.targets {
            let _ = writeln!(s, "| {} | {} | {} |", t.target, t.measured, verdict(t.met));
        }

        if !self.levels.is_empty() {
            let _ = writeln!(s, "\n### Connections and delivery latency\n");
            let _ = writeln!(
                s,
                "Delivery latency: from the moment the booking's HTTP response arrives to the moment each connection \
                 receives the matching `CapacityUpdated` (events that beat the response count as 0 ms). CPU columns \
                 cover the timed bookings; *server CPU per broadcast* is the server's CPU time over the probes divided \
                 by their number (each is one booking plus its `CapacityUpdated` to every connection), *per delivered \
                 message* the same time divided by the events the connections received; *rest of the machine* is everything else (PostgreSQL, and any other work \
                 on the machine, which skews the latencies).\n"
            );
            let _ = writeln!(
                s,
                "| connections | connected | connect rate /s | connect p99 ms | server RSS before → after MiB | server KiB / conn | bench KiB / conn | bookings | received | p50 ms | p95 ms | p99 ms | max ms | fan-out mean ms | server CPU (cores) | server CPU ms / broadcast | server CPU µs / delivered message | bench CPU (cores) | rest of the machine (cores) |"
            );
            let _ = writeln!(
                s,
                "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
            for l in self.levels.iter().filter(|l| l.skipped.is_none()) {
                let d = l.delivery.as_ref();
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.0} | {:.1} | {} → {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    count(l.connections),
                    count(l.open.connected),
                    l.open.per_second,
                    l.open.connect_latency.p99_ms,
                    kib(l.server_rss_before_kib),
                    kib(l.server_rss_after_kib),
                    opt(l.server_bytes_per_connection.map(|b| b / 1024.0), 1),
                    opt(l.bench_bytes_per_connection.map(|b| b / 1024.0), 1),
                    d.map_or("–".into(), |d| d.probes.to_string()),
                    d.map_or("–".into(), |d| format!("{:.3} %", d.share_received * 100.0)),
                    d.map_or("–".into(), |d| format!("{:.2}", d.latency.p50_ms)),
                    d.map_or("–".into(), |d| format!("{:.2}", d.latency.p95_ms)),
                    d.map_or("–".into(), |d| format!("{:.2}", d.latency.p99_ms)),
                    d.map_or("–".into(), |d| format!("{:.2}", d.latency.max_ms)),
                    opt(d.and_then(|d| d.server_fanout_mean_ms), 2),
                    opt(d.and_then(|d| d.cpu.server_cores), 2),
                    opt(d.and_then(|d| d.server_cpu_ms_per_broadcast), 1),
                    opt(d.and_then(|d| d.server_cpu_us_per_message), 2),
                    opt(d.map(|d| d.cpu.bench_cores), 2),
                    opt(
                        d.and_then(|d| d
                            .cpu
                            .server_cores
                            .map(|sv| (d.cpu.machine_cores - sv - d.cpu.bench_cores).max(0.0))),
                        2
                    ),
                );
            }
            let _ = writeln!(
                s,
                "\nThe same deliveries measured from two other starting points: from the commit (the event's `timestamp`, \
                 which the server takes as the booking's transaction starts, so this includes the transaction; \
                 millisecond resolution) and from the moment the booking request was sent. Every instance fans out \
                 from the change stream, off the request path, so the booker's own answer (*probe booking*) does not \
                 wait for the audience.\n"
            );
            let _ = writeln!(
                s,
                "| connections | deliveries before the HTTP response | commit → client p50 ms | p99 ms | max ms | request sent → client p50 ms | p99 ms | max ms | probe booking p50 ms | p99 ms | connections closed by the server |"
            );
            let _ = writeln!(
                s,
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
            for l in &self.levels {
                let Some(d) = &l.delivery else { continue };
                let _ = writeln!(
                    s,
                    "| {} | {:.1} % | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
                    count(l.connections),
                    d.before_response as f64 * 100.0 / d.received.max(1) as f64,
                    d.latency_from_commit.p50_ms,
                    d.latency_from_commit.p99_ms,
                    d.latency_from_commit.max_ms,
                    d.latency_from_request.p50_ms,
                    d.latency_from_request.p99_ms,
                    d.latency_from_request.max_ms,
                    d.booking_latency.p50_ms,
                    d.booking_latency.p99_ms,
                    d.server_closes,
                );
            }
            for l in &self.levels {
                if let Some(why) = &l.skipped {
                    let _ = writeln!(
                        s,
                        "\n**{} connections: not run** — {why}.",
                        count(l.connections)
                    );
                }
                if l.dropped > 0 {
                    let _ = writeln!(
                        s,
                        "\nAt {} connections {} connections ended before the bench closed them; first reasons: {}",
                        count(l.connections),
                        l.dropped,
                        l.drop_reasons.join("; ")
                    );
                }
                if l.open.failed > 0 || !l.open.first_errors.is_empty() {
                    let _ = writeln!(
                        s,
                        "\nAt {} connections {} attempts failed; first errors: {}",
                        count(l.connections),
                        count(l.open.failed),
                        l.open.first_errors.join("; ")
                    );
                }
            }
        }

        if let Some(l) = &self.login_storm {
            let _ = writeln!(s, "\n### Login storm\n");
            let _ = writeln!(
                s,
                "{} concurrent logins from the bench process while one client samples an authenticated `GET /api/availability` (the default range, the whole booking window) every 10 ms.\n",
                l.logins
            );
            let _ = writeln!(s, "| logins | 200 | 429 | 503 (hashing queue full) | other | storm s | login p50 ms | login p99 ms | availability p50 / p99 / max ms before | samples during | availability p50 / p99 / max ms during |");
            let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|");
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} / {:.1} / {:.1} | {} | {:.1} / {:.1} / {:.1} |",
                l.logins,
                l.signed_in,
                l.rate_limited,
                l.hashing_busy,
                l.other,
                l.storm_seconds,
                l.login_latency.p50_ms,
                l.login_latency.p99_ms,
                l.availability_before.p50_ms,
                l.availability_before.p99_ms,
                l.availability_before.max_ms,
                l.availability_during.samples,
                l.availability_during.p50_ms,
                l.availability_during.p99_ms,
                l.availability_during.max_ms,
            );
        }

        if let Some(l) = &self.stuck_lock {
            let _ = writeln!(s, "\n### One stuck row lock\n");
            let _ = writeln!(
                s,
                "Another session holds one date's `days` row `FOR UPDATE` for {:.1} s while {} bookings for that date arrive; meanwhile one client sends unrelated requests in turn (`GET /api/availability`, `GET /health/ready`, a booking on another date), every 20 ms.\n",
                l.held_seconds, l.stuck_bookings
            );
            let outcomes: Vec<String> = l
                .stuck_outcomes
                .iter()
                .map(|(s, n)| format!("{n}× {s}"))
                .collect();
            let _ = writeln!(s, "| stuck bookings answered | unrelated requests | failed | p50 ms | p99 ms | max ms |");
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.1} | {:.1} | {:.1} |",
                outcomes.join(", "),
                l.unrelated.samples,
                l.unrelated_failures,
                l.unrelated.p50_ms,
                l.unrelated.p99_ms,
                l.unrelated.max_ms
            );
        }

        if let Some(b) = &self.booking {
            let _ = writeln!(s, "\n### Booking under contention\n");
            let _ = writeln!(
                s,
                "{} concurrent bookers, {} attempts spread over {} dates of capacity {} each (so some dates fill up and answer 409).\n",
                b.bookers, b.attempted, b.dates, b.capacity_per_date
            );
            let _ = writeln!(s, "| attempts | created (201) | full (409) | errors | seconds | attempts/s | bookings/s | p50 ms | p99 ms | max ms | server mean ms | overbooked (API) | used ≠ 201s | database check | server CPU (cores) | machine CPU (cores) |");
            let _ = writeln!(
                s,
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
            );
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.2} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {:.2} |",
                b.attempted,
                b.created,
                b.rejected_full,
                b.errors,
                b.seconds,
                b.attempts_per_second,
                b.created_per_second,
                b.latency.p50_ms,
                b.latency.p99_ms,
                b.latency.max_ms,
                opt(b.server_mean_booking_ms, 2),
                b.overbooked_dates,
                b.used_mismatches,
                b.database_check.map_or("–".into(), |c| format!(
                    "{} overbooked, {} mismatched of {} dates",
                    c.overbooked_dates, c.used_mismatches, c.dates_checked
                )),
                opt(b.cpu.server_cores, 2),
                b.cpu.machine_cores,
            );
        }

        if let Some(h) = &self.holds {
            holds_tables(&mut s, h);
        }

        if !self.availability.is_empty() {
            let _ = writeln!(s, "\n### `GET /api/availability`\n");
            let _ = writeln!(
                s,
                "Sequential requests on one keep-alive connection, measured at the client.\n"
            );
            let _ = writeln!(
                s,
                "| days | samples | bytes | p50 ms | p95 ms | p99 ms | max ms |"
            );
            let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|");
            for a in &self.availability {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
                    a.days,
                    a.samples,
                    a.response_bytes,
                    a.latency.p50_ms,
                    a.latency.p95_ms,
                    a.latency.p99_ms,
                    a.latency.max_ms
                );
            }
        }

        if let Some(st) = &self.stampede {
            let _ = writeln!(s, "\n### The refetch stampede\n");
            let _ = writeln!(
                s,
                "{} connections, one booking every {} ms. *event*: the `CapacityUpdated` carries the numbers (our design). \
                 *refetch*: every client refetches `GET /api/availability` ({} days) on each change (the design we replace). \
                 Latency is to the client holding fresh numbers, from the booking's HTTP response and from the commit \
                 (the event's `timestamp`). CPU is over the whole run, idle time between bookings included.\n",
                count(st.connections),
                st.interval_ms,
                st.refetch_days
            );
            let _ = writeln!(
                s,
                "| mode | bookings | fresh | requests answered | requests/s | requests / booking | response → fresh p50 ms | p99 ms | commit → fresh p50 ms | p99 ms | max ms | server CPU s | server CPU ms / booking | server CPU (cores) | bench CPU (cores) | machine CPU (cores) |"
            );
            let _ = writeln!(
                s,
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
            for d in [&st.event, &st.refetch] {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.2} % | {:.0} | {:.0} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {:.2} | {:.2} |",
                    d.mode,
                    d.probes,
                    d.share_received * 100.0,
                    d.server_requests,
                    d.server_requests_per_second,
                    d.server_requests_per_booking,
                    d.latency.p50_ms,
                    d.latency.p99_ms,
                    d.latency_from_commit.p50_ms,
                    d.latency_from_commit.p99_ms,
                    d.latency_from_commit.max_ms,
                    opt(d.cpu.server_cpu_seconds, 2),
                    opt(
                        d.cpu
                            .server_cpu_seconds
                            .map(|c| c * 1000.0 / d.probes.max(1) as f64),
                        0
                    ),
                    opt(d.cpu.server_cores, 2),
                    d.cpu.bench_cores,
                    d.cpu.machine_cores,
                );
            }
        }
        s
    }
}

fn holds_tables(s: &mut String, h: &HoldsResult) {
    let (a, b, l) = (&h.without_holds, &h.with_holds, &h.take_release);
    let _ = writeln!(s, "\n### Holds under contention\n");
    let _ = writeln!(
        s,
        "{} people, each signed in with an account of their own, compete for {} dates of capacity {} ({} slots). \
         Each opens the picker (`GET /api/availability`) at a random moment within {} ms, picks the first date \
         of their own random order that shows a free slot, types for {}–{} ms and submits `POST /api/requests`; \
         who sees no free date gives up. The same people with the same arrivals, typing times and preferences \
         (seed {}) run twice on fresh dates: *without holds* they submit straight away after typing; *with holds* \
         picking is `POST /api/holds` (refused with 409 `capacity_full`: the next free-looking date, then give up, \
         *hold refused*) and the submission carries the `holdId`. *Failed for capacity* is the share of submissions \
         answered 409 `capacity_full`. *holds/s* of the workloads is holds taken per second of the run, bounded by \
         the arrivals; the last row is the throughput: {} workers (accounts of their own) take a hold on {} dates of \
         capacity {} in turn and release it (`DELETE /api/holds/{{id}}`) at once, as fast as they can, for {:.1} s \
         (its *hold refused* counts refused requests). *Violations* are (poll, date) pairs where the database \
         itself shows `used + held > capacity` (capacity: the day's override, else the daily capacity; used: \
         active requests; held: holds with `expires_at > now()`), read in one statement by a checker polling \
         the phase's {} dates every {} ms on one `psql` session while the row runs; *full seen* counts the pairs \
         at exactly `used + held = capacity` on the row's own dates (the checker did see them full).\n",
        a.users,
        a.dates,
        a.capacity_per_date,
        a.dates as i64 * a.capacity_per_date,
        h.arrival_ms,
        h.think_ms.0,
        h.think_ms.1,
        h.seed,
        l.workers,
        l.dates,
        l.capacity_per_date,
        l.seconds,
        h.checked_dates,
        h.poll_gap_ms,
    );
    let _ = writeln!(
        s,
        "| workload | people | no free date shown | hold refused | holds taken | submissions | booked (201) | failed for capacity (409) | share | hold_expired | errors | seconds | holds/s | hold p99 ms | submit p99 ms | checker polls | full seen | violations |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let window = |w: Option<crate::holds::CheckerWindow>| match w {
        Some(w) => (
            w.polls.to_string(),
            w.full_seen.to_string(),
            w.violations.to_string(),
        ),
        None => ("–".into(), "–".into(), "unchecked".into()),
    };
    for r in [a, b] {
        let (polls, full, violations) = window(r.checker);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} % | {} | {} | {:.2} | {} | {} | {:.1} | {} | {} | {} |",
            if r.holds { "with holds" } else { "without holds" },
            r.users,
            r.saw_no_free_day,
            if r.holds {
                format!("{} people ({} requests)", r.hold_refused, r.hold_requests_refused)
            } else {
                "–".into()
            },
            if r.holds { r.holds_taken.to_string() } else { "–".into() },
            r.submissions,
            r.booked,
            r.failed_capacity,
            r.failed_capacity_share * 100.0,
            r.hold_expired,
            r.errors,
            r.seconds,
            opt(r.holds_per_second, 0),
            if r.holds { format!("{:.1}", r.hold_latency.p99_ms) } else { "–".into() },
            r.submit_latency.p99_ms,
            polls,
            full,
            violations,
        );
    }
    let (polls, full, violations) = window(l.checker);
    let _ = writeln!(
        s,
        "| take + release, {} workers | – | – | {} requests | {} | – | – | – | – | – | {} | {:.2} | {:.0} | {:.1} | – | {} | {} | {} |",
        l.workers,
        count(l.refused),
        count(l.taken),
        l.errors,
        l.seconds,
        l.holds_per_second,
        l.take_latency.p99_ms,
        polls,
        full,
        violations,
    );
    match h.final_violations {
        Some(v) => {
            let _ = writeln!(
                s,
                "\nAt the end, every date in the database: {v} with `used + held > capacity`."
            );
        }
        None => {
            let _ = writeln!(
                s,
                "\nNot checked in the database: the bench did not create it (`--url`)."
            );
        }
    }
    for e in a.first_errors.iter().chain(&b.first_errors) {
        let _ = writeln!(s, "\nError: {e}");
    }
    if !h.problems.is_empty() {
        let _ = writeln!(
            s,
            "\n**The holds phase FAILED**: {}.",
            h.problems.join("; ")
        );
    }
}

const BEGIN: &str =
    "<!-- bench:begin (generated by request-desk-bench; edits inside are overwritten) -->";
const END: &str = "<!-- bench:end -->";

/// Replaces the generated block of `path` (between the markers) with
/// `tables`, keeping the hand-written text around it; creates the file if
/// needed.
pub fn write_markdown(path: &Path, tables: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n\n{tables}\n{END}");
    let new = match (old.find("<!-- bench:begin"), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{}{}", &old[..b], block, &old[e + END.len()..]),
        _ => format!("# Benchmarks\n\n{block}\n{old}"),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, new)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(50_000), "50,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn replaces_only_the_generated_block() {
        let dir = std::env::temp_dir().join(format!("bench-md-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("b.md");
        std::fs::write(&p, format!("intro\n{BEGIN}\nold\n{END}\noutro\n")).unwrap();
        write_markdown(&p, "new").unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.starts_with("intro\n"));
        assert!(s.contains("new") && !s.contains("old"));
        assert!(s.ends_with("outro\n"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
