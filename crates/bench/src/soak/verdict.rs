//! What a soak found: the samples, the counts, the rule that judges growth
//! and the report.
//!
//! The rule: a figure **grows without bound** when the end sample exceeds
//! the middle one by more than its allowance (see [`allowances`]). A warm-up
//! (allocator arenas, pools filling, caches) happens before the middle and is
//! not counted; a leak keeps growing in the second half and is.

use serde::Serialize;

/// One reading of the server.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub at_seconds: f64,
    pub rss_kib: u64,
    pub open_fds: u64,
    pub threads: u64,
    pub tasks: u64,
    /// Backends on the soak's database (`pg_stat_activity`), or the pools'
    /// connections from the metrics with `--url`.
    pub db_connections: u64,
    pub hub_connections: u64,
}

/// What the workload did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub holds: u64,
    pub held_full: u64,
    pub abandoned: u64,
    pub booked: u64,
    pub booked_full: u64,
    pub hold_expired: u64,
    pub cancelled: u64,
    /// Answers that are none of the above (5xx, unexpected 4xx, transport errors).
    pub failures: u64,
    pub reconnects: u64,
    pub reconnect_failures: u64,
    /// Viewers the server closed although nobody asked.
    pub dropped_viewers: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SoakResult {
    pub samples: Vec<Sample>,
    pub counts: Counts,
    pub first_failures: Vec<String>,
    /// Why the server closed viewers (the first few distinct reasons).
    pub drop_reasons: Vec<String>,
    /// Dates with more bookings than capacity at the end (must be none).
    pub overbooked: Vec<String>,
    pub problems: Vec<String>,
}

/// How much a figure may grow from the middle sample to the end one.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    /// Share of the middle value.
    pub relative: f64,
    /// Plus this much, in the figure's unit.
    pub absolute: f64,
}

impl Allowance {
    fn allows(self, middle: u64, end: u64) -> bool {
        end as f64 <= middle as f64 * (1.0 + self.relative) + self.absolute
    }
}

/// The allowance of each figure, for `viewers` viewers and `workers` workers.
pub fn allowances(viewers: usize, workers: usize) -> [(&'static str, Allowance); 5] {
    let churn = (viewers / 100) as f64;
    [
        // The allocator may keep a few MiB more after a burst.
        (
            "RSS (KiB)",
            Allowance {
                relative: 0.05,
                absolute: 4096.0,
            },
        ),
        // Connections in their close handshake at the moment of the sample.
        (
            "open fds",
            Allowance {
                relative: 0.0,
                absolute: churn + 16.0,
            },
        ),
        (
            "threads",
            Allowance {
                relative: 0.0,
                absolute: 2.0,
            },
        ),
        // Requests in flight (one per worker) and connections closing.
        (
            "tasks",
            Allowance {
                relative: 0.0,
                absolute: churn + 4.0 * workers as f64 + 16.0,
            },
        ),
        // Never more: the pools are bounded.
        (
            "DB connections",
            Allowance {
                relative: 0.0,
                absolute: 0.0,
            },
        ),
    ]
}

fn figures(s: &Sample) -> [u64; 5] {
    [s.rss_kib, s.open_fds, s.threads, s.tasks, s.db_connections]
}

/// The verdicts of the rule on `samples`: one line per figure that grew
/// beyond its allowance from the middle sample to the end one.
pub fn judge(samples: &[Sample], viewers: usize, workers: usize) -> Vec<String> {
    let Some(end) = samples.last() else {
        return vec!["no sample was taken".into()];
    };
    if samples.len() < 3 {
        return vec![format!(
            "{} samples: too few to judge growth (need 3)",
            samples.len()
        )];
    }
    let middle = &samples[samples.len() / 2];
    let (m, e) = (figures(middle), figures(end));
    allowances(viewers, workers)
        .iter()
        .zip(m.iter().zip(e.iter()))
        .filter(|((_, a), (&m, &e))| !a.allows(m, e))
        .map(|((name, a), (m, e))| {
            format!(
                "{name} grew from {m} at {:.0} s to {e} at {:.0} s (allowed: +{:.0} % +{:.0})",
                middle.at_seconds,
                end.at_seconds,
                a.relative * 100.0,
                a.absolute
            )
        })
        .collect()
}

/// The value of an unlabelled metric in the Prometheus text.
pub(super) fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The sum of a metric over its label sets.
pub(super) fn metric_sum(text: &str, name: &str, filter: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{') && l.contains(filter))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// The samples at the start, the middle and the end, and the counts, as Markdown.
pub fn table(r: &SoakResult) -> String {
    let mut out = String::from(
        "| when | s | RSS MiB | open fds | threads | tasks | DB connections | hub connections |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let n = r.samples.len();
    let picks = [
        ("start", 0),
        ("middle", n / 2),
        ("end", n.saturating_sub(1)),
    ];
    for (name, i) in picks {
        if let Some(s) = r.samples.get(i) {
            out.push_str(&format!(
                "| {name} | {:.0} | {:.1} | {} | {} | {} | {} | {} |\n",
                s.at_seconds,
                s.rss_kib as f64 / 1024.0,
                s.open_fds,
                s.threads,
                s.tasks,
                s.db_connections,
                s.hub_connections
            ));
        }
    }
    let c = &r.counts;
    out.push_str(&format!(
        "\n{} holds ({} refused full, {} left to expire), {} booked ({} full, {} hold expired), {} cancelled, {} failed; {} viewers reconnected ({} failed), {} closed by the server.\n",
        c.holds, c.held_full, c.abandoned, c.booked, c.booked_full, c.hold_expired, c.cancelled,
        c.failures, c.reconnects, c.reconnect_failures, c.dropped_viewers
    ));
    if !r.first_failures.is_empty() {
        out.push_str(&format!(
            "\nFirst failures: {}\n",
            r.first_failures.join("; ")
        ));
    }
    if !r.drop_reasons.is_empty() {
        out.push_str(&format!(
            "\nViewers closed by the server: {}\n",
            r.drop_reasons.join("; ")
        ));
    }
    if r.problems.is_empty() {
        out.push_str("\nNothing grew from the middle to the end beyond its allowance.\n");
    } else {
        out.push_str(&format!("\nProblems: {}\n", r.problems.join("; ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: f64, rss: u64, fds: u64, tasks: u64, db: u64) -> Sample {
        Sample {
            at_seconds: t,
            rss_kib: rss,
            open_fds: fds,
            threads: 20,
            tasks,
            db_connections: db,
            hub_connections: 5000,
        }
    }

    #[test]
    fn a_warm_up_is_not_a_leak() {
        // Everything climbs in the first half, then stays.
        let samples = [
            at(0.0, 40_000, 5_020, 5_010, 6),
            at(300.0, 60_000, 5_030, 5_020, 12),
            at(600.0, 61_000, 5_040, 5_030, 12),
        ];
        assert_eq!(judge(&samples, 5_000, 8), Vec::<String>::new());
    }

    #[test]
    fn growth_in_the_second_half_is() {
        let samples = [
            at(0.0, 40_000, 5_020, 5_010, 6),
            at(300.0, 60_000, 5_030, 5_020, 12),
            at(600.0, 80_000, 5_200, 5_020, 13),
        ];
        let found = judge(&samples, 5_000, 8);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("RSS (KiB) grew from 60000 at 300 s to 80000 at 600 s"));
        assert!(found[1].starts_with("open fds"));
        assert!(found[2].starts_with("DB connections"));
    }

    #[test]
    fn too_few_samples_cannot_pass() {
        assert_eq!(judge(&[], 10, 1).len(), 1);
        assert_eq!(
            judge(&[at(0.0, 1, 1, 1, 1), at(1.0, 1, 1, 1, 1)], 10, 1).len(),
            1
        );
    }

    #[test]
    fn reads_metrics() {
        let text = "# HELP x\nprocess_open_fds 42\nprocess_open_fds_total 9\ndb_pool_connections{pool=\"main\",state=\"idle\"} 3\ndb_pool_connections{pool=\"health\",state=\"in_use\"} 1\n";
        assert_eq!(metric(text, "process_open_fds"), Some(42.0));
        assert_eq!(metric(text, "process_threads"), None);
        assert_eq!(metric_sum(text, "db_pool_connections", ""), 4.0);
    }
}
