//! The table of live connections and everything that reaches across it:
//! fan-out of broadcasts, keep-alive pings, and sweeping out the dead.
//!
//! # Concurrency design
//!
//! The table is a `std::sync::RwLock<HashMap<key, Arc<Connection>>>`. The
//! broadcast path takes the read lock only to pick the recipients, then
//! sends outside it: a non-blocking write straight to each WebSocket (see
//! `outlet`), a `try_send` into each Server-Sent Events or Long Polling
//! connection's bounded queue. Nothing awaits or
//! blocks, so the publisher is never held up by a slow client. A connection
//! that has fallen `send_queue` messages behind is *evicted* — told to
//! reconnect with `Close {allowReconnect: true}` — instead of slowing
//! everyone else down.
//!
//! Each connection has exactly one way out at a time (its socket, or its
//! queue's one consumer: the SSE body or the poll currently waiting), so
//! messages leave in the order they were sent. The write lock is taken only
//! to insert or remove.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use rand::distributions::{Alphanumeric, DistString};
use tokio::time::Instant;

use crate::connection::{millis, Connection, Identity, SweepLimits, Transport, Verdict};
use crate::lifecycle::Phase;
use crate::limits::Permit;
use crate::protocol::{self, Frame};

/// What one fan-out did; for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FanOut {
    /// Connections the message was queued for.
    pub delivered: usize,
    /// Connections evicted because their queue was full.
    pub evicted: usize,
}

/// Audiences at least this large per core are sent to from several
/// threads at once (see [`Registry::fan_out`]).
const PARALLEL_FAN_OUT_MIN: usize = 2_000;

/// Sends `frame` to each of `recipients`, evicting those too far behind.
fn send_each<S>(frame: &Frame, recipients: &[Arc<Connection<S>>]) -> FanOut {
    let mut out = FanOut::default();
    for conn in recipients {
        match conn.offer(frame.clone()) {
            Ok(()) => out.delivered += 1,
            Err(true) => {
                out.evicted += 1;
                conn.evict();
            }
            Err(false) => {}
        }
    }
    out
}

/// What one sweep did; for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sweep {
    pub(crate) never_connected: usize,
    pub(crate) timed_out: usize,
    pub(crate) expired: usize,
    pub(crate) aborted: usize,
    pub(crate) abandoned: usize,
    pub(crate) removed: usize,
}

/// All connections of this server process.
pub(crate) struct Registry<S> {
    connections: RwLock<HashMap<String, Arc<Connection<S>>>>,
    /// Zero of every connection's millisecond clocks.
    epoch: Instant,
    send_queue: usize,
    max_message_size: usize,
    /// Threads a large fan-out may use: all cores but one, which stays
    /// free for the requests that made the change.
    cores: usize,
}

impl<S> fmt::Debug for Registry<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("connections", &self.len())
            .field("send_queue", &self.send_queue)
            .field("max_message_size", &self.max_message_size)
            .finish()
    }
}

/// Length of the public `connectionId`.
const CONNECTION_ID_LEN: usize = 22;
/// Length of the secret `connectionToken` (~256 bits of alphanumerics).
pub(crate) const CONNECTION_TOKEN_LEN: usize = 43;

fn random_alphanumeric(len: usize) -> String {
    // ThreadRng is a cryptographically secure generator; the token is a
    // capability. Alphanumerics need no escaping in a query string.
    Alphanumeric.sample_string(&mut rand::thread_rng(), len)
}

/// How a new connection is addressed and what it offers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Create {
    /// Negotiate v1: a separate secret token addresses it.
    pub(crate) with_token: bool,
    /// The client asked for stateful reconnect and it was offered.
    pub(crate) stateful: bool,
}

impl<S: Default> Registry<S> {
    /// Creates and registers a connection for `user`.
    pub(crate) fn create(
        &self,
        user: String,
        how: Create,
        permit: Option<Permit>,
    ) -> Arc<Connection<S>> {
        let id = random_alphanumeric(CONNECTION_ID_LEN);
        let key = if how.with_token {
            random_alphanumeric(CONNECTION_TOKEN_LEN)
        } else {
            id.clone()
        };
        let conn = Arc::new(Connection::new(
            Identity {
                id,
                key,
                user,
                stateful_offered: how.stateful,
            },
            S::default(),
            self.epoch,
            self.send_queue,
            self.max_message_size,
            permit,
        ));
        self.write()
            .insert(conn.identity.key.clone(), Arc::clone(&conn));
        conn
    }
}

impl<S> Registry<S> {
    pub(crate) fn new(send_queue: usize, max_message_size: usize) -> Registry<S> {
        Registry {
            connections: RwLock::new(HashMap::new()),
            epoch: Instant::now(),
            send_queue: send_queue.max(1),
            max_message_size,
            cores: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Connection<S>>>> {
        self.connections
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Connection<S>>>> {
        self.connections
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection a client addresses with `key` (the `id` parameter).
    pub(crate) fn get(&self, key: &str) -> Option<Arc<Connection<S>>> {
        self.read().get(key).cloned()
    }

    /// Removes `conn` (if it is still the entry under its key).
    pub(crate) fn remove(&self, conn: &Connection<S>) {
        let mut map = self.write();
        if map
            .get(&conn.identity.key)
            .is_some_and(|c| std::ptr::eq(Arc::as_ptr(c), conn))
        {
            map.remove(&conn.identity.key);
        }
    }

    /// Number of entries (including ones that are ending).
    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    /// Sends `frame` to every connection in a receiving phase that `wants`
    /// it. Recipients are picked under the read lock; the sends (a socket
    /// write for a WebSocket, a queue push otherwise) happen outside it, so
    /// negotiates never wait for a broadcast. Never blocks; clients too far
    /// behind are evicted.
    pub(crate) fn fan_out(&self, frame: &Frame, wants: impl Fn(&Connection<S>) -> bool) -> FanOut
    where
        S: Send + Sync,
    {
        let recipients: Vec<Arc<Connection<S>>> = self
            .read()
            .values()
            .filter(|conn| conn.phase().receives_broadcasts() && wants(conn))
            .cloned()
            .collect();
        let threads = self
            .cores
            .min(recipients.len() / PARALLEL_FAN_OUT_MIN)
            .max(1);
        if threads == 1 {
            return send_each(frame, &recipients);
        }
        // A socket write costs a few microseconds, mostly the kernel's: a
        // large audience is split over the cores so the last recipient
        // does not wait for all the others.
        let per_thread = recipients.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let mut chunks = recipients.chunks(per_thread);
            let mine = chunks.next().unwrap_or_default();
            let others: Vec<_> = chunks
                .map(|chunk| scope.spawn(move || send_each(frame, chunk)))
                .collect();
            let mut out = send_each(frame, mine);
            for other in others {
                let theirs = other.join().unwrap_or_default();
                out.delivered += theirs.delivered;
                out.evicted += theirs.evicted;
            }
            out
        })
    }

    /// Every connection of `user` (for closing them).
    pub(crate) fn of_user(&self, user: &str) -> Vec<Arc<Connection<S>>> {
        self.read()
            .values()
            .filter(|c| c.identity.user == user)
            .cloned()
            .collect()
    }

    /// Queues a Ping for every open connection. A full queue is not held
    /// against the client here: a connection that far behind is not idle,
    /// and the next broadcast evicts it anyway.
    pub(crate) fn ping_all(&self, ping: &Frame) -> usize {
        let open: Vec<Arc<Connection<S>>> = self
            .read()
            .values()
            .filter(|c| c.phase() == Phase::Open)
            .cloned()
            .collect();
        open.iter()
            .filter(|c| c.offer(ping.clone()).is_ok())
            .count()
    }

    /// Closes every connection with `farewell` (server shutdown).
    pub(crate) fn close_all(&self, farewell: &Frame) {
        let conns: Vec<_> = self.read().values().cloned().collect();
        for conn in conns {
            if conn.transport().is_some() {
                conn.close_with_message(farewell.clone());
            } else {
                conn.abort();
                self.remove(&conn);
            }
        }
    }

    /// Live connections per transport, in [`Transport::ALL`] order.
    pub(crate) fn count_by_transport(&self) -> [(Transport, usize); 3] {
        let mut counts = Transport::ALL.map(|t| (t, 0));
        for conn in self.read().values() {
            if conn.is_ended() {
                continue;
            }
            if let Some(t) = conn.transport() {
                if let Some(slot) = counts.iter_mut().find(|(k, _)| *k == t) {
                    slot.1 += 1;
                }
            }
        }
        counts
    }

    /// Drops connections negotiated but never attached, closes the silent
    /// and the expired, aborts closes that did not finish within the grace
    /// period, gives up on detached connections that did not come back, and
    /// removes ended Long Polling entries. `now` is a parameter so tests can
    /// move time without sleeping.
    pub(crate) fn sweep(&self, now: Instant, limits: SweepLimits) -> Sweep {
        let now_ms = millis(self.epoch, now);
        let verdicts: Vec<(Arc<Connection<S>>, Verdict)> = self
            .read()
            .values()
            .filter_map(|c| match c.sweep_verdict(now_ms, &limits) {
                Verdict::Keep => None,
                v => Some((Arc::clone(c), v)),
            })
            .collect();
        let mut report = Sweep::default();
        for (conn, verdict) in verdicts {
            let id = &conn.identity.id;
            match verdict {
                Verdict::Keep => {}
                Verdict::NeverConnected => {
                    tracing::debug!(connection_id = %id, "hub connection negotiated but never connected; dropped");
                    conn.abort();
                    self.remove(&conn);
                    report.never_connected += 1;
                }
                Verdict::Silent(Transport::LongPolling) => {
                    // Nobody is polling, so a farewell could not be
                    // delivered; a late poll gets 204 from the lingering entry.
                    tracing::debug!(connection_id = %id, "long polling connection timed out (no poll)");
                    conn.abort();
                    report.timed_out += 1;
                }
                Verdict::Silent(_) => {
                    tracing::debug!(connection_id = %id, "hub connection timed out (client silent)");
                    conn.close_with_message(protocol::close_frame(
                        Some("Server timeout elapsed without receiving a message from the client."),
                        true,
                    ));
                    report.timed_out += 1;
                }
                Verdict::Expired => {
                    tracing::debug!(connection_id = %id, "hub connection's credential expired");
                    conn.close_with_message(protocol::close_frame(
                        Some("The access token expired; sign in again."),
                        true,
                    ));
                    report.expired += 1;
                }
                Verdict::Abort => {
                    tracing::debug!(connection_id = %id, "hub connection did not close in time; aborted");
                    conn.abort();
                    if conn.transport() != Some(Transport::LongPolling) {
                        self.remove(&conn);
                    }
                    report.aborted += 1;
                }
                Verdict::Abandoned => {
                    tracing::debug!(connection_id = %id, "detached hub connection did not come back");
                    conn.abort();
                    self.remove(&conn);
                    report.abandoned += 1;
                }
                Verdict::Remove => {
                    self.remove(&conn);
                    report.removed += 1;
                }
            }
        }
        report
    }
}

#[cfg(test)]
mod tests;
