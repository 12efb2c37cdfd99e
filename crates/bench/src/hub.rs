//! A swarm of hub connections speaking the SignalR JSON protocol over
//! WebSockets, and the probe that times `CapacityUpdated` delivery.
//!
//! Every connection is one Tokio task. The driver *arms* a probe (a date
//! and the `used` value the next event for it must reach); a connection that
//! receives the matching `CapacityUpdated` stamps its slot with the time of
//! arrival (or, in refetch mode, first refetches `/api/availability` like the
//! old design and stamps the time the fresh numbers arrived). The driver
//! compares the stamps with the time the booking's HTTP response arrived.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use time::Date;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::api::{parse_date, Api};
use crate::stats::Latencies;

/// Record separator of the SignalR text protocols.
const RS: char = '\u{1e}';
const HANDSHAKE: &str = "{\"protocol\":\"json\",\"version\":1}\u{1e}";
const PING: &str = "{\"type\":6}\u{1e}";
const DISARMED: i64 = i64::MIN;
/// Slot value of a refetch in flight.
const IN_FLIGHT: u64 = 1;

/// The bench's monotonic epoch and the wall-clock time (Unix ns) it was taken at.
fn epoch() -> (Instant, u64) {
    static EPOCH: OnceLock<(Instant, u64)> = OnceLock::new();
    *EPOCH.get_or_init(|| {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        (Instant::now(), wall)
    })
}

/// Nanoseconds since the bench's epoch, never 0 or [`IN_FLIGHT`].
pub fn now_ns() -> u64 {
    u64::try_from(epoch().0.elapsed().as_nanos()).unwrap_or(u64::MAX) + 2
}

/// Unix time in ns of a [`now_ns`] stamp.
fn wall_ns(stamp: u64) -> u64 {
    epoch().1 + stamp - 2
}

/// The `timestamp` of an event record, in Unix ns (the server stamps it
/// right after the commit, with millisecond resolution).
fn event_timestamp_ns(rec: &str) -> Option<u64> {
    let at = rec.find("\"timestamp\":\"")? + 13;
    let end = at + rec[at..].find('"')?;
    let t = time::OffsetDateTime::parse(
        &rec[at..end],
        &time::format_description::well_known::Rfc3339,
    )
    .ok()?;
    u64::try_from(t.unix_timestamp_nanos()).ok()
}

/// What a connection does with a matching `CapacityUpdated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The event carries the numbers: the picker is fresh on arrival.
    Event,
    /// The old design: refetch `/api/availability` on every change.
    Refetch,
}

/// How refetching connections call the API.
#[derive(Debug)]
pub struct RefetchCtx {
    pub api: Api,
    pub from: Date,
    pub to: Date,
}

/// State shared by the driver and every connection task.
#[derive(Debug)]
struct Shared {
    probe_date: AtomicI64,
    probe_min_used: AtomicI64,
    /// The probe event's `timestamp` (Unix ns), from the first connection to see it.
    event_ts: AtomicU64,
    refetch_mode: AtomicBool,
    slots: Vec<AtomicU64>,
    received: AtomicUsize,
    target: AtomicUsize,
    notify: Notify,
    live: AtomicUsize,
    server_closes: AtomicU64,
    refetch_errors: AtomicU64,
    unexpected_ends: AtomicU64,
    end_reasons: std::sync::Mutex<Vec<String>>,
    refetch: Option<RefetchCtx>,
    tokens: Vec<Arc<str>>,
}

impl Shared {
    /// Remembers why a connection ended before the bench closed it (the first few).
    fn note_end(&self, why: String) {
        self.unexpected_ends.fetch_add(1, Ordering::Relaxed);
        let mut ends = self.end_reasons.lock().unwrap_or_else(|e| e.into_inner());
        if ends.len() < 5 {
            ends.push(why);
        }
    }

    fn stamp(&self, idx: usize, value: u64) {
        self.slots[idx].store(value, Ordering::Release);
        if self.received.fetch_add(1, Ordering::AcqRel) + 1 >= self.target.load(Ordering::Acquire) {
            self.notify.notify_one();
        }
    }
}

/// How to open the swarm.
#[derive(Debug, Clone)]
pub struct OpenParams {
    /// `http://127.0.0.1:port`
    pub base: String,
    pub connections: usize,
    /// Connection attempts in flight at once.
    pub concurrency: usize,
    /// New connections per second; 0 = as fast as `concurrency` allows.
    pub ramp_rate: f64,
    /// Use `POST /negotiate` first (as the official client does).
    pub negotiate: bool,
    /// First source address to use (127.0.0.x); each takes `per_ip` connections.
    pub first_ip: u32,
    pub per_ip: usize,
    /// Give up opening after this many failures.
    pub max_failures: usize,
}

/// How the opening went.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenReport {
    pub requested: usize,
    pub connected: usize,
    pub failed: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub connect_latency: crate::stats::Summary,
    pub source_ips: usize,
    pub first_errors: Vec<String>,
}

/// Open hub connections and their tasks.
#[derive(Debug)]
pub struct Swarm {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Source addresses used (the next swarm should start after them).
    pub ips_used: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Negotiated {
    connection_token: Option<String>,
    connection_id: String,
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn ws_config() -> WebSocketConfig {
    // Small buffers: tens of thousands of mostly idle connections.
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
}

async fn connect(
    http: &reqwest::Client,
    base: &str,
    server: SocketAddr,
    token: &str,
    source: Ipv4Addr,
    negotiate: bool,
) -> anyhow::Result<WebSocketStream<TcpStream>> {
    let mut url = format!("ws://{server}/hubs/notifications?");
    if negotiate {
        let r = http
            .post(format!(
                "{base}/hubs/notifications/negotiate?negotiateVersion=1"
            ))
            .bearer_auth(token)
            .send()
            .await
            .context("negotiate")?;
        if !r.status().is_success() {
            bail!("negotiate: {}", r.status());
        }
        let n: Negotiated = r.json().await.context("negotiate body")?;
        let id = n.connection_token.unwrap_or(n.connection_id);
        url.push_str(&format!("id={}&", encode(&id)));
    }
    url.push_str(&format!("access_token={}", encode(token)));

    let socket = TcpSocket::new_v4()?;
    socket
        .bind(SocketAddr::new(source.into(), 0))
        .with_context(|| format!("binding {source}"))?;
    let stream = socket.connect(server).await.context("TCP connect")?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .context("WebSocket upgrade")?;
    ws.send(Message::text(HANDSHAKE)).await?;
    let answer = tokio::time::timeout(Duration::from_secs(15), ws.next())
        .await
        .context("no handshake response within 15 s")?;
    match answer {
        Some(Ok(Message::Text(t))) => {
            let first = t.as_str().split(RS).next().unwrap_or("");
            if first.trim() != "{}" {
                bail!("handshake refused: {first}");
            }
        }
        Some(Ok(other)) => bail!("unexpected handshake answer: {other:?}"),
        Some(Err(e)) => bail!("handshake: {e}"),
        None => bail!("closed during the handshake"),
    }
    Ok(ws)
}

/// The `"type"` of a record, read without a full parse.
fn record_type(rec: &str) -> Option<u8> {
    let at = rec.find("\"type\":")? + 7;
    rec[at..]
        .trim_start()
        .bytes()
        .next()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
}

/// `(julian day, used)` of a `CapacityUpdated` record.
fn capacity_updated(rec: &str) -> Option<(i64, i64)> {
    if !rec.contains("\"CapacityUpdated\"") {
        return None;
    }
    let fast = || {
        let at = rec.find("\"date\":\"")? + 8;
        let date = parse_date(rec.get(at..at + 10)?)?;
        let at = rec.find("\"used\":")? + 7;
        let digits: String = rec[at..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Some((i64::from(date.to_julian_day()), digits.parse().ok()?))
    };
    fast().or_else(|| {
        #[derive(Deserialize)]
        struct Inv {
            target: String,
            arguments: Vec<Arg>,
        }
        #[derive(Deserialize)]
        struct Arg {
            date: String,
            used: i64,
        }
        let inv: Inv = serde_json::from_str(rec).ok()?;
        let arg = inv
            .arguments
            .first()
            .filter(|_| inv.target == "CapacityUpdated")?;
        Some((i64::from(parse_date(&arg.date)?.to_julian_day()), arg.used))
    })
}

async fn run_connection(
    idx: usize,
    mut ws: WebSocketStream<TcpStream>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let msg = tokio::select! {
            biased;
            _ = stop.changed() => {
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                break;
            }
            msg = ws.next() => msg,
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(frame))) => {
                shared.note_end(format!("WebSocket close frame {frame:?}"));
                break;
            }
            None => {
                shared.note_end("the stream ended".into());
                break;
            }
            Some(Err(e)) => {
                shared.note_end(format!("WebSocket error: {e}"));
                break;
            }
            Some(Ok(_)) => continue,
        };
        let arrived = now_ns();
        let mut reply_ping = false;
        let mut closed = false;
        for rec in text.as_str().split(RS).filter(|r| !r.is_empty()) {
            match record_type(rec) {
                Some(6) => reply_ping = true,
                Some(7) => closed = true,
                Some(1) => {
                    let Some((date, used)) = capacity_updated(rec) else {
                        continue;
                    };
                    let armed = shared.probe_date.load(Ordering::Acquire);
                    if armed == DISARMED
                        || date != armed
                        || used < shared.probe_min_used.load(Ordering::Acquire)
                    {
                        continue;
                    }
                    if shared.event_ts.load(Ordering::Relaxed) == 0 {
                        if let Some(ts) = event_timestamp_ns(rec) {
                            shared.event_ts.store(ts, Ordering::Relaxed);
                        }
                    }
                    if !shared.refetch_mode.load(Ordering::Acquire) {
                        if shared.slots[idx]
                            .compare_exchange(0, arrived, Ordering::AcqRel, Ordering::Acquire)
                            .is_ok()
                        {
                            shared.stamp(idx, arrived);
                        }
                    } else if shared.slots[idx]
                        .compare_exchange(0, IN_FLIGHT, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        // The old design: the event only says "something
                        // changed"; fetch the picker's range again.
                        let ok = match &shared.refetch {
                            Some(ctx) => {
                                let token = &shared.tokens[idx % shared.tokens.len()];
                                ctx.api
                                    .availability_raw(token, ctx.from, ctx.to)
                                    .await
                                    .is_ok()
                            }
                            None => false,
                        };
                        if ok {
                            shared.stamp(idx, now_ns());
                        } else {
                            shared.refetch_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                _ => {}
            }
        }
        if closed {
            shared.server_closes.fetch_add(1, Ordering::Relaxed);
            shared.note_end(format!(
                "SignalR Close message: {}",
                text.as_str().trim_end_matches(RS)
            ));
            break;
        }
        if reply_ping && ws.send(Message::text(PING)).await.is_err() {
            break;
        }
    }
    shared.live.fetch_sub(1, Ordering::AcqRel);
}

/// One probe's outcome.
#[derive(Debug, Default)]
pub struct ProbeOutcome {
    pub expected: usize,
    pub received: usize,
    /// Events that arrived before the booking's HTTP response (counted as 0 ms).
    pub before_response: usize,
}

impl Swarm {
    /// Opens `params.connections` connections, `tokens` used round-robin.
    pub async fn open(
        params: &OpenParams,
        http: &reqwest::Client,
        tokens: Vec<Arc<str>>,
        refetch: Option<RefetchCtx>,
    ) -> anyhow::Result<(Swarm, OpenReport)> {
        let server: SocketAddr = params
            .base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .context("--url must be http://<ip>:<port>")?;
        let n = params.connections;
        let shared = Arc::new(Shared {
            probe_date: AtomicI64::new(DISARMED),
            probe_min_used: AtomicI64::new(0),
            event_ts: AtomicU64::new(0),
            refetch_mode: AtomicBool::new(false),
            slots: (0..n).map(|_| AtomicU64::new(0)).collect(),
            received: AtomicUsize::new(0),
            target: AtomicUsize::new(usize::MAX),
            notify: Notify::new(),
            live: AtomicUsize::new(0),
            server_closes: AtomicU64::new(0),
            refetch_errors: AtomicU64::new(0),
            unexpected_ends: AtomicU64::new(0),
            end_reasons: std::sync::Mutex::new(Vec::new()),
            refetch,
            tokens,
        });
        let (stop, stop_rx) = watch::channel(false);
        let permits = Arc::new(Semaphore::new(params.concurrency.max(1)));
        let failures = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let latencies = Arc::new(std::sync::Mutex::new(Latencies::default()));
        let mut tasks = Vec::with_capacity(n);
        let per_ip = params.per_ip.max(1);
        let ips_used = n.div_ceil(per_ip).max(1) as u32;
        let started = Instant::now();
        for i in 0..n {
            if failures.load(Ordering::Relaxed) > params.max_failures {
                break;
            }
            if params.ramp_rate > 0.0 {
                let due = started + Duration::from_secs_f64(i as f64 / params.ramp_rate);
                tokio::time::sleep_until(due.into()).await;
            }
            let permit = Arc::clone(&permits).acquire_owned().await?;
            let host = params.first_ip + (i / per_ip) as u32;
            let source = Ipv4Addr::new(127, (host >> 16) as u8, (host >> 8) as u8, host as u8);
            let (http, base) = (http.clone(), params.base.clone());
            let (shared, stop_rx) = (Arc::clone(&shared), stop_rx.clone());
            let (failures, errors, latencies) = (
                Arc::clone(&failures),
                Arc::clone(&errors),
                Arc::clone(&latencies),
            );
            let negotiate = params.negotiate;
            tasks.push(tokio::spawn(async move {
                let token = Arc::clone(&shared.tokens[i % shared.tokens.len()]);
                let t0 = Instant::now();
                let result = tokio::time::timeout(
                    Duration::from_secs(30),
                    connect(&http, &base, server, &token, source, negotiate),
                )
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("connect timed out after 30 s")));
                // Count the outcome before giving the permit back: the
                // opener reads the counts once every permit is back.
                match result {
                    Ok(ws) => {
                        latencies
                            .lock()
                            .expect("not poisoned")
                            .record_ns(t0.elapsed().as_nanos() as u64);
                        shared.live.fetch_add(1, Ordering::AcqRel);
                        drop((permit, http, latencies, errors, failures));
                        run_connection(i, ws, shared, stop_rx).await;
                    }
                    Err(e) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        let mut errors = errors.lock().expect("not poisoned");
                        if errors.len() < 5 {
                            errors.push(format!("{e:#}"));
                        }
                        drop(permit);
                    }
                }
            }));
        }
        // Every attempt has finished when all permits are back.
        let _all = permits
            .acquire_many(params.concurrency.max(1) as u32)
            .await?;
        let seconds = started.elapsed().as_secs_f64();
        let connected = shared.live.load(Ordering::Acquire);
        let report = OpenReport {
            requested: n,
            connected,
            failed: failures.load(Ordering::Relaxed),
            seconds,
            per_second: connected as f64 / seconds.max(1e-9),
            connect_latency: latencies.lock().expect("not poisoned").summary(),
            source_ips: ips_used as usize,
            first_errors: errors.lock().expect("not poisoned").clone(),
        };
        Ok((
            Swarm {
                shared,
                stop,
                tasks,
                ips_used,
            },
            report,
        ))
    }

    /// Connections still open.
    pub fn live(&self) -> usize {
        self.shared.live.load(Ordering::Acquire)
    }

    pub fn server_closes(&self) -> u64 {
        self.shared.server_closes.load(Ordering::Relaxed)
    }

    /// Connections that ended without the bench closing them, and the first reasons.
    pub fn unexpected_ends(&self) -> (u64, Vec<String>) {
        (
            self.shared.unexpected_ends.load(Ordering::Relaxed),
            self.shared
                .end_reasons
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }

    pub fn refetch_errors(&self) -> u64 {
        self.shared.refetch_errors.load(Ordering::Relaxed)
    }

    /// Arms a probe: the next `CapacityUpdated` for `date` with `used >=
    /// min_used` is stamped by each connection. Returns how many
    /// connections are expected to stamp.
    pub fn arm(&self, date: Date, min_used: i64, mode: Mode) -> usize {
        let s = &self.shared;
        s.probe_date.store(DISARMED, Ordering::Release);
        for slot in &s.slots {
            slot.store(0, Ordering::Relaxed);
        }
        let target = self.live();
        s.received.store(0, Ordering::Release);
        s.event_ts.store(0, Ordering::Release);
        s.target.store(target, Ordering::Release);
        s.refetch_mode
            .store(mode == Mode::Refetch, Ordering::Release);
        s.probe_min_used.store(min_used, Ordering::Release);
        s.probe_date
            .store(i64::from(date.to_julian_day()), Ordering::Release);
        target
    }

    /// Waits until every expected connection stamped, or `timeout`.
    pub async fn wait(&self, timeout: Duration) {
        let s = &self.shared;
        let _ = tokio::time::timeout(timeout, async {
            loop {
                let notified = s.notify.notified();
                if s.received.load(Ordering::Acquire) >= s.target.load(Ordering::Acquire) {
                    return;
                }
                notified.await;
            }
        })
        .await;
    }

    /// Disarms the probe and records each stamp relative to `response_ns`
    /// (the time the booking's HTTP response arrived).
    /// `from_request` gets each stamp relative to `request_ns` (when the
    /// booking was sent).
    pub fn collect(
        &self,
        request_ns: u64,
        response_ns: u64,
        expected: usize,
        into: &mut Latencies,
        from_request: &mut Latencies,
        from_commit: &mut Latencies,
    ) -> ProbeOutcome {
        let s = &self.shared;
        s.probe_date.store(DISARMED, Ordering::Release);
        let mut out = ProbeOutcome {
            expected,
            ..ProbeOutcome::default()
        };
        for slot in &s.slots {
            let v = slot.load(Ordering::Acquire);
            if v > IN_FLIGHT {
                out.received += 1;
                if v < response_ns {
                    out.before_response += 1;
                }
                into.record_ns(v.saturating_sub(response_ns));
                from_request.record_ns(v.saturating_sub(request_ns));
                let committed = s.event_ts.load(Ordering::Acquire);
                if committed > 0 {
                    from_commit.record_ns(wall_ns(v).saturating_sub(committed));
                }
            }
        }
        out
    }

    /// Closes every connection and waits for the tasks (30 s at most).
    pub async fn close(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(
            Duration::from_secs(30),
            futures_util::future::join_all(self.tasks),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_without_a_full_parse() {
        let rec = r#"{"type":1,"target":"CapacityUpdated","arguments":[{"date":"2026-05-15","timestamp":"2026-05-15T09:30:00Z","version":7,"capacity":10,"used":3,"remaining":7,"percent":30,"status":"available"}]}"#;
        assert_eq!(record_type(rec), Some(1));
        let jd = i64::from(parse_date("2026-05-15").unwrap().to_julian_day());
        assert_eq!(capacity_updated(rec), Some((jd, 3)));
        let spaced = r#"{ "type": 1, "target": "CapacityUpdated", "arguments": [ { "used": 12, "date": "2026-05-15" } ] }"#;
        assert_eq!(capacity_updated(spaced), Some((jd, 12)));
        assert_eq!(record_type(r#"{"type":6}"#), Some(6));
        assert_eq!(event_timestamp_ns(rec), Some(1_778_837_400_000_000_000));
        assert_eq!(
            capacity_updated(r#"{"type":1,"target":"InboxUpdated","arguments":[{}]}"#),
            None
        );
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(encode("a.b-c_d~e"), "a.b-c_d~e");
        assert_eq!(encode("a+b/c="), "a%2Bb%2Fc%3D");
    }
}
