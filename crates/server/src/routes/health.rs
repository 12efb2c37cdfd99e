//! `/health/live`, `/health/ready` and `/metrics`.

use actix_web::{web, HttpResponse};
use request_desk_infrastructure::hub::Hub;
use request_desk_infrastructure::postgres::PgStore;
use serde_json::json;

use super::Endpoint;
use crate::error::ApiError;
use crate::metrics::Metrics;

pub fn configure(cfg: &mut web::ServiceConfig) {
    Endpoint::new("/health/live").get(live).register(cfg);
    Endpoint::new("/health/ready").get(ready).register(cfg);
    Endpoint::new("/metrics").get(metrics).register(cfg);
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

/// The readiness probe's own one-connection pool (`postgres::health_pool`):
/// ready means the database answers, even while the main pool is busy.
#[derive(Debug, Clone)]
pub struct HealthCheck(pub PgStore);

async fn ready(health: web::Data<HealthCheck>) -> Result<HttpResponse, ApiError> {
    let store = health.0.clone();
    match web::block(move || store.ping()).await? {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({ "status": "ready", "database": "up" }))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::unavailable())
        }
    }
}

async fn metrics(metrics: web::Data<Metrics>, hub: web::Data<Hub>) -> HttpResponse {
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
