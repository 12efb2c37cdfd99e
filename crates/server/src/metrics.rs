//! Prometheus metrics and the per-request log line.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Every metric the server exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    pub hub_connections: IntGaugeVec,
    pub broadcasts: IntCounter,
    pub broadcast_fanout: HistogramVec,
    /// Time to book a request (validation, the locked transaction, broadcast), by outcome.
    pub booking: HistogramVec,
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
        for m in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(hub_connections.clone()),
            Box::new(broadcasts.clone()),
            Box::new(broadcast_fanout.clone()),
            Box::new(booking.clone()),
        ] {
            registry.register(m).expect("unique metric names");
        }
        Metrics {
            registry,
            http_requests,
            http_duration,
            hub_connections,
            broadcasts,
            broadcast_fanout,
            booking,
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
