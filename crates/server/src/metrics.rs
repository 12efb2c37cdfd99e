//! Prometheus metrics and the per-request log line.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::process::ProcessMetrics;

/// Every metric the server exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    pub hub_connections: IntGaugeVec,
    pub broadcasts: IntCounter,
    pub broadcast_fanout: HistogramVec,
    /// Time to book a request (the domain call: its transaction), by outcome.
    pub booking: HistogramVec,
    /// The change stream and the delivery path (`crate::live`).
    pub stream: StreamMetrics,
    /// The database pools and errors.
    pub db: DbMetrics,
    /// 1 while the database answers and the instance is not shutting down.
    pub instance_ready: IntGauge,
    /// Sweeps of expired holds, by outcome (`ok`, `error`).
    pub sweeps: IntCounterVec,
    pub holds_taken: IntCounter,
    pub holds_expired: IntCounter,
    /// The hub's instance connection cap (0: none).
    pub hub_connection_limit: IntGauge,
    /// Hub connections refused at a cap, by cap (`instance_cap`, `user_cap`).
    pub hub_refused: IntCounterVec,
    /// Memory, descriptors, threads and tasks of this process.
    pub process: ProcessMetrics,
}

/// The change stream's metrics.
#[derive(Debug, Clone)]
pub struct StreamMetrics {
    pub connected: IntGauge,
    pub behind_seconds: Gauge,
    pub delivered: IntCounter,
    pub catch_ups: IntCounterVec,
    pub undecodable: IntCounterVec,
    /// From a change's commit to its hand-off to the hub.
    pub delivery: Histogram,
}

/// The database's metrics.
#[derive(Debug, Clone)]
pub struct DbMetrics {
    pub pool_connections: IntGaugeVec,
    pub pool_max: IntGaugeVec,
    pub pool_timeouts: IntCounterVec,
    pub errors: IntCounterVec,
}

fn counter(name: &str, help: &str) -> IntCounter {
    IntCounter::new(name, help).expect("valid metric")
}

fn counters(name: &str, help: &str, label: &str, values: &[&str]) -> IntCounterVec {
    let vec = IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid metric");
    for v in values {
        vec.with_label_values(&[v]);
    }
    vec
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).expect("valid metric")
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            ),
            &["method", "route"],
        )
        .expect("valid metric");
        let hub_connections = IntGaugeVec::new(
            Opts::new("hub_connections", "Open hub connections per transport"),
            &["transport"],
        )
        .expect("valid metric");
        let broadcasts =
            IntCounter::new("hub_broadcasts_total", "Hub broadcasts sent").expect("valid metric");
        let broadcast_fanout = HistogramVec::new(
            HistogramOpts::new(
                "hub_broadcast_fanout_seconds",
                "Time to hand one broadcast to every connection",
            )
            .buckets(vec![
                0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1,
            ]),
            &["target"],
        )
        .expect("valid metric");
        let booking = HistogramVec::new(
            HistogramOpts::new(
                "booking_duration_seconds",
                "Time to book a request, by outcome",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
            &["outcome"],
        )
        .expect("valid metric");
        for transport in ["websockets", "server_sent_events", "long_polling"] {
            hub_connections.with_label_values(&[transport]);
        }
        let stream = StreamMetrics {
            connected: gauge(
                "change_stream_connected",
                "1 while this instance listens on the change stream",
            ),
            behind_seconds: Gauge::new(
                "change_stream_behind_seconds",
                "Seconds since a catch-up from the change feed became owed (0: none owed)",
            )
            .expect("valid metric"),
            delivered: counter(
                "change_stream_delivered_total",
                "Live events handed to this instance's viewers",
            ),
            catch_ups: counters(
                "change_stream_catch_ups_total",
                "Catch-ups from the change feed, by reason",
                "reason",
                &["connected", "unreadable", "retry"],
            ),
            undecodable: counters(
                "change_stream_undecodable_total",
                "Change-stream payloads this build could not read (caught up from the feed instead)",
                "reason",
                &["newer_format", "undecodable"],
            ),
            delivery: Histogram::with_opts(
                HistogramOpts::new(
                    "live_delivery_seconds",
                    "From a change's commit to its hand-off to this instance's hub",
                )
                .buckets(vec![
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
            )
            .expect("valid metric"),
        };
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Pooled database connections, by pool and state",
            ),
            &["pool", "state"],
        )
        .expect("valid metric");
        let pool_max = IntGaugeVec::new(
            Opts::new("db_pool_max_connections", "A pool's size"),
            &["pool"],
        )
        .expect("valid metric");
        let pool_timeouts = IntCounterVec::new(
            Opts::new(
                "db_pool_timeouts_total",
                "Checkouts that gave up waiting for a pooled connection",
            ),
            &["pool"],
        )
        .expect("valid metric");
        for pool in ["main", "health"] {
            for state in ["in_use", "idle"] {
                pool_connections.with_label_values(&[pool, state]);
            }
            pool_max.with_label_values(&[pool]);
            pool_timeouts.with_label_values(&[pool]);
        }
        let db = DbMetrics {
            pool_connections,
            pool_max,
            pool_timeouts,
            errors: counters(
                "db_errors_total",
                "Requests that failed on the database, by kind",
                "kind",
                &["unavailable", "invalid_input", "unexpected"],
            ),
        };
        let instance_ready = gauge(
            "instance_ready",
            "1 while the database answers and the instance is not shutting down",
        );
        let sweeps = counters(
            "sweeps_total",
            "Sweeps of expired holds, by outcome",
            "outcome",
            &["ok", "error"],
        );
        let holds_taken = counter("holds_taken_total", "Holds taken");
        let holds_expired = counter("holds_expired_total", "Expired holds freed by the sweeper");
        let hub_connection_limit = gauge(
            "hub_connection_limit",
            "The hub's connection cap on this instance (0: none)",
        );
        let hub_refused = counters(
            "hub_connections_refused_total",
            "Hub connections refused at a cap",
            "reason",
            &["instance_cap", "user_cap"],
        );
        for m in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(hub_connections.clone()),
            Box::new(broadcasts.clone()),
            Box::new(broadcast_fanout.clone()),
            Box::new(booking.clone()),
            Box::new(stream.connected.clone()),
            Box::new(stream.behind_seconds.clone()),
            Box::new(stream.delivered.clone()),
            Box::new(stream.catch_ups.clone()),
            Box::new(stream.undecodable.clone()),
            Box::new(stream.delivery.clone()),
            Box::new(db.pool_connections.clone()),
            Box::new(db.pool_max.clone()),
            Box::new(db.pool_timeouts.clone()),
            Box::new(db.errors.clone()),
            Box::new(instance_ready.clone()),
            Box::new(sweeps.clone()),
            Box::new(holds_taken.clone()),
            Box::new(holds_expired.clone()),
            Box::new(hub_connection_limit.clone()),
            Box::new(hub_refused.clone()),
        ] {
            registry.register(m).expect("unique metric names");
        }
        let process = ProcessMetrics::new();
        process.register(&registry);
        Metrics {
            registry,
            http_requests,
            http_duration,
            hub_connections,
            broadcasts,
            broadcast_fanout,
            booking,
            stream,
            db,
            instance_ready,
            sweeps,
            holds_taken,
            holds_expired,
            hub_connection_limit,
            hub_refused,
            process,
        }
    }

    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("prometheus text is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Marks a response that failed on the database (set by the error mapping,
/// counted in `db_errors_total` by [`observe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    Unavailable,
    InvalidInput,
    Unexpected,
}

impl DbErrorKind {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            DbErrorKind::Unavailable => "unavailable",
            DbErrorKind::InvalidInput => "invalid_input",
            DbErrorKind::Unexpected => "unexpected",
        }
    }
}

/// Logs one line per request (method, path, status, duration) and records it.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let res = next.call(req).await?;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    if let Some(m) = metrics {
        if let Some(kind) = res.response().extensions().get::<DbErrorKind>() {
            m.db.errors.with_label_values(&[kind.as_str()]).inc();
        }
        m.http_requests
            .with_label_values(&[&method, &route, &status.to_string()])
            .inc();
        m.http_duration
            .with_label_values(&[&method, &route])
            .observe(elapsed.as_secs_f64());
    }
    tracing::info!(%method, %path, status, duration_ms = elapsed.as_secs_f64() * 1000.0, "request");
    Ok(res)
}
