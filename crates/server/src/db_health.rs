//! Whether the database is up, as this instance knows it, and failing fast
//! while it is not.
//!
//! A prober pings PostgreSQL on the readiness probe's own one-connection
//! pool every [`PROBE_INTERVAL`] (its checkout gives up after a second).
//! While the last probe failed, every request that needs the database is
//! answered at once with 503 `service_unavailable` and `Retry-After: 1`
//! ([`fail_fast`]) instead of waiting on the main pool for a connection
//! that cannot come. The first probe that succeeds lets requests through
//! again, so the requests after the database returns succeed.
//!
//! ```text
//!  prober ──ping every 250 ms──► DbHealth { up | down } ◄── fail_fast (/api/…)
//!                                          ▲
//!                                  GET /health/ready (its own ping)
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use request_desk_infrastructure::postgres::PgStore;

use crate::error::ApiError;

/// How often the prober pings.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// The last probe's verdict.
#[derive(Debug)]
pub struct DbHealth {
    up: AtomicBool,
}

impl DbHealth {
    /// Up until a probe says otherwise (requests then find out on their own).
    pub fn new() -> Arc<DbHealth> {
        Arc::new(DbHealth {
            up: AtomicBool::new(true),
        })
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Records a probe's verdict; logs the changes.
    pub fn record(&self, up: bool) {
        if self.up.swap(up, Ordering::Relaxed) != up {
            if up {
                tracing::info!("database is back; serving requests again");
            } else {
                tracing::warn!(
                    "database is unavailable; requests that need it are answered 503 at once"
                );
            }
        }
    }
}

/// Pings `store` every [`PROBE_INTERVAL`] and records the verdict, until the runtime stops.
pub fn spawn_prober(health: Arc<DbHealth>, store: PgStore) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(PROBE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let store = store.clone();
            match web::block(move || store.ping()).await {
                Ok(result) => health.record(result.is_ok()),
                Err(_) => return, // shutting down
            }
        }
    });
}

/// Whether a request needs the database: the REST API, except its documents.
fn needs_database(path: &str) -> bool {
    path.starts_with("/api/") && !matches!(path, "/api/openapi.json" | "/api/docs")
}

/// Answers 503 at once, while the database is known to be down, to every
/// request that needs it.
pub async fn fail_fast(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let down = req
        .app_data::<web::Data<Arc<DbHealth>>>()
        .is_some_and(|h| !h.is_up());
    if down && needs_database(req.path()) {
        let response = ApiError::unavailable().error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_api_needs_the_database() {
        assert!(needs_database("/api/requests"));
        assert!(needs_database("/api/availability"));
        assert!(!needs_database("/api/openapi.json"));
        assert!(!needs_database("/api/docs"));
        assert!(!needs_database("/health/ready"));
        assert!(!needs_database("/hubs/notifications/negotiate"));
        assert!(!needs_database("/"));
    }

    #[test]
    fn the_verdict_is_the_last_probe() {
        let health = DbHealth::new();
        assert!(health.is_up());
        health.record(false);
        assert!(!health.is_up());
        health.record(true);
        assert!(health.is_up());
    }
}
