use std::time::Duration;

use super::*;
use crate::connection::Outbound;
use crate::lifecycle::Event;

#[derive(Debug, Default)]
struct NoState;

fn reg(queue: usize) -> Registry<NoState> {
    Registry::new(queue, 1024)
}

/// A connection as a transport leaves it after a good handshake.
fn live(reg: &Registry<NoState>, user: &str, transport: Transport) -> Arc<Connection<NoState>> {
    let c = reg.create(user.into(), Create::default(), None);
    c.bind(transport).unwrap();
    c.transition(Event::Handshake).unwrap();
    c
}

fn drain(conn: &Connection<NoState>) -> Vec<Outbound> {
    let mut rx = conn.queue().unwrap().rx.try_lock().unwrap();
    let mut out = Vec::new();
    while let Ok(m) = rx.try_recv() {
        out.push(m);
    }
    out
}

fn records(conn: &Connection<NoState>) -> Vec<Frame> {
    drain(conn)
        .into_iter()
        .map(|m| match m {
            Outbound::Record(f) => f,
            other => panic!("expected a record, got {other:?}"),
        })
        .collect()
}

const LIMITS: SweepLimits = SweepLimits {
    timeout_ms: 30_000,
    grace_ms: 15_000,
    reconnect_window_ms: 30_000,
};

#[test]
fn negotiate_v1_keys_by_a_secret_token_and_v0_by_the_id() {
    let reg = reg(8);
    let v1 = reg.create(
        "1".into(),
        Create {
            with_token: true,
            stateful: false,
        },
        None,
    );
    assert_ne!(v1.identity.key, v1.identity.id);
    assert_eq!(v1.identity.key.len(), CONNECTION_TOKEN_LEN);
    assert!(v1.identity.key.chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(reg.get(&v1.identity.key).is_some());
    assert!(
        reg.get(&v1.identity.id).is_none(),
        "the public id is not a capability"
    );
    let v0 = reg.create("1".into(), Create::default(), None);
    assert_eq!(v0.identity.key, v0.identity.id);
    assert!(reg.get(&v0.identity.id).is_some());
    assert!(
        !format!("{v1:?}").contains(&v1.identity.key),
        "Debug must not leak the token"
    );
}

#[test]
fn a_broadcast_is_serialized_once_and_shared_by_thousands() {
    let reg = reg(4);
    let conns: Vec<_> = (0..5000)
        .map(|i| live(&reg, &i.to_string(), Transport::ServerSentEvents))
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
        assert!(got[0].ptr_eq(&frame), "every queue holds the same message");
        assert_eq!(got[0].sse_event().as_ptr(), first_event.as_ptr());
    }
}

#[test]
fn a_large_audience_is_split_over_threads_and_each_gets_exactly_one_copy() {
    let mut reg = reg(4);
    reg.cores = 4;
    let conns: Vec<_> = (0..3 * PARALLEL_FAN_OUT_MIN + 7)
        .map(|i| live(&reg, &i.to_string(), Transport::LongPolling))
        .collect();
    // One slow client among them, in the last chunk.
    let slow = conns.last().unwrap();
    for i in 0..4 {
        slow.offer(protocol::invocation_frame("E", &i).unwrap())
            .unwrap();
    }
    let frame = protocol::invocation_frame("CapacityUpdated", &"x").unwrap();
    assert_eq!(
        reg.fan_out(&frame, |c| c.user() != "0"),
        FanOut {
            delivered: conns.len() - 2,
            evicted: 1
        }
    );
    assert!(records(&conns[0]).is_empty(), "not in the audience");
    for c in &conns[1..conns.len() - 1] {
        let got = records(c);
        assert_eq!(got.len(), 1);
        assert!(got[0].ptr_eq(&frame));
    }
    assert!(slow.is_closing(), "the slow one was evicted");
}

#[test]
fn connections_before_their_handshake_get_nothing() {
    let reg = reg(8);
    let c = reg.create("1".into(), Create::default(), None);
    c.bind(Transport::WebSockets).unwrap();
    let frame = protocol::ping_frame();
    assert_eq!(reg.fan_out(&frame, |_| true).delivered, 0);
    assert_eq!(reg.ping_all(&frame), 0);
    assert!(drain(&c).is_empty());
}

#[test]
fn a_detached_connection_queues_broadcasts_but_gets_no_pings() {
    let reg = reg(8);
    let c = live(&reg, "1", Transport::WebSockets);
    c.transition(Event::Detach).unwrap();
    assert_eq!(
        reg.fan_out(&protocol::invocation_frame("E", &1).unwrap(), |_| true)
            .delivered,
        1
    );
    assert_eq!(reg.ping_all(&protocol::ping_frame()), 0);
    assert_eq!(records(&c).len(), 1);
}

#[test]
fn a_slow_client_is_evicted_without_blocking_the_others() {
    let reg = reg(2);
    let slow = live(&reg, "1", Transport::WebSockets);
    let fast = live(&reg, "2", Transport::WebSockets);
    let frame = protocol::invocation_frame("CapacityUpdated", &1).unwrap();
    for _ in 0..2 {
        assert_eq!(reg.fan_out(&frame, |_| true).delivered, 2);
        records(&fast);
    }
    assert_eq!(
        reg.fan_out(&frame, |_| true),
        FanOut {
            delivered: 1,
            evicted: 1
        }
    );
    // The queue was full, so the farewell went through the urgent path.
    assert!(slow.is_ended(), "the writer is told to stop at once");
    let farewell = slow.take_urgent_farewell().expect("a Close is waiting");
    assert!(farewell.json_text().starts_with(r#"{"type":7,"error":"#));
    assert!(farewell.json_text().contains(r#""allowReconnect":true"#));
    assert_eq!(reg.fan_out(&frame, |_| true).delivered, 1);
    assert!(!fast.is_ended());
}

#[test]
fn a_close_with_room_in_the_queue_goes_out_in_order_and_only_once() {
    let reg = reg(4);
    let c = live(&reg, "1", Transport::WebSockets);
    assert!(c.send(protocol::ping_frame()));
    c.close(Some(protocol::close_frame(None, true)));
    c.close(Some(protocol::close_frame(Some("second"), false)));
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
fn pings_skip_full_queues_without_evicting() {
    let reg = reg(1);
    let c = live(&reg, "1", Transport::WebSockets);
    let ping = protocol::ping_frame();
    assert_eq!(reg.ping_all(&ping), 1);
    assert_eq!(reg.ping_all(&ping), 0);
    assert!(!c.is_ended());
}

#[test]
fn open_connections_are_counted_per_transport() {
    let reg = reg(4);
    live(&reg, "1", Transport::WebSockets);
    live(&reg, "2", Transport::WebSockets);
    live(&reg, "3", Transport::LongPolling);
    reg.create("4".into(), Create::default(), None);
    let ended = live(&reg, "5", Transport::ServerSentEvents);
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
fn a_negotiated_connection_that_never_connects_is_dropped() {
    let reg = reg(4);
    let c = reg.create("1".into(), Create::default(), None);
    let t0 = Instant::now();
    assert_eq!(
        reg.sweep(t0 + Duration::from_secs(29), LIMITS),
        Sweep::default()
    );
    assert_eq!(
        reg.sweep(t0 + Duration::from_secs(31), LIMITS)
            .never_connected,
        1
    );
    assert!(reg.get(&c.identity.key).is_none());
}

#[test]
fn a_silent_client_is_closed_with_allow_reconnect_then_cut_loose() {
    let reg = reg(4);
    let c = live(&reg, "1", Transport::WebSockets);
    let t0 = Instant::now();
    assert_eq!(reg.sweep(t0 + Duration::from_secs(29), LIMITS).timed_out, 0);
    assert_eq!(reg.sweep(t0 + Duration::from_secs(31), LIMITS).timed_out, 1);
    match drain(&c).pop() {
        Some(Outbound::Close(Some(f))) => {
            assert!(f.json_text().contains("Server timeout elapsed"));
            assert!(f.json_text().contains(r#""allowReconnect":true"#));
        }
        other => panic!("expected a Close, got {other:?}"),
    }
    // Grace counts from the close; a writer stuck on a dead socket is cut loose.
    let s = reg.sweep(t0 + Duration::from_secs(31 + 16), LIMITS);
    assert_eq!(s.aborted, 1);
    assert!(c.is_ended());
    assert!(reg.get(&c.identity.key).is_none());
}

#[test]
fn an_expired_credential_closes_the_connection_with_allow_reconnect() {
    let reg = reg(4);
    let c = live(&reg, "1", Transport::WebSockets);
    let t0 = Instant::now();
    c.set_expiry(Some(t0 + Duration::from_secs(10)));
    assert_eq!(reg.sweep(t0 + Duration::from_secs(9), LIMITS).expired, 0);
    assert_eq!(reg.sweep(t0 + Duration::from_secs(10), LIMITS).expired, 1);
    match drain(&c).pop() {
        Some(Outbound::Close(Some(f))) => {
            assert_eq!(
                f.json_text(),
                r#"{"type":7,"error":"The access token expired; sign in again.","allowReconnect":true}"#
            );
        }
        other => panic!("expected a Close, got {other:?}"),
    }
}

#[test]
fn a_detached_connection_waits_for_the_reconnect_window_only() {
    let reg = reg(4);
    let c = live(&reg, "1", Transport::WebSockets);
    c.transition(Event::Detach).unwrap();
    let t0 = Instant::now();
    assert_eq!(
        reg.sweep(t0 + Duration::from_secs(29), LIMITS),
        Sweep::default()
    );
    assert_eq!(reg.sweep(t0 + Duration::from_secs(31), LIMITS).abandoned, 1);
    assert!(c.is_ended());
    assert!(reg.get(&c.identity.key).is_none());
}

#[test]
fn a_long_poll_in_flight_counts_as_presence_and_the_ended_entry_lingers() {
    let reg = reg(4);
    let c = live(&reg, "1", Transport::LongPolling);
    c.polls
        .active
        .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    let t0 = Instant::now();
    assert_eq!(
        reg.sweep(t0 + Duration::from_secs(95), LIMITS),
        Sweep::default()
    );
    c.polls
        .active
        .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    assert_eq!(reg.sweep(t0 + Duration::from_secs(95), LIMITS).timed_out, 1);
    assert!(c.is_ended());
    assert!(reg.get(&c.identity.key).is_some(), "late polls get 204");
    assert_eq!(
        reg.sweep(t0 + Duration::from_secs(95 + 16), LIMITS).removed,
        1
    );
}

#[test]
fn a_client_that_never_completes_the_handshake_is_closed_without_a_close_message() {
    let reg = reg(4);
    let c = reg.create("1".into(), Create::default(), None);
    c.bind(Transport::WebSockets).unwrap();
    let t0 = Instant::now();
    assert_eq!(reg.sweep(t0 + Duration::from_secs(31), LIMITS).timed_out, 1);
    assert!(matches!(drain(&c).as_slice(), [Outbound::Close(None)]));
}

#[test]
fn shutdown_closes_everyone_and_drops_unattached_ones() {
    let reg = reg(4);
    let a = live(&reg, "1", Transport::WebSockets);
    let pending = reg.create("2".into(), Create::default(), None);
    reg.close_all(&protocol::close_frame(None, true));
    assert!(matches!(drain(&a).pop(), Some(Outbound::Close(Some(_)))));
    assert!(pending.is_ended());
    assert!(reg.get(&pending.identity.key).is_none());
}

#[test]
fn of_user_finds_every_connection_of_a_user() {
    let reg = reg(4);
    live(&reg, "1", Transport::WebSockets);
    live(&reg, "1", Transport::LongPolling);
    live(&reg, "2", Transport::WebSockets);
    assert_eq!(reg.of_user("1").len(), 2);
    assert_eq!(reg.of_user("3").len(), 0);
}
