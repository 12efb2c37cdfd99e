//! The SignalR JSON hub protocol as pure functions: no I/O, no clocks, no tasks.
//!
//! Everything the transports exchange with a client passes through here:
//!
//! * [`parse_handshake`] reads the first record a client sends
//!   (`{"protocol":"json","version":1}`) and [`handshake_response`] /
//!   [`handshake_error`] build the reply.
//! * [`RecordFramer`] cuts an incoming byte stream into records at the record
//!   separator `0x1E`. Transports hand it whatever arrived (a WebSocket frame, a
//!   chunk of a POST body): a record may be split across several of those, and
//!   one of them may carry several records. It also enforces the incoming
//!   message size limit, so an endless record cannot grow a buffer forever.
//! * [`parse_message`] turns one record into a [`ClientMessage`].
//! * The `*_frame` builders serialize what the server sends into a [`Frame`]:
//!   the complete record including its `0x1E`, shared by reference count, so a
//!   broadcast is serialized once however many connections receive it.
//!
//! Keeping this module pure is what makes the wire format unit-testable on its
//! own; the connection logic in `connection.rs` only decides *what* to say.
//! MessagePack is not implemented: a client asking for it gets a handshake
//! error and the JSON protocol is the only one on offer.

use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Terminates every JSON hub protocol record (ASCII "record separator").
pub const RECORD_SEPARATOR: u8 = 0x1E;

/// The only hub protocol this server speaks.
pub const PROTOCOL_JSON: &str = "json";

/// The JSON hub protocol version the official clients ask for.
pub const PROTOCOL_VERSION: u64 = 1;

/// Message type numbers of the hub protocol (`"type"` field).
mod message_type {
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

/// One complete outgoing record (JSON text plus the trailing `0x1E`).
///
/// Cloning is a reference-count increment: a broadcast builds one `Frame` and
/// hands clones to every recipient's queue. The Server-Sent Events wire form
/// (`data: …\r\n\r\n`) is derived lazily, once per frame, the first time an SSE
/// connection needs it, so thousands of SSE subscribers also share one buffer.
#[derive(Clone)]
pub struct Frame(Arc<FrameInner>);

struct FrameInner {
    /// The record, valid UTF-8 by construction (it is serialized JSON).
    text: ByteString,
    /// `data: <record>\r\n\r\n`, built on first use by an SSE connection.
    sse: OnceLock<Bytes>,
}

impl Frame {
    /// Wraps a record that already ends with the record separator.
    fn from_record(record: String) -> Frame {
        debug_assert!(record.as_bytes().last() == Some(&RECORD_SEPARATOR));
        Frame(Arc::new(FrameInner {
            text: ByteString::from(record),
            sse: OnceLock::new(),
        }))
    }

    /// Serializes `message` as JSON and appends the record separator.
    fn from_json(message: &impl Serialize) -> Result<Frame, serde_json::Error> {
        let mut record = serde_json::to_string(message)?;
        record.push(char::from(RECORD_SEPARATOR));
        Ok(Frame::from_record(record))
    }

    /// The record as text, for WebSocket Text frames (cheap clone).
    pub fn text(&self) -> ByteString {
        self.0.text.clone()
    }

    /// The record as bytes, for Long Polling response bodies (cheap clone).
    pub fn bytes(&self) -> Bytes {
        self.0.text.as_bytes().clone()
    }

    /// The record as one Server-Sent Event. Serialized JSON never contains a
    /// raw line break, so a single `data:` line is always enough.
    pub fn sse_event(&self) -> Bytes {
        self.0
            .sse
            .get_or_init(|| {
                let text: &str = &self.0.text;
                let mut event = String::with_capacity(text.len() + 10);
                event.push_str("data: ");
                event.push_str(text);
                event.push_str("\r\n\r\n");
                Bytes::from(event)
            })
            .clone()
    }

    /// Length of the record in bytes, separator included.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.text.len()
    }

    /// Never true for a frame built by this module.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.0.text.is_empty()
    }

    /// True when both handles point at the same shared buffer (used by tests to
    /// prove that a broadcast was serialized once).
    #[cfg(test)]
    pub fn ptr_eq(&self, other: &Frame) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: &str = &self.0.text;
        f.debug_tuple("Frame")
            .field(&text.trim_end_matches(char::from(RECORD_SEPARATOR)))
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------

/// What a client asked for in its handshake record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeRequest {
    /// Always [`PROTOCOL_JSON`] once parsing succeeded.
    pub protocol: String,
    /// Always [`PROTOCOL_VERSION`] once parsing succeeded.
    pub version: u64,
}

/// Why a handshake was refused; its `Display` is sent back as `{"error": …}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The record was not a JSON object with `protocol` and `version`.
    #[error("Handshake request is not valid: {0}")]
    Malformed(String),
    /// A protocol other than `json` (e.g. `messagepack`).
    #[error("The protocol '{0}' is not supported.")]
    UnsupportedProtocol(String),
    /// The `json` protocol in a version other than 1.
    #[error("The server does not support version {version} of the '{protocol}' protocol.")]
    UnsupportedVersion {
        /// The protocol named in the request.
        protocol: String,
        /// The version asked for.
        version: u64,
    },
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
/// [`HandshakeError`] for anything but `{"protocol":"json","version":1}`
/// (unknown fields are ignored, as the specification asks).
pub fn parse_handshake(record: &[u8]) -> Result<HandshakeRequest, HandshakeError> {
    let raw: RawHandshake = serde_json::from_slice(record)
        .map_err(|e| HandshakeError::Malformed(format!("not a JSON object ({e})")))?;
    let protocol = match raw.protocol {
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
    if protocol != PROTOCOL_JSON {
        return Err(HandshakeError::UnsupportedProtocol(protocol));
    }
    if version != PROTOCOL_VERSION {
        return Err(HandshakeError::UnsupportedVersion { protocol, version });
    }
    Ok(HandshakeRequest { protocol, version })
}

/// The successful handshake reply: `{}` + `0x1E`.
pub fn handshake_response() -> Frame {
    Frame::from_record(format!("{{}}{}", char::from(RECORD_SEPARATOR)))
}

/// The failed handshake reply: `{"error":"…"}` + `0x1E`; the transport closes
/// right after sending it.
pub fn handshake_error(error: &HandshakeError) -> Frame {
    #[derive(Serialize)]
    struct Reply<'a> {
        error: &'a str,
    }
    let message = error.to_string();
    Frame::from_json(&Reply { error: &message }).expect("a string always serializes")
}

// ---------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------

/// An incoming record exceeded the configured maximum message size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The maximum message size of {limit} bytes was exceeded.")]
pub struct MessageTooLarge {
    /// The configured limit (`HubConfig::max_message_size`).
    pub limit: usize,
}

/// Cuts a byte stream into `0x1E`-terminated records.
///
/// Bytes after the last separator are kept until a later [`push`](Self::push)
/// completes the record. The size limit applies to each record (without its
/// separator) and to the unfinished remainder, so memory per connection stays
/// bounded by `max_message_size` whatever a client sends.
#[derive(Debug)]
pub struct RecordFramer {
    /// The unfinished tail of the stream (never contains a separator).
    buf: BytesMut,
    /// Largest accepted record, in bytes.
    max_message_size: usize,
}

impl RecordFramer {
    /// A framer that refuses records longer than `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> RecordFramer {
        RecordFramer {
            buf: BytesMut::new(),
            max_message_size,
        }
    }

    /// Appends `data` and returns every record it completed, in order, without
    /// their separators. Empty records (two separators in a row) are skipped.
    ///
    /// # Errors
    ///
    /// [`MessageTooLarge`] when a record, finished or not, exceeds the limit.
    /// The framer is unusable afterwards; the caller closes the connection.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<Bytes>, MessageTooLarge> {
        let too_large = MessageTooLarge {
            limit: self.max_message_size,
        };
        let mut records = Vec::new();
        let mut rest = data;
        while let Some(pos) = rest.iter().position(|&b| b == RECORD_SEPARATOR) {
            if self.buf.len() + pos > self.max_message_size {
                return Err(too_large);
            }
            self.buf.extend_from_slice(&rest[..pos]);
            let record = self.buf.split().freeze();
            if !record.is_empty() {
                records.push(record);
            }
            rest = &rest[pos + 1..];
        }
        if self.buf.len() + rest.len() > self.max_message_size {
            return Err(too_large);
        }
        self.buf.extend_from_slice(rest);
        Ok(records)
    }

    /// Bytes received but not yet terminated by a separator.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
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
        /// Positional arguments, as JSON.
        arguments: Vec<Value>,
        /// True when the client wants to stream arguments to the server
        /// (`streamIds`), which this hub does not support.
        has_streams: bool,
    },
    /// Type 4: a streaming invocation; answered with a Completion error.
    StreamInvocation {
        /// Id to answer on.
        invocation_id: String,
    },
    /// Types 2, 3, 5, 8, 9 (stream items, client results, cancellation,
    /// stateful-reconnect bookkeeping): accepted and ignored.
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
}

/// A record that is not a valid hub protocol message; the connection is
/// closed with this text as the Close message's `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid hub message: {0}")]
pub struct InvalidMessage(pub String);

#[derive(Deserialize)]
struct RawMessage {
    #[serde(rename = "type")]
    message_type: Option<Value>,
    #[serde(rename = "invocationId")]
    invocation_id: Option<Value>,
    target: Option<Value>,
    arguments: Option<Value>,
    #[serde(rename = "streamIds")]
    stream_ids: Option<Value>,
    error: Option<Value>,
}

fn optional_string(field: &str, value: Option<Value>) -> Result<Option<String>, InvalidMessage> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(InvalidMessage(format!("'{field}' must be a string"))),
    }
}

/// Parses one record (without its `0x1E`). Unknown fields are ignored.
///
/// # Errors
///
/// [`InvalidMessage`] for anything that is not a JSON object with a known
/// `type` and that type's required fields.
pub fn parse_message(record: &[u8]) -> Result<ClientMessage, InvalidMessage> {
    let raw: RawMessage = serde_json::from_slice(record)
        .map_err(|e| InvalidMessage(format!("not a JSON object ({e})")))?;
    let message_type = match raw.message_type {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| InvalidMessage("'type' must be a positive integer".into()))?,
        Some(_) => return Err(InvalidMessage("'type' must be an integer".into())),
        None => return Err(InvalidMessage("missing 'type'".into())),
    };
    match message_type {
        message_type::INVOCATION => {
            let invocation_id = optional_string("invocationId", raw.invocation_id)?;
            let target = optional_string("target", raw.target)?
                .ok_or_else(|| InvalidMessage("missing 'target'".into()))?;
            let arguments = match raw.arguments {
                Some(Value::Array(args)) => args,
                Some(_) => return Err(InvalidMessage("'arguments' must be an array".into())),
                None => return Err(InvalidMessage("missing 'arguments'".into())),
            };
            let has_streams = match raw.stream_ids {
                None | Some(Value::Null) => false,
                Some(Value::Array(ids)) => !ids.is_empty(),
                Some(_) => return Err(InvalidMessage("'streamIds' must be an array".into())),
            };
            Ok(ClientMessage::Invocation {
                invocation_id,
                target,
                arguments,
                has_streams,
            })
        }
        message_type::STREAM_INVOCATION => {
            let invocation_id = optional_string("invocationId", raw.invocation_id)?
                .ok_or_else(|| InvalidMessage("missing 'invocationId'".into()))?;
            Ok(ClientMessage::StreamInvocation { invocation_id })
        }
        message_type::PING => Ok(ClientMessage::Ping),
        message_type::CLOSE => Ok(ClientMessage::Close {
            error: optional_string("error", raw.error)?,
        }),
        message_type::STREAM_ITEM
        | message_type::COMPLETION
        | message_type::CANCEL_INVOCATION
        | message_type::ACK
        | message_type::SEQUENCE => Ok(ClientMessage::Ignored { message_type }),
        other => Err(InvalidMessage(format!("unknown message type {other}"))),
    }
}

// ---------------------------------------------------------------------------
// Outgoing messages
// ---------------------------------------------------------------------------

/// `{"type":1,"target":…,"arguments":[payload]}`: a server-to-client event.
/// Every event of this hub has exactly one argument.
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
    Frame::from_json(&Invocation {
        message_type: message_type::INVOCATION,
        target,
        arguments: [payload],
    })
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
    #[derive(Serialize)]
    struct Completion<'a> {
        #[serde(rename = "type")]
        message_type: u64,
        #[serde(rename = "invocationId")]
        invocation_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<&'a Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
    }
    let (result, error) = match outcome {
        Outcome::Value(v) => (Some(v), None),
        Outcome::Error(e) => (None, Some(e.as_str())),
    };
    Frame::from_json(&Completion {
        message_type: message_type::COMPLETION,
        invocation_id,
        result,
        error,
    })
    .expect("a serde_json::Value always serializes")
}

/// `{"type":6}`: the server's keep-alive.
pub fn ping_frame() -> Frame {
    Frame::from_record(format!(
        "{{\"type\":{}}}{}",
        message_type::PING,
        char::from(RECORD_SEPARATOR)
    ))
}

/// `{"type":7, "error"?: …, "allowReconnect"?: true}`: sent before the server
/// ends a connection. `allow_reconnect` tells `withAutomaticReconnect` clients
/// to come back (shutdown, slow-consumer eviction) rather than give up.
pub fn close_frame(error: Option<&str>, allow_reconnect: bool) -> Frame {
    #[derive(Serialize)]
    struct Close<'a> {
        #[serde(rename = "type")]
        message_type: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
        #[serde(rename = "allowReconnect", skip_serializing_if = "std::ops::Not::not")]
        allow_reconnect: bool,
    }
    Frame::from_json(&Close {
        message_type: message_type::CLOSE,
        error,
        allow_reconnect,
    })
    .expect("a string always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RS: char = '\u{1e}';

    fn text(frame: &Frame) -> String {
        String::from_utf8(frame.bytes().to_vec()).unwrap()
    }

    #[test]
    fn a_json_v1_handshake_is_accepted() {
        let hs = parse_handshake(br#"{"protocol":"json","version":1}"#).unwrap();
        assert_eq!(hs.protocol, "json");
        assert_eq!(hs.version, 1);
    }

    #[test]
    fn unknown_handshake_fields_are_ignored() {
        assert!(parse_handshake(br#"{"version":1,"protocol":"json","extra":[1]}"#).is_ok());
    }

    #[test]
    fn messagepack_is_refused_with_a_readable_error() {
        let err = parse_handshake(br#"{"protocol":"messagepack","version":1}"#).unwrap_err();
        assert_eq!(
            err,
            HandshakeError::UnsupportedProtocol("messagepack".into())
        );
        assert_eq!(
            text(&handshake_error(&err)),
            format!(r#"{{"error":"The protocol 'messagepack' is not supported."}}{RS}"#)
        );
    }

    #[test]
    fn an_unknown_version_is_refused() {
        let err = parse_handshake(br#"{"protocol":"json","version":2}"#).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::UnsupportedVersion { version: 2, .. }
        ));
    }

    #[test]
    fn garbage_and_incomplete_handshakes_are_refused() {
        for bad in [
            &b"hello"[..],
            b"",
            b"[]",
            br#"{"protocol":"json"}"#,
            br#"{"version":1}"#,
            br#"{"protocol":1,"version":1}"#,
            br#"{"protocol":"json","version":"1"}"#,
            br#"{"protocol":"json","version":-1}"#,
        ] {
            let err = parse_handshake(bad).unwrap_err();
            assert!(
                matches!(err, HandshakeError::Malformed(_)),
                "{bad:?} gave {err:?}"
            );
            // The error reply is itself a valid record.
            let reply = text(&handshake_error(&err));
            assert!(reply.ends_with(RS));
            let v: Value = serde_json::from_str(reply.trim_end_matches(RS)).unwrap();
            assert!(v["error"].is_string());
        }
    }

    #[test]
    fn the_handshake_response_is_an_empty_object() {
        assert_eq!(text(&handshake_response()), format!("{{}}{RS}"));
    }

    #[test]
    fn framer_yields_several_records_from_one_frame() {
        let mut f = RecordFramer::new(1024);
        let records = f.push(b"{\"type\":6}\x1e{\"type\":7}\x1e").unwrap();
        assert_eq!(
            records,
            vec![Bytes::from("{\"type\":6}"), Bytes::from("{\"type\":7}")]
        );
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn framer_buffers_a_record_split_across_frames() {
        let mut f = RecordFramer::new(1024);
        assert!(f.push(b"{\"ty").unwrap().is_empty());
        assert!(f.push(b"pe\":").unwrap().is_empty());
        assert_eq!(f.pending(), 8);
        let records = f.push(b"6}\x1e{\"type\"").unwrap();
        assert_eq!(records, vec![Bytes::from("{\"type\":6}")]);
        let records = f.push(b":7}\x1e").unwrap();
        assert_eq!(records, vec![Bytes::from("{\"type\":7}")]);
    }

    #[test]
    fn framer_handles_a_separator_arriving_alone() {
        let mut f = RecordFramer::new(1024);
        assert!(f.push(b"{}").unwrap().is_empty());
        assert_eq!(f.push(b"\x1e").unwrap(), vec![Bytes::from("{}")]);
    }

    #[test]
    fn framer_skips_empty_records() {
        let mut f = RecordFramer::new(1024);
        assert_eq!(f.push(b"\x1e\x1e{}\x1e").unwrap(), vec![Bytes::from("{}")]);
    }

    #[test]
    fn framer_accepts_a_record_of_exactly_the_limit() {
        let mut f = RecordFramer::new(8);
        assert_eq!(f.push(b"12345678\x1e").unwrap().len(), 1);
    }

    #[test]
    fn framer_refuses_a_complete_record_over_the_limit() {
        let mut f = RecordFramer::new(8);
        assert_eq!(f.push(b"123456789\x1e"), Err(MessageTooLarge { limit: 8 }));
    }

    #[test]
    fn framer_refuses_an_unfinished_record_over_the_limit() {
        // The limit applies before the separator arrives, so a client cannot
        // make the server buffer without bound.
        let mut f = RecordFramer::new(8);
        assert!(f.push(b"12345").unwrap().is_empty());
        assert_eq!(f.push(b"6789"), Err(MessageTooLarge { limit: 8 }));
    }

    #[test]
    fn framer_refuses_a_record_over_the_limit_split_across_frames() {
        let mut f = RecordFramer::new(8);
        assert!(f.push(b"12345").unwrap().is_empty());
        assert_eq!(f.push(b"6789\x1e"), Err(MessageTooLarge { limit: 8 }));
    }

    #[test]
    fn framer_limit_is_per_record_not_per_frame() {
        let mut f = RecordFramer::new(8);
        let frame = b"12345678\x1e12345678\x1e12345678\x1e";
        assert_eq!(f.push(frame).unwrap().len(), 3);
    }

    #[test]
    fn framer_enforces_32_kib_default_sized_limits() {
        let limit = 32 * 1024;
        let mut f = RecordFramer::new(limit);
        let big = vec![b' '; limit + 1];
        assert!(f.push(&big).is_err());
    }

    #[test]
    fn an_invoke_is_parsed() {
        let m = parse_message(
            br#"{"type":1,"invocationId":"0","target":"WatchDates","arguments":["2026-05-01","2026-05-31"]}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ClientMessage::Invocation {
                invocation_id: Some("0".into()),
                target: "WatchDates".into(),
                arguments: vec![json!("2026-05-01"), json!("2026-05-31")],
                has_streams: false,
            }
        );
    }

    #[test]
    fn a_send_has_no_invocation_id() {
        let m = parse_message(br#"{"type":1,"target":"WatchAllDates","arguments":[]}"#).unwrap();
        assert!(matches!(
            m,
            ClientMessage::Invocation {
                invocation_id: None,
                ..
            }
        ));
    }

    #[test]
    fn an_invocation_with_stream_ids_is_flagged() {
        let m = parse_message(
            br#"{"type":1,"invocationId":"1","target":"X","arguments":[],"streamIds":["2"]}"#,
        )
        .unwrap();
        assert!(matches!(
            m,
            ClientMessage::Invocation {
                has_streams: true,
                ..
            }
        ));
    }

    #[test]
    fn other_message_types_are_parsed() {
        assert_eq!(
            parse_message(br#"{"type":6}"#).unwrap(),
            ClientMessage::Ping
        );
        assert_eq!(
            parse_message(br#"{"type":7,"error":"bye"}"#).unwrap(),
            ClientMessage::Close {
                error: Some("bye".into())
            }
        );
        assert_eq!(
            parse_message(br#"{"type":4,"invocationId":"3","target":"S","arguments":[]}"#).unwrap(),
            ClientMessage::StreamInvocation {
                invocation_id: "3".into()
            }
        );
        assert_eq!(
            parse_message(br#"{"type":5,"invocationId":"3"}"#).unwrap(),
            ClientMessage::Ignored { message_type: 5 }
        );
    }

    #[test]
    fn invalid_messages_are_refused() {
        for bad in [
            &b"nope"[..],
            br#"{"target":"X","arguments":[]}"#,
            br#"{"type":"1","target":"X","arguments":[]}"#,
            br#"{"type":1,"arguments":[]}"#,
            br#"{"type":1,"target":"X"}"#,
            br#"{"type":1,"target":"X","arguments":{}}"#,
            br#"{"type":1,"invocationId":7,"target":"X","arguments":[]}"#,
            br#"{"type":4,"target":"X","arguments":[]}"#,
            br#"{"type":42}"#,
        ] {
            assert!(
                parse_message(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn an_event_has_exactly_one_argument() {
        let f = invocation_frame("InboxUpdated", &json!({"unreadCount": 3})).unwrap();
        assert_eq!(
            text(&f),
            format!(
                r#"{{"type":1,"target":"InboxUpdated","arguments":[{{"unreadCount":3}}]}}{RS}"#
            )
        );
    }

    #[test]
    fn completions_carry_a_result_or_an_error() {
        assert_eq!(
            text(&completion_frame(
                "7",
                &Outcome::Value(json!({"version": 3}))
            )),
            format!(r#"{{"type":3,"invocationId":"7","result":{{"version":3}}}}{RS}"#)
        );
        assert_eq!(
            text(&completion_frame("7", &Outcome::Value(Value::Null))),
            format!(r#"{{"type":3,"invocationId":"7","result":null}}{RS}"#)
        );
        assert_eq!(
            text(&completion_frame(
                "7",
                &Outcome::Error("Unknown hub method 'X'".into())
            )),
            format!(r#"{{"type":3,"invocationId":"7","error":"Unknown hub method 'X'"}}{RS}"#)
        );
    }

    #[test]
    fn ping_and_close_frames() {
        assert_eq!(text(&ping_frame()), format!(r#"{{"type":6}}{RS}"#));
        assert_eq!(
            text(&close_frame(None, false)),
            format!(r#"{{"type":7}}{RS}"#)
        );
        assert_eq!(
            text(&close_frame(Some("bye"), true)),
            format!(r#"{{"type":7,"error":"bye","allowReconnect":true}}{RS}"#)
        );
    }

    #[test]
    fn the_sse_form_is_one_data_line_built_once() {
        let f = invocation_frame("X", &json!("a\nb")).unwrap();
        let e1 = f.sse_event();
        let e2 = f.clone().sse_event();
        assert_eq!(e1.as_ptr(), e2.as_ptr(), "derived once and shared");
        let s = std::str::from_utf8(&e1).unwrap();
        assert!(s.starts_with("data: {"));
        assert!(s.ends_with("\u{1e}\r\n\r\n"));
        assert_eq!(
            s.matches('\n').count(),
            2,
            "an escaped newline stays escaped"
        );
    }

    #[test]
    fn frames_share_one_buffer_when_cloned() {
        let f = ping_frame();
        let g = f.clone();
        assert!(f.ptr_eq(&g));
        assert_eq!(f.bytes().as_ptr(), g.bytes().as_ptr());
        assert_eq!(f.len(), 11);
        assert!(!f.is_empty());
    }
}
