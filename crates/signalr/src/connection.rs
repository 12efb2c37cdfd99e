//! One logical SignalR connection: its identity, its [`Phase`], where its
//! outgoing messages go (a bounded queue for Server-Sent Events and Long
//! Polling, the socket itself for WebSockets: see [`crate::outlet`]), and
//! the state its transports share.
//!
//! Every change of phase goes through [`Connection::transition`], which
//! applies [`Phase::on`] atomically; the rest of this module is what those
//! transitions imply (a farewell queued, the `ended` token fired, …).
//!
//! Closing is two-speed: [`Connection::close`] queues a farewell behind what
//! is already queued (ordered, the normal case), and falls back to an urgent
//! path when the client is too far behind — the queue's farewell slot,
//! checked when the `ended` token fires, or the socket's backlog dropped so
//! the farewell goes first — so a stuck client can always be cut loose.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::dispatch::Inbound;
use crate::lifecycle::{Event, Phase};
use crate::limits::Permit;
use crate::outlet::{Delivery, SocketOutlet};
use crate::protocol::{self, Frame, Protocol};
use crate::replay::Replay;

/// How a connection reaches its client. Names match the
/// [`Hub::open_connections`](crate::Hub::open_connections) labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Full duplex over one socket.
    WebSockets,
    /// A streaming response, plus HTTP POSTs for client messages.
    ServerSentEvents,
    /// Successive polls, plus HTTP POSTs for client messages.
    LongPolling,
}

impl Transport {
    /// All transports, in the order `open_connections` reports them.
    pub const ALL: [Transport; 3] = [
        Transport::WebSockets,
        Transport::ServerSentEvents,
        Transport::LongPolling,
    ];

    /// Metric label.
    pub fn label(self) -> &'static str {
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
    /// A message to deliver.
    Record(Frame),
    /// Deliver this farewell (if any), then end the transport.
    Close(Option<Frame>),
}

/// Where a connection's outgoing messages go.
#[derive(Debug)]
enum Outlet {
    /// A bounded queue drained by the transport's writer (Server-Sent
    /// Events, Long Polling).
    Queue(Queue),
    /// The WebSocket itself: publishers write to it directly.
    Socket(SocketOutlet),
}

/// A bounded outgoing queue and its single consumer.
#[derive(Debug)]
pub(crate) struct Queue {
    tx: mpsc::Sender<Outbound>,
    /// Consumer side; whoever writes to the client holds this lock (SSE's
    /// body, each poll).
    pub(crate) rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Outbound>>>,
    /// Farewell to write when the queue was too full to take it.
    urgent_farewell: Mutex<Option<Frame>>,
}

impl Queue {
    fn new(capacity: usize) -> Queue {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        Queue {
            tx,
            rx: Arc::new(tokio::sync::Mutex::new(rx)),
            urgent_farewell: Mutex::new(None),
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

/// Why [`Connection::bind`] refused a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BindError {
    /// Already attached to this same transport.
    AlreadyBound,
    /// Attached to another transport.
    OtherTransport(Transport),
}

/// What a connection was created with.
#[derive(Debug)]
pub(crate) struct Identity {
    /// Public name (`connectionId`).
    pub(crate) id: String,
    /// What the client sends as `id` (secret token, or the id for v0).
    pub(crate) key: String,
    /// The owner.
    pub(crate) user: String,
    /// Negotiate offered stateful reconnect (the client asked for it).
    pub(crate) stateful_offered: bool,
}

/// See the module docs.
pub struct Connection<S> {
    pub(crate) identity: Identity,
    /// The application's state of this connection.
    pub(crate) state: S,
    /// Zero of the millisecond clocks below (the registry's start).
    epoch: Instant,
    created_ms: u64,
    /// Last sign of life from the client.
    last_seen_ms: AtomicU64,
    /// When the current phase was entered.
    since_ms: AtomicU64,
    /// When the credential expires (ms since `epoch`; `u64::MAX` = never).
    expires_ms: AtomicU64,
    /// The lifecycle, a [`Phase`] as a byte.
    phase: AtomicU8,
    /// Set once, when a transport binds.
    transport: OnceLock<Transport>,
    /// Set once, by the handshake.
    protocol: OnceLock<Protocol>,
    /// Set by a version-2 handshake on a stateful-offered WebSocket.
    pub(crate) replay: OnceLock<Replay>,
    /// Where outgoing messages go; set once, when the transport binds.
    outlet: OnceLock<Outlet>,
    /// Size of the outgoing queue (or WebSocket backlog) in messages.
    send_queue: u32,
    /// Fires when the connection is over; every task of it watches it.
    pub(crate) ended: CancellationToken,
    /// Incoming side; behind an async mutex so concurrent POSTs (or an old
    /// and a resumed socket) are processed one at a time.
    pub(crate) inbound: tokio::sync::Mutex<Inbound>,
    /// Long Polling bookkeeping.
    pub(crate) polls: PollState,
    /// The connection's share of the caps.
    _permit: Option<Permit>,
}

impl<S> fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `key` is deliberately left out: it is a secret.
        f.debug_struct("Connection")
            .field("id", &self.identity.id)
            .field("user", &self.identity.user)
            .field("phase", &self.phase())
            .field("transport", &self.transport.get())
            .field("protocol", &self.protocol.get())
            .finish_non_exhaustive()
    }
}

/// A transition did not apply; the phase the connection is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotNow(pub(crate) Phase);

impl<S> Connection<S> {
    pub(crate) fn new(
        identity: Identity,
        state: S,
        epoch: Instant,
        send_queue: usize,
        max_message_size: usize,
        permit: Option<Permit>,
    ) -> Connection<S> {
        let now = millis(epoch, Instant::now());
        Connection {
            identity,
            state,
            epoch,
            created_ms: now,
            last_seen_ms: AtomicU64::new(now),
            since_ms: AtomicU64::new(now),
            expires_ms: AtomicU64::new(u64::MAX),
            phase: AtomicU8::new(Phase::Negotiated as u8),
            transport: OnceLock::new(),
            protocol: OnceLock::new(),
            replay: OnceLock::new(),
            outlet: OnceLock::new(),
            send_queue: u32::try_from(send_queue.max(1)).unwrap_or(u32::MAX),
            ended: CancellationToken::new(),
            inbound: tokio::sync::Mutex::new(Inbound::new(max_message_size)),
            polls: PollState::default(),
            _permit: permit,
        }
    }

    /// The public connection id.
    pub fn id(&self) -> &str {
        &self.identity.id
    }

    /// The owner's user id.
    pub fn user(&self) -> &str {
        &self.identity.user
    }

    /// The application's state of this connection.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// Where the connection is in its life.
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// Applies `event` (see [`Phase::on`]); returns the phase left.
    pub(crate) fn transition(&self, event: Event) -> Result<Phase, NotNow> {
        let mut current = self.phase.load(Ordering::Acquire);
        loop {
            let from = Phase::from_u8(current);
            let Some(to) = from.on(event) else {
                return Err(NotNow(from));
            };
            match self.phase.compare_exchange_weak(
                current,
                to as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.since_ms.store(self.now_ms(), Ordering::Relaxed);
                    if to == Phase::Ended {
                        self.ended.cancel();
                    }
                    return Ok(from);
                }
                Err(actual) => current = actual,
            }
        }
    }

    fn now_ms(&self) -> u64 {
        millis(self.epoch, Instant::now())
    }

    /// Records a sign of life from the client (any frame, poll or POST).
    pub(crate) fn touch(&self) {
        self.last_seen_ms
            .fetch_max(self.now_ms(), Ordering::Relaxed);
    }

    /// Moves the credential's expiry (`None`: never).
    pub(crate) fn set_expiry(&self, at: Option<Instant>) {
        let ms = at.map_or(u64::MAX, |at| millis(self.epoch, at));
        self.expires_ms.store(ms, Ordering::Relaxed);
    }

    /// The transport, if one is bound.
    pub fn transport(&self) -> Option<Transport> {
        self.transport.get().copied()
    }

    /// The hub protocol, once the handshake chose it.
    pub fn protocol(&self) -> Option<Protocol> {
        self.protocol.get().copied()
    }

    pub(crate) fn set_protocol(&self, protocol: Protocol) {
        let _ = self.protocol.set(protocol);
    }

    /// Whether stateful reconnect is on for this connection.
    pub(crate) fn is_stateful(&self) -> bool {
        self.replay.get().is_some()
    }

    /// Binds `transport` with an outgoing queue (Server-Sent Events, Long
    /// Polling); a connection has exactly one transport for its lifetime.
    pub(crate) fn bind(&self, transport: Transport) -> Result<(), BindError> {
        self.bind_with(transport, || {
            Outlet::Queue(Queue::new(self.send_queue as usize))
        })
    }

    /// Binds the WebSocket transport, whose messages go straight to the
    /// socket (see [`SocketOutlet`]).
    pub(crate) fn bind_socket(&self) -> Result<(), BindError> {
        self.bind_with(Transport::WebSockets, || {
            Outlet::Socket(SocketOutlet::new(self.send_queue as usize))
        })
    }

    fn bind_with(
        &self,
        transport: Transport,
        outlet: impl FnOnce() -> Outlet,
    ) -> Result<(), BindError> {
        match self.transport.set(transport) {
            Ok(()) => {
                let _ = self.outlet.set(outlet());
                let _ = self.transition(Event::Attach);
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

    /// Whether the connection is over.
    pub fn is_ended(&self) -> bool {
        self.phase() == Phase::Ended
    }

    /// Whether a farewell is queued or the connection is over.
    pub(crate) fn is_closing(&self) -> bool {
        self.phase() >= Phase::Closing
    }

    /// The outgoing queue of a Server-Sent Events or Long Polling
    /// connection (`None` before the transport binds, and for WebSockets).
    pub(crate) fn queue(&self) -> Option<&Queue> {
        match self.outlet.get() {
            Some(Outlet::Queue(queue)) => Some(queue),
            _ => None,
        }
    }

    /// The WebSocket outlet, once the WebSocket transport bound.
    pub(crate) fn socket_outlet(&self) -> Option<&SocketOutlet> {
        match self.outlet.get() {
            Some(Outlet::Socket(outlet)) => Some(outlet),
            _ => None,
        }
    }

    /// Sends a message without waiting; a client too far behind is
    /// evicted. Returns whether the message was taken.
    pub(crate) fn send(&self, frame: Frame) -> bool {
        match self.offer(frame) {
            Ok(()) => true,
            Err(true) => {
                self.evict();
                false
            }
            Err(false) => false,
        }
    }

    /// Sends for fan-out: like [`send`](Self::send) but leaves eviction to
    /// the caller (outside the registry lock). `Err(true)` = the client is
    /// too far behind; `Err(false)` = nothing can be sent any more.
    pub(crate) fn offer(&self, frame: Frame) -> Result<(), bool> {
        match self.outlet.get() {
            Some(Outlet::Queue(queue)) => match queue.tx.try_send(Outbound::Record(frame)) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => Err(true),
                Err(TrySendError::Closed(_)) => Err(false),
            },
            Some(Outlet::Socket(outlet)) => {
                let protocol = self.protocol().unwrap_or(Protocol::Json);
                match outlet.deliver(&frame, protocol, self.replay.get()) {
                    Delivery::Accepted | Delivery::Held => Ok(()),
                    Delivery::Full => Err(true),
                    Delivery::Closed => Err(false),
                }
            }
            None => Err(false),
        }
    }

    /// Closes a connection that cannot keep up, asking it to reconnect.
    pub(crate) fn evict(&self) {
        if !self.is_closing() {
            tracing::warn!(
                connection_id = %self.identity.id,
                user = %self.identity.user,
                "hub connection evicted: its send queue is full (client too slow)"
            );
        }
        self.close_with_message(protocol::close_frame(
            Some("The connection fell too far behind and was closed; reconnect to continue."),
            true,
        ));
    }

    /// Ends the connection with a Close message if the client completed the
    /// handshake; before that nothing but the handshake reply may be sent,
    /// so the transport just ends.
    pub(crate) fn close_with_message(&self, close: Frame) {
        let farewell = self.phase().receives_broadcasts().then_some(close);
        self.close(farewell);
    }

    /// Ends the connection after what is already queued, sending `farewell`
    /// last. Only the first call has an effect. Never blocks: with the queue
    /// full, the queue is abandoned and the farewell goes out first. A
    /// detached connection has nobody to say farewell to: it just ends.
    pub(crate) fn close(&self, farewell: Option<Frame>) {
        match self.transition(Event::Close) {
            Err(_) => {}
            Ok(Phase::Detached) => self.abort(),
            Ok(_) => match self.outlet.get() {
                Some(Outlet::Queue(queue)) => match queue.tx.try_send(Outbound::Close(farewell)) {
                    Ok(()) => {}
                    Err(TrySendError::Full(Outbound::Close(farewell))) => {
                        *queue
                            .urgent_farewell
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner) = farewell;
                        self.abort();
                    }
                    Err(_) => self.abort(),
                },
                Some(Outlet::Socket(outlet)) => {
                    outlet.close(farewell.as_ref(), self.protocol().unwrap_or(Protocol::Json));
                }
                None => self.abort(),
            },
        }
    }

    /// Ends the connection at once, without a farewell (the client left,
    /// sent DELETE, or a writer gave up).
    pub(crate) fn abort(&self) {
        let _ = self.transition(Event::End);
    }

    /// The farewell left by the urgent close path, if any (taken once).
    pub(crate) fn take_urgent_farewell(&self) -> Option<Frame> {
        self.queue()?
            .urgent_farewell
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// What a sweep should do with this connection at `now_ms`.
    pub(crate) fn sweep_verdict(&self, now_ms: u64, limits: &SweepLimits) -> Verdict {
        let age = |since: u64| now_ms.saturating_sub(since);
        let since = self.since_ms.load(Ordering::Relaxed);
        match self.phase() {
            Phase::Negotiated if age(self.created_ms) > limits.timeout_ms => {
                Verdict::NeverConnected
            }
            Phase::Negotiated => Verdict::Keep,
            // Only Long Polling entries outlive their end (late polls get
            // 204); the other transports remove themselves when they stop.
            Phase::Ended if age(since) > limits.grace_ms => Verdict::Remove,
            Phase::Ended => Verdict::Keep,
            // The farewell should be out within `grace`; a writer stuck on
            // a dead socket is cut loose.
            Phase::Closing if age(since) > limits.grace_ms => Verdict::Abort,
            Phase::Closing => Verdict::Keep,
            Phase::Detached if age(since) > limits.reconnect_window_ms => Verdict::Abandoned,
            Phase::Detached => Verdict::Keep,
            Phase::Attached | Phase::Open => {
                if now_ms >= self.expires_ms.load(Ordering::Relaxed) && self.phase() == Phase::Open
                {
                    return Verdict::Expired;
                }
                let transport = self.transport().unwrap_or(Transport::WebSockets);
                if transport == Transport::LongPolling
                    && self.polls.active.load(Ordering::Acquire) > 0
                {
                    return Verdict::Keep;
                }
                if age(self.last_seen_ms.load(Ordering::Relaxed)) > limits.timeout_ms {
                    Verdict::Silent(transport)
                } else {
                    Verdict::Keep
                }
            }
        }
    }
}

/// Milliseconds from `epoch` to `at`.
pub(crate) fn millis(epoch: Instant, at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch).as_millis()).unwrap_or(u64::MAX)
}

/// The time limits a sweep applies, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SweepLimits {
    pub(crate) timeout_ms: u64,
    pub(crate) grace_ms: u64,
    pub(crate) reconnect_window_ms: u64,
}

/// Outcome of looking at one connection during a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Keep,
    /// Negotiated but no transport attached within the timeout.
    NeverConnected,
    /// Nothing heard from the client within the timeout.
    Silent(Transport),
    /// The credential expired.
    Expired,
    /// Closing for longer than the grace period.
    Abort,
    /// Detached for longer than the reconnect window.
    Abandoned,
    /// An ended Long Polling entry past its grace period.
    Remove,
}
