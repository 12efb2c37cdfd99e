//! The hub's HTTP surface: negotiate, and the one URL every transport
//! shares, `/hubs/notifications`, whose method and headers decide what a
//! request is:
//!
//! | request | meaning |
//! |---|---|
//! | `POST …/negotiate[?negotiateVersion=1]` | create a connection, list transports |
//! | `GET ?id=…` with `Upgrade: websocket` | WebSockets (without `id`: `skipNegotiation`) |
//! | `GET ?id=…` with `Accept: text/event-stream` | Server-Sent Events stream |
//! | any other `GET ?id=…` | a long poll |
//! | `POST ?id=…` | client → server messages for SSE and Long Polling |
//! | `DELETE ?id=…` | end a Long Polling connection |
//!
//! Every request must carry a valid JWT, either as `Authorization: Bearer`
//! or as the `access_token` query parameter (browsers cannot set headers on
//! WebSockets and EventSource). A connection may only be used by the user who
//! negotiated it. Errors use the API's JSON error body.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::json;

use super::connection::{self, Flow};
use super::registry::{Connection, Transport};
use super::{long_polling, sse, websockets, Hub, HubUser};

/// Where the hub lives.
pub(crate) const HUB_PATH: &str = "/hubs/notifications";
/// Where clients negotiate.
pub(crate) const NEGOTIATE_PATH: &str = "/hubs/notifications/negotiate";

pub(crate) fn configure(hub: &Hub, cfg: &mut web::ServiceConfig) {
    let (h1, h2, h3, h4) = (hub.clone(), hub.clone(), hub.clone(), hub.clone());
    cfg.service(
        web::resource(NEGOTIATE_PATH).route(web::post().to(move |req: HttpRequest| {
            let hub = h1.clone();
            async move { negotiate(&hub, &req) }
        })),
    )
    .service(
        web::resource(HUB_PATH)
            .route(web::get().to(move |req: HttpRequest, body: web::Payload| {
                let hub = h2.clone();
                async move { connect(&hub, &req, body).await }
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
    /// JWT for clients that cannot send headers.
    access_token: Option<String>,
    /// Negotiate protocol version the client speaks (absent = 0).
    #[serde(rename = "negotiateVersion")]
    negotiate_version: Option<String>,
}

/// A request the hub turns down, rendered with the API's error body. Small
/// and `Copy`, so the request checks below can return it with `?`.
#[derive(Debug, Clone, Copy)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
}

impl Refusal {
    const fn new(status: StatusCode, code: &'static str, message: &'static str) -> Refusal {
        Refusal {
            status,
            code,
            message,
        }
    }

    fn response(self) -> HttpResponse {
        error_response(self.status, self.code, self.message)
    }
}

/// The API's error body, `{"error": code, "message": …}`.
pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let mut res = HttpResponse::build(status).json(json!({"error": code, "message": message}));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

fn parse_query(req: &HttpRequest) -> Result<HubQuery, Refusal> {
    web::Query::<HubQuery>::from_query(req.query_string())
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
fn bearer_token<'a>(req: &'a HttpRequest, query: &'a HubQuery) -> Option<&'a str> {
    let from_header = req
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

fn authenticate(hub: &Hub, req: &HttpRequest, query: &HubQuery) -> Result<HubUser, Refusal> {
    bearer_token(req, query)
        .and_then(|token| hub.inner().backend().authenticate(token))
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "A valid access token is required.",
            )
        })
}

fn refuse_if_shutting_down(hub: &Hub) -> Result<(), Refusal> {
    if hub.inner().is_shutting_down() {
        Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The server is shutting down; reconnect shortly.",
        ))
    } else {
        Ok(())
    }
}

/// The connection named by `id`, if it exists and belongs to `user`.
fn lookup(hub: &Hub, query: &HubQuery, user: &HubUser) -> Result<Arc<Connection>, Refusal> {
    let Some(id) = query.id.as_deref().filter(|id| !id.is_empty()) else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Connection ID required.",
        ));
    };
    let Some(conn) = hub.inner().registry().get(id) else {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No connection with that ID.",
        ));
    };
    if conn.user.user_id != user.user_id {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The connection belongs to another user.",
        ));
    }
    Ok(conn)
}

fn header_contains(req: &HttpRequest, name: header::HeaderName, needle: &str) -> bool {
    req.headers().get_all(name).any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains(needle))
    })
}

/// `POST /hubs/notifications/negotiate`.
fn negotiate(hub: &Hub, req: &HttpRequest) -> HttpResponse {
    hub.ensure_maintenance();
    try_negotiate(hub, req).unwrap_or_else(Refusal::response)
}

fn try_negotiate(hub: &Hub, req: &HttpRequest) -> Result<HttpResponse, Refusal> {
    let query = parse_query(req)?;
    let user = authenticate(hub, req, &query)?;
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
    let conn = hub.inner().registry().create(user, v1);
    tracing::debug!(connection_id = %conn.id, user_id = conn.user.user_id, negotiate_version = u32::from(v1), "hub connection negotiated");
    // Only the JSON protocol is implemented, so only the Text transfer format
    // is offered; a MessagePack client then fails fast at transport selection.
    let transports = json!([
        {"transport": "WebSockets", "transferFormats": ["Text"]},
        {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
        {"transport": "LongPolling", "transferFormats": ["Text"]},
    ]);
    let body = if v1 {
        json!({
            "connectionId": conn.id,
            "connectionToken": conn.key,
            "negotiateVersion": 1,
            "availableTransports": transports,
        })
    } else {
        json!({
            "connectionId": conn.id,
            "negotiateVersion": 0,
            "availableTransports": transports,
        })
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// `GET /hubs/notifications`: start a transport, or poll.
async fn connect(hub: &Hub, req: &HttpRequest, body: web::Payload) -> HttpResponse {
    hub.ensure_maintenance();
    let query = match parse_query(req) {
        Ok(q) => q,
        Err(refusal) => return refusal.response(),
    };
    let user = match authenticate(hub, req, &query) {
        Ok(u) => u,
        Err(refusal) => return refusal.response(),
    };
    let is_websocket = header_contains(req, header::UPGRADE, "websocket");
    let conn = if query.id.is_none() && is_websocket {
        // skipNegotiation: the client connects straight away; make the
        // connection here, addressed by its id like a v0 one.
        if let Err(refusal) = refuse_if_shutting_down(hub) {
            return refusal.response();
        }
        hub.inner().registry().create(user, false)
    } else {
        match lookup(hub, &query, &user) {
            Ok(conn) => conn,
            Err(refusal) => return refusal.response(),
        }
    };
    if is_websocket {
        websockets::start(hub, conn, req, body)
    } else if header_contains(req, header::ACCEPT, "text/event-stream") {
        sse::start(hub, conn)
    } else {
        long_polling::poll(hub, conn).await
    }
}

/// `POST /hubs/notifications?id=…`: messages from an SSE or Long Polling
/// client. Answered 200 once every record in the body has been processed.
async fn send(hub: &Hub, req: &HttpRequest, mut body: web::Payload) -> HttpResponse {
    let query = match parse_query(req) {
        Ok(q) => q,
        Err(refusal) => return refusal.response(),
    };
    let user = match authenticate(hub, req, &query) {
        Ok(u) => u,
        Err(refusal) => return refusal.response(),
    };
    let conn = match lookup(hub, &query, &user) {
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
        return Refusal::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "The connection has ended.",
        )
        .response();
    }
    conn.touch();
    let mut inbound = conn.inbound.lock().await;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(bytes) => {
                let flow =
                    connection::receive(hub.inner().backend(), &conn, &mut inbound, &bytes).await;
                if flow == Flow::Stop {
                    break;
                }
            }
            Err(error) => {
                tracing::debug!(connection_id = %conn.id, %error, "hub POST body could not be read");
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

/// `DELETE /hubs/notifications?id=…`: the Long Polling client is leaving.
/// A poll still waiting answers 204.
fn delete(hub: &Hub, req: &HttpRequest) -> HttpResponse {
    let result = (|| -> Result<HttpResponse, Refusal> {
        let query = parse_query(req)?;
        let user = authenticate(hub, req, &query)?;
        let conn = lookup(hub, &query, &user)?;
        if conn.transport() != Some(Transport::LongPolling) {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Only Long Polling connections are ended with DELETE.",
            ));
        }
        if !conn.is_ended() {
            tracing::debug!(connection_id = %conn.id, user_id = conn.user.user_id, transport = "long_polling", "hub connection closed by client");
        }
        conn.abort();
        hub.inner().registry().remove(&conn);
        Ok(HttpResponse::Accepted().content_type("text/plain").finish())
    })();
    result.unwrap_or_else(Refusal::response)
}
