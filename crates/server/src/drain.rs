//! Draining on SIGTERM, so that a rolling restart loses nothing.
//!
//! From the signal on, the instance is *draining*: `/health/ready` answers
//! 503 (load balancers stop sending), every HTTP response carries
//! `Connection: close` (a kept-alive client opens its next connection — to
//! another instance — instead of racing the close of this one), and the hub
//! tells its clients to reconnect elsewhere. Once the hub's connections and
//! every HTTP connection are gone, or after [`DRAIN`], the listener stops,
//! the kept-alive connections left are closed (the server's graceful-shutdown
//! signal) and requests in flight get the shutdown timeout to finish.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_http::Extensions;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web;
use request_desk_infrastructure::hub::Hub;

/// Whether the instance is draining (the hub's shutdown has begun).
pub fn is_draining(req: &ServiceRequest) -> bool {
    req.app_data::<web::Data<Hub>>()
        .is_some_and(|hub| hub.is_shutting_down())
}

/// Middleware: while draining, every response closes its connection.
pub async fn close_connections_while_draining(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let draining_before = is_draining(&req);
    let mut res = next.call(req).await?;
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
/// it is upgraded: the hub has it then).
#[derive(Debug, Clone, Default)]
pub struct HttpConnections(Arc<AtomicUsize>);

impl HttpConnections {
    /// For `HttpService::on_connect_ext`: counts the connection until it ends.
    pub fn track(&self, extensions: &mut Extensions) {
        self.0.fetch_add(1, Ordering::AcqRel);
        extensions.insert(Open(Arc::clone(&self.0)));
    }

    pub fn open(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// Held in a connection's data, which lives as long as the connection.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The longest drain before the listener stops: a kept-alive client sends
/// its next request within this (and gets `Connection: close`) or its
/// connection expires — the client closes an idle one before the server's
/// 5 s keep-alive does — so that no request races the close of its
/// connection.
pub const DRAIN: Duration = Duration::from_secs(5);

/// Waits until the hub's connections are gone and no HTTP connection is
/// open, or `DRAIN` has passed.
pub async fn drained(hub: &Hub, http: &HttpConnections) {
    let deadline = tokio::time::Instant::now() + DRAIN;
    let _ = tokio::time::timeout_at(deadline, hub.closed()).await;
    while http.open() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
