//! Stateful reconnect's outgoing side: sequence numbers for trackable
//! messages and the bounded buffer of those not yet acknowledged.
//!
//! The writer records every trackable message it writes ([`Replay::record`]);
//! the client's `Ack` releases them ([`Replay::ack`]); when the client comes
//! back on a new socket, the writer first sends `Sequence {first id}` and
//! then everything still buffered, in order ([`Replay::resume`]). Messages
//! queued while the socket was gone were never written, so they simply go
//! out after the replay, numbered as they are written.
//!
//! The buffer is bounded in bytes (`HubConfig::stateful_reconnect_buffer`,
//! 100,000 by default as in ASP.NET Core). A client that lets more than that
//! go unacknowledged is closed with `allowReconnect: true` rather than
//! holding server memory.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use crate::protocol::Frame;

/// The replay buffer overflowed; the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow;

#[derive(Debug)]
struct Inner {
    /// Id the next trackable message gets (ids start at 1).
    next_id: u64,
    /// Written, not yet acknowledged: `(id, frame, encoded length)`.
    unacked: VecDeque<(u64, Frame, usize)>,
    /// Sum of the encoded lengths in `unacked`.
    bytes: usize,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Replay {
    inner: Mutex<Inner>,
    /// Largest number of unacknowledged bytes.
    limit: usize,
}

impl Replay {
    pub(crate) fn new(limit: usize) -> Replay {
        Replay {
            inner: Mutex::new(Inner {
                next_id: 1,
                unacked: VecDeque::new(),
                bytes: 0,
            }),
            limit,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Numbers and buffers a trackable message about to be written.
    pub(crate) fn record(&self, frame: &Frame, len: usize) -> Result<u64, Overflow> {
        let mut inner = self.lock();
        if inner.bytes + len > self.limit && !inner.unacked.is_empty() {
            return Err(Overflow);
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.bytes += len;
        inner.unacked.push_back((id, frame.clone(), len));
        Ok(id)
    }

    /// The client received everything up to `sequence_id`.
    pub(crate) fn ack(&self, sequence_id: u64) {
        let mut inner = self.lock();
        while inner
            .unacked
            .front()
            .is_some_and(|(id, _, _)| *id <= sequence_id)
        {
            if let Some((_, _, len)) = inner.unacked.pop_front() {
                inner.bytes -= len;
            }
        }
        if inner.unacked.is_empty() {
            inner.unacked = VecDeque::new();
        }
    }

    /// What a resumed socket starts with: the id for the `Sequence` message
    /// (the first replayed one, or the next new one) and the messages to
    /// replay, in order.
    pub(crate) fn resume(&self) -> (u64, Vec<Frame>) {
        let inner = self.lock();
        let first = inner
            .unacked
            .front()
            .map_or(inner.next_id, |(id, _, _)| *id);
        (
            first,
            inner.unacked.iter().map(|(_, f, _)| f.clone()).collect(),
        )
    }

    /// Unacknowledged bytes, for tests and logs.
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::invocation_frame;

    #[test]
    fn ids_start_at_one_acks_release_and_resume_replays_the_rest_in_order() {
        let r = Replay::new(1000);
        let frames: Vec<_> = (0..4).map(|i| invocation_frame("E", &i).unwrap()).collect();
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(r.record(f, 10), Ok(i as u64 + 1));
        }
        assert_eq!(r.buffered(), 40);
        r.ack(2);
        assert_eq!(r.buffered(), 20);
        let (first, replay) = r.resume();
        assert_eq!(first, 3);
        assert_eq!(replay.len(), 2);
        assert!(replay[0].ptr_eq(&frames[2]) && replay[1].ptr_eq(&frames[3]));
        r.ack(4);
        let (first, rest) = r.resume();
        assert_eq!((first, rest.len()), (5, 0));
        // A stale ack changes nothing.
        r.ack(1);
        assert_eq!(r.resume().0, 5);
    }

    #[test]
    fn the_buffer_is_bounded_in_bytes() {
        let r = Replay::new(25);
        let f = invocation_frame("E", &1).unwrap();
        assert!(r.record(&f, 10).is_ok());
        assert!(r.record(&f, 10).is_ok());
        assert_eq!(r.record(&f, 10), Err(Overflow));
        r.ack(1);
        assert!(r.record(&f, 10).is_ok());
        // One message larger than the limit still goes out when nothing else waits.
        let r = Replay::new(5);
        assert!(r.record(&f, 10).is_ok());
    }
}
