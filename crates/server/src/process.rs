//! What the process itself holds, for the metrics: resident memory, open
//! descriptors and threads (from `/proc/self`, on Linux), and the hub's
//! connection tasks. A soak watches these to tell a leak from a warm-up.
//!
//! Tasks are the hub's own count (its task tracker): actix spawns onto
//! per-worker `LocalSet`s, which Tokio's runtime metrics do not see.

use prometheus::{IntGauge, Registry};

/// The process gauges, refreshed at each scrape.
#[derive(Debug, Clone)]
pub struct ProcessMetrics {
    resident_bytes: IntGauge,
    open_fds: IntGauge,
    threads: IntGauge,
    hub_tasks: IntGauge,
}

impl ProcessMetrics {
    pub fn new() -> Self {
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        ProcessMetrics {
            resident_bytes: gauge(
                "process_resident_memory_bytes",
                "Resident memory of this process (Linux: VmRSS)",
            ),
            open_fds: gauge("process_open_fds", "Open file descriptors of this process"),
            threads: gauge("process_threads", "Threads of this process"),
            hub_tasks: gauge(
                "hub_tasks",
                "Hub connection tasks alive (each connection's, and those still closing)",
            ),
        }
    }

    pub fn register(&self, registry: &Registry) {
        for g in [
            &self.resident_bytes,
            &self.open_fds,
            &self.threads,
            &self.hub_tasks,
        ] {
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric names");
        }
    }

    /// Reads the process's numbers now; `hub_tasks` from the hub. Where
    /// `/proc` is missing (not Linux), the three process gauges stay at 0.
    pub fn refresh(&self, hub_tasks: usize) {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| -> Option<i64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        if let Some(kib) = field("VmRSS:") {
            self.resident_bytes.set(kib * 1024);
        }
        if let Some(n) = field("Threads:") {
            self.threads.set(n);
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            // The directory handle being read is one of them.
            self.open_fds.set((entries.count() as i64 - 1).max(0));
        }
        self.hub_tasks
            .set(i64::try_from(hub_tasks).unwrap_or(i64::MAX));
    }
}

impl Default for ProcessMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let metrics = ProcessMetrics::new();
        metrics.refresh(7);
        assert_eq!(metrics.hub_tasks.get(), 7);
        if cfg!(target_os = "linux") {
            assert!(metrics.resident_bytes.get() > 1024 * 1024);
            assert!(metrics.threads.get() >= 1);
            let open = metrics.open_fds.get();
            let files: Vec<_> = (0..3)
                .map(|_| std::fs::File::open("/proc/self/status").unwrap())
                .collect();
            metrics.refresh(0);
            // Other tests' threads open files too: at least these three more.
            assert!(
                metrics.open_fds.get() >= open + 3,
                "{open} → {}",
                metrics.open_fds.get()
            );
            drop(files);
        }
    }
}
