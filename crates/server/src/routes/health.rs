//! `/health/live`, `/health/ready` and `/metrics`.

use actix_web::{web, HttpResponse};
use request_desk_infrastructure::hub::Hub;
use request_desk_infrastructure::postgres::PgStore;

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
/// ready means the database answers, even while the main pool is busy.
#[derive(Debug, Clone)]
pub struct HealthCheck(pub PgStore);

/// The database answers (on the probe's own connection).
#[utoipa::path(get, path = "/health/ready", operation_id = "ready", tag = "operations",
    responses((status = 200, description = "Ready", body = Readiness)))]
pub async fn ready(health: web::Data<HealthCheck>) -> Result<HttpResponse, ApiError> {
    let store = health.0.clone();
    match web::block(move || store.ping()).await? {
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
pub async fn metrics(metrics: web::Data<Metrics>, hub: web::Data<Hub>) -> HttpResponse {
    for (transport, count) in hub.open_connections() {
        metrics
            .hub_connections
            .with_label_values(&[transport])
            .set(count as i64);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
