//! Draining on SIGTERM, so that a rolling restart loses nothing.
//!
//! From the signal on, the instance is *draining*: `/health/ready` answers
//! 503 (load balancers stop sending), every HTTP response carries
//! `Connection: close` (a kept-alive client opens its next connection — to
//! another instance — instead of racing the close of this one), and the hub
//! tells its clients to reconnect elsewhere. Once the hub's connections and
//! every HTTP connection are gone, or after [`DRAIN`], clients that still
//! keep coming (no balancer moved them) are *turned away*: every request but
//! the probes is answered 503 `service_unavailable` with `Retry-After: 1` —
//! answered, so never cut — until none has come for [`QUIET`] (each client
//! turned away was told to wait a second), or [`TURN_AWAY`] has passed. Only
//! then does the listener stop (a connection still in its backlog at that
//! moment would be reset), the connections left are closed (the server's
//! graceful-shutdown signal) and requests in flight get the shutdown timeout
//! to finish.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_http::Extensions;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use request_desk_infrastructure::hub::Hub;

use crate::error::ApiError;

/// Whether the instance is draining (the hub's shutdown has begun).
pub fn is_draining(req: &ServiceRequest) -> bool {
    req.app_data::<web::Data<Hub>>()
        .is_some_and(|hub| hub.is_shutting_down())
}

/// Middleware: while draining, every response closes its connection; once
/// turning away, every request but the probes is answered 503.
pub async fn close_connections_while_draining(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let turning_away = req
        .app_data::<web::Data<HttpConnections>>()
        .is_some_and(|c| c.turning_away());
    let probe = req.path().starts_with("/health/") || req.path() == "/metrics";
    if !probe {
        if let Some(c) = req.app_data::<web::Data<HttpConnections>>() {
            c.requested();
        }
    }
    if turning_away && !probe {
        let mut res = ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "this instance is shutting down; try again (another instance takes over)",
        )
        .with_retry_after(1)
        .error_response();
        res.head_mut().set_connection_type(ConnectionType::Close);
        return Ok(req.into_response(res).map_into_right_body());
    }
    let draining_before = is_draining(&req);
    let mut res = next.call(req).await?.map_into_left_body();
    // Also when the drain began while the request ran.
    let draining = draining_before
        || res
            .request()
            .app_data::<web::Data<Hub>>()
            .is_some_and(|hub| hub.is_shutting_down());
    if draining {
        res.response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}

/// Open HTTP connections of this instance (a WebSocket stops counting when
/// it is upgraded: the hub has it then), and whether they are turned away.
#[derive(Debug, Clone)]
pub struct HttpConnections {
    open: Arc<AtomicUsize>,
    turning_away: Arc<AtomicBool>,
    epoch: Instant,
    /// When the last request that is not a probe came, in ms since `epoch`.
    last_request_ms: Arc<AtomicU64>,
}

impl Default for HttpConnections {
    fn default() -> Self {
        HttpConnections {
            open: Arc::default(),
            turning_away: Arc::default(),
            epoch: Instant::now(),
            last_request_ms: Arc::default(),
        }
    }
}

impl HttpConnections {
    /// For `HttpService::on_connect_ext`: counts the connection until it ends.
    pub fn track(&self, extensions: &mut Extensions) {
        self.open.fetch_add(1, Ordering::AcqRel);
        extensions.insert(Open(Arc::clone(&self.open)));
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    pub fn turning_away(&self) -> bool {
        self.turning_away.load(Ordering::Acquire)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn requested(&self) {
        self.last_request_ms.store(self.now_ms(), Ordering::Release);
    }

    /// Time since the last request that is not a probe.
    fn since_last_request(&self) -> Duration {
        Duration::from_millis(
            self.now_ms()
                .saturating_sub(self.last_request_ms.load(Ordering::Acquire)),
        )
    }
}

/// Held in a connection's data, which lives as long as the connection.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The longest drain before requests are turned away: a kept-alive client
/// sends its next request within this (and gets `Connection: close`) or
/// closes its idle connection (clients close idle ones within about 4 s,
/// before the server's 5 s keep-alive), so that no request races the close
/// of its connection.
pub const DRAIN: Duration = Duration::from_secs(4);

/// The longest time clients still coming after [`DRAIN`] are answered 503
/// before the listener stops.
pub const TURN_AWAY: Duration = Duration::from_secs(2);

/// How long no request may have come before the listener stops: shorter
/// than the `Retry-After: 1` every turned-away client was given.
pub const QUIET: Duration = Duration::from_millis(500);

/// Waits until the hub's connections are gone and no HTTP connection is
/// open, or `DRAIN` has passed; then turns requests away until none has
/// come for `QUIET`, or `TURN_AWAY` has passed.
pub async fn drained(hub: &Hub, http: &HttpConnections) {
    let deadline = tokio::time::Instant::now() + DRAIN;
    let _ = tokio::time::timeout_at(deadline, hub.closed()).await;
    until_closed(http, deadline).await;
    http.turning_away.store(true, Ordering::Release);
    let deadline = tokio::time::Instant::now() + TURN_AWAY;
    while http.since_last_request() < QUIET && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn until_closed(http: &HttpConnections, deadline: tokio::time::Instant) {
    while http.open() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{CONNECTION, RETRY_AFTER};
    use actix_web::middleware::from_fn;
    use actix_web::test::{call_service, init_service, read_body_json, TestRequest};
    use actix_web::{App, HttpResponse};

    #[actix_web::test]
    async fn turned_away_requests_get_a_503_that_closes_the_connection_and_probes_still_answer() {
        let http = HttpConnections::default();
        let app = init_service(
            App::new()
                .app_data(web::Data::new(http.clone()))
                .wrap(from_fn(close_connections_while_draining))
                .default_service(web::to(HttpResponse::Ok)),
        )
        .await;
        let get = |path: &'static str| TestRequest::get().uri(path).to_request();
        let before = call_service(&app, get("/api/requests")).await;
        assert_eq!(before.status(), 200);
        assert!(before.headers().get(CONNECTION).is_none());

        http.turning_away.store(true, Ordering::Release);
        let away = call_service(&app, get("/api/requests")).await;
        assert_eq!(away.status(), 503);
        assert_eq!(away.headers().get(RETRY_AFTER).unwrap(), "1");
        assert_eq!(
            away.response().head().connection_type(),
            ConnectionType::Close
        );
        let body: serde_json::Value = read_body_json(away).await;
        assert_eq!(body["error"], "service_unavailable");
        for probe in ["/health/ready", "/health/live", "/metrics"] {
            let res = call_service(&app, get(probe)).await;
            assert_eq!(res.status(), 200, "{probe}");
        }
    }

    #[test]
    fn a_connection_counts_while_its_data_lives() {
        let http = HttpConnections::default();
        let mut first = Extensions::new();
        let mut second = Extensions::new();
        http.track(&mut first);
        http.track(&mut second);
        assert_eq!(http.open(), 2);
        drop(first);
        assert_eq!(http.open(), 1);
        drop(second);
        assert_eq!(http.open(), 0);
    }
}
