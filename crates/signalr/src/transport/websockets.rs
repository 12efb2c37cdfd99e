//! The WebSockets transport over actix-ws: one reader task and one writer
//! task per socket.
//!
//! The writer is the only code that writes to the socket, so messages go out
//! in queue order. It holds the queue's lock for the socket's life, and with
//! stateful reconnect it numbers and buffers every trackable message before
//! writing it. The reader feeds every frame to the dispatcher; records are
//! delimited by the protocol, not by frames, so continuation frames are fed
//! as they come.
//!
//! A socket that is lost without a close frame ends the connection — unless
//! stateful reconnect is on: then the connection is *detached* and waits
//! (`reconnect_window`) for the client to come back with the same `id`. The
//! new socket cuts the old one (if the server had not noticed yet), waits for
//! its tasks to let go, sends `Sequence` and replays what the client did not
//! acknowledge, then carries on with the queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, Item, Message, MessageStream, ProtocolError, Session};
use tokio_util::sync::CancellationToken;

use crate::app::HubApp;
use crate::connection::{BindError, Connection, Outbound, Transport};
use crate::dispatch::{self, Flow};
use crate::http::error_response;
use crate::lifecycle::{Event, Phase};
use crate::protocol::{self, Frame, MessageTooLarge, Protocol};
use crate::Hub;

/// How long a farewell (Close message, close frame) may take to go out
/// before the socket is dropped regardless.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(1);

/// Numbers the sockets of all connections, so a late "socket lost" from an
/// old socket cannot detach a connection that already resumed on a new one.
static SOCKETS: AtomicU64 = AtomicU64::new(1);

/// One socket of a connection: its number and the token that cuts it.
#[derive(Debug, Clone)]
pub(crate) struct Socket {
    number: u64,
    cut: CancellationToken,
}

/// Upgrades the request and starts the socket's tasks.
pub(crate) fn start<A: HubApp>(
    hub: &Hub<A>,
    conn: Arc<Connection<A::State>>,
    req: &HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    if conn.is_ended() || conn.is_closing() {
        return error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "The connection has ended.",
        );
    }
    let resuming = match conn.bind(Transport::WebSockets) {
        Ok(()) => false,
        Err(BindError::AlreadyBound)
            if conn.is_stateful() && matches!(conn.phase(), Phase::Open | Phase::Detached) =>
        {
            true
        }
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
    };
    let (response, session, stream) = match actix_ws::handle(req, body) {
        Ok(parts) => parts,
        Err(error) => {
            if !resuming {
                conn.abort();
                hub.inner.registry.remove(&conn);
            }
            return error.error_response();
        }
    };
    let socket = Socket {
        number: SOCKETS.fetch_add(1, Ordering::Relaxed),
        cut: conn.ended.child_token(),
    };
    {
        let mut current = conn.socket.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = current.replace((socket.number, socket.cut.clone())) {
            old.1.cancel();
        }
        if resuming {
            let _ = conn.transition(Event::Resume);
        }
    }
    conn.touch();
    tracing::debug!(connection_id = %conn.id(), user = %conn.user(), transport = "websockets", resuming, "hub connection opened");
    // Ample room for several messages per frame; the framer enforces the
    // per-message limit with a proper Close message.
    let frame_limit = hub
        .config()
        .max_message_size
        .saturating_mul(4)
        .max(64 * 1024);
    hub.spawn(writer(
        hub.clone(),
        Arc::clone(&conn),
        session.clone(),
        socket.clone(),
        resuming,
    ));
    hub.spawn(reader(
        hub.clone(),
        conn,
        session,
        stream.max_frame_size(frame_limit),
        socket,
        resuming,
    ));
    response
}

/// The socket is gone: a stateful connection detaches (if this socket is
/// still its current one), any other ends.
fn lost<S>(conn: &Connection<S>, socket: &Socket) {
    if conn.is_stateful() {
        let mut current = conn.socket.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|(n, _)| *n == socket.number) {
            *current = None;
            socket.cut.cancel();
            if conn.transition(Event::Detach).is_ok() {
                tracing::debug!(connection_id = %conn.id(), "hub WebSocket lost; waiting for the client to reconnect");
            }
        }
    } else {
        conn.abort();
    }
}

/// Writes one frame in the connection's protocol.
async fn write(session: &mut Session, protocol: Option<Protocol>, frame: &Frame) -> bool {
    match protocol {
        Some(Protocol::MessagePack) => session
            .binary(frame.encoded(Protocol::MessagePack))
            .await
            .is_ok(),
        _ => session.text(frame.json_string()).await.is_ok(),
    }
}

async fn farewell(session: &mut Session, protocol: Option<Protocol>, frame: &Frame) {
    let _ = tokio::time::timeout(FAREWELL_TIMEOUT, write(session, protocol, frame)).await;
}

/// Drains the queue to the socket until a Close, the end, a dead socket or
/// a newer socket.
async fn writer<A: HubApp>(
    hub: Hub<A>,
    conn: Arc<Connection<A::State>>,
    mut session: Session,
    socket: Socket,
    resuming: bool,
) {
    // One registration with each token for the socket's whole life, not one
    // per message: this loop runs once per message per connection, so it is
    // the hot path of every broadcast.
    let ended = conn.ended.cancelled();
    tokio::pin!(ended);
    let cut = socket.cut.cancelled();
    tokio::pin!(cut);
    // Waits for the previous socket's writer to let go of the queue.
    let mut rx = tokio::select! {
        biased;
        () = &mut cut => return,
        rx = conn.rx.lock() => rx,
    };
    let protocol = conn.protocol();
    let mut alive = true;
    if resuming {
        if let Some(replay) = conn.replay.get() {
            let (first, frames) = replay.resume();
            alive = write(&mut session, protocol, &protocol::sequence_frame(first)).await;
            for frame in &frames {
                if !alive {
                    break;
                }
                alive = write(&mut session, protocol, frame).await;
            }
        }
    }
    let mut finished = true;
    while alive {
        let next = tokio::select! {
            biased;
            () = &mut ended => {
                if let Some(frame) = conn.take_urgent_farewell() {
                    farewell(&mut session, conn.protocol(), &frame).await;
                }
                break;
            }
            () = &mut cut => {
                finished = conn.is_ended();
                break;
            }
            next = rx.recv() => next,
        };
        match next {
            Some(Outbound::Record(frame)) => {
                // The handshake reply is what sets the protocol.
                let protocol = conn.protocol();
                if let Some(replay) = conn.replay.get().filter(|_| frame.is_trackable()) {
                    let len = frame.encoded(protocol.unwrap_or(Protocol::Json)).len();
                    if replay.record(&frame, len).is_err() {
                        tracing::warn!(connection_id = %conn.id(), "stateful reconnect buffer full (client not acknowledging)");
                        conn.evict();
                        continue;
                    }
                }
                let sent = tokio::select! {
                    biased;
                    // Aborted mid-write: the next turn handles it.
                    () = &mut ended => continue,
                    sent = write(&mut session, protocol, &frame) => sent,
                };
                if !sent {
                    alive = false;
                }
            }
            Some(Outbound::Close(frame)) => {
                if let Some(frame) = frame {
                    farewell(&mut session, conn.protocol(), &frame).await;
                }
                conn.abort();
                break;
            }
            None => break,
        }
    }
    if !alive {
        lost(&conn, &socket);
        finished = conn.is_ended();
    }
    drop(rx);
    if finished {
        conn.abort();
        hub.inner.registry.remove(&conn);
        let _ = tokio::time::timeout(
            FAREWELL_TIMEOUT,
            session.close(Some(CloseCode::Normal.into())),
        )
        .await;
        tracing::debug!(connection_id = %conn.id(), user = %conn.user(), transport = "websockets", "hub connection closed");
    } else {
        let _ = session.close(None).await;
    }
}

/// Feeds incoming frames to the dispatcher until the client leaves, the
/// connection ends, or a newer socket takes over.
async fn reader<A: HubApp>(
    hub: Hub<A>,
    conn: Arc<Connection<A::State>>,
    mut session: Session,
    mut stream: MessageStream,
    socket: Socket,
    resuming: bool,
) {
    let app = &hub.inner.app;
    let config = &hub.inner.config;
    let cut = socket.cut.cancelled();
    tokio::pin!(cut);
    let mut inbound = tokio::select! {
        biased;
        () = &mut cut => return,
        inbound = conn.inbound.lock() => inbound,
    };
    if resuming {
        dispatch::resume(&mut inbound);
    }
    loop {
        let message = tokio::select! {
            biased;
            () = &mut cut => break,
            message = stream.recv() => message,
        };
        let flow = match message {
            Some(Ok(Message::Text(text))) => {
                dispatch::receive(app, config, &conn, &mut inbound, text.as_bytes()).await
            }
            Some(Ok(Message::Binary(bytes))) => {
                dispatch::receive(app, config, &conn, &mut inbound, &bytes).await
            }
            Some(Ok(Message::Continuation(
                Item::FirstText(bytes)
                | Item::FirstBinary(bytes)
                | Item::Continue(bytes)
                | Item::Last(bytes),
            ))) => dispatch::receive(app, config, &conn, &mut inbound, &bytes).await,
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
            // A close frame is the client leaving on purpose.
            Some(Ok(Message::Close(_))) => {
                conn.abort();
                Flow::Stop
            }
            Some(Err(ProtocolError::Overflow)) => {
                let limit = config.max_message_size;
                tracing::warn!(connection_id = %conn.id(), limit, "WebSocket frame too large; closing the connection");
                let error = MessageTooLarge { limit }.to_string();
                conn.close_with_message(protocol::close_frame(Some(&error), false));
                Flow::Stop
            }
            // The socket broke (or the peer vanished without a close frame).
            Some(Err(error)) => {
                tracing::debug!(connection_id = %conn.id(), %error, "WebSocket protocol error");
                lost(&conn, &socket);
                Flow::Stop
            }
            None => {
                lost(&conn, &socket);
                Flow::Stop
            }
        };
        if flow == Flow::Stop {
            break;
        }
    }
}
