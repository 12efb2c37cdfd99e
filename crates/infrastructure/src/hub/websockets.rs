//! The WebSockets transport over actix-ws: one reader task and one writer
//! task per connection.
//!
//! The writer is the only code that writes to the socket, so messages go out
//! in queue order; it owns the connection's lifecycle and, when it stops,
//! ends the connection and removes it from the registry. The reader feeds
//! every frame to [`connection::receive`]; a frame is only the transport's
//! unit, records are delimited by `0x1E`, so continuation frames are simply
//! fed as they come.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, Item, Message, MessageStream, ProtocolError, Session};
use tokio::sync::mpsc;

use super::connection::{self, Flow};
use super::http::error_response;
use super::protocol::{self, Frame, MessageTooLarge};
use super::registry::{BindError, Connection, Outbound, Transport};
use super::Hub;

/// How long a farewell (Close message, close frame) may take to go out
/// before the socket is dropped regardless.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(1);

/// Upgrades the request and starts the connection's tasks.
pub(crate) fn start(
    hub: &Hub,
    conn: Arc<Connection>,
    req: &HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    if conn.is_ended() {
        return error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "The connection has ended.",
        );
    }
    match conn.bind(Transport::WebSockets) {
        Ok(()) => {}
        Err(BindError::AlreadyBound) => {
            return error_response(
                StatusCode::CONFLICT,
                "conflict",
                "Another WebSocket is already attached to this connection.",
            )
        }
        Err(BindError::OtherTransport(_)) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Cannot change transports mid-connection.",
            )
        }
    }
    let registry = hub.inner().registry();
    let (response, session, stream) = match actix_ws::handle(req, body) {
        Ok(parts) => parts,
        Err(error) => {
            conn.abort();
            registry.remove(&conn);
            return error.error_response();
        }
    };
    let Some(rx) = conn.rx.try_lock().ok().and_then(|mut rx| rx.take()) else {
        // Unreachable: the queue is taken only by the transport that binds.
        conn.abort();
        registry.remove(&conn);
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The connection could not be started.",
        );
    };
    tracing::debug!(connection_id = %conn.id, user_id = conn.user.user_id, transport = "websockets", "hub connection opened");
    // Ample room for several records per frame; the framer enforces the
    // per-message limit with a proper Close message.
    let frame_limit = hub
        .inner()
        .config()
        .max_message_size
        .saturating_mul(4)
        .max(64 * 1024);
    actix_web::rt::spawn(writer(hub.clone(), Arc::clone(&conn), session.clone(), rx));
    actix_web::rt::spawn(reader(
        hub.clone(),
        conn,
        session,
        stream.max_frame_size(frame_limit),
    ));
    response
}

async fn farewell(session: &mut Session, frame: &Frame) {
    let _ = tokio::time::timeout(FAREWELL_TIMEOUT, session.text(frame.text())).await;
}

/// Drains the queue to the socket until a Close, an abort, or a dead socket.
async fn writer(
    hub: Hub,
    conn: Arc<Connection>,
    mut session: Session,
    mut rx: mpsc::Receiver<Outbound>,
) {
    // One registration with the cancellation token for the connection's
    // whole life, not one per message: this loop runs once per record per
    // connection, so it is the hot path of every broadcast.
    let ended = conn.ended.cancelled();
    tokio::pin!(ended);
    loop {
        let next = tokio::select! {
            biased;
            () = &mut ended => {
                if let Some(frame) = conn.take_urgent_farewell() {
                    farewell(&mut session, &frame).await;
                }
                break;
            }
            next = rx.recv() => next,
        };
        match next {
            Some(Outbound::Record(frame)) => {
                let sent = tokio::select! {
                    biased;
                    // Aborted mid-write: the next turn handles it.
                    () = &mut ended => continue,
                    sent = session.text(frame.text()) => sent.is_ok(),
                };
                if !sent {
                    break;
                }
            }
            Some(Outbound::Close(frame)) => {
                if let Some(frame) = frame {
                    farewell(&mut session, &frame).await;
                }
                break;
            }
            None => break,
        }
    }
    conn.finish();
    hub.inner().registry().remove(&conn);
    let _ = tokio::time::timeout(
        FAREWELL_TIMEOUT,
        session.close(Some(CloseCode::Normal.into())),
    )
    .await;
    tracing::debug!(connection_id = %conn.id, user_id = conn.user.user_id, transport = "websockets", "hub connection closed");
}

/// Feeds incoming frames to the protocol until the client leaves or the
/// connection ends.
async fn reader(hub: Hub, conn: Arc<Connection>, mut session: Session, mut stream: MessageStream) {
    let backend = hub.inner().backend();
    let mut inbound = conn.inbound.lock().await;
    loop {
        let message = tokio::select! {
            biased;
            () = conn.ended.cancelled() => break,
            message = stream.recv() => message,
        };
        let flow = match message {
            Some(Ok(Message::Text(text))) => {
                connection::receive(backend, &conn, &mut inbound, text.as_bytes()).await
            }
            Some(Ok(Message::Binary(bytes))) => {
                connection::receive(backend, &conn, &mut inbound, &bytes).await
            }
            Some(Ok(Message::Continuation(
                Item::FirstText(bytes)
                | Item::FirstBinary(bytes)
                | Item::Continue(bytes)
                | Item::Last(bytes),
            ))) => connection::receive(backend, &conn, &mut inbound, &bytes).await,
            Some(Ok(Message::Ping(payload))) => {
                conn.touch();
                let _ = session.pong(&payload).await;
                Flow::Continue
            }
            Some(Ok(Message::Pong(_))) => {
                conn.touch();
                Flow::Continue
            }
            Some(Ok(Message::Nop)) => Flow::Continue,
            Some(Ok(Message::Close(_))) | None => {
                conn.abort();
                Flow::Stop
            }
            Some(Err(ProtocolError::Overflow)) => {
                let limit = hub.inner().config().max_message_size;
                tracing::warn!(connection_id = %conn.id, limit, "WebSocket frame too large; closing the connection");
                let error = MessageTooLarge { limit }.to_string();
                conn.close_with_message(protocol::close_frame(Some(&error), false));
                Flow::Stop
            }
            Some(Err(error)) => {
                tracing::debug!(connection_id = %conn.id, %error, "WebSocket protocol error");
                conn.abort();
                Flow::Stop
            }
        };
        if flow == Flow::Stop {
            break;
        }
    }
}
