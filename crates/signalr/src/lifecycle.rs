//! The life of a connection as one enum, and every transition it may make
//! in one function ([`Phase::on`]).
//!
//! ```text
//!  Negotiated ──Attach──► Attached ──Handshake──► Open ◄──Resume── Detached
//!      │                     │                     │ └────Detach───►  │
//!      │                     └───────Close────► Closing ◄──Close──────┤
//!      └────────────────── End (from any phase) ──► Ended ◄───────────┘
//! ```
//!
//! * `Negotiated` — negotiate made it; no transport yet.
//! * `Attached` — a transport is bound; the handshake has not arrived. Only
//!   the handshake reply may be sent.
//! * `Open` — handshake done: broadcasts, pings and replies flow.
//! * `Detached` — stateful reconnect only: the WebSocket was lost, the
//!   connection waits for the client to come back; broadcasts queue up.
//! * `Closing` — a farewell is queued; nothing new is accepted.
//! * `Ended` — the transport stopped; the entry is about to go.

/// Where a connection is in its life. Stored in an `AtomicU8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Phase {
    /// Negotiated, no transport yet.
    Negotiated = 0,
    /// A transport is bound, the handshake has not been received.
    Attached = 1,
    /// Handshake done; messages flow.
    Open = 2,
    /// Stateful reconnect: the socket is gone, the connection waits for it.
    Detached = 3,
    /// A farewell is queued.
    Closing = 4,
    /// Over.
    Ended = 5,
}

/// What happens to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A transport binds.
    Attach,
    /// A valid handshake arrives.
    Handshake,
    /// The socket of a stateful connection is lost.
    Detach,
    /// The client comes back to a detached (or not yet detached) connection.
    Resume,
    /// The connection is told to close (a farewell may follow).
    Close,
    /// The transport stopped, or the connection is cut off.
    End,
}

impl Phase {
    /// The phase after `event`, or `None` when `event` does not apply now
    /// (the caller then leaves the connection as it is).
    pub fn on(self, event: Event) -> Option<Phase> {
        use Event as E;
        use Phase as P;
        match (self, event) {
            (P::Negotiated, E::Attach) => Some(P::Attached),
            (P::Attached, E::Handshake) => Some(P::Open),
            (P::Open, E::Detach) => Some(P::Detached),
            (P::Open | P::Detached, E::Resume) => Some(P::Open),
            (P::Negotiated | P::Attached | P::Open | P::Detached, E::Close) => Some(P::Closing),
            (P::Ended, E::End) => None,
            (_, E::End) => Some(P::Ended),
            _ => None,
        }
    }

    pub(crate) fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Negotiated,
            1 => Phase::Attached,
            2 => Phase::Open,
            3 => Phase::Detached,
            4 => Phase::Closing,
            _ => Phase::Ended,
        }
    }

    /// Whether broadcasts are queued for a connection in this phase (a
    /// detached one keeps receiving them, to deliver on resume).
    pub fn receives_broadcasts(self) -> bool {
        matches!(self, Phase::Open | Phase::Detached)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Phase; 6] = [
        Phase::Negotiated,
        Phase::Attached,
        Phase::Open,
        Phase::Detached,
        Phase::Closing,
        Phase::Ended,
    ];

    #[test]
    fn the_happy_path_and_a_stateful_reconnect() {
        let p = Phase::Negotiated;
        let p = p.on(Event::Attach).unwrap();
        let p = p.on(Event::Handshake).unwrap();
        assert_eq!(p, Phase::Open);
        let p = p.on(Event::Detach).unwrap();
        assert_eq!(p, Phase::Detached);
        let p = p.on(Event::Resume).unwrap();
        assert_eq!(p, Phase::Open);
        let p = p.on(Event::Close).unwrap();
        assert_eq!(p.on(Event::End), Some(Phase::Ended));
    }

    #[test]
    fn end_is_reachable_from_everywhere_and_final() {
        for p in ALL {
            let ended = p.on(Event::End).unwrap_or(p);
            assert_eq!(ended, Phase::Ended);
            for e in [
                Event::Attach,
                Event::Handshake,
                Event::Detach,
                Event::Resume,
                Event::Close,
                Event::End,
            ] {
                assert_eq!(Phase::Ended.on(e), None, "{e:?} after the end");
            }
        }
    }

    #[test]
    fn closing_is_entered_once_and_never_left_but_for_the_end() {
        assert_eq!(Phase::Closing.on(Event::Close), None);
        assert_eq!(Phase::Closing.on(Event::Resume), None);
        assert_eq!(Phase::Closing.on(Event::Handshake), None);
        assert_eq!(Phase::Closing.on(Event::Detach), None);
    }

    #[test]
    fn no_handshake_twice_no_detach_before_the_handshake() {
        assert_eq!(Phase::Open.on(Event::Handshake), None);
        assert_eq!(Phase::Attached.on(Event::Detach), None);
        assert_eq!(Phase::Negotiated.on(Event::Resume), None);
        assert_eq!(Phase::Open.on(Event::Attach), None);
    }

    #[test]
    fn the_byte_form_round_trips() {
        for p in ALL {
            assert_eq!(Phase::from_u8(p as u8), p);
        }
        assert!(Phase::Open.receives_broadcasts() && Phase::Detached.receives_broadcasts());
        assert!(!Phase::Attached.receives_broadcasts() && !Phase::Closing.receives_broadcasts());
    }
}
