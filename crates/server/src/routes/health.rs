//! `/health/live`, `/health/ready` and `/metrics`.

use actix_web::{web, HttpResponse};
use request_desk_infrastructure::hub::Hub;
use std::sync::Arc;

use request_desk_infrastructure::postgres::{PgStore, PoolTimeouts};

use crate::db_health::DbHealth;

/// `GET /health/live`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Liveness {
    /// Always `live`.
    pub status: &'static str,
}

/// `GET /health/ready`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// Always `ready` (not ready is a 503 error body).
    pub status: &'static str,
    /// Always `up`.
    pub database: &'static str,
}

use super::Endpoint;
use crate::error::ApiError;
use crate::metrics::Metrics;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/health/live").get(live),
        Endpoint::new("/health/ready").get(ready),
        Endpoint::new("/metrics").get(metrics),
    ]
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", operation_id = "live", tag = "operations",
    responses((status = 200, description = "Live", body = Liveness)))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Liveness { status: "live" })
}

/// The readiness probe's own one-connection pool (`postgres::health_pool`):
/// ready means the database answers, even while the main pool is busy. Its
/// verdict is also [`DbHealth`]'s, which makes requests fail fast.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    pub store: PgStore,
    pub state: Arc<DbHealth>,
}

/// The pools whose use `/metrics` reports.
#[derive(Debug)]
pub struct Pools {
    pub main: PgStore,
    pub main_timeouts: Arc<PoolTimeouts>,
    pub health: PgStore,
}

/// The database answers (on the probe's own connection) and the instance
/// is not draining: from SIGTERM on it answers 503, so that load balancers
/// stop sending to it while it finishes what it has.
#[utoipa::path(get, path = "/health/ready", operation_id = "ready", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "`service_unavailable`: the database does not answer, or the instance is shutting down", body = crate::error::ErrorBody),
    ))]
pub async fn ready(
    health: web::Data<HealthCheck>,
    hub: web::Data<Hub>,
) -> Result<HttpResponse, ApiError> {
    if hub.is_shutting_down() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "this instance is shutting down; another one takes over",
        ));
    }
    let store = health.store.clone();
    let result = web::block(move || store.ping()).await?;
    health.state.record(result.is_ok());
    match result {
        Ok(()) => Ok(HttpResponse::Ok().json(Readiness {
            status: "ready",
            database: "up",
        })),
        Err(e) => {
            tracing::warn!(error = %request_desk_domain::error::chain(&e), "readiness check failed");
            Err(ApiError::unavailable())
        }
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses((status = 200, description = "The Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(
    metrics: web::Data<Metrics>,
    hub: web::Data<Hub>,
    pools: web::Data<Pools>,
    db: web::Data<Arc<DbHealth>>,
) -> HttpResponse {
    metrics.process.refresh(hub.tasks());
    for (transport, count) in hub.open_connections() {
        metrics
            .hub_connections
            .with_label_values(&[transport])
            .set(count as i64);
    }
    metrics
        .hub_connection_limit
        .set(hub.connection_limit().map_or(0, |n| n as i64));
    for (reason, count) in hub.refused_connections() {
        let counter = metrics.hub_refused.with_label_values(&[reason]);
        counter.inc_by(count.saturating_sub(counter.get()));
    }
    metrics
        .instance_ready
        .set(i64::from(db.is_up() && !hub.is_shutting_down()));
    for (name, store) in [("main", &pools.main), ("health", &pools.health)] {
        let state = store.pool().state();
        let gauges = &metrics.db.pool_connections;
        let in_use = state.connections.saturating_sub(state.idle_connections);
        gauges
            .with_label_values(&[name, "in_use"])
            .set(i64::from(in_use));
        gauges
            .with_label_values(&[name, "idle"])
            .set(i64::from(state.idle_connections));
        metrics
            .db
            .pool_max
            .with_label_values(&[name])
            .set(i64::from(store.pool().max_size()));
    }
    let timeouts = metrics.db.pool_timeouts.with_label_values(&["main"]);
    timeouts.inc_by(pools.main_timeouts.count().saturating_sub(timeouts.get()));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
