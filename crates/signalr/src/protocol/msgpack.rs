//! The MessagePack encoding of the hub protocol: each message a MessagePack
//! array whose first element is the message type, preceded by its length as
//! a VarInt (7 bits a byte, least significant first, at most 5 bytes).
//!
//! Arguments and results are mapped to and from [`serde_json::Value`]: nil,
//! booleans, integers, floats, strings, arrays and maps (keys must be strings
//! or integers, which become strings). Binary blobs and extension types
//! (e.g. timestamps) have no JSON value and make the message invalid.

use bytes::Bytes;
use serde_json::{Map, Number, Value};

use super::{message_type, ClientMessage, InvalidMessage, Outcome, ServerMessage};

/// Completion result kinds of the MessagePack encoding (2, "void", is not
/// sent: methods without a value answer `nil`, as they answer `null` in JSON).
const RESULT_ERROR: u64 = 1;
const RESULT_VALUE: u64 = 3;

/// Longest VarInt length prefix (a 32-bit length).
pub(crate) const MAX_PREFIX: usize = 5;

/// Appends `len` as a VarInt.
pub(crate) fn write_varint(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads a VarInt prefix: `Ok(Some((value, prefix_len)))`, `Ok(None)` when
/// more bytes are needed, `Err` when it is longer than 5 bytes.
pub(crate) fn read_varint(buf: &[u8]) -> Result<Option<(usize, usize)>, ()> {
    let mut value: usize = 0;
    for (i, &byte) in buf.iter().enumerate().take(MAX_PREFIX) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= MAX_PREFIX {
        Err(())
    } else {
        Ok(None)
    }
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

fn write_uint(out: &mut Vec<u8>, n: u64) {
    if n < 0x80 {
        out.push(n as u8);
    } else if n <= u64::from(u8::MAX) {
        out.extend_from_slice(&[0xcc, n as u8]);
    } else if n <= u64::from(u16::MAX) {
        out.push(0xcd);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u64::from(u32::MAX) {
        out.push(0xce);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn write_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        write_uint(out, n as u64);
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= i64::from(i8::MIN) {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= i64::from(i16::MIN) {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= i64::from(i32::MIN) {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= usize::from(u8::MAX) {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= usize::from(u16::MAX) {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

fn write_array_len(out: &mut Vec<u8>, len: usize) {
    if len < 16 {
        out.push(0x90 | len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(0xdc);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdd);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn write_map_len(out: &mut Vec<u8>, len: usize) {
    if len < 16 {
        out.push(0x80 | len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(0xde);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdf);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// Appends `value` in MessagePack.
pub(crate) fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(0xc0),
        Value::Bool(false) => out.push(0xc2),
        Value::Bool(true) => out.push(0xc3),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                write_uint(out, u);
            } else if let Some(i) = n.as_i64() {
                write_int(out, i);
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_be_bytes());
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            write_array_len(out, items.len());
            for item in items {
                write_value(out, item);
            }
        }
        Value::Object(map) => {
            write_map_len(out, map.len());
            for (k, v) in map {
                write_str(out, k);
                write_value(out, v);
            }
        }
    }
}

/// Renders a server message as a length-prefixed MessagePack message;
/// `json` is its JSON record (events carry their arguments only there).
pub(super) fn render(message: &ServerMessage, json: &[u8]) -> Bytes {
    let mut body = Vec::with_capacity(64);
    match message {
        // The handshake is JSON for every protocol; `Frame::encoded` never
        // asks for this form.
        ServerMessage::Handshake { .. } => unreachable!("the handshake reply is always JSON"),
        ServerMessage::Invocation => {
            let record = json
                .strip_suffix(&[super::RECORD_SEPARATOR])
                .unwrap_or(json);
            let event: Value =
                serde_json::from_slice(record).expect("the frame's own JSON record parses");
            write_array_len(&mut body, 5);
            write_uint(&mut body, message_type::INVOCATION);
            write_map_len(&mut body, 0);
            body.push(0xc0);
            write_str(&mut body, event["target"].as_str().unwrap_or_default());
            write_value(&mut body, &event["arguments"]);
        }
        ServerMessage::Completion {
            invocation_id,
            outcome,
        } => {
            write_array_len(&mut body, 5);
            write_uint(&mut body, message_type::COMPLETION);
            write_map_len(&mut body, 0);
            write_str(&mut body, invocation_id);
            match outcome {
                Outcome::Error(e) => {
                    write_uint(&mut body, RESULT_ERROR);
                    write_str(&mut body, e);
                }
                Outcome::Value(v) => {
                    write_uint(&mut body, RESULT_VALUE);
                    write_value(&mut body, v);
                }
            }
        }
        ServerMessage::Ping => {
            write_array_len(&mut body, 1);
            write_uint(&mut body, message_type::PING);
        }
        ServerMessage::Close {
            error,
            allow_reconnect,
        } => {
            write_array_len(&mut body, 3);
            write_uint(&mut body, message_type::CLOSE);
            match error {
                Some(e) => write_str(&mut body, e),
                None => body.push(0xc0),
            }
            body.push(if *allow_reconnect { 0xc3 } else { 0xc2 });
        }
        ServerMessage::Ack { sequence_id } | ServerMessage::Sequence { sequence_id } => {
            let kind = if matches!(message, ServerMessage::Ack { .. }) {
                message_type::ACK
            } else {
                message_type::SEQUENCE
            };
            write_array_len(&mut body, 2);
            write_uint(&mut body, kind);
            write_uint(&mut body, *sequence_id);
        }
    }
    let mut out = Vec::with_capacity(body.len() + MAX_PREFIX);
    write_varint(&mut out, body.len());
    out.extend_from_slice(&body);
    Bytes::from(out)
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// Nesting limit, so a hostile message cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn invalid(what: &str) -> InvalidMessage {
    InvalidMessage(format!("not valid MessagePack ({what})"))
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], InvalidMessage> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| invalid("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, InvalidMessage> {
        Ok(self.take(1)?[0])
    }

    fn be(&mut self, n: usize) -> Result<u64, InvalidMessage> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn string(&mut self, len: usize) -> Result<String, InvalidMessage> {
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| invalid("a string is not UTF-8"))
    }

    fn value(&mut self, depth: usize) -> Result<Value, InvalidMessage> {
        if depth > MAX_DEPTH {
            return Err(invalid("nested too deeply"));
        }
        let b = self.byte()?;
        Ok(match b {
            0x00..=0x7f => Value::from(u64::from(b)),
            0x80..=0x8f => self.map(usize::from(b & 0x0f), depth)?,
            0x90..=0x9f => self.array(usize::from(b & 0x0f), depth)?,
            0xa0..=0xbf => Value::String(self.string(usize::from(b & 0x1f))?),
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xca => {
                let bits = self.be(4)? as u32;
                float(f64::from(f32::from_bits(bits)))?
            }
            0xcb => float(f64::from_bits(self.be(8)?))?,
            0xcc => Value::from(self.be(1)?),
            0xcd => Value::from(self.be(2)?),
            0xce => Value::from(self.be(4)?),
            0xcf => Value::from(self.be(8)?),
            0xd0 => Value::from(i64::from(self.be(1)? as u8 as i8)),
            0xd1 => Value::from(i64::from(self.be(2)? as u16 as i16)),
            0xd2 => Value::from(i64::from(self.be(4)? as u32 as i32)),
            0xd3 => Value::from(self.be(8)? as i64),
            0xd9 => {
                let n = self.be(1)? as usize;
                Value::String(self.string(n)?)
            }
            0xda => {
                let n = self.be(2)? as usize;
                Value::String(self.string(n)?)
            }
            0xdb => {
                let n = self.be(4)? as usize;
                Value::String(self.string(n)?)
            }
            0xdc => {
                let n = self.be(2)? as usize;
                self.array(n, depth)?
            }
            0xdd => {
                let n = self.be(4)? as usize;
                self.array(n, depth)?
            }
            0xde => {
                let n = self.be(2)? as usize;
                self.map(n, depth)?
            }
            0xdf => {
                let n = self.be(4)? as usize;
                self.map(n, depth)?
            }
            0xe0..=0xff => Value::from(i64::from(b as i8)),
            0xc4..=0xc6 => return Err(invalid("binary values are not supported")),
            0xc7..=0xc9 | 0xd4..=0xd8 => {
                return Err(invalid(
                    "extension types (e.g. timestamps) are not supported",
                ))
            }
            0xc1 => return Err(invalid("reserved byte 0xc1")),
        })
    }

    fn array(&mut self, len: usize, depth: usize) -> Result<Value, InvalidMessage> {
        // Every element takes at least one byte: a length beyond the input is a lie.
        if len > self.buf.len() - self.pos {
            return Err(invalid("truncated"));
        }
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, InvalidMessage> {
        if len > self.buf.len() - self.pos {
            return Err(invalid("truncated"));
        }
        let mut map = Map::new();
        for _ in 0..len {
            let key = match self.value(depth + 1)? {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                _ => return Err(invalid("map keys must be strings or integers")),
            };
            let value = self.value(depth + 1)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

fn float(f: f64) -> Result<Value, InvalidMessage> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| invalid("NaN and infinite floats have no JSON value"))
}

/// Decodes one MessagePack value that must fill `body` exactly.
pub(crate) fn decode_value(body: &[u8]) -> Result<Value, InvalidMessage> {
    let mut reader = Reader { buf: body, pos: 0 };
    let value = reader.value(0)?;
    if reader.pos != body.len() {
        return Err(invalid("trailing bytes after the message"));
    }
    Ok(value)
}

fn string_at(items: &[Value], index: usize, field: &str) -> Result<Option<String>, InvalidMessage> {
    match items.get(index) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(InvalidMessage(format!("'{field}' must be a string"))),
    }
}

/// Parses one message body (without its length prefix).
pub(super) fn parse(body: &[u8]) -> Result<ClientMessage, InvalidMessage> {
    let Value::Array(mut items) = decode_value(body)? else {
        return Err(InvalidMessage(
            "a message must be a MessagePack array".into(),
        ));
    };
    let message_type = items
        .first()
        .and_then(Value::as_u64)
        .ok_or_else(|| InvalidMessage("the first element must be the message type".into()))?;
    let need = |n: usize| {
        if items.len() < n {
            Err(InvalidMessage(format!(
                "message type {message_type} needs at least {n} elements, got {}",
                items.len()
            )))
        } else {
            Ok(())
        }
    };
    match message_type {
        message_type::INVOCATION => {
            need(5)?;
            let invocation_id = string_at(&items, 2, "invocationId")?;
            let target = string_at(&items, 3, "target")?
                .ok_or_else(|| InvalidMessage("missing 'target'".into()))?;
            let has_streams = match items.get(5) {
                None | Some(Value::Null) => false,
                Some(Value::Array(ids)) => !ids.is_empty(),
                Some(_) => return Err(InvalidMessage("'streamIds' must be an array".into())),
            };
            let arguments = match items.swap_remove(4) {
                Value::Array(args) => args,
                _ => return Err(InvalidMessage("'arguments' must be an array".into())),
            };
            Ok(ClientMessage::Invocation {
                invocation_id,
                target,
                arguments,
                has_streams,
            })
        }
        message_type::STREAM_INVOCATION => {
            need(5)?;
            let invocation_id = string_at(&items, 2, "invocationId")?
                .ok_or_else(|| InvalidMessage("missing 'invocationId'".into()))?;
            Ok(ClientMessage::StreamInvocation { invocation_id })
        }
        message_type::PING => Ok(ClientMessage::Ping),
        message_type::CLOSE => Ok(ClientMessage::Close {
            error: string_at(&items, 1, "error")?,
        }),
        message_type::ACK | message_type::SEQUENCE => {
            need(2)?;
            let sequence_id = items[1].as_u64().ok_or_else(|| {
                InvalidMessage("'sequenceId' must be a non-negative integer".into())
            })?;
            Ok(if message_type == message_type::ACK {
                ClientMessage::Ack { sequence_id }
            } else {
                ClientMessage::Sequence { sequence_id }
            })
        }
        message_type::STREAM_ITEM | message_type::COMPLETION | message_type::CANCEL_INVOCATION => {
            Ok(ClientMessage::Ignored { message_type })
        }
        other => Err(InvalidMessage(format!("unknown message type {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roundtrip(v: Value) {
        let mut out = Vec::new();
        write_value(&mut out, &v);
        assert_eq!(decode_value(&out).unwrap(), v, "{out:02x?}");
    }

    #[test]
    fn values_round_trip_through_every_width() {
        for v in [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(127),
            json!(128),
            json!(255),
            json!(256),
            json!(65_536),
            json!(u64::MAX),
            json!(-1),
            json!(-32),
            json!(-33),
            json!(-129),
            json!(-40_000),
            json!(i64::MIN),
            json!(1.5),
            json!(""),
            json!("x".repeat(31)),
            json!("x".repeat(32)),
            json!("x".repeat(300)),
            json!("x".repeat(70_000)),
            json!([1, [2, [3]], {"a": {"b": null}}]),
            json!((0..20).collect::<Vec<_>>()),
            json!({"date": "2026-12-01", "used": 3, "percent": 30, "status": "available"}),
        ] {
            roundtrip(v);
        }
    }

    #[test]
    fn the_specification_examples_decode() {
        // Invocation [1, {}, "xyz", "method", [42], []].
        let body = [
            0x96, 0x01, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64,
            0x91, 0x2a, 0x90,
        ];
        assert_eq!(
            parse(&body).unwrap(),
            ClientMessage::Invocation {
                invocation_id: Some("xyz".into()),
                target: "method".into(),
                arguments: vec![json!(42)],
                has_streams: false,
            }
        );
        // Ack [8, 36] with an 8-bit unsigned int.
        assert_eq!(
            parse(&[0x92, 0x08, 0xcc, 0x24]).unwrap(),
            ClientMessage::Ack { sequence_id: 36 }
        );
        assert_eq!(
            parse(&[0x92, 0x09, 0xcc, 0x13]).unwrap(),
            ClientMessage::Sequence { sequence_id: 19 }
        );
        assert_eq!(parse(&[0x91, 0x06]).unwrap(), ClientMessage::Ping);
    }

    #[test]
    fn server_messages_match_the_specification_bytes() {
        assert_eq!(&render(&ServerMessage::Ping, b"")[..], &[0x02, 0x91, 0x06]);
        let close = render(
            &ServerMessage::Close {
                error: Some("xyz".into()),
                allow_reconnect: true,
            },
            b"",
        );
        assert_eq!(
            &close[..],
            &[0x07, 0x93, 0x07, 0xa3, 0x78, 0x79, 0x7a, 0xc3]
        );
        let completion = render(
            &ServerMessage::Completion {
                invocation_id: "xyz".into(),
                outcome: Outcome::Value(json!(42)),
            },
            b"",
        );
        assert_eq!(
            &completion[..],
            &[0x09, 0x95, 0x03, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x03, 0x2a]
        );
        let error = render(
            &ServerMessage::Completion {
                invocation_id: "xyz".into(),
                outcome: Outcome::Error("Error".into()),
            },
            b"",
        );
        assert_eq!(
            &error[1..],
            &[0x95, 0x03, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x01, 0xa5, 0x45, 0x72, 0x72, 0x6f, 0x72]
        );
    }

    #[test]
    fn varints_round_trip_and_reject_overlong_prefixes() {
        for n in [0, 1, 127, 128, 5248, 16_383, 16_384, 0x7fff_ffff] {
            let mut out = Vec::new();
            write_varint(&mut out, n);
            assert_eq!(read_varint(&out), Ok(Some((n, out.len()))));
            assert_eq!(read_varint(&out[..out.len() - 1]), Ok(None));
        }
        assert_eq!(read_varint(&[0x80, 0x29]), Ok(Some((5248, 2))));
        assert!(read_varint(&[0xff; 6]).is_err());
    }

    #[test]
    fn hostile_input_is_refused_not_trusted() {
        // An array that claims 4 billion elements.
        assert!(decode_value(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
        // Truncated string, trailing bytes, binary, timestamp extension.
        assert!(decode_value(&[0xa5, b'a']).is_err());
        assert!(decode_value(&[0xc0, 0xc0]).is_err());
        assert!(decode_value(&[0xc4, 0x01, 0x00]).is_err());
        assert!(decode_value(&[0xd6, 0xff, 0, 0, 0, 0]).is_err());
        // Deep nesting.
        assert!(decode_value(&[0x91; 100]).is_err());
        // Not an array, no type, missing target.
        assert!(parse(&[0x80]).is_err());
        assert!(parse(&[0x90]).is_err());
        assert!(parse(&[0x95, 0x01, 0x80, 0xc0, 0xc0, 0x90]).is_err());
        assert!(parse(&[0x91, 0x0f]).is_err());
    }
}
