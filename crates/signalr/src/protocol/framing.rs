//! Cutting an incoming byte stream into messages.
//!
//! A transport hands the framer whatever arrived (a WebSocket frame, a chunk
//! of a POST body): a message may be split across several of those, and one
//! of them may carry several messages. Until the handshake the framer cuts
//! JSON records at `0x1E`; the caller then switches it to the protocol the
//! client chose, and the bytes already buffered after the handshake are cut
//! the new way. The size limit applies to each message and to any unfinished
//! remainder, so memory per connection stays bounded whatever a client sends.

use bytes::{Buf, Bytes, BytesMut};

use super::msgpack::read_varint;
use super::{Protocol, RECORD_SEPARATOR};

/// An incoming message exceeded the configured maximum message size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The maximum message size of {limit} bytes was exceeded.")]
pub struct MessageTooLarge {
    /// The configured limit.
    pub limit: usize,
}

/// Reassembles messages from chunks; see the module docs.
#[derive(Debug)]
pub struct Framer {
    /// Bytes received and not yet returned as a message.
    buf: BytesMut,
    /// How the buffered bytes are cut (JSON until the handshake is done).
    protocol: Protocol,
    /// Largest accepted message, in bytes.
    max_message_size: usize,
}

impl Framer {
    /// A framer in handshake mode (JSON records).
    pub fn new(max_message_size: usize) -> Framer {
        Framer {
            buf: BytesMut::new(),
            protocol: Protocol::Json,
            max_message_size,
        }
    }

    /// Cuts what follows as `protocol` messages.
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }

    /// Appends a chunk.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Drops a half-received message (a resumed connection starts afresh) and
    /// releases the buffer's memory.
    pub fn reset(&mut self) {
        self.buf = BytesMut::new();
    }

    /// The next complete message (without separator or length prefix), or
    /// `Ok(None)` when more bytes are needed. Empty JSON records (two
    /// separators in a row) are skipped.
    ///
    /// # Errors
    ///
    /// [`MessageTooLarge`] when a message, finished or not, exceeds the
    /// limit. The framer is unusable afterwards; the caller closes the
    /// connection.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, MessageTooLarge> {
        let too_large = MessageTooLarge {
            limit: self.max_message_size,
        };
        let message = match self.protocol {
            Protocol::Json => loop {
                match self.buf.iter().position(|&b| b == RECORD_SEPARATOR) {
                    Some(pos) if pos > self.max_message_size => return Err(too_large),
                    Some(0) => self.buf.advance(1),
                    Some(pos) => {
                        let record = self.buf.split_to(pos + 1);
                        break Some(record.freeze().slice(..pos));
                    }
                    None if self.buf.len() > self.max_message_size => return Err(too_large),
                    None => break None,
                }
            },
            Protocol::MessagePack => match read_varint(&self.buf) {
                Err(()) => return Err(too_large),
                Ok(None) => None,
                Ok(Some((len, _))) if len > self.max_message_size => return Err(too_large),
                Ok(Some((len, prefix))) if self.buf.len() >= prefix + len => {
                    self.buf.advance(prefix);
                    Some(self.buf.split_to(len).freeze())
                }
                Ok(Some(_)) => None,
            },
        };
        if self.buf.is_empty() && self.buf.capacity() > 4096 {
            // A large message passed through: do not keep its buffer for an
            // idle connection.
            self.buf = BytesMut::new();
        }
        Ok(message)
    }

    /// Bytes received but not yet returned as a message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(framer: &mut Framer) -> Result<Vec<Bytes>, MessageTooLarge> {
        let mut out = Vec::new();
        while let Some(m) = framer.next_message()? {
            out.push(m);
        }
        Ok(out)
    }

    #[test]
    fn json_records_split_and_joined_across_chunks() {
        let mut f = Framer::new(64);
        f.push(b"{\"a\":1}\x1e{\"b\"");
        assert_eq!(all(&mut f).unwrap(), vec![Bytes::from_static(b"{\"a\":1}")]);
        assert_eq!(f.pending(), 4);
        f.push(b":2}\x1e\x1e{}\x1e");
        assert_eq!(
            all(&mut f).unwrap(),
            vec![Bytes::from_static(b"{\"b\":2}"), Bytes::from_static(b"{}")]
        );
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn the_size_limit_applies_to_finished_and_unfinished_records() {
        let mut f = Framer::new(4);
        f.push(b"12345\x1e");
        assert_eq!(f.next_message(), Err(MessageTooLarge { limit: 4 }));
        let mut f = Framer::new(4);
        f.push(b"1234");
        assert_eq!(f.next_message(), Ok(None));
        f.push(b"5");
        assert_eq!(f.next_message(), Err(MessageTooLarge { limit: 4 }));
        let mut f = Framer::new(4);
        f.push(b"1234\x1e");
        assert_eq!(
            f.next_message().unwrap().unwrap(),
            Bytes::from_static(b"1234")
        );
    }

    #[test]
    fn after_the_handshake_the_rest_of_the_chunk_is_messagepack() {
        let mut f = Framer::new(64);
        // Handshake, then a Ping split in the middle, then a second message.
        f.push(b"{\"protocol\":\"messagepack\",\"version\":1}\x1e\x02\x91");
        let hs = f.next_message().unwrap().unwrap();
        assert!(hs.starts_with(b"{\"protocol\""));
        f.set_protocol(Protocol::MessagePack);
        assert_eq!(f.next_message(), Ok(None));
        f.push(b"\x06\x02\x91\x06");
        assert_eq!(
            all(&mut f).unwrap(),
            vec![
                Bytes::from_static(b"\x91\x06"),
                Bytes::from_static(b"\x91\x06")
            ]
        );
    }

    #[test]
    fn a_messagepack_length_over_the_limit_is_refused_before_the_body_arrives() {
        let mut f = Framer::new(100);
        f.set_protocol(Protocol::MessagePack);
        f.push(&[0x80, 0x01]); // 128
        assert_eq!(f.next_message(), Err(MessageTooLarge { limit: 100 }));
        let mut f = Framer::new(100);
        f.set_protocol(Protocol::MessagePack);
        f.push(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert!(f.next_message().is_err());
    }
}
