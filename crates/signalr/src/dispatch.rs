//! What a connection does with the bytes its client sends, whatever the
//! transport: handshake first, then hub protocol messages, each invocation
//! parsed into the application's typed method and answered with a
//! Completion.
//!
//! Transports call [`receive`] with every chunk they get (a WebSocket frame,
//! a piece of a POST body). Replies are queued on the connection like any
//! other outgoing message, so they interleave correctly with broadcasts.
//! Messages of one connection are processed one at a time, in order (as
//! ASP.NET Core does by default).
//!
//! With stateful reconnect, trackable client messages are numbered as they
//! arrive; after a resume the client's `Sequence` rewinds the count, and
//! messages already processed are skipped, so each runs exactly once. The
//! highest processed id is acknowledged after each chunk.

use std::fmt;

use crate::app::{Caller, HubApp, MethodError};
use crate::connection::{Connection, Transport};
use crate::lifecycle::Event;
use crate::protocol::{self, ClientMessage, Framer, HandshakeError, Outcome, Protocol};
use crate::replay::Replay;
use crate::HubConfig;

/// The incoming half of a connection's protocol state.
pub(crate) struct Inbound {
    /// Reassembles messages across chunks and enforces the size limit.
    pub(crate) framer: Framer,
    /// The handshake has been accepted; its protocol.
    protocol: Option<Protocol>,
    /// Stateful reconnect: id the client's next trackable message has.
    next_id: u64,
    /// Stateful reconnect: highest id processed.
    latest_id: u64,
}

impl fmt::Debug for Inbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbound")
            .field("pending_bytes", &self.framer.pending())
            .field("protocol", &self.protocol)
            .field("latest_id", &self.latest_id)
            .finish()
    }
}

impl Inbound {
    pub(crate) fn new(max_message_size: usize) -> Inbound {
        Inbound {
            framer: Framer::new(max_message_size),
            protocol: None,
            next_id: 1,
            latest_id: 0,
        }
    }
}

/// Whether the transport should keep reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// The connection is closing (its farewell, if any, is queued).
    Stop,
}

/// Processes one chunk of client data for `conn`.
pub(crate) async fn receive<A: HubApp>(
    app: &A,
    config: &HubConfig,
    conn: &Connection<A::State>,
    inbound: &mut Inbound,
    data: &[u8],
) -> Flow {
    conn.touch();
    if conn.is_closing() {
        // The farewell is queued; whatever the client still sends is moot
        // (and the framer may be in an error state).
        return Flow::Stop;
    }
    inbound.framer.push(data);
    let mut ack_due = false;
    let flow = loop {
        let message = match inbound.framer.next_message() {
            Ok(Some(message)) => message,
            Ok(None) => break Flow::Continue,
            Err(too_large) => {
                tracing::warn!(connection_id = %conn.id(), limit = too_large.limit, "hub message too large; closing the connection");
                let error = too_large.to_string();
                if inbound.protocol.is_some() {
                    conn.close(Some(protocol::close_frame(Some(&error), false)));
                } else {
                    let error = HandshakeError::Malformed(error);
                    conn.close(Some(protocol::handshake_error(&error)));
                }
                break Flow::Stop;
            }
        };
        let Some(protocol) = inbound.protocol else {
            if handshake(config, conn, inbound, &message) == Flow::Stop {
                break Flow::Stop;
            }
            continue;
        };
        let message = match protocol::parse_message(protocol, &message) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(connection_id = %conn.id(), %error, "invalid hub message; closing the connection");
                let text = format!("Connection closed with an error. {error}");
                conn.close(Some(protocol::close_frame(Some(&text), false)));
                break Flow::Stop;
            }
        };
        if let Some(replay) = conn.replay.get() {
            match &message {
                ClientMessage::Ack { sequence_id } => {
                    replay.ack(*sequence_id);
                    continue;
                }
                ClientMessage::Sequence { sequence_id } => {
                    if *sequence_id > inbound.latest_id + 1 || *sequence_id == 0 {
                        let text = format!(
                            "Connection closed with an error. Sequence ID {sequence_id} skips messages (last received {}).",
                            inbound.latest_id
                        );
                        conn.close(Some(protocol::close_frame(Some(&text), false)));
                        break Flow::Stop;
                    }
                    inbound.next_id = *sequence_id;
                    continue;
                }
                m if m.is_trackable() => {
                    let id = inbound.next_id;
                    inbound.next_id += 1;
                    if id <= inbound.latest_id {
                        continue; // already processed before the reconnect
                    }
                    inbound.latest_id = id;
                    ack_due = true;
                }
                _ => {}
            }
        }
        if handle_message(app, conn, message).await == Flow::Stop {
            break Flow::Stop;
        }
    };
    if ack_due && flow == Flow::Continue {
        conn.send(protocol::ack_frame(inbound.latest_id));
    }
    flow
}

/// A resumed socket starts without a half-received message.
pub(crate) fn resume(inbound: &mut Inbound) {
    inbound.framer.reset();
}

fn handshake<S>(
    config: &HubConfig,
    conn: &Connection<S>,
    inbound: &mut Inbound,
    record: &[u8],
) -> Flow {
    let request = protocol::parse_handshake(record).and_then(|hs| {
        if hs.protocol.is_binary() && conn.transport() == Some(Transport::ServerSentEvents) {
            Err(HandshakeError::BinaryOverText(hs.protocol.name().into()))
        } else {
            Ok(hs)
        }
    });
    match request {
        Ok(hs) => {
            inbound.protocol = Some(hs.protocol);
            inbound.framer.set_protocol(hs.protocol);
            conn.set_protocol(hs.protocol);
            // Stateful reconnect is on when negotiate offered it (the client
            // asked), the client speaks version 2, and the transport can
            // reconnect (the official client only does so on WebSockets).
            if conn.identity.stateful_offered
                && hs.version >= 2
                && conn.transport() == Some(Transport::WebSockets)
            {
                let _ = conn
                    .replay
                    .set(Replay::new(config.stateful_reconnect_buffer));
            }
            conn.send(protocol::handshake_response());
            let _ = conn.transition(Event::Handshake);
            tracing::debug!(connection_id = %conn.id(), user = %conn.user(), protocol = hs.protocol.name(), stateful = conn.is_stateful(), "hub handshake completed");
            Flow::Continue
        }
        Err(error) => {
            tracing::warn!(connection_id = %conn.id(), %error, "hub handshake refused");
            conn.close(Some(protocol::handshake_error(&error)));
            Flow::Stop
        }
    }
}

async fn handle_message<A: HubApp>(
    app: &A,
    conn: &Connection<A::State>,
    message: ClientMessage,
) -> Flow {
    match message {
        ClientMessage::Invocation {
            invocation_id,
            target,
            arguments,
            has_streams,
        } => {
            let outcome = if has_streams {
                Outcome::Error("Client-to-server streaming is not supported by this hub.".into())
            } else {
                invoke(app, conn, &target, arguments).await
            };
            match invocation_id {
                Some(id) => {
                    conn.send(protocol::completion_frame(&id, &outcome));
                }
                None => {
                    if let Outcome::Error(error) = outcome {
                        tracing::debug!(connection_id = %conn.id(), %target, %error, "hub send failed (no completion expected)");
                    }
                }
            }
            Flow::Continue
        }
        ClientMessage::StreamInvocation { invocation_id } => {
            let outcome =
                Outcome::Error("Streaming hub methods are not supported by this hub.".into());
            conn.send(protocol::completion_frame(&invocation_id, &outcome));
            Flow::Continue
        }
        ClientMessage::Ping
        | ClientMessage::Ignored { .. }
        | ClientMessage::Ack { .. }
        | ClientMessage::Sequence { .. } => Flow::Continue,
        ClientMessage::Close { error } => {
            tracing::debug!(connection_id = %conn.id(), error = ?error, "client sent Close");
            conn.close(None);
            Flow::Stop
        }
    }
}

/// Parses and runs hub method `target` for `conn`.
async fn invoke<A: HubApp>(
    app: &A,
    conn: &Connection<A::State>,
    target: &str,
    arguments: Vec<serde_json::Value>,
) -> Outcome {
    let result = match app.parse(target, arguments) {
        Ok(method) => {
            let caller = Caller {
                connection_id: conn.id(),
                user: conn.user(),
                state: conn.state(),
            };
            app.call(&caller, method).await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(value) => Outcome::Value(value),
        Err(error) => {
            if let MethodError::Failed(_) = error {
                tracing::warn!(connection_id = %conn.id(), %target, %error, "hub method failed");
            }
            Outcome::Error(error.to_string())
        }
    }
}

#[cfg(test)]
mod tests;
