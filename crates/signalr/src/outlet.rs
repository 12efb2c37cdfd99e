//! The outgoing side of a WebSocket connection: whoever publishes writes to
//! the socket itself. (Server-Sent Events and Long Polling keep a bounded
//! queue instead: their writer is an HTTP response.)
//!
//! A broadcast to 10,000 WebSockets is 10,000 non-blocking `write`s of the
//! same pre-framed bytes from the publishing thread: no queue to push into,
//! no task to wake per connection, no buffer held while a socket is idle.
//! Only a socket whose kernel buffer is full gets a *backlog*: the unwritten
//! rest, flushed by the socket's own task when the kernel says it is
//! writable again. Everything written after that joins the backlog, so a
//! connection's messages always leave in the order they were published.
//! A backlog longer than `limit` frames means the client cannot keep up: the
//! connection is evicted (see [`Connection::evict`](crate::connection::Connection::evict)).
//!
//! With stateful reconnect, trackable messages are numbered and recorded in
//! the connection's [`Replay`] under the same lock that writes them, so a
//! resume (which swaps the socket and queues `Sequence` + the replay under
//! that lock) can never miss or duplicate a message published meanwhile.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::protocol::{self, Frame, Protocol};
use crate::replay::Replay;

/// What became of a message handed to the outlet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Written to the socket, or queued behind its backlog.
    Accepted,
    /// Kept for replay only: the socket is away (stateful reconnect).
    Held,
    /// The backlog (or the replay buffer) is full: evict the client.
    Full,
    /// The outlet is closing or closed; nothing more goes out.
    Closed,
}

/// What a flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flush {
    /// Nothing left to write; keep going.
    Idle,
    /// The kernel buffer is full; wait until the socket is writable.
    Blocked,
    /// Everything is out and a close was asked for: send the close frame.
    Finished,
    /// The socket failed.
    Broken,
}

/// The socket currently attached, and its number.
#[derive(Debug)]
struct Attached {
    number: u64,
    stream: Arc<TcpStream>,
}

#[derive(Debug, Default)]
struct State {
    /// `None` before the first socket, and while a stateful connection
    /// waits for its client to come back.
    socket: Option<Attached>,
    /// WebSocket frames not yet (fully) written; the front one may be
    /// partly written already (it is then the unwritten rest).
    backlog: VecDeque<Bytes>,
    /// A farewell was queued: nothing more is accepted, and once the
    /// backlog is out the socket's task closes it.
    closing: bool,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SocketOutlet {
    state: Mutex<State>,
    /// Wakes the socket's task: a backlog to flush, or a close to finish.
    wake: Notify,
    /// Most frames in a backlog before the client counts as too slow.
    limit: usize,
}

/// Writes as much of `bytes` as the kernel takes now; the rest, if any.
///
/// The publisher's path (`direct`) makes the `send` system call itself,
/// skipping Tokio's readiness bookkeeping — a tenth of the CPU of a
/// 10,000-socket broadcast. The socket's task flushes through Tokio
/// instead, so that a full buffer clears the readiness it then waits on.
fn write_now(stream: &TcpStream, bytes: &Bytes, direct: bool) -> io::Result<Option<Bytes>> {
    let written = if direct {
        socket2::SockRef::from(stream).send(bytes)
    } else {
        stream.try_write(bytes)
    };
    match written {
        Ok(n) if n == bytes.len() => Ok(None),
        Ok(n) => Ok(Some(bytes.slice(n..))),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Some(bytes.clone())),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Some(bytes.clone())),
        Err(e) => Err(e),
    }
}

impl SocketOutlet {
    pub(crate) fn new(limit: usize) -> SocketOutlet {
        SocketOutlet {
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            limit: limit.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes `frame` in `protocol`; records it for replay first when
    /// the connection is stateful and the message trackable.
    pub(crate) fn deliver(
        &self,
        frame: &Frame,
        protocol: Protocol,
        replay: Option<&Replay>,
    ) -> Delivery {
        let bytes = frame.websocket(protocol);
        let mut state = self.lock();
        if state.closing {
            return Delivery::Closed;
        }
        if let Some(replay) = replay.filter(|_| frame.is_trackable()) {
            if replay.record(frame, bytes.len()).is_err() {
                return Delivery::Full;
            }
        }
        if state.socket.is_none() {
            // Away: a stateful connection replays what it recorded when its
            // client comes back; anything else (pings) is moot by then.
            return Delivery::Held;
        }
        self.push(&mut state, bytes)
    }

    /// Sends raw WebSocket bytes (a pong) in order with everything else.
    pub(crate) fn deliver_raw(&self, bytes: Bytes) -> Delivery {
        let mut state = self.lock();
        if state.closing || state.socket.is_none() {
            return Delivery::Closed;
        }
        self.push(&mut state, bytes)
    }

    fn push(&self, state: &mut State, bytes: Bytes) -> Delivery {
        if !state.backlog.is_empty() {
            if state.backlog.len() >= self.limit {
                return Delivery::Full;
            }
            state.backlog.push_back(bytes);
            return Delivery::Accepted;
        }
        let Some(socket) = &state.socket else {
            return Delivery::Held;
        };
        match write_now(&socket.stream, &bytes, true) {
            Ok(None) => {}
            Ok(Some(rest)) => {
                state.backlog.push_back(rest);
                self.wake.notify_one();
            }
            // The socket's task sees the failure on its next read or flush;
            // the message is lost with the socket (or replayed on resume).
            Err(_) => self.wake.notify_one(),
        }
        Delivery::Accepted
    }

    /// Queues the farewell (if any) and closes the outlet: nothing else is
    /// accepted after it. A full backlog is dropped so the farewell goes
    /// out first: a client that far behind gets its Close promptly.
    pub(crate) fn close(&self, farewell: Option<&Frame>, protocol: Protocol) {
        let mut state = self.lock();
        if state.closing {
            return;
        }
        if state.backlog.len() >= self.limit {
            state.backlog.clear();
        }
        if let Some(frame) = farewell {
            let _ = self.push(&mut state, frame.websocket(protocol));
        }
        state.closing = true;
        drop(state);
        self.wake.notify_one();
    }

    /// Attaches a new socket (the first, or a resumed one). On a resume the
    /// socket first gets `Sequence` and every message the client has not
    /// acknowledged, then whatever is published next.
    pub(crate) fn attach(
        &self,
        number: u64,
        stream: Arc<TcpStream>,
        resume: Option<(&Replay, Protocol)>,
    ) -> Option<Arc<TcpStream>> {
        let mut state = self.lock();
        state.backlog.clear();
        if let Some((replay, protocol)) = resume {
            let (first, frames) = replay.resume();
            state
                .backlog
                .push_back(protocol::sequence_frame(first).websocket(protocol));
            state
                .backlog
                .extend(frames.iter().map(|f| f.websocket(protocol)));
        }
        let previous = state.socket.replace(Attached { number, stream });
        drop(state);
        self.wake.notify_one();
        previous.map(|p| p.stream)
    }

    /// Passes on a wake-up (an old socket's task that took one meant for
    /// the new socket's).
    pub(crate) fn nudge(&self) {
        self.wake.notify_one();
    }

    /// Lets go of socket `number` if it is still the current one (what it
    /// had not written is dropped: a stateful connection replays it).
    /// Returns whether it was current.
    pub(crate) fn detach(&self, number: u64) -> bool {
        let mut state = self.lock();
        if state.socket.as_ref().is_some_and(|s| s.number == number) {
            state.socket = None;
            state.backlog.clear();
            true
        } else {
            false
        }
    }

    /// Whether socket `number` is the one attached.
    pub(crate) fn is_current(&self, number: u64) -> bool {
        self.lock()
            .socket
            .as_ref()
            .is_some_and(|s| s.number == number)
    }

    /// Writes what the backlog holds for socket `number`, as far as the
    /// kernel takes it.
    pub(crate) fn flush(&self, number: u64) -> Flush {
        let mut state = self.lock();
        let State {
            socket,
            backlog,
            closing,
        } = &mut *state;
        let Some(socket) = socket.as_ref().filter(|s| s.number == number) else {
            return Flush::Broken;
        };
        while let Some(front) = backlog.front_mut() {
            match write_now(&socket.stream, front, false) {
                Ok(None) => {
                    backlog.pop_front();
                }
                Ok(Some(rest)) => {
                    *front = rest;
                    return Flush::Blocked;
                }
                Err(_) => return Flush::Broken,
            }
        }
        if backlog.capacity() > 8 {
            *backlog = VecDeque::new();
        }
        if *closing {
            Flush::Finished
        } else {
            Flush::Idle
        }
    }

    /// Whether there is anything to flush (or a close to finish).
    pub(crate) fn wants_flush(&self) -> bool {
        let state = self.lock();
        !state.backlog.is_empty() || state.closing
    }

    /// Resolves when [`deliver`](Self::deliver) left a backlog or a close
    /// was asked for.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }
}

#[cfg(test)]
mod tests;
