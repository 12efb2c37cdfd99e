//! The SignalR hub protocols as pure functions: no I/O, no clocks, no tasks.
//!
//! Everything the transports exchange with a client passes through here:
//!
//! * [`parse_handshake`] reads the first record a client sends
//!   (`{"protocol":"json","version":1}`, always JSON + `0x1E`, whatever the
//!   protocol chosen) and [`handshake_response`] / [`handshake_error`] build
//!   the reply.
//! * [`Framer`] (in `framing`) cuts an incoming byte stream into messages:
//!   JSON records end at the record separator `0x1E`, MessagePack messages
//!   carry a VarInt length prefix. The handshake is always a JSON record, and
//!   the bytes after it in the same chunk already belong to the chosen
//!   protocol.
//! * [`parse_message`] turns one message into a [`ClientMessage`] (`json` and
//!   `msgpack` hold the two encodings).
//! * The `*_frame` builders serialize what the server sends into a [`Frame`]:
//!   one shared, reference-counted message that renders itself once per wire
//!   form (JSON record, MessagePack message, Server-Sent Event) on first use,
//!   so a broadcast is serialized once per protocol however many connections
//!   receive it.

use std::fmt;
use std::sync::{Arc, OnceLock};

use actix_http::ws::{OpCode, Parser};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod framing;
mod json;
pub(crate) mod msgpack;

pub use framing::{Framer, MessageTooLarge};

/// Terminates every JSON hub protocol record (ASCII "record separator").
pub const RECORD_SEPARATOR: u8 = 0x1E;

/// Hub protocol versions this server accepts in a handshake. Version 2 is
/// version 1 plus the `Ack` and `Sequence` messages of stateful reconnect;
/// clients built `withStatefulReconnect()` ask for it.
pub const PROTOCOL_VERSIONS: std::ops::RangeInclusive<u64> = 1..=2;

/// A hub protocol: how messages after the handshake are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `json`: UTF-8 JSON records terminated by `0x1E`, sent as Text frames.
    Json,
    /// `messagepack`: VarInt-length-prefixed MessagePack arrays, sent as
    /// Binary frames. Needs a transport that carries binary (not SSE).
    MessagePack,
}

impl Protocol {
    /// The name used in the handshake.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Json => "json",
            Protocol::MessagePack => "messagepack",
        }
    }

    /// Whether the protocol's messages are binary (WebSocket Binary frames,
    /// `application/octet-stream` poll bodies).
    pub fn is_binary(self) -> bool {
        matches!(self, Protocol::MessagePack)
    }
}

/// Message type numbers of the hub protocol.
pub(crate) mod message_type {
    pub const INVOCATION: u64 = 1;
    pub const STREAM_ITEM: u64 = 2;
    pub const COMPLETION: u64 = 3;
    pub const STREAM_INVOCATION: u64 = 4;
    pub const CANCEL_INVOCATION: u64 = 5;
    pub const PING: u64 = 6;
    pub const CLOSE: u64 = 7;
    pub const ACK: u64 = 8;
    pub const SEQUENCE: u64 = 9;
}

/// What a server message says, kept so that every wire form can be derived
/// from it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ServerMessage {
    /// The handshake reply: `{}` or `{"error": …}`, always JSON.
    Handshake { error: Option<String> },
    /// Type 1 without an invocation id: an event. Its target and arguments
    /// live in the JSON record only (written straight from the payload); the
    /// MessagePack form is derived from that record when first needed.
    Invocation,
    /// Type 3.
    Completion {
        invocation_id: String,
        outcome: Outcome,
    },
    /// Type 6.
    Ping,
    /// Type 7.
    Close {
        error: Option<String>,
        allow_reconnect: bool,
    },
    /// Type 8.
    Ack { sequence_id: u64 },
    /// Type 9.
    Sequence { sequence_id: u64 },
}

/// One complete outgoing message, in every wire form it is needed in.
///
/// Cloning is a reference-count increment: a broadcast builds one `Frame` and
/// hands clones to every recipient's queue. The JSON record is rendered when
/// the frame is built (nearly every client speaks JSON); the MessagePack and
/// Server-Sent Events forms are rendered lazily, once per frame, the first
/// time a connection needs them.
#[derive(Clone)]
pub struct Frame(Arc<FrameInner>);

struct FrameInner {
    message: ServerMessage,
    /// The JSON record including its `0x1E` (a `ByteString`, so WebSocket
    /// Text frames take it without validating UTF-8 again).
    json: ByteString,
    /// The VarInt-prefixed MessagePack message.
    msgpack: OnceLock<Bytes>,
    /// `data: <json record>\r\n\r\n`.
    sse: OnceLock<Bytes>,
    /// The JSON record as one unmasked WebSocket Text frame.
    ws_text: OnceLock<Bytes>,
    /// The MessagePack message as one unmasked WebSocket Binary frame.
    ws_binary: OnceLock<Bytes>,
}

impl Frame {
    fn new(message: ServerMessage, json: Vec<u8>) -> Frame {
        debug_assert!(json.last() == Some(&RECORD_SEPARATOR));
        let json = ByteString::try_from(json).expect("serde_json writes UTF-8");
        Frame(Arc::new(FrameInner {
            message,
            json,
            msgpack: OnceLock::new(),
            sse: OnceLock::new(),
            ws_text: OnceLock::new(),
            ws_binary: OnceLock::new(),
        }))
    }

    fn from_message(message: ServerMessage) -> Frame {
        let json = json::render(&message);
        Frame::new(message, json)
    }

    /// The JSON record (separator included), for JSON connections.
    pub fn json(&self) -> &Bytes {
        self.0.json.as_bytes()
    }

    /// The JSON record as text, for WebSocket Text frames (cheap clone).
    pub fn json_string(&self) -> ByteString {
        self.0.json.clone()
    }

    /// The message as `protocol` puts it on the wire (cheap clone). The
    /// handshake reply is JSON for every protocol, as the specification says.
    pub fn encoded(&self, protocol: Protocol) -> Bytes {
        match (protocol, &self.0.message) {
            (Protocol::Json, _) | (_, ServerMessage::Handshake { .. }) => self.json().clone(),
            (Protocol::MessagePack, message) => self
                .0
                .msgpack
                .get_or_init(|| msgpack::render(message, self.json()))
                .clone(),
        }
    }

    /// The record as one Server-Sent Event. Serialized JSON never contains a
    /// raw line break, so a single `data:` line is always enough.
    pub fn sse_event(&self) -> Bytes {
        self.0
            .sse
            .get_or_init(|| {
                let mut event = Vec::with_capacity(self.0.json.len() + 10);
                event.extend_from_slice(b"data: ");
                event.extend_from_slice(self.0.json.as_bytes());
                event.extend_from_slice(b"\r\n\r\n");
                Bytes::from(event)
            })
            .clone()
    }

    /// The message as one complete WebSocket frame for a `protocol`
    /// connection: Text for JSON, Binary for MessagePack. Server frames are
    /// not masked, so every recipient gets the very same bytes; they are
    /// framed once per message, the first time they are needed.
    pub(crate) fn websocket(&self, protocol: Protocol) -> Bytes {
        let (cell, opcode) = match protocol {
            Protocol::Json => (&self.0.ws_text, OpCode::Text),
            Protocol::MessagePack => (&self.0.ws_binary, OpCode::Binary),
        };
        cell.get_or_init(|| {
            let payload = self.encoded(protocol);
            let mut frame = BytesMut::with_capacity(payload.len() + 10);
            Parser::write_message(&mut frame, &payload, opcode, true, false);
            frame.freeze()
        })
        .clone()
    }

    /// Whether stateful reconnect numbers and buffers this message: the
    /// specification's "trackable" messages (invocations and completions
    /// here); pings, closes, acks, sequences and the handshake are not.
    pub fn is_trackable(&self) -> bool {
        matches!(
            self.0.message,
            ServerMessage::Invocation | ServerMessage::Completion { .. }
        )
    }

    /// True when both handles point at the same shared message (tests prove
    /// with it that a broadcast was serialized once).
    pub fn ptr_eq(&self, other: &Frame) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The JSON record without its separator, for logs and tests.
    pub fn json_text(&self) -> &str {
        let text: &str = &self.0.json;
        text.trim_end_matches(char::from(RECORD_SEPARATOR))
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Frame").field(&self.json_text()).finish()
    }
}

// ---------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------

/// What a client asked for in its handshake record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeRequest {
    /// The protocol for every later message.
    pub protocol: Protocol,
    /// 1, or 2 for a client that speaks `Ack`/`Sequence`.
    pub version: u64,
}

/// Why a handshake was refused; its `Display` is sent back as `{"error": …}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The record was not a JSON object with `protocol` and `version`.
    #[error("Handshake request is not valid: {0}")]
    Malformed(String),
    /// A protocol this server does not speak.
    #[error("The protocol '{0}' is not supported.")]
    UnsupportedProtocol(String),
    /// A known protocol in an unknown version.
    #[error("The server does not support version {version} of the '{protocol}' protocol.")]
    UnsupportedVersion {
        /// The protocol named in the request.
        protocol: String,
        /// The version asked for.
        version: u64,
    },
    /// MessagePack over a transport that only carries text (SSE).
    #[error("Cannot use the '{0}' protocol on the current transport. The transport does not support 'Binary' transfer format.")]
    BinaryOverText(String),
}

#[derive(Deserialize)]
struct RawHandshake {
    protocol: Option<Value>,
    version: Option<Value>,
}

/// Parses the first record of a connection (without its `0x1E`).
///
/// # Errors
///
/// [`HandshakeError`] for anything but a `json` or `messagepack` request in a
/// version of [`PROTOCOL_VERSIONS`] (unknown fields are ignored, as the
/// specification asks).
pub fn parse_handshake(record: &[u8]) -> Result<HandshakeRequest, HandshakeError> {
    let raw: RawHandshake = serde_json::from_slice(record)
        .map_err(|e| HandshakeError::Malformed(format!("not a JSON object ({e})")))?;
    let name = match raw.protocol {
        Some(Value::String(p)) => p,
        Some(_) => {
            return Err(HandshakeError::Malformed(
                "'protocol' must be a string".into(),
            ))
        }
        None => return Err(HandshakeError::Malformed("missing 'protocol'".into())),
    };
    let version = match raw.version {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            HandshakeError::Malformed("'version' must be a non-negative integer".into())
        })?,
        Some(_) => {
            return Err(HandshakeError::Malformed(
                "'version' must be a non-negative integer".into(),
            ))
        }
        None => return Err(HandshakeError::Malformed("missing 'version'".into())),
    };
    let protocol = match name.as_str() {
        "json" => Protocol::Json,
        "messagepack" => Protocol::MessagePack,
        _ => return Err(HandshakeError::UnsupportedProtocol(name)),
    };
    if !PROTOCOL_VERSIONS.contains(&version) {
        return Err(HandshakeError::UnsupportedVersion {
            protocol: name,
            version,
        });
    }
    Ok(HandshakeRequest { protocol, version })
}

/// The successful handshake reply: `{}` + `0x1E`.
pub fn handshake_response() -> Frame {
    Frame::from_message(ServerMessage::Handshake { error: None })
}

/// The failed handshake reply: `{"error":"…"}` + `0x1E`; the transport closes
/// right after sending it.
pub fn handshake_error(error: &HandshakeError) -> Frame {
    Frame::from_message(ServerMessage::Handshake {
        error: Some(error.to_string()),
    })
}

// ---------------------------------------------------------------------------
// Incoming messages
// ---------------------------------------------------------------------------

/// A message from the client, reduced to what this server acts upon.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// Type 1: `invoke` (with an id, wants a Completion) or `send` (without).
    Invocation {
        /// Present for `invoke`; absent for fire-and-forget `send`.
        invocation_id: Option<String>,
        /// The hub method name.
        target: String,
        /// Positional arguments (MessagePack arguments are mapped to JSON
        /// values: integers, floats, strings, arrays, maps with string keys).
        arguments: Vec<Value>,
        /// True when the client wants to stream arguments to the server
        /// (`streamIds`), which this engine does not support.
        has_streams: bool,
    },
    /// Type 4: a streaming invocation; answered with a Completion error.
    StreamInvocation {
        /// Id to answer on.
        invocation_id: String,
    },
    /// Types 2, 3, 5 (stream items, client results, cancellation): trackable
    /// for stateful reconnect, otherwise ignored.
    Ignored {
        /// The message type number, for logging.
        message_type: u64,
    },
    /// Type 6: keep-alive; its arrival alone keeps the connection alive.
    Ping,
    /// Type 7: the client is going away.
    Close {
        /// The client's reason, if any.
        error: Option<String>,
    },
    /// Type 8: the client received every trackable message up to this id.
    Ack {
        /// Highest sequence id received.
        sequence_id: u64,
    },
    /// Type 9: after a reconnect, the id of the next trackable message the
    /// client sends.
    Sequence {
        /// Id of the client's next trackable message.
        sequence_id: u64,
    },
}

impl ClientMessage {
    /// Whether stateful reconnect counts this message (invocations, stream
    /// items, completions, cancellations).
    pub fn is_trackable(&self) -> bool {
        matches!(
            self,
            ClientMessage::Invocation { .. }
                | ClientMessage::StreamInvocation { .. }
                | ClientMessage::Ignored { .. }
        )
    }
}

/// A message that is not a valid hub protocol message; the connection is
/// closed with this text as the Close message's `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid hub message: {0}")]
pub struct InvalidMessage(pub String);

/// Parses one message (a JSON record without its `0x1E`, or a MessagePack
/// body without its length prefix). Unknown fields are ignored.
///
/// # Errors
///
/// [`InvalidMessage`] for anything that is not a known message type with that
/// type's required fields.
pub fn parse_message(protocol: Protocol, message: &[u8]) -> Result<ClientMessage, InvalidMessage> {
    match protocol {
        Protocol::Json => json::parse(message),
        Protocol::MessagePack => msgpack::parse(message),
    }
}

// ---------------------------------------------------------------------------
// Outgoing messages
// ---------------------------------------------------------------------------

/// `{"type":1,"target":…,"arguments":[payload]}`: a server-to-client event
/// with one argument.
///
/// # Errors
///
/// When `payload`'s `Serialize` implementation fails (e.g. a map with
/// non-string keys).
pub fn invocation_frame(
    target: &str,
    payload: &impl Serialize,
) -> Result<Frame, serde_json::Error> {
    #[derive(Serialize)]
    struct Invocation<'a, T: Serialize> {
        #[serde(rename = "type")]
        message_type: u64,
        target: &'a str,
        arguments: [&'a T; 1],
    }
    // The JSON record is written straight from the payload (the hot path);
    // the MessagePack form, needed only if a MessagePack client is among the
    // recipients, is derived from the record.
    let mut record = serde_json::to_vec(&Invocation {
        message_type: message_type::INVOCATION,
        target,
        arguments: [payload],
    })?;
    record.push(RECORD_SEPARATOR);
    Ok(Frame::new(ServerMessage::Invocation, record))
}

/// The outcome of one `invoke`, as sent in its Completion.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Success with a value (JSON `null` for methods without one, so the
    /// client resolves with `null` rather than `undefined`).
    Value(Value),
    /// Failure; the text becomes the Completion's `error`.
    Error(String),
}

/// `{"type":3,"invocationId":…, "result"|"error": …}`.
pub fn completion_frame(invocation_id: &str, outcome: &Outcome) -> Frame {
    Frame::from_message(ServerMessage::Completion {
        invocation_id: invocation_id.to_owned(),
        outcome: outcome.clone(),
    })
}

/// `{"type":6}`: the server's keep-alive.
pub fn ping_frame() -> Frame {
    Frame::from_message(ServerMessage::Ping)
}

/// `{"type":7, "error"?: …, "allowReconnect"?: true}`: sent before the server
/// ends a connection. `allow_reconnect` tells `withAutomaticReconnect` clients
/// to come back (shutdown, eviction, expired token) rather than give up.
pub fn close_frame(error: Option<&str>, allow_reconnect: bool) -> Frame {
    Frame::from_message(ServerMessage::Close {
        error: error.map(str::to_owned),
        allow_reconnect,
    })
}

/// `{"type":8,"sequenceId":n}`: every trackable client message up to `n`
/// was received.
pub fn ack_frame(sequence_id: u64) -> Frame {
    Frame::from_message(ServerMessage::Ack { sequence_id })
}

/// `{"type":9,"sequenceId":n}`: after a reconnect, the id of the next
/// trackable message the server sends (the first one it replays).
pub fn sequence_frame(sequence_id: u64) -> Frame {
    Frame::from_message(ServerMessage::Sequence { sequence_id })
}

#[cfg(test)]
mod tests;
