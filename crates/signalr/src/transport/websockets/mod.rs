//! The WebSockets transport, off actix-http's dispatcher: after the upgrade
//! the hub owns the TCP socket outright.
//!
//! actix-http hands an upgrade request and its socket to the service given
//! to `HttpService::build().upgrade(…)` ([`Hub::websocket_upgrade`]). There
//! the hub checks the request like any other hub request (token, `id`,
//! owner), answers `101 Switching Protocols` itself, and runs one task per
//! socket. An idle connection then holds no buffer at all: no HTTP
//! dispatcher with its 8 KiB read and write buffers, no streaming body, no
//! message queue.
//!
//! * **Out**: publishers write frames straight to the socket
//!   ([`SocketOutlet`]); the task only flushes a backlog when the
//!   kernel buffer was full, and finishes a close.
//! * **In**: the task reads when the socket is readable, parses frames
//!   (actix-http's WebSocket parser; client frames are masked) and feeds
//!   Text, Binary and continuation payloads to the dispatcher: records are
//!   delimited by the hub protocol, not by frames. Pings are answered.
//!
//! A socket that is lost without a close frame ends the connection — unless
//! stateful reconnect is on: then the connection is *detached* and waits
//! (`reconnect_window`) for the client to come back with the same `id`. The
//! new socket shuts the old one down (if the server had not noticed yet),
//! waits for its task to let go of the incoming side, and gets `Sequence`
//! and every message the client had not acknowledged before anything new.

use std::io;
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_codec::Framed;
use actix_http::ws::{self as wsproto, CloseCode, OpCode, Parser, ProtocolError};
use actix_http::{h1, Request, RequestHead, StatusCode};
use bytes::BytesMut;
use tokio::net::TcpStream;

use crate::app::HubApp;
use crate::connection::{BindError, Connection};
use crate::dispatch::{self, Flow};
use crate::http::{self as hub_http, Refusal};
use crate::lifecycle::{Event, Phase};
use crate::outlet::{Flush, SocketOutlet};
use crate::protocol::{self, MessageTooLarge};
use crate::Hub;

/// How long the `101` answer, a refusal, or the closing frame may take to
/// go out before the socket is dropped regardless.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(1);

/// Numbers the sockets of all connections, so a late "socket lost" from an
/// old socket cannot detach a connection that already resumed on a new one.
static SOCKETS: AtomicU64 = AtomicU64::new(1);

/// Serves one upgrade request that actix-http handed over with its socket.
pub(crate) async fn upgrade<A: HubApp>(
    hub: Hub<A>,
    req: Request,
    framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), actix_http::Error> {
    let parts = framed.into_parts();
    let stream = parts.io;
    // Whatever the client sent after its request head (its first frames).
    let early = parts.read_buf;
    let head = req.head();
    let accepted = accept(&hub, head);
    let Accepted { conn, resuming } = match accepted {
        Ok(accepted) => accepted,
        Err(refusal) => {
            let _ = tokio::time::timeout(FAREWELL_TIMEOUT, write_all(&stream, &refusal.to_http1()))
                .await;
            return Ok(());
        }
    };
    let key = head
        .headers()
        .get(actix_http::header::SEC_WEBSOCKET_KEY)
        .map(|k| wsproto::hash_key(k.as_bytes()))
        .unwrap_or_default();
    let mut answer = Vec::with_capacity(160);
    answer.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: ",
    );
    answer.extend_from_slice(&key);
    answer.extend_from_slice(b"\r\n\r\n");
    let _ = stream.set_nodelay(true);
    let sent = tokio::time::timeout(FAREWELL_TIMEOUT, write_all(&stream, &answer)).await;
    if !matches!(sent, Ok(Ok(()))) {
        if !resuming {
            conn.abort();
            hub.inner.registry.remove(&conn);
        }
        return Ok(());
    }
    let stream = Arc::new(stream);
    let number = SOCKETS.fetch_add(1, Ordering::Relaxed);
    let Some(out) = conn.socket_outlet() else {
        return Ok(());
    };
    let protocol = conn.protocol().unwrap_or(protocol::Protocol::Json);
    let resume = if resuming {
        conn.replay.get().map(|replay| (replay, protocol))
    } else {
        None
    };
    if let Some(old) = out.attach(number, Arc::clone(&stream), resume) {
        // The client came back before the server noticed the old socket
        // was gone: cut it, so its task lets go.
        let _ = socket2::SockRef::from(&*old).shutdown(Shutdown::Both);
    }
    if resuming {
        let _ = conn.transition(Event::Resume);
    }
    conn.touch();
    tracing::debug!(connection_id = %conn.id(), user = %conn.user(), transport = "websockets", resuming, "hub connection opened");
    let early = (!early.is_empty()).then_some(early);
    hub.spawn(run(hub.clone(), conn, stream, number, early, resuming));
    Ok(())
}

/// An upgrade request the hub takes.
struct Accepted<S> {
    conn: Arc<Connection<S>>,
    /// A stateful connection comes back on a new socket.
    resuming: bool,
}

/// Checks the upgrade request and finds (or, for `skipNegotiation`,
/// creates) its connection.
fn accept<A: HubApp>(hub: &Hub<A>, head: &RequestHead) -> Result<Accepted<A::State>, Refusal> {
    let path = hub.config().path.trim_end_matches('/');
    if head.uri.path().trim_end_matches('/') != path {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No WebSocket endpoint at this path.",
        ));
    }
    if wsproto::verify_handshake(head).is_err() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Not a valid WebSocket upgrade request (RFC 6455, version 13).",
        ));
    }
    let conn = hub_http::websocket_connection(hub, head)?;
    if conn.is_ended() || conn.is_closing() {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "The connection has ended.",
        ));
    }
    match conn.bind_socket() {
        Ok(()) => Ok(Accepted {
            conn,
            resuming: false,
        }),
        Err(BindError::AlreadyBound)
            if conn.is_stateful() && matches!(conn.phase(), Phase::Open | Phase::Detached) =>
        {
            Ok(Accepted {
                conn,
                resuming: true,
            })
        }
        Err(BindError::AlreadyBound) => Err(Refusal::new(
            StatusCode::CONFLICT,
            "conflict",
            "Another WebSocket is already attached to this connection.",
        )),
        Err(BindError::OtherTransport(_)) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Cannot change transports mid-connection.",
        )),
    }
}

/// Writes all of `bytes`, waiting for the socket as needed.
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads what the socket has into `pending` (allocated only while there
/// is something in it). `Ok(0)` is the end of the stream.
fn read_available(stream: &TcpStream, pending: &mut Option<BytesMut>) -> io::Result<usize> {
    let mut scratch = [0u8; 8 * 1024];
    let n = stream.try_read(&mut scratch)?;
    if n > 0 {
        pending
            .get_or_insert_with(|| BytesMut::with_capacity(n))
            .extend_from_slice(&scratch[..n]);
    }
    Ok(n)
}

/// How the socket's task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The connection is over: say goodbye with a close frame.
    Finished,
    /// The socket broke or the client vanished.
    Lost,
    /// A newer socket took over (stateful reconnect).
    Replaced,
}

/// The socket's one task: flushes backlogs, finishes closes, reads and
/// dispatches what the client sends.
async fn run<A: HubApp>(
    hub: Hub<A>,
    conn: Arc<Connection<A::State>>,
    stream: Arc<TcpStream>,
    number: u64,
    mut pending: Option<BytesMut>,
    resuming: bool,
) {
    let Some(out) = conn.socket_outlet() else {
        return;
    };
    // Waits for the previous socket's task to let go of the incoming side.
    let mut inbound = tokio::select! {
        biased;
        () = conn.ended.cancelled() => return,
        inbound = conn.inbound.lock() => inbound,
    };
    if !out.is_current(number) {
        return;
    }
    if resuming {
        dispatch::resume(&mut inbound);
    }
    let app = &hub.inner.app;
    let config = &hub.inner.config;
    // Ample room for several messages per frame; the framer enforces the
    // per-message limit with a proper Close message.
    let frame_limit = config.max_message_size.saturating_mul(4).max(64 * 1024);
    let mut reading = true;
    let mut blocked = false;
    let end = 'socket: loop {
        // Frames already read (or handed over with the upgrade) first.
        while reading {
            let Some(buf) = pending.as_mut() else { break };
            let parsed = Parser::parse(buf, true, frame_limit);
            if buf.is_empty() {
                pending = None;
            }
            let (fin, opcode, payload) = match parsed {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(ProtocolError::Overflow) => {
                    let limit = config.max_message_size;
                    tracing::warn!(connection_id = %conn.id(), limit, "WebSocket frame too large; closing the connection");
                    let error = MessageTooLarge { limit }.to_string();
                    conn.close_with_message(protocol::close_frame(Some(&error), false));
                    reading = false;
                    pending = None;
                    break;
                }
                Err(error) => {
                    tracing::debug!(connection_id = %conn.id(), %error, "WebSocket protocol error");
                    break 'socket End::Lost;
                }
            };
            let _ = fin;
            let payload = payload.map(BytesMut::freeze).unwrap_or_default();
            match opcode {
                OpCode::Text | OpCode::Binary | OpCode::Continue => {
                    if dispatch::receive(app, config, &conn, &mut inbound, &payload).await
                        == Flow::Stop
                    {
                        reading = false;
                        pending = None;
                    }
                }
                OpCode::Ping => {
                    conn.touch();
                    let mut pong = BytesMut::with_capacity(payload.len() + 2);
                    Parser::write_message(&mut pong, &payload, OpCode::Pong, true, false);
                    out.deliver_raw(pong.freeze());
                }
                OpCode::Pong => conn.touch(),
                // The client leaves on purpose.
                OpCode::Close => {
                    conn.abort();
                    break 'socket End::Finished;
                }
                OpCode::Bad => break 'socket End::Lost,
            }
        }
        if out.wants_flush() {
            match out.flush(number) {
                Flush::Idle => blocked = false,
                Flush::Blocked => blocked = true,
                Flush::Finished => break End::Finished,
                Flush::Broken if out.is_current(number) => break End::Lost,
                Flush::Broken => break End::Replaced,
            }
        }
        tokio::select! {
            biased;
            () = conn.ended.cancelled() => break End::Finished,
            () = out.woken() => {}
            ready = stream.writable(), if blocked => {
                if ready.is_err() {
                    break End::Lost;
                }
            }
            ready = stream.readable(), if reading => {
                if ready.is_err() {
                    break End::Lost;
                }
                match read_available(&stream, &mut pending) {
                    Ok(0) => break End::Lost,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => break End::Lost,
                }
            }
        }
    };
    drop(inbound);
    finish(&hub, &conn, out, &stream, number, end).await;
}

/// What happens when the socket's task stops.
async fn finish<A: HubApp>(
    hub: &Hub<A>,
    conn: &Arc<Connection<A::State>>,
    out: &SocketOutlet,
    stream: &TcpStream,
    number: u64,
    end: End,
) {
    let end = match end {
        End::Lost if conn.is_stateful() && !conn.is_ended() => {
            if out.detach(number) {
                if conn.transition(Event::Detach).is_ok() {
                    tracing::debug!(connection_id = %conn.id(), "hub WebSocket lost; waiting for the client to reconnect");
                }
                End::Lost
            } else {
                End::Replaced
            }
        }
        End::Lost => {
            conn.abort();
            End::Lost
        }
        other => other,
    };
    if end == End::Replaced {
        // The new socket's task may have missed a wake-up meant for it.
        out.nudge();
        return;
    }
    if end == End::Lost && !conn.is_ended() {
        return;
    }
    conn.abort();
    hub.inner.registry.remove(conn);
    if end == End::Finished {
        // Whatever the farewell left unwritten goes first, then the close frame.
        let _ = tokio::time::timeout(FAREWELL_TIMEOUT, drain(out, stream, number)).await;
        if out.detach(number) {
            let mut close = BytesMut::new();
            Parser::write_close(&mut close, Some(CloseCode::Normal.into()), false);
            let _ = tokio::time::timeout(FAREWELL_TIMEOUT, write_all(stream, &close)).await;
        }
    }
    let _ = socket2::SockRef::from(stream).shutdown(Shutdown::Both);
    tracing::debug!(connection_id = %conn.id(), user = %conn.user(), transport = "websockets", "hub connection closed");
}

/// Writes out the backlog of socket `number`, waiting for the socket.
async fn drain(out: &SocketOutlet, stream: &TcpStream, number: u64) {
    while out.flush(number) == Flush::Blocked {
        if stream.writable().await.is_err() {
            return;
        }
    }
}

/// Raw bytes for tests: a WebSocket frame as the server writes it.
#[cfg(test)]
pub(crate) fn server_frame(payload: &[u8], opcode: OpCode) -> bytes::Bytes {
    let mut frame = BytesMut::new();
    Parser::write_message(&mut frame, payload, opcode, true, false);
    frame.freeze()
}
