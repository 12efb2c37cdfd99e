//! The scale-out bench (`delivery --instances N`): N instances over one
//! database, the viewers spread evenly over them, timed bookings through the
//! first. Each booking's `CapacityUpdated` reaches the first instance's
//! viewers from its own commit and the others' through the change stream, so
//! the table shows what a second hop costs, and what each instance spends.

use std::time::{Duration, Instant};

use serde::Serialize;
use time::Date;

use crate::api::{Api, Booked};
use crate::hub::{now_ns, Mode, OpenParams, Swarm};
use crate::procfs::{self, CpuWatch};
use crate::stats::{Latencies, Summary};

/// One instance of the run.
#[derive(Debug, Clone)]
pub struct Instance {
    pub base: String,
    pub pid: Option<u32>,
}

/// The run's shape.
#[derive(Debug, Clone)]
pub struct ScalePlan {
    /// Viewers in all, spread evenly.
    pub viewers: usize,
    pub probes: usize,
    /// One booking every `interval` (the next waits for the previous).
    pub interval: Duration,
    /// How long a booking waits for every viewer.
    pub timeout: Duration,
    pub concurrency: usize,
    pub negotiate: bool,
    pub idle: Duration,
}

/// What one instance's viewers saw and what the instance spent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceResult {
    pub index: usize,
    pub viewers: usize,
    pub expected: usize,
    pub received: usize,
    /// From the event's commit timestamp to its arrival at a viewer.
    pub from_commit: Summary,
    /// From the booking's HTTP response to the arrival.
    pub from_response: Summary,
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub cpu_ms_per_broadcast: Option<f64>,
    pub dropped: u64,
    pub drop_reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleResult {
    pub instances: usize,
    pub viewers: usize,
    pub probes: usize,
    pub booking: Summary,
    pub from_commit: Summary,
    pub from_response: Summary,
    pub per_instance: Vec<InstanceResult>,
}

/// Opens the viewers, times `plan.probes` bookings on `date` through the
/// first instance, closes the viewers.
pub async fn scale(
    instances: &[Instance],
    plan: &ScalePlan,
    http: &reqwest::Client,
    tokens: Vec<std::sync::Arc<str>>,
    token: &str,
    date: Date,
) -> anyhow::Result<ScaleResult> {
    anyhow::ensure!(!instances.is_empty(), "no instance");
    let each = plan.viewers.div_ceil(instances.len());
    let mut swarms = Vec::with_capacity(instances.len());
    let mut rss_before = Vec::with_capacity(instances.len());
    for (i, instance) in instances.iter().enumerate() {
        rss_before.push(instance.pid.and_then(procfs::rss_kib));
        let params = OpenParams {
            base: instance.base.clone(),
            connections: each,
            concurrency: plan.concurrency,
            ramp_rate: 0.0,
            negotiate: plan.negotiate,
            // 127.0.0.2 onwards, one address per instance.
            first_ip: 2 + i as u32,
            per_ip: each.max(1),
            max_failures: (each / 100).max(100),
        };
        let (swarm, open) = Swarm::open(&params, http, tokens.clone(), None).await?;
        eprintln!(
            "bench:   instance {i}: {} viewers connected ({} failed) in {:.1} s",
            open.connected, open.failed, open.seconds
        );
        anyhow::ensure!(
            open.failed == 0,
            "instance {i}: {} of {} viewers could not connect: {:?}",
            open.failed,
            open.requested,
            open.first_errors
        );
        swarms.push(swarm);
    }
    tokio::time::sleep(plan.idle).await;
    let rss_after: Vec<_> = instances
        .iter()
        .map(|i| i.pid.and_then(procfs::rss_kib))
        .collect();

    let api = Api::new(&instances[0].base, http.clone());
    let mut used = api
        .availability(token, date, date)
        .await?
        .first()
        .map_or(0, |d| d.used);
    let cpu: Vec<_> = instances.iter().map(|i| CpuWatch::start(i.pid)).collect();
    let mut booking = Latencies::default();
    let mut all_commit = Latencies::default();
    let mut all_response = Latencies::default();
    let mut per: Vec<(Latencies, Latencies, usize, usize)> = (0..instances.len())
        .map(|_| (Latencies::default(), Latencies::default(), 0, 0))
        .collect();
    let started = Instant::now();
    for p in 0..plan.probes {
        let targets: Vec<usize> = swarms
            .iter()
            .map(|s| s.arm(date, used + 1, Mode::Event))
            .collect();
        let t0 = Instant::now();
        let request = now_ns();
        let booked = api.book(token, date, "scale probe").await?;
        let response = now_ns();
        booking.record_ns(t0.elapsed().as_nanos() as u64);
        anyhow::ensure!(
            booked == Booked::Created,
            "probe booking on {date} answered {booked:?}"
        );
        used += 1;
        let deadline = Instant::now() + plan.timeout;
        for (i, swarm) in swarms.iter().enumerate() {
            swarm
                .wait(deadline.saturating_duration_since(Instant::now()))
                .await;
            let (commit, from_response, expected, received) = &mut per[i];
            let mut from_request = Latencies::default();
            let o = swarm.collect(
                request,
                response,
                targets[i],
                from_response,
                &mut from_request,
                commit,
            );
            *expected += o.expected;
            *received += o.received;
        }
        tokio::time::sleep_until((started + plan.interval * (p as u32 + 1)).into()).await;
    }
    let cpu: Vec<_> = cpu.iter().map(CpuWatch::stop).collect();

    let mut results = Vec::with_capacity(instances.len());
    for (i, swarm) in swarms.into_iter().enumerate() {
        let (commit, from_response, expected, received) = &per[i];
        all_commit.add(commit);
        all_response.add(from_response);
        let (dropped, drop_reasons) = swarm.unexpected_ends();
        results.push(InstanceResult {
            index: i,
            viewers: swarm.live(),
            expected: *expected,
            received: *received,
            from_commit: commit.summary(),
            from_response: from_response.summary(),
            rss_before_kib: rss_before[i],
            rss_after_kib: rss_after[i],
            cpu_seconds: cpu[i].server_cpu_seconds,
            cpu_ms_per_broadcast: cpu[i]
                .server_cpu_seconds
                .filter(|_| plan.probes > 0)
                .map(|s| s * 1000.0 / plan.probes as f64),
            dropped,
            drop_reasons,
        });
        swarm.close().await;
    }
    Ok(ScaleResult {
        instances: instances.len(),
        viewers: plan.viewers,
        probes: plan.probes,
        booking: booking.summary(),
        from_commit: all_commit.summary(),
        from_response: all_response.summary(),
        per_instance: results,
    })
}

/// Rows of the scale-out table for several runs (one per instance count).
pub fn table(runs: &[ScaleResult]) -> String {
    let mut out = String::from(
        "| instances | viewers each | commit → viewer p50 / p99 ms (all) | p99 ms per instance | received | booking p50 / p99 ms | server CPU ms per broadcast, per instance | RSS MiB per instance |\n|---:|---:|---:|---|---:|---:|---|---|\n",
    );
    for r in runs {
        let join = |f: &dyn Fn(&InstanceResult) -> String| {
            r.per_instance.iter().map(f).collect::<Vec<_>>().join(" / ")
        };
        let (expected, received) = r
            .per_instance
            .iter()
            .fold((0, 0), |(e, g), i| (e + i.expected, g + i.received));
        out.push_str(&format!(
            "| {} | {} | {:.1} / {:.1} | {} | {:.3} % | {:.1} / {:.1} | {} | {} |\n",
            r.instances,
            r.viewers.div_ceil(r.instances.max(1)),
            r.from_commit.p50_ms,
            r.from_commit.p99_ms,
            join(&|i| format!("{:.1}", i.from_commit.p99_ms)),
            if expected == 0 {
                0.0
            } else {
                received as f64 * 100.0 / expected as f64
            },
            r.booking.p50_ms,
            r.booking.p99_ms,
            join(&|i| i
                .cpu_ms_per_broadcast
                .map_or("–".into(), |c| format!("{c:.1}"))),
            join(&|i| i
                .rss_after_kib
                .map_or("–".into(), |k| format!("{:.0}", k as f64 / 1024.0))),
        ));
    }
    out
}

/// Checks the viewers of every instance got every booking.
pub fn problems(r: &ScaleResult) -> Vec<String> {
    r.per_instance
        .iter()
        .filter(|i| i.received < i.expected || i.dropped > 0)
        .map(|i| {
            format!(
                "instance {}: {} of {} deliveries, {} viewers dropped {:?}",
                i.index, i.received, i.expected, i.dropped, i.drop_reasons
            )
        })
        .collect()
}
