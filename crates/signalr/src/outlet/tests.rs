//! The outlet against real loopback sockets: direct writes, a backlog when
//! the peer does not read, eviction past the limit, replay on resume.

use std::sync::Arc;

use actix_http::ws::OpCode;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::protocol::{invocation_frame, ping_frame, Protocol};
use crate::transport::websockets::server_frame;

/// A connected pair: the server's end (shared, as the outlet holds it) and
/// the client's.
async fn pair() -> (Arc<TcpStream>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (Arc::new(server), client)
}

async fn read_exactly(client: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    client.read_exact(&mut buf).await.unwrap();
    buf
}

/// Flushes until everything is out, waiting for the socket as the task does.
async fn flush_all(out: &SocketOutlet, stream: &TcpStream, number: u64) -> Flush {
    loop {
        match out.flush(number) {
            Flush::Blocked => stream.writable().await.unwrap(),
            other => return other,
        }
    }
}

#[tokio::test]
async fn a_message_is_written_to_the_socket_at_once_as_one_framed_record() {
    let (server, mut client) = pair().await;
    let out = SocketOutlet::new(4);
    assert!(out.attach(1, server, None).is_none());
    let frame = invocation_frame("Said", &"hi").unwrap();
    assert_eq!(
        out.deliver(&frame, Protocol::Json, None),
        Delivery::Accepted
    );
    // Nothing waits: the write happened in `deliver` itself.
    assert!(!out.wants_flush());
    let expected = server_frame(frame.json(), OpCode::Text);
    assert_eq!(read_exactly(&mut client, expected.len()).await, expected);
    // MessagePack connections get Binary frames of the MessagePack form.
    assert_eq!(
        out.deliver(&frame, Protocol::MessagePack, None),
        Delivery::Accepted
    );
    let expected = server_frame(&frame.encoded(Protocol::MessagePack), OpCode::Binary);
    assert_eq!(read_exactly(&mut client, expected.len()).await, expected);
}

#[tokio::test]
async fn a_peer_that_does_not_read_gets_a_backlog_in_order_then_is_too_slow() {
    let (server, mut client) = pair().await;
    let out = SocketOutlet::new(3);
    out.attach(7, Arc::clone(&server), None);
    // Big messages fill the kernel buffers quickly.
    let big: Vec<Frame> = (0..200)
        .map(|i| invocation_frame("Big", &format!("{i}:{}", "x".repeat(64 * 1024))).unwrap())
        .collect();
    let mut accepted = Vec::new();
    let mut full_at = None;
    for (i, frame) in big.iter().enumerate() {
        match out.deliver(frame, Protocol::Json, None) {
            Delivery::Accepted => accepted.push(i),
            Delivery::Full => {
                full_at = Some(i);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let full_at = full_at.expect("the backlog limit was reached");
    assert!(out.wants_flush());
    // The client catches up: everything accepted arrives whole and in order.
    let expected: Vec<u8> = accepted
        .iter()
        .flat_map(|&i| server_frame(big[i].json(), OpCode::Text).to_vec())
        .collect();
    let reader =
        tokio::spawn(async move { read_exactly(&mut client, expected.len()).await == expected });
    assert_eq!(flush_all(&out, &server, 7).await, Flush::Idle);
    assert!(reader.await.unwrap(), "bytes arrived out of order or torn");
    assert!(full_at > 3, "the kernel took some before the backlog began");
}

#[tokio::test]
async fn a_close_sends_the_farewell_after_the_backlog_and_then_refuses_everything() {
    let (server, mut client) = pair().await;
    let out = SocketOutlet::new(8);
    out.attach(1, Arc::clone(&server), None);
    let hello = invocation_frame("Said", &"last words before").unwrap();
    out.deliver(&hello, Protocol::Json, None);
    let farewell = crate::protocol::close_frame(Some("bye"), true);
    out.close(Some(&farewell), Protocol::Json);
    assert_eq!(out.deliver(&hello, Protocol::Json, None), Delivery::Closed);
    assert_eq!(flush_all(&out, &server, 1).await, Flush::Finished);
    let mut expected = server_frame(hello.json(), OpCode::Text).to_vec();
    expected.extend_from_slice(&server_frame(farewell.json(), OpCode::Text));
    assert_eq!(read_exactly(&mut client, expected.len()).await, expected);
}

#[tokio::test]
async fn while_detached_messages_are_kept_for_replay_and_a_resume_sends_sequence_then_them() {
    let (first, _gone) = pair().await;
    let out = SocketOutlet::new(8);
    let replay = Replay::new(100_000);
    out.attach(1, first, None);
    let a = invocation_frame("E", &1).unwrap();
    out.deliver(&a, Protocol::Json, Some(&replay));
    // The client acknowledged nothing; the socket goes.
    assert!(out.detach(1));
    assert!(!out.detach(1), "only the current socket detaches");
    let b = invocation_frame("E", &2).unwrap();
    assert_eq!(
        out.deliver(&b, Protocol::Json, Some(&replay)),
        Delivery::Held
    );
    // Pings are not trackable: nothing to keep while away.
    assert_eq!(
        out.deliver(&ping_frame(), Protocol::Json, Some(&replay)),
        Delivery::Held
    );
    let (second, mut client) = pair().await;
    assert!(out
        .attach(2, Arc::clone(&second), Some((&replay, Protocol::Json)))
        .is_none());
    let c = invocation_frame("E", &3).unwrap();
    out.deliver(&c, Protocol::Json, Some(&replay));
    assert_eq!(flush_all(&out, &second, 2).await, Flush::Idle);
    // An old socket's number no longer flushes anything.
    assert_eq!(out.flush(1), Flush::Broken);
    let mut expected =
        server_frame(crate::protocol::sequence_frame(1).json(), OpCode::Text).to_vec();
    for f in [&a, &b, &c] {
        expected.extend_from_slice(&server_frame(f.json(), OpCode::Text));
    }
    assert_eq!(read_exactly(&mut client, expected.len()).await, expected);
}

#[tokio::test]
async fn a_full_replay_buffer_evicts() {
    let (server, _client) = pair().await;
    let out = SocketOutlet::new(8);
    let replay = Replay::new(10);
    out.attach(1, server, None);
    let f = invocation_frame("E", &"more than ten bytes").unwrap();
    assert_eq!(
        out.deliver(&f, Protocol::Json, Some(&replay)),
        Delivery::Accepted
    );
    assert_eq!(
        out.deliver(&f, Protocol::Json, Some(&replay)),
        Delivery::Full
    );
}
