//! What the bench reads from `/proc` (server RSS and CPU time, the machine)
//! and from the server's Prometheus text.

use std::process::Command;
use std::sync::OnceLock;

use serde::Serialize;

/// Resident set size of `pid` in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Number of threads of `pid`.
pub fn threads(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// User + system CPU seconds consumed so far by `pid` (all its threads), from
/// `/proc/<pid>/stat` (utime + stime).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// CPU seconds of this bench process.
pub fn own_cpu_seconds() -> f64 {
    cpu_seconds(std::process::id()).unwrap_or(0.0)
}

/// Busy CPU seconds of the whole machine so far (`/proc/stat`: every state
/// but idle and iowait).
pub fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (total - idle) / clock_ticks()
}

/// A CPU-time stopwatch for the server (if its pid is known) and the bench.
#[derive(Debug, Clone, Copy)]
pub struct CpuWatch {
    pid: Option<u32>,
    server: f64,
    client: f64,
    machine: f64,
    wall: std::time::Instant,
}

/// CPU used over an interval, in seconds and as a share of one core.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuUse {
    pub wall_seconds: f64,
    /// `None` when the server's pid is unknown (`--url` without `--server-pid`).
    pub server_cpu_seconds: Option<f64>,
    /// Server CPU seconds / wall seconds (1.0 = one core busy).
    pub server_cores: Option<f64>,
    pub bench_cpu_seconds: f64,
    pub bench_cores: f64,
    /// Busy cores of the whole machine (server, bench, PostgreSQL, anything else).
    pub machine_cores: f64,
}

impl CpuWatch {
    pub fn start(pid: Option<u32>) -> CpuWatch {
        CpuWatch {
            pid,
            server: pid.and_then(cpu_seconds).unwrap_or(0.0),
            client: own_cpu_seconds(),
            machine: machine_busy_seconds(),
            wall: std::time::Instant::now(),
        }
    }

    pub fn stop(&self) -> CpuUse {
        let wall = self.wall.elapsed().as_secs_f64().max(1e-9);
        let server = self
            .pid
            .and_then(cpu_seconds)
            .map(|now| (now - self.server).max(0.0));
        let client = (own_cpu_seconds() - self.client).max(0.0);
        CpuUse {
            wall_seconds: wall,
            server_cpu_seconds: server,
            server_cores: server.map(|s| s / wall),
            bench_cpu_seconds: client,
            bench_cores: client / wall,
            machine_cores: (machine_busy_seconds() - self.machine).max(0.0) / wall,
        }
    }
}

/// The machine the run happened on.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub fd_limit: u64,
}

pub fn machine(fd_limit: u64) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model,
        memory_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        fd_limit,
    }
}

/// `git rev-parse --short HEAD`, marked when the work tree has uncommitted changes.
pub fn commit() -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = run(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".into();
    };
    match run(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if !s.is_empty() => format!("{head} (with uncommitted changes)"),
        _ => head,
    }
}

/// Soft open-file limit of another process (`/proc/<pid>/limits`).
pub fn fd_limit_of(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Raises this process's open-file limit (children inherit it) to `want`, or
/// as far as allowed. Returns the soft limit in force afterwards.
pub fn raise_fd_limit(want: u64) -> u64 {
    use rlimit::Resource;
    let (soft, hard) = rlimit::getrlimit(Resource::NOFILE).unwrap_or((1024, 1024));
    if soft >= want {
        return soft;
    }
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(hard);
    let target = want.min(nr_open);
    // Raising the hard limit needs CAP_SYS_RESOURCE (root); else go up to it.
    if rlimit::setrlimit(Resource::NOFILE, target, target.max(hard)).is_err() {
        let _ = rlimit::setrlimit(Resource::NOFILE, target.min(hard), hard);
    }
    rlimit::getrlimit(Resource::NOFILE).map_or(soft, |(s, _)| s)
}

/// A few numbers from the server's `/metrics` text.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scrape {
    /// Sum of `http_requests_total` over every label set.
    pub http_requests: f64,
    /// `hub_connections{transport="websockets"}`.
    pub ws_connections: f64,
    /// `hub_broadcast_fanout_seconds{target="CapacityUpdated"}` sum and count.
    pub fanout_sum: f64,
    pub fanout_count: f64,
    /// `booking_duration_seconds` sum and count (every outcome).
    pub booking_sum: f64,
    pub booking_count: f64,
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        let mut s = Scrape::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let metric = name.split('{').next().unwrap_or(name);
            match metric {
                "http_requests_total" => s.http_requests += value,
                "hub_connections" if name.contains("websockets") => s.ws_connections = value,
                "hub_broadcast_fanout_seconds_sum" if name.contains("CapacityUpdated") => {
                    s.fanout_sum += value
                }
                "hub_broadcast_fanout_seconds_count" if name.contains("CapacityUpdated") => {
                    s.fanout_count += value
                }
                "booking_duration_seconds_sum" => s.booking_sum += value,
                "booking_duration_seconds_count" => s.booking_count += value,
                _ => {}
            }
        }
        s
    }

    /// Mean server-side fan-out time per `CapacityUpdated` since `before`, in ms.
    pub fn fanout_mean_ms_since(&self, before: &Scrape) -> Option<f64> {
        let n = self.fanout_count - before.fanout_count;
        (n > 0.0).then(|| (self.fanout_sum - before.fanout_sum) / n * 1_000.0)
    }

    /// Mean server-side booking time since `before`, in ms.
    pub fn booking_mean_ms_since(&self, before: &Scrape) -> Option<f64> {
        let n = self.booking_count - before.booking_count;
        (n > 0.0).then(|| (self.booking_sum - before.booking_sum) / n * 1_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_metrics_we_need() {
        let text = "# HELP x\nhttp_requests_total{method=\"GET\",route=\"/a\",status=\"200\"} 3\n\
                    http_requests_total{method=\"POST\",route=\"/b\",status=\"201\"} 4\n\
                    hub_connections{transport=\"long_polling\"} 2\n\
                    hub_connections{transport=\"websockets\"} 1000\n\
                    hub_broadcast_fanout_seconds_sum{target=\"CapacityUpdated\"} 0.5\n\
                    hub_broadcast_fanout_seconds_count{target=\"CapacityUpdated\"} 10\n";
        let s = Scrape::parse(text);
        assert_eq!(s.http_requests, 7.0);
        assert_eq!(s.ws_connections, 1000.0);
        assert_eq!(
            s.fanout_mean_ms_since(&Scrape::default())
                .map(|v| v.round()),
            Some(50.0)
        );
    }

    #[test]
    fn reads_our_own_process() {
        let pid = std::process::id();
        assert!(rss_kib(pid).unwrap() > 0);
        assert!(cpu_seconds(pid).is_some());
    }
}
