//! The table of live connections and everything that reaches across it:
//! fan-out of broadcasts, keep-alive pings, and sweeping out the dead.
//!
//! # Concurrency design
//!
//! The table is a `std::sync::RwLock<HashMap<key, Arc<Connection>>>`. The
//! broadcast path takes the read lock, walks the map and calls
//! [`tokio::sync::mpsc::Sender::try_send`] on each connection's bounded queue;
//! nothing in that loop awaits or blocks, so the lock is held for microseconds
//! and the caller (a request handler that just committed a booking) is never
//! held up by a slow client. A connection whose queue is full has fallen
//! `send_queue` messages behind: it is *evicted* — told to reconnect with
//! `Close {allowReconnect: true}` — instead of slowing everyone else down. It
//! will catch up through `GetCapacityChangesSince` after reconnecting.
//!
//! Each queue has exactly one consumer (the connection's writer task, SSE
//! body stream or the long poll currently waiting), so messages leave in the
//! order they were queued.
//!
//! Closing is two-speed: [`Connection::close`] queues a farewell behind what
//! is already queued (ordered, the normal case), and falls back to an urgent
//! path — a slot the writer checks after the `ended` token fires — when the
//! queue is full, so a stuck client can always be cut loose.
//!
//! The write lock is taken only to insert or remove a connection.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use rand::distributions::{Alphanumeric, DistString};
use time::Date;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::Inbound;
use super::protocol::{self, Frame};
use super::HubUser;

/// How a connection reaches its client. Names match the `open_connections`
/// labels the server exports as metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Transport {
    WebSockets,
    ServerSentEvents,
    LongPolling,
}

impl Transport {
    /// All transports, in the order `open_connections` reports them.
    pub(crate) const ALL: [Transport; 3] = [
        Transport::WebSockets,
        Transport::ServerSentEvents,
        Transport::LongPolling,
    ];

    /// Metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Transport::WebSockets => "websockets",
            Transport::ServerSentEvents => "server_sent_events",
            Transport::LongPolling => "long_polling",
        }
    }
}

/// An entry of a connection's outgoing queue.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A record to deliver.
    Record(Frame),
    /// Deliver this farewell (if any), then end the transport.
    Close(Option<Frame>),
}

/// The inclusive range of dates a connection wants `CapacityUpdated` for,
/// as Julian day numbers. Packed into one `u64` so the broadcast path reads
/// it with a single atomic load and never sees half of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateWindow {
    from: i32,
    to: i32,
}

impl DateWindow {
    /// Every date (the default, and `WatchAllDates`).
    pub(crate) const ALL: DateWindow = DateWindow {
        from: i32::MIN,
        to: i32::MAX,
    };

    /// `[from, to]`; `None` when `from > to`.
    pub(crate) fn between(from: Date, to: Date) -> Option<DateWindow> {
        (from <= to).then(|| DateWindow {
            from: from.to_julian_day(),
            to: to.to_julian_day(),
        })
    }

    /// Whether `date` lies in the window.
    pub(crate) fn contains(self, date: Date) -> bool {
        let day = date.to_julian_day();
        self.from <= day && day <= self.to
    }

    fn pack(self) -> u64 {
        (u64::from(self.from as u32) << 32) | u64::from(self.to as u32)
    }

    fn unpack(packed: u64) -> DateWindow {
        DateWindow {
            from: (packed >> 32) as u32 as i32,
            to: packed as u32 as i32,
        }
    }
}

/// State of a Long Polling connection's polls.
#[derive(Debug, Default)]
pub(crate) struct PollState {
    /// Cancels the poll currently waiting, when a newer poll arrives (the old
    /// one then answers 204).
    pub(crate) current: Mutex<Option<CancellationToken>>,
    /// Polls in flight; a client with a poll waiting is present even though
    /// it sends nothing.
    pub(crate) active: AtomicUsize,
}

/// One logical SignalR connection, shared by its transport tasks, the
/// registry and the HTTP handlers that address it by `id`.
pub(crate) struct Connection {
    /// Public name (`connectionId`), used in logs.
    pub(crate) id: String,
    /// What the client sends as `id`: the secret `connectionToken` (negotiate
    /// v1) or the `connectionId` itself (v0). Knowing it is the capability to
    /// use the connection, so it is never logged.
    pub(crate) key: String,
    /// Who negotiated it; every later request must be the same user.
    pub(crate) user: HubUser,
    /// Registry start, the zero of the millisecond clocks below.
    epoch: Instant,
    /// Milliseconds since `epoch` at creation (negotiate).
    created_ms: u64,
    /// Milliseconds since `epoch` of the last sign of life from the client.
    last_seen_ms: AtomicU64,
    /// Set once, when a transport attaches.
    transport: OnceLock<Transport>,
    /// True after the handshake response was queued: nothing else may be
    /// sent before it, so broadcasts and pings skip the connection until then.
    handshaken: AtomicBool,
    /// `CapacityUpdated` filter, a packed [`DateWindow`].
    window: AtomicU64,
    /// Producer side of the bounded outgoing queue.
    tx: mpsc::Sender<Outbound>,
    /// Consumer side, until a transport takes it (WebSockets, SSE) or for the
    /// successive polls to borrow (Long Polling).
    pub(crate) rx: tokio::sync::Mutex<Option<mpsc::Receiver<Outbound>>>,
    /// `close` has been called (only the first call counts).
    closing: AtomicBool,
    /// Milliseconds since `epoch` when `close` was first called.
    closing_since_ms: AtomicU64,
    /// Farewell to write when the queue was too full to take it.
    urgent_farewell: Mutex<Option<Frame>>,
    /// Fires when the connection must stop at once; every task of the
    /// connection watches it. Cancelled by the transport when it ends, by
    /// eviction, by DELETE, and when the client goes away.
    pub(crate) ended: CancellationToken,
    /// Mirrors `ended` as a plain flag: fan-out checks it once per connection
    /// per broadcast, and the token's own check takes a lock.
    ended_flag: AtomicBool,
    /// Milliseconds since `epoch` when a Long Polling connection ended (its
    /// entry lingers briefly so late polls get 204 rather than 404).
    ended_ms: AtomicU64,
    /// Incoming side: framer and handshake state. Behind an async mutex so
    /// concurrent HTTP POSTs to one connection are processed one at a time.
    pub(crate) inbound: tokio::sync::Mutex<Inbound>,
    /// Long Polling bookkeeping.
    pub(crate) polls: PollState,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `key` is deliberately left out: it is a secret.
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("transport", &self.transport.get())
            .field("handshaken", &self.handshaken.load(Ordering::Relaxed))
            .field("window", &self.window())
            .field("ended", &self.is_ended())
            .finish_non_exhaustive()
    }
}

/// Why [`Connection::bind`] refused a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BindError {
    /// Already attached to this same transport.
    AlreadyBound,
    /// Attached to another transport.
    OtherTransport(Transport),
}

impl Connection {
    fn millis_since(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// Records a sign of life from the client (any frame, poll or POST).
    pub(crate) fn touch(&self) {
        self.last_seen_ms
            .fetch_max(self.millis_since(Instant::now()), Ordering::Relaxed);
    }

    /// The transport, if one attached.
    pub(crate) fn transport(&self) -> Option<Transport> {
        self.transport.get().copied()
    }

    /// Attaches `transport`; a connection has exactly one for its lifetime.
    pub(crate) fn bind(&self, transport: Transport) -> Result<(), BindError> {
        match self.transport.set(transport) {
            Ok(()) => {
                self.touch();
                Ok(())
            }
            Err(_) => match self.transport() {
                Some(t) if t == transport => Err(BindError::AlreadyBound),
                Some(t) => Err(BindError::OtherTransport(t)),
                None => unreachable!("OnceLock::set failed, so a value is present"),
            },
        }
    }

    /// Marks the handshake done: broadcasts and pings may now be queued.
    pub(crate) fn set_handshaken(&self) {
        self.handshaken.store(true, Ordering::Release);
    }

    /// Whether the handshake response has been queued.
    pub(crate) fn is_handshaken(&self) -> bool {
        self.handshaken.load(Ordering::Acquire)
    }

    /// The current `CapacityUpdated` filter.
    pub(crate) fn window(&self) -> DateWindow {
        DateWindow::unpack(self.window.load(Ordering::Acquire))
    }

    /// Replaces the `CapacityUpdated` filter (WatchDates / WatchAllDates).
    pub(crate) fn set_window(&self, window: DateWindow) {
        self.window.store(window.pack(), Ordering::Release);
    }

    /// Whether `close` or `abort` was called.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Whether the connection is over (its tasks are stopping or stopped).
    pub(crate) fn is_ended(&self) -> bool {
        self.ended_flag.load(Ordering::Acquire)
    }

    /// Fires `ended` (flag first, so fan-out stops queueing at once).
    fn end(&self) {
        self.ended_flag.store(true, Ordering::Release);
        self.ended.cancel();
    }

    /// Queues a record without waiting. A full queue means the client is
    /// too far behind: it is evicted (see the module docs). Returns whether
    /// the record was queued.
    pub(crate) fn send(&self, frame: Frame) -> bool {
        match self.tx.try_send(Outbound::Record(frame)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.evict();
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Closes a connection that cannot keep up, asking it to reconnect.
    pub(crate) fn evict(&self) {
        if !self.closing.load(Ordering::Relaxed) {
            tracing::warn!(
                connection_id = %self.id,
                user_id = self.user.user_id,
                "hub connection evicted: its send queue is full (client too slow)"
            );
        }
        self.close_with_message(protocol::close_frame(
            Some("The connection fell too far behind and was closed; reconnect to continue."),
            true,
        ));
    }

    /// Ends the connection with a Close message — if the client completed
    /// the handshake; before that nothing but the handshake response may be
    /// sent, so the transport just ends.
    pub(crate) fn close_with_message(&self, close: Frame) {
        let farewell = self.is_handshaken().then_some(close);
        self.close(farewell);
    }

    /// Ends the connection after what is already queued, sending `farewell`
    /// (a Close message, or a handshake error) last. Only the first call has
    /// an effect. Never blocks: if the queue is full, the queued messages are
    /// dropped and the farewell goes out first (urgent path).
    pub(crate) fn close(&self, farewell: Option<Frame>) {
        if self.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        self.closing_since_ms
            .store(self.millis_since(Instant::now()), Ordering::Relaxed);
        match self.tx.try_send(Outbound::Close(farewell)) {
            Ok(()) => {}
            Err(TrySendError::Full(Outbound::Close(farewell))) => {
                *self
                    .urgent_farewell
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = farewell;
                self.end();
            }
            Err(_) => self.end(),
        }
    }

    /// Ends the connection at once, without a farewell (the client left,
    /// sent DELETE, or closed the socket).
    pub(crate) fn abort(&self) {
        self.closing.store(true, Ordering::Release);
        self.finish();
    }

    /// Called by the transport when it has stopped: fires `ended` and
    /// timestamps it.
    pub(crate) fn finish(&self) {
        if !self.is_ended() {
            self.ended_ms
                .store(self.millis_since(Instant::now()), Ordering::Relaxed);
            self.end();
        }
    }

    /// The farewell left by the urgent close path, if any (taken once).
    pub(crate) fn take_urgent_farewell(&self) -> Option<Frame> {
        self.urgent_farewell
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// What [`Registry::sweep`] should do with this connection at `now`.
    fn sweep_verdict(&self, now_ms: u64, timeout_ms: u64, grace_ms: u64) -> Verdict {
        let age = |since: u64| now_ms.saturating_sub(since);
        let Some(transport) = self.transport() else {
            return if age(self.created_ms) > timeout_ms {
                Verdict::NeverConnected
            } else {
                Verdict::Keep
            };
        };
        if self.is_ended() {
            // Only Long Polling entries outlive their end (see `ended_ms`);
            // WebSockets and SSE remove themselves when their task stops.
            return if age(self.ended_ms.load(Ordering::Relaxed)) > grace_ms {
                Verdict::Remove
            } else {
                Verdict::Keep
            };
        }
        if self.closing.load(Ordering::Acquire) {
            // The farewell should be out within `grace`; if the writer is
            // stuck on a dead socket, cut it loose.
            return if age(self.closing_since_ms.load(Ordering::Relaxed)) > grace_ms {
                Verdict::Abort
            } else {
                Verdict::Keep
            };
        }
        if transport == Transport::LongPolling && self.polls.active.load(Ordering::Acquire) > 0 {
            return Verdict::Keep;
        }
        if age(self.last_seen_ms.load(Ordering::Relaxed)) > timeout_ms {
            Verdict::Silent(transport)
        } else {
            Verdict::Keep
        }
    }
}

/// Outcome of looking at one connection during a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Keep,
    /// Negotiated but no transport attached within the timeout.
    NeverConnected,
    /// Nothing heard from the client within the timeout.
    Silent(Transport),
    /// Closing for longer than the grace period.
    Abort,
    /// An ended Long Polling entry past its grace period.
    Remove,
}

/// What one fan-out did; for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FanOut {
    /// Connections the frame was queued for.
    pub(crate) delivered: usize,
    /// Connections evicted because their queue was full.
    pub(crate) evicted: usize,
}

/// What one sweep did; for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sweep {
    /// Negotiated connections dropped because no transport ever attached.
    pub(crate) never_connected: usize,
    /// Connections closed for silence.
    pub(crate) timed_out: usize,
    /// Closing connections aborted because their farewell did not go out.
    pub(crate) aborted: usize,
    /// Ended Long Polling entries removed.
    pub(crate) removed: usize,
}

/// All connections of this server process.
pub(crate) struct Registry {
    connections: RwLock<HashMap<String, Arc<Connection>>>,
    /// Zero of every connection's millisecond clocks.
    epoch: Instant,
    /// Capacity of each connection's outgoing queue.
    send_queue: usize,
    /// Largest accepted incoming record.
    max_message_size: usize,
}

impl fmt::Debug for Registry {
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
const CONNECTION_TOKEN_LEN: usize = 43;

fn random_alphanumeric(len: usize) -> String {
    // ThreadRng is a cryptographically secure generator; the token is a
    // capability. Alphanumerics need no escaping: the official client puts
    // the token into the query string as is.
    Alphanumeric.sample_string(&mut rand::thread_rng(), len)
}

impl Registry {
    pub(crate) fn new(send_queue: usize, max_message_size: usize) -> Registry {
        Registry {
            connections: RwLock::new(HashMap::new()),
            epoch: Instant::now(),
            send_queue: send_queue.max(1),
            max_message_size,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Connection>>> {
        self.connections
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Connection>>> {
        self.connections
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn millis(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// Creates and registers a connection for `user`. With `with_token`
    /// (negotiate v1) the client addresses it by a separate secret token;
    /// without (negotiate v0, or WebSockets with `skipNegotiation`), by its
    /// connection id.
    pub(crate) fn create(&self, user: HubUser, with_token: bool) -> Arc<Connection> {
        let (tx, rx) = mpsc::channel(self.send_queue);
        let id = random_alphanumeric(CONNECTION_ID_LEN);
        let key = if with_token {
            random_alphanumeric(CONNECTION_TOKEN_LEN)
        } else {
            id.clone()
        };
        let now = self.millis(Instant::now());
        let conn = Arc::new(Connection {
            id,
            key,
            user,
            epoch: self.epoch,
            created_ms: now,
            last_seen_ms: AtomicU64::new(now),
            transport: OnceLock::new(),
            handshaken: AtomicBool::new(false),
            window: AtomicU64::new(DateWindow::ALL.pack()),
            tx,
            rx: tokio::sync::Mutex::new(Some(rx)),
            closing: AtomicBool::new(false),
            closing_since_ms: AtomicU64::new(0),
            urgent_farewell: Mutex::new(None),
            ended: CancellationToken::new(),
            ended_flag: AtomicBool::new(false),
            ended_ms: AtomicU64::new(0),
            inbound: tokio::sync::Mutex::new(Inbound::new(self.max_message_size)),
            polls: PollState::default(),
        });
        self.write().insert(conn.key.clone(), Arc::clone(&conn));
        conn
    }

    /// The connection a client addresses with `key` (the `id` parameter).
    pub(crate) fn get(&self, key: &str) -> Option<Arc<Connection>> {
        self.read().get(key).cloned()
    }

    /// Removes `conn` (if it is still the entry under its key).
    pub(crate) fn remove(&self, conn: &Connection) {
        let mut map = self.write();
        if map
            .get(&conn.key)
            .is_some_and(|c| std::ptr::eq(Arc::as_ptr(c), conn))
        {
            map.remove(&conn.key);
        }
    }

    /// Number of entries (including ones that are ending).
    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    /// Queues `frame` for every handshaken, live connection that `wants` it.
    /// Never blocks; full queues lead to eviction (outside the lock).
    pub(crate) fn fan_out(&self, frame: &Frame, wants: impl Fn(&Connection) -> bool) -> FanOut {
        let mut out = FanOut::default();
        let mut behind = Vec::new();
        {
            let map = self.read();
            for conn in map.values() {
                if !conn.is_handshaken() || conn.is_ended() || !wants(conn) {
                    continue;
                }
                match conn.tx.try_send(Outbound::Record(frame.clone())) {
                    Ok(()) => out.delivered += 1,
                    Err(TrySendError::Full(_)) => behind.push(Arc::clone(conn)),
                    Err(TrySendError::Closed(_)) => {}
                }
            }
        }
        out.evicted = behind.len();
        for conn in behind {
            conn.evict();
        }
        out
    }

    /// Queues a Ping for every handshaken connection. Unlike a broadcast, a
    /// full queue is not held against the client: a connection that far
    /// behind is not idle, and the next broadcast evicts it anyway.
    pub(crate) fn ping_all(&self, ping: &Frame) -> usize {
        let map = self.read();
        map.values()
            .filter(|c| c.is_handshaken() && !c.is_ended())
            .filter(|c| c.tx.try_send(Outbound::Record(ping.clone())).is_ok())
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

    /// Drops connections that were negotiated but never attached, closes
    /// connections silent for longer than `client_timeout`, aborts closes
    /// that did not finish within `grace`, and removes ended Long Polling
    /// entries older than `grace`. `now` is a parameter so tests can move
    /// time without sleeping.
    pub(crate) fn sweep(&self, now: Instant, client_timeout: Duration, grace: Duration) -> Sweep {
        let now_ms = self.millis(now);
        let timeout_ms = u64::try_from(client_timeout.as_millis()).unwrap_or(u64::MAX);
        let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        let verdicts: Vec<(Arc<Connection>, Verdict)> = self
            .read()
            .values()
            .filter_map(|c| match c.sweep_verdict(now_ms, timeout_ms, grace_ms) {
                Verdict::Keep => None,
                v => Some((Arc::clone(c), v)),
            })
            .collect();
        let mut report = Sweep::default();
        for (conn, verdict) in verdicts {
            match verdict {
                Verdict::Keep => {}
                Verdict::NeverConnected => {
                    tracing::debug!(connection_id = %conn.id, "hub connection negotiated but never connected; dropped");
                    conn.abort();
                    self.remove(&conn);
                    report.never_connected += 1;
                }
                Verdict::Silent(Transport::LongPolling) => {
                    // Nobody is polling, so a farewell could not be delivered;
                    // a late poll gets 204 from the lingering entry.
                    tracing::debug!(connection_id = %conn.id, "long polling connection timed out (no poll)");
                    conn.abort();
                    report.timed_out += 1;
                }
                Verdict::Silent(_) => {
                    tracing::debug!(connection_id = %conn.id, "hub connection timed out (client silent)");
                    conn.close_with_message(protocol::close_frame(
                        Some("Server timeout elapsed without receiving a message from the client."),
                        true,
                    ));
                    report.timed_out += 1;
                }
                Verdict::Abort => {
                    tracing::debug!(connection_id = %conn.id, "hub connection did not close in time; aborted");
                    conn.abort();
                    if conn.transport() != Some(Transport::LongPolling) {
                        self.remove(&conn);
                    }
                    report.aborted += 1;
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
mod tests {
    use super::*;
    use time::macros::date;

    fn user(id: i64) -> HubUser {
        HubUser {
            user_id: id,
            role: "requester".into(),
        }
    }

    /// A connection as a transport would leave it after a good handshake.
    fn live(reg: &Registry, user_id: i64, transport: Transport) -> Arc<Connection> {
        let c = reg.create(user(user_id), true);
        c.bind(transport).unwrap();
        c.set_handshaken();
        c
    }

    fn drain(conn: &Connection) -> Vec<Outbound> {
        let mut rx = conn.rx.try_lock().unwrap();
        let rx = rx.as_mut().unwrap();
        let mut out = Vec::new();
        while let Ok(m) = rx.try_recv() {
            out.push(m);
        }
        out
    }

    fn records(conn: &Connection) -> Vec<Frame> {
        drain(conn)
            .into_iter()
            .map(|m| match m {
                Outbound::Record(f) => f,
                other => panic!("expected a record, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn date_windows_pack_losslessly_and_filter_inclusively() {
        let w = DateWindow::between(date!(2026 - 05 - 01), date!(2026 - 05 - 31)).unwrap();
        assert_eq!(DateWindow::unpack(w.pack()), w);
        assert_eq!(DateWindow::unpack(DateWindow::ALL.pack()), DateWindow::ALL);
        assert!(w.contains(date!(2026 - 05 - 01)));
        assert!(w.contains(date!(2026 - 05 - 31)));
        assert!(!w.contains(date!(2026 - 04 - 30)));
        assert!(!w.contains(date!(2026 - 06 - 01)));
        assert!(DateWindow::ALL.contains(date!(1900 - 01 - 01)));
        assert!(DateWindow::between(date!(2026 - 05 - 02), date!(2026 - 05 - 01)).is_none());
    }

    #[test]
    fn negotiate_v1_keys_by_a_secret_token_and_v0_by_the_id() {
        let reg = Registry::new(8, 1024);
        let v1 = reg.create(user(1), true);
        assert_ne!(v1.key, v1.id);
        assert_eq!(v1.key.len(), CONNECTION_TOKEN_LEN);
        assert!(v1.key.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(reg.get(&v1.key).is_some());
        assert!(
            reg.get(&v1.id).is_none(),
            "the public id is not a capability"
        );
        let v0 = reg.create(user(1), false);
        assert_eq!(v0.key, v0.id);
        assert!(reg.get(&v0.id).is_some());
        assert!(
            !format!("{v1:?}").contains(&v1.key),
            "Debug must not leak the token"
        );
    }

    #[test]
    fn a_broadcast_is_serialized_once_and_shared() {
        let reg = Registry::new(8, 1024);
        let conns: Vec<_> = (0..5)
            .map(|i| live(&reg, i, Transport::WebSockets))
            .collect();
        let frame = protocol::invocation_frame("CapacitySettingsChanged", &1).unwrap();
        let out = reg.fan_out(&frame, |_| true);
        assert_eq!(
            out,
            FanOut {
                delivered: 5,
                evicted: 0
            }
        );
        for c in &conns {
            let got = records(c);
            assert_eq!(got.len(), 1);
            assert!(got[0].ptr_eq(&frame), "every queue holds the same buffer");
        }
    }

    #[test]
    fn a_broadcast_reaches_thousands_of_connections_from_one_buffer() {
        let reg = Registry::new(4, 1024);
        let conns: Vec<_> = (0..5000)
            .map(|i| live(&reg, i, Transport::ServerSentEvents))
            .collect();
        let frame = protocol::invocation_frame("CapacityUpdated", &"x").unwrap();
        assert_eq!(
            reg.fan_out(&frame, |_| true),
            FanOut {
                delivered: 5000,
                evicted: 0
            }
        );
        let first_event = records(&conns[0])[0].sse_event();
        for c in &conns[1..] {
            let got = records(c);
            assert!(got[0].ptr_eq(&frame));
            assert_eq!(got[0].sse_event().as_ptr(), first_event.as_ptr());
        }
    }

    #[test]
    fn connections_before_their_handshake_get_nothing() {
        let reg = Registry::new(8, 1024);
        let c = reg.create(user(1), true);
        c.bind(Transport::WebSockets).unwrap();
        let frame = protocol::ping_frame();
        assert_eq!(reg.fan_out(&frame, |_| true).delivered, 0);
        assert_eq!(reg.ping_all(&frame), 0);
        assert!(drain(&c).is_empty());
    }

    #[test]
    fn watch_dates_filters_capacity_updates() {
        let reg = Registry::new(8, 1024);
        let all = live(&reg, 1, Transport::WebSockets);
        let may = live(&reg, 2, Transport::ServerSentEvents);
        may.set_window(DateWindow::between(date!(2026 - 05 - 01), date!(2026 - 05 - 31)).unwrap());
        let frame = protocol::invocation_frame("CapacityUpdated", &"x").unwrap();
        let on = |d: Date| move |c: &Connection| c.window().contains(d);

        assert_eq!(reg.fan_out(&frame, on(date!(2026 - 06 - 01))).delivered, 1);
        assert_eq!(records(&all).len(), 1);
        assert!(records(&may).is_empty());

        assert_eq!(reg.fan_out(&frame, on(date!(2026 - 05 - 15))).delivered, 2);
        assert_eq!(records(&may).len(), 1);

        may.set_window(DateWindow::ALL);
        assert_eq!(reg.fan_out(&frame, on(date!(2026 - 06 - 01))).delivered, 2);
    }

    #[test]
    fn a_slow_client_is_evicted_without_blocking_the_others() {
        let reg = Registry::new(2, 1024);
        let slow = live(&reg, 1, Transport::WebSockets);
        let fast = live(&reg, 2, Transport::WebSockets);
        let frame = protocol::invocation_frame("CapacityUpdated", &1).unwrap();
        for _ in 0..2 {
            assert_eq!(reg.fan_out(&frame, |_| true).delivered, 2);
            records(&fast); // the fast one keeps up
        }
        let out = reg.fan_out(&frame, |_| true);
        assert_eq!(
            out,
            FanOut {
                delivered: 1,
                evicted: 1
            }
        );

        // The queue was full, so the farewell went through the urgent path.
        assert!(slow.is_ended(), "the writer is told to stop at once");
        let farewell = slow.take_urgent_farewell().expect("a Close is waiting");
        let text = String::from_utf8(farewell.bytes().to_vec()).unwrap();
        assert!(text.starts_with(r#"{"type":7,"error":"#));
        assert!(text.contains(r#""allowReconnect":true"#));
        // Later broadcasts skip it; the fast one is untouched.
        assert_eq!(
            reg.fan_out(&frame, |_| true),
            FanOut {
                delivered: 1,
                evicted: 0
            }
        );
        assert!(!fast.is_ended());
        assert_eq!(records(&fast).len(), 2);
    }

    #[test]
    fn a_close_with_room_in_the_queue_goes_out_in_order() {
        let reg = Registry::new(4, 1024);
        let c = live(&reg, 1, Transport::WebSockets);
        assert!(c.send(protocol::ping_frame()));
        c.close(Some(protocol::close_frame(None, true)));
        c.close(Some(protocol::close_frame(Some("second"), false))); // ignored
        let out = drain(&c);
        assert_eq!(out.len(), 2);
        assert!(matches!(out[0], Outbound::Record(_)));
        assert!(matches!(out[1], Outbound::Close(Some(_))));
        assert!(
            !c.is_ended(),
            "the writer ends it after writing the farewell"
        );
    }

    #[test]
    fn send_evicts_when_the_queue_is_full() {
        let reg = Registry::new(1, 1024);
        let c = live(&reg, 1, Transport::WebSockets);
        assert!(c.send(protocol::ping_frame()));
        assert!(!c.send(protocol::ping_frame()));
        assert!(c.is_ended());
    }

    #[test]
    fn pings_skip_full_queues_without_evicting() {
        let reg = Registry::new(1, 1024);
        let c = live(&reg, 1, Transport::WebSockets);
        let ping = protocol::ping_frame();
        assert_eq!(reg.ping_all(&ping), 1);
        assert_eq!(reg.ping_all(&ping), 0);
        assert!(!c.is_ended());
    }

    #[test]
    fn open_connections_are_counted_per_transport() {
        let reg = Registry::new(4, 1024);
        live(&reg, 1, Transport::WebSockets);
        live(&reg, 2, Transport::WebSockets);
        live(&reg, 3, Transport::LongPolling);
        reg.create(user(4), true); // negotiated only: not open yet
        let ended = live(&reg, 5, Transport::ServerSentEvents);
        ended.abort();
        assert_eq!(
            reg.count_by_transport(),
            [
                (Transport::WebSockets, 2),
                (Transport::ServerSentEvents, 0),
                (Transport::LongPolling, 1)
            ]
        );
    }

    #[test]
    fn bind_is_once_per_connection() {
        let reg = Registry::new(4, 1024);
        let c = reg.create(user(1), true);
        assert_eq!(c.bind(Transport::LongPolling), Ok(()));
        assert_eq!(c.bind(Transport::LongPolling), Err(BindError::AlreadyBound));
        assert_eq!(
            c.bind(Transport::WebSockets),
            Err(BindError::OtherTransport(Transport::LongPolling))
        );
    }

    const TIMEOUT: Duration = Duration::from_secs(30);
    const GRACE: Duration = Duration::from_secs(15);

    #[test]
    fn a_negotiated_connection_that_never_connects_is_dropped() {
        let reg = Registry::new(4, 1024);
        let c = reg.create(user(1), true);
        let t0 = Instant::now();
        assert_eq!(
            reg.sweep(t0 + Duration::from_secs(29), TIMEOUT, GRACE),
            Sweep::default()
        );
        let s = reg.sweep(t0 + Duration::from_secs(31), TIMEOUT, GRACE);
        assert_eq!(s.never_connected, 1);
        assert!(reg.get(&c.key).is_none());
    }

    #[test]
    fn a_silent_client_is_closed_with_allow_reconnect() {
        let reg = Registry::new(4, 1024);
        let c = live(&reg, 1, Transport::WebSockets);
        let t0 = Instant::now();
        assert_eq!(
            reg.sweep(t0 + Duration::from_secs(29), TIMEOUT, GRACE)
                .timed_out,
            0
        );
        assert_eq!(
            reg.sweep(t0 + Duration::from_secs(31), TIMEOUT, GRACE)
                .timed_out,
            1
        );
        match drain(&c).pop() {
            Some(Outbound::Close(Some(f))) => {
                let text = String::from_utf8(f.bytes().to_vec()).unwrap();
                assert!(text.contains("Server timeout elapsed"));
                assert!(text.contains(r#""allowReconnect":true"#));
            }
            other => panic!("expected a Close, got {other:?}"),
        }
        // A writer stuck on a dead socket is cut loose after the grace period.
        let s = reg.sweep(
            t0 + Duration::from_secs(31) + GRACE + Duration::from_secs(1),
            TIMEOUT,
            GRACE,
        );
        assert_eq!(s.aborted, 1);
        assert!(c.is_ended());
        assert!(reg.get(&c.key).is_none());
    }

    #[test]
    fn a_long_poll_in_flight_counts_as_presence() {
        let reg = Registry::new(4, 1024);
        let c = live(&reg, 1, Transport::LongPolling);
        c.polls.active.fetch_add(1, Ordering::AcqRel);
        let t0 = Instant::now();
        assert_eq!(
            reg.sweep(t0 + Duration::from_secs(95), TIMEOUT, GRACE),
            Sweep::default()
        );
        c.polls.active.fetch_sub(1, Ordering::AcqRel);
        // Without a poll, long polling silence ends the connection at once...
        let s = reg.sweep(t0 + Duration::from_secs(95), TIMEOUT, GRACE);
        assert_eq!(s.timed_out, 1);
        assert!(c.is_ended());
        // ...and the entry lingers for late polls until the grace period is over.
        assert!(reg.get(&c.key).is_some());
    }

    #[test]
    fn a_client_that_never_completes_the_handshake_is_closed_without_a_close_message() {
        let reg = Registry::new(4, 1024);
        let c = reg.create(user(1), true);
        c.bind(Transport::WebSockets).unwrap();
        let t0 = Instant::now();
        assert_eq!(
            reg.sweep(t0 + Duration::from_secs(31), TIMEOUT, GRACE)
                .timed_out,
            1
        );
        assert!(matches!(drain(&c).as_slice(), [Outbound::Close(None)]));
    }

    #[test]
    fn activity_postpones_the_timeout() {
        let reg = Registry::new(4, 1024);
        let c = live(&reg, 1, Transport::ServerSentEvents);
        // `touch` stamps "now"; a sweep 31 s after that must close it, one at
        // 29 s must not.
        c.touch();
        let t = Instant::now();
        assert_eq!(
            reg.sweep(t + Duration::from_secs(29), TIMEOUT, GRACE)
                .timed_out,
            0
        );
        assert_eq!(
            reg.sweep(t + Duration::from_secs(31), TIMEOUT, GRACE)
                .timed_out,
            1
        );
    }

    #[test]
    fn shutdown_closes_everyone_and_drops_unattached_ones() {
        let reg = Registry::new(4, 1024);
        let a = live(&reg, 1, Transport::WebSockets);
        let pending = reg.create(user(2), true);
        reg.close_all(&protocol::close_frame(None, true));
        assert!(matches!(drain(&a).pop(), Some(Outbound::Close(Some(_)))));
        assert!(pending.is_ended());
        assert!(reg.get(&pending.key).is_none());
    }
}
