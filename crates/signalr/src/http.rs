//! The hub's HTTP surface: negotiate, and the one URL every transport
//! shares, whose method and headers decide what a request is:
//!
//! | request | meaning |
//! |---|---|
//! | `POST {path}/negotiate[?negotiateVersion=1]` | create a connection, list transports |
//! | `GET ?id=…` with `Upgrade: websocket` | WebSockets (without `id`: `skipNegotiation`); a stateful connection's resume |
//! | `GET ?id=…` with `Accept: text/event-stream` | Server-Sent Events stream |
//! | any other `GET ?id=…` | a long poll |
//! | `POST ?id=…` | client → server messages for SSE and Long Polling |
//! | `DELETE ?id=…` | end a Long Polling connection |
//!
//! Every request must carry a valid bearer token, either as `Authorization:
//! Bearer` or as the `access_token` query parameter (browsers cannot set
//! headers on WebSockets and EventSource). A connection may only be used by
//! the user who negotiated it. Errors use the body `{"error", "message"}`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::RequestHead;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::json;

use crate::app::{HubApp, Principal};
use crate::connection::{Connection, Transport};
use crate::dispatch::{self, Flow};
use crate::limits::CapReached;
use crate::registry::Create;
use crate::transport::{long_polling, sse};
use crate::Hub;

pub(crate) fn configure<A: HubApp>(hub: &Hub<A>, cfg: &mut web::ServiceConfig) {
    let path = hub.config().path.trim_end_matches('/').to_owned();
    let (h1, h2, h3, h4) = (hub.clone(), hub.clone(), hub.clone(), hub.clone());
    cfg.service(
        web::resource(format!("{path}/negotiate")).route(web::post().to(
            move |req: HttpRequest| {
                let hub = h1.clone();
                async move { negotiate(&hub, &req) }
            },
        )),
    )
    .service(
        web::resource(path)
            .route(web::get().to(move |req: HttpRequest| {
                let hub = h2.clone();
                async move { connect(&hub, &req).await }
            }))
            .route(web::post().to(move |req: HttpRequest, body: web::Payload| {
                let hub = h3.clone();
                async move { send(&hub, &req, body).await }
            }))
            .route(web::delete().to(move |req: HttpRequest| {
                let hub = h4.clone();
                async move { delete(&hub, &req) }
            })),
    );
}

/// Query parameters the hub understands; others (like Long Polling's `_`
/// cache buster) are ignored.
#[derive(Debug, Default, Deserialize)]
struct HubQuery {
    /// The connection token (v1) or connection id (v0).
    id: Option<String>,
    /// Bearer token for clients that cannot send headers.
    access_token: Option<String>,
    /// Negotiate protocol version the client speaks (absent = 0).
    #[serde(rename = "negotiateVersion")]
    negotiate_version: Option<String>,
    /// The client was built `withStatefulReconnect()`.
    #[serde(rename = "useStatefulReconnect")]
    use_stateful_reconnect: Option<String>,
}

/// A request the hub turns down, rendered with the error body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
    retry_after: Option<u64>,
}

impl Refusal {
    pub(crate) const fn new(
        status: StatusCode,
        code: &'static str,
        message: &'static str,
    ) -> Refusal {
        Refusal {
            status,
            code,
            message,
            retry_after: None,
        }
    }

    /// The refusal as a complete HTTP/1.1 response that closes the
    /// connection (for the WebSocket upgrade, which owns its socket).
    pub(crate) fn to_http1(self) -> Vec<u8> {
        let body = json!({"error": self.code, "message": self.message}).to_string();
        let mut res = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or(""),
            body.len()
        );
        if self.status == StatusCode::UNAUTHORIZED {
            res.push_str("www-authenticate: Bearer\r\n");
        }
        if let Some(secs) = self.retry_after {
            res.push_str(&format!("retry-after: {secs}\r\n"));
        }
        res.push_str("\r\n");
        res.push_str(&body);
        res.into_bytes()
    }

    pub(crate) fn response(self) -> HttpResponse {
        let mut res = error_response(self.status, self.code, self.message);
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// The error body, `{"error": code, "message": …}`.
pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let mut res = HttpResponse::build(status).json(json!({"error": code, "message": message}));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

const NOT_FOUND: Refusal = Refusal::new(
    StatusCode::NOT_FOUND,
    "not_found",
    "No connection with that ID.",
);
const ENDED: Refusal = Refusal::new(
    StatusCode::NOT_FOUND,
    "not_found",
    "The connection has ended.",
);

fn parse_query(head: &RequestHead) -> Result<HubQuery, Refusal> {
    web::Query::<HubQuery>::from_query(head.uri.query().unwrap_or_default())
        .map(web::Query::into_inner)
        .map_err(|_| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "The query string could not be parsed.",
            )
        })
}

/// The bearer token of the request: the `Authorization` header wins over the
/// `access_token` parameter.
fn bearer_token<'a>(head: &'a RequestHead, query: &'a HubQuery) -> Option<&'a str> {
    let from_header = head
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    from_header
        .or(query.access_token.as_deref())
        .filter(|t| !t.is_empty())
}

fn authenticate<A: HubApp>(
    hub: &Hub<A>,
    head: &RequestHead,
    query: &HubQuery,
) -> Result<Principal, Refusal> {
    bearer_token(head, query)
        .and_then(|token| hub.inner.app.authenticate(token))
        .filter(|p| {
            p.expires_at
                .is_none_or(|at| at > std::time::SystemTime::now())
        })
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "A valid access token is required.",
            )
        })
}

fn refuse_if_shutting_down<A: HubApp>(hub: &Hub<A>) -> Result<(), Refusal> {
    if hub.is_shutting_down() {
        Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The server is shutting down; reconnect shortly.",
        ))
    } else {
        Ok(())
    }
}

/// The connection named by `id`, if it exists and belongs to `principal`
/// (whose fresher credential then moves the connection's expiry).
fn lookup<A: HubApp>(
    hub: &Hub<A>,
    query: &HubQuery,
    principal: &Principal,
) -> Result<Arc<Connection<A::State>>, Refusal> {
    let Some(id) = query.id.as_deref().filter(|id| !id.is_empty()) else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Connection ID required.",
        ));
    };
    let conn = hub.inner.registry.get(id).ok_or(NOT_FOUND)?;
    if conn.user() != principal.user {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The connection belongs to another user.",
        ));
    }
    conn.set_expiry(Hub::<A>::deadline(principal.expires_at));
    Ok(conn)
}

fn header_contains(head: &RequestHead, name: header::HeaderName, needle: &str) -> bool {
    head.headers().get_all(name).any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains(needle))
    })
}

/// Creates a connection for `principal` within the caps.
fn create<A: HubApp>(
    hub: &Hub<A>,
    principal: Principal,
    how: Create,
) -> Result<Arc<Connection<A::State>>, Refusal> {
    let permit = hub
        .inner
        .caps
        .acquire(&principal.user)
        .map_err(|cap| match cap {
            CapReached::Instance => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "This server holds as many connections as it may; try again shortly.",
            ),
            CapReached::User => Refusal {
                retry_after: Some(5),
                ..Refusal::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "Too many open connections for this user; close one first.",
                )
            },
        })?;
    let conn = hub.inner.registry.create(principal.user, how, Some(permit));
    conn.set_expiry(Hub::<A>::deadline(principal.expires_at));
    Ok(conn)
}

/// `POST {path}/negotiate`.
fn negotiate<A: HubApp>(hub: &Hub<A>, req: &HttpRequest) -> HttpResponse {
    hub.ensure_maintenance();
    try_negotiate(hub, req).unwrap_or_else(Refusal::response)
}

fn rate_limit<A: HubApp>(hub: &Hub<A>, req: &HttpRequest) -> Result<(), Refusal> {
    let (Some(limiter), Some(peer)) = (&hub.inner.rate, req.peer_addr()) else {
        return Ok(());
    };
    limiter.check(peer.ip()).map_err(|wait: Duration| Refusal {
        retry_after: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
        ..Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many connection attempts; wait before trying again.",
        )
    })
}

fn try_negotiate<A: HubApp>(hub: &Hub<A>, req: &HttpRequest) -> Result<HttpResponse, Refusal> {
    rate_limit(hub, req)?;
    let query = parse_query(req.head())?;
    let principal = authenticate(hub, req.head(), &query)?;
    refuse_if_shutting_down(hub)?;
    let version: u32 = match query.negotiate_version.as_deref() {
        None => 0,
        Some(v) => v.parse().map_err(|_| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "negotiateVersion must be a non-negative integer.",
            )
        })?,
    };
    let v1 = version >= 1;
    // Offered only to clients that ask: the official client refuses a
    // negotiate that offers it unasked.
    let stateful = hub.config().stateful_reconnect
        && query
            .use_stateful_reconnect
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let conn = create(
        hub,
        principal,
        Create {
            with_token: v1,
            stateful,
        },
    )?;
    tracing::debug!(connection_id = %conn.id(), user = %conn.user(), negotiate_version = u32::from(v1), stateful, "hub connection negotiated");
    let mut transports = vec![
        json!({"transport": "ServerSentEvents", "transferFormats": ["Text"]}),
        json!({"transport": "LongPolling", "transferFormats": ["Text", "Binary"]}),
    ];
    // Only when the server hands upgrades to the hub (`websocket_upgrade`).
    if hub.inner.serves_websockets.load(Ordering::Acquire) {
        transports.insert(
            0,
            json!({"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}),
        );
    }
    let mut body = json!({
        "connectionId": conn.id(),
        "negotiateVersion": u32::from(v1),
        "availableTransports": transports,
    });
    if v1 {
        body["connectionToken"] = json!(conn.identity.key);
    }
    if stateful {
        body["useStatefulReconnect"] = json!(true);
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// `GET {path}`: start a Server-Sent Events stream, or poll.
///
/// WebSocket upgrades never get here when the application installed
/// [`Hub::websocket_upgrade`], which takes the socket off the HTTP
/// dispatcher; without it negotiate does not offer WebSockets, and a
/// client that tries anyway is refused with 501.
async fn connect<A: HubApp>(hub: &Hub<A>, req: &HttpRequest) -> HttpResponse {
    hub.ensure_maintenance();
    let result = (|| {
        let query = parse_query(req.head())?;
        let principal = authenticate(hub, req.head(), &query)?;
        if header_contains(req.head(), header::UPGRADE, "websocket") {
            return Err(Refusal::new(
                StatusCode::NOT_IMPLEMENTED,
                "not_implemented",
                "WebSockets are served by the hub's upgrade handler (Hub::websocket_upgrade), which this server does not install.",
            ));
        }
        lookup(hub, &query, &principal)
    })();
    let conn = match result {
        Ok(conn) => conn,
        Err(refusal) => return refusal.response(),
    };
    if header_contains(req.head(), header::ACCEPT, "text/event-stream") {
        sse::start(hub, conn)
    } else {
        long_polling::poll(hub, conn).await
    }
}

/// The connection a WebSocket upgrade request addresses: checked like
/// every hub request (token, `id`, owner); without `id`
/// (`skipNegotiation`) a new one, addressed by its id like a v0 one.
pub(crate) fn websocket_connection<A: HubApp>(
    hub: &Hub<A>,
    head: &RequestHead,
) -> Result<Arc<Connection<A::State>>, Refusal> {
    hub.ensure_maintenance();
    let query = parse_query(head)?;
    let principal = authenticate(hub, head, &query)?;
    if query.id.is_none() {
        refuse_if_shutting_down(hub)?;
        create(hub, principal, Create::default())
    } else {
        lookup(hub, &query, &principal)
    }
}

/// `POST {path}?id=…`: messages from an SSE or Long Polling client.
/// Answered 200 once every message in the body has been processed.
async fn send<A: HubApp>(hub: &Hub<A>, req: &HttpRequest, mut body: web::Payload) -> HttpResponse {
    let conn = match (|| {
        let query = parse_query(req.head())?;
        let principal = authenticate(hub, req.head(), &query)?;
        lookup(hub, &query, &principal)
    })() {
        Ok(conn) => conn,
        Err(refusal) => return refusal.response(),
    };
    match conn.transport() {
        Some(Transport::ServerSentEvents | Transport::LongPolling) => {}
        Some(Transport::WebSockets) => {
            return Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "WebSockets connections send over the socket, not with POST.",
            )
            .response()
        }
        None => {
            return Refusal::new(
                StatusCode::CONFLICT,
                "conflict",
                "The connection has not been started.",
            )
            .response()
        }
    }
    if conn.is_ended() {
        return ENDED.response();
    }
    conn.touch();
    let mut inbound = conn.inbound.lock().await;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(bytes) => {
                let flow = dispatch::receive(
                    &hub.inner.app,
                    &hub.inner.config,
                    &conn,
                    &mut inbound,
                    &bytes,
                )
                .await;
                if flow == Flow::Stop {
                    break;
                }
            }
            Err(error) => {
                tracing::debug!(connection_id = %conn.id(), %error, "hub POST body could not be read");
                return Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "The request body could not be read.",
                )
                .response();
            }
        }
    }
    drop(inbound);
    conn.touch();
    HttpResponse::Ok().content_type("text/plain").finish()
}

/// `DELETE {path}?id=…`: the Long Polling client is leaving. A poll still
/// waiting answers 204.
fn delete<A: HubApp>(hub: &Hub<A>, req: &HttpRequest) -> HttpResponse {
    let result = (|| -> Result<HttpResponse, Refusal> {
        let query = parse_query(req.head())?;
        let principal = authenticate(hub, req.head(), &query)?;
        let conn = lookup(hub, &query, &principal)?;
        if conn.transport() != Some(Transport::LongPolling) {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Only Long Polling connections are ended with DELETE.",
            ));
        }
        if !conn.is_ended() {
            tracing::debug!(connection_id = %conn.id(), user = %conn.user(), transport = "long_polling", "hub connection closed by client");
        }
        conn.abort();
        hub.inner.registry.remove(&conn);
        Ok(HttpResponse::Accepted().content_type("text/plain").finish())
    })();
    result.unwrap_or_else(Refusal::response)
}

#[cfg(test)]
mod tests;
