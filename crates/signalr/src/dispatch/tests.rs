use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::connection::Outbound;
use crate::registry::{Create, Registry};
use crate::testing::{Tag, TestApp};

struct Fixture {
    config: HubConfig,
    conn: Arc<Connection<Tag>>,
    inbound: Inbound,
}

impl Fixture {
    fn with(transport: Transport, stateful: bool) -> Fixture {
        let registry: Registry<Tag> = Registry::new(16, 256);
        let conn = registry.create(
            "7".into(),
            Create {
                with_token: true,
                stateful,
            },
            None,
        );
        conn.bind(transport).unwrap();
        Fixture {
            config: HubConfig::default(),
            conn,
            inbound: Inbound::new(256),
        }
    }

    fn new() -> Fixture {
        Fixture::with(Transport::WebSockets, false)
    }

    async fn feed_bytes(&mut self, data: &[u8]) -> Flow {
        receive(&TestApp, &self.config, &self.conn, &mut self.inbound, data).await
    }

    async fn feed(&mut self, data: &str) -> Flow {
        self.feed_bytes(data.as_bytes()).await
    }

    async fn handshaken() -> Fixture {
        let mut f = Fixture::new();
        assert_eq!(
            f.feed("{\"protocol\":\"json\",\"version\":1}\u{1e}").await,
            Flow::Continue
        );
        assert_eq!(f.out(), vec!["{}".to_string()]);
        f
    }

    /// Everything queued so far as JSON text, a Close as "CLOSE:<text>".
    fn out(&self) -> Vec<String> {
        let mut rx = self.conn.queue().unwrap().rx.try_lock().unwrap();
        let mut out = Vec::new();
        while let Ok(m) = rx.try_recv() {
            out.push(match m {
                Outbound::Record(f) => f.json_text().to_string(),
                Outbound::Close(Some(f)) => format!("CLOSE:{}", f.json_text()),
                Outbound::Close(None) => "CLOSE".to_string(),
            });
        }
        out
    }

    /// Everything queued so far, MessagePack-encoded.
    fn out_msgpack(&self) -> Vec<Value> {
        let mut rx = self.conn.queue().unwrap().rx.try_lock().unwrap();
        let mut out = Vec::new();
        while let Ok(Outbound::Record(f)) = rx.try_recv() {
            let bytes = f.encoded(Protocol::MessagePack);
            if bytes.first() == Some(&b'{') {
                out.push(json!({"handshake": f.json_text()}));
                continue;
            }
            let (len, prefix) = protocol::msgpack::read_varint(&bytes).unwrap().unwrap();
            assert_eq!(prefix + len, bytes.len());
            out.push(protocol::msgpack::decode_value(&bytes[prefix..]).unwrap());
        }
        out
    }
}

fn msgpack(v: &Value) -> Vec<u8> {
    let mut body = Vec::new();
    protocol::msgpack::write_value(&mut body, v);
    let mut out = Vec::new();
    protocol::msgpack::write_varint(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

#[tokio::test]
async fn a_handshake_with_messages_in_the_same_frame_is_processed_in_order() {
    let mut f = Fixture::new();
    let flow = f
        .feed("{\"protocol\":\"json\",\"version\":1}\u{1e}{\"type\":1,\"invocationId\":\"1\",\"target\":\"Echo\",\"arguments\":[5]}\u{1e}")
        .await;
    assert_eq!(flow, Flow::Continue);
    assert_eq!(
        f.out(),
        vec!["{}", r#"{"type":3,"invocationId":"1","result":5}"#]
    );
    assert_eq!(f.conn.phase(), crate::Phase::Open);
}

#[tokio::test]
async fn a_bad_handshake_gets_an_error_reply_and_closes() {
    let mut f = Fixture::new();
    assert_eq!(
        f.feed("{\"protocol\":\"xml\",\"version\":1}\u{1e}").await,
        Flow::Stop
    );
    assert_eq!(
        f.out(),
        vec![r#"CLOSE:{"error":"The protocol 'xml' is not supported."}"#]
    );
    assert_ne!(f.conn.phase(), crate::Phase::Open);
}

#[tokio::test]
async fn messagepack_over_server_sent_events_is_refused() {
    let mut f = Fixture::with(Transport::ServerSentEvents, false);
    assert_eq!(
        f.feed("{\"protocol\":\"messagepack\",\"version\":1}\u{1e}")
            .await,
        Flow::Stop
    );
    let out = f.out();
    assert!(out[0].contains("does not support 'Binary'"), "{out:?}");
}

#[tokio::test]
async fn methods_get_completions_and_errors_leave_the_connection_open() {
    let mut f = Fixture::handshaken().await;
    for (target, args, expected) in [
        (
            "Nope",
            "[]",
            json!({"type":3,"invocationId":"9","error":"Unknown hub method 'Nope'"}),
        ),
        (
            "Echo",
            "[]",
            json!({"type":3,"invocationId":"9","error":"Invocation provides 0 argument(s) but target 'Echo' expects 1."}),
        ),
        (
            "Tag",
            "[\"x\"]",
            json!({"type":3,"invocationId":"9","error":"Tag expects an integer."}),
        ),
        (
            "Fail",
            "[]",
            json!({"type":3,"invocationId":"9","error":"the store is unavailable"}),
        ),
        (
            "echo",
            "[{\"a\":[1]}]",
            json!({"type":3,"invocationId":"9","result":{"a":[1]}}),
        ),
    ] {
        let flow = f
            .feed(&format!("{{\"type\":1,\"invocationId\":\"9\",\"target\":\"{target}\",\"arguments\":{args}}}\u{1e}"))
            .await;
        assert_eq!(flow, Flow::Continue);
        let out = f.out();
        assert_eq!(out.len(), 1);
        assert_eq!(serde_json::from_str::<Value>(&out[0]).unwrap(), expected);
    }
    assert!(!f.conn.is_ended());
}

#[tokio::test]
async fn a_method_sets_the_connections_state_and_a_send_gets_no_completion() {
    let mut f = Fixture::handshaken().await;
    f.feed("{\"type\":1,\"target\":\"Tag\",\"arguments\":[42]}\u{1e}")
        .await;
    assert!(f.out().is_empty());
    assert_eq!(f.conn.state().0.load(Ordering::Relaxed), 42);
}

#[tokio::test]
async fn streaming_is_refused_per_invocation() {
    let mut f = Fixture::handshaken().await;
    f.feed("{\"type\":4,\"invocationId\":\"5\",\"target\":\"S\",\"arguments\":[]}\u{1e}")
        .await;
    f.feed("{\"type\":1,\"invocationId\":\"6\",\"target\":\"Echo\",\"arguments\":[1],\"streamIds\":[\"1\"]}\u{1e}").await;
    let out = f.out();
    assert_eq!(out.len(), 2);
    assert!(out[0].contains(r#""invocationId":"5","error""#));
    assert!(out[1].contains(r#""invocationId":"6","error""#));
}

#[tokio::test]
async fn records_split_across_chunks_are_reassembled() {
    let mut f = Fixture::handshaken().await;
    assert_eq!(
        f.feed("{\"type\":6}\u{1e}{\"type\":5,\"invocationId\":\"1\"}\u{1e}")
            .await,
        Flow::Continue
    );
    assert_eq!(
        f.feed("{\"type\":1,\"invocationId\":\"4\",\"tar").await,
        Flow::Continue
    );
    assert!(f.out().is_empty());
    f.feed("get\":\"Echo\",\"arguments\":[true]}\u{1e}").await;
    assert_eq!(
        f.out(),
        vec![r#"{"type":3,"invocationId":"4","result":true}"#]
    );
}

#[tokio::test]
async fn oversized_and_invalid_messages_close_with_an_error() {
    let mut f = Fixture::handshaken().await;
    let big = format!(
        "{{\"type\":1,\"target\":\"{}\",\"arguments\":[]}}\u{1e}",
        "x".repeat(300)
    );
    assert_eq!(f.feed(&big).await, Flow::Stop);
    let out = f.out();
    assert!(
        out[0].starts_with(r#"CLOSE:{"type":7,"error":"The maximum message size of 256 bytes"#),
        "{out:?}"
    );
    assert_eq!(
        f.feed("{\"type\":6}\u{1e}").await,
        Flow::Stop,
        "anything after is ignored"
    );

    let mut f = Fixture::handshaken().await;
    assert_eq!(f.feed("{\"type\":1}\u{1e}").await, Flow::Stop);
    assert!(f.out()[0].starts_with(r#"CLOSE:{"type":7,"error":"Connection closed with an error."#));
}

#[tokio::test]
async fn a_client_close_ends_the_connection_quietly() {
    let mut f = Fixture::handshaken().await;
    assert_eq!(f.feed("{\"type\":7}\u{1e}").await, Flow::Stop);
    assert_eq!(f.out(), vec!["CLOSE"]);
}

#[tokio::test]
async fn messagepack_invocations_are_answered_in_messagepack() {
    let mut f = Fixture::new();
    // Handshake and an Invocation [1, {}, "1", "Echo", [{"a": -3}], []] in one chunk.
    let mut chunk = b"{\"protocol\":\"messagepack\",\"version\":1}\x1e".to_vec();
    chunk.extend(msgpack(&json!([1, {}, "1", "Echo", [{"a": -3}], []])));
    chunk.extend(msgpack(&json!([1, {}, "2", "Nope", [], []])));
    assert_eq!(f.feed_bytes(&chunk).await, Flow::Continue);
    assert_eq!(f.conn.protocol(), Some(Protocol::MessagePack));
    assert_eq!(
        f.out_msgpack(),
        vec![
            json!({"handshake": "{}"}),
            json!([3, {}, "1", 3, {"a": -3}]),
            json!([3, {}, "2", 1, "Unknown hub method 'Nope'"]),
        ]
    );
    // A garbage body closes the connection with a MessagePack Close.
    assert_eq!(f.feed_bytes(&[0x01, 0xc1]).await, Flow::Stop);
}

#[tokio::test]
async fn stateful_clients_get_acks_and_resent_messages_run_once() {
    let mut f = Fixture::with(Transport::WebSockets, true);
    f.feed("{\"protocol\":\"json\",\"version\":2}\u{1e}").await;
    assert!(f.conn.is_stateful());
    assert_eq!(f.out(), vec!["{}"]);
    let tag = |n: i64| {
        format!(
            "{{\"type\":1,\"invocationId\":\"{n}\",\"target\":\"Tag\",\"arguments\":[{n}]}}\u{1e}"
        )
    };
    f.feed(&format!("{}{}", tag(1), tag(2))).await;
    assert_eq!(
        f.out(),
        vec![
            r#"{"type":3,"invocationId":"1","result":null}"#,
            r#"{"type":3,"invocationId":"2","result":null}"#,
            r#"{"type":8,"sequenceId":2}"#,
        ]
    );
    // After a reconnect the client resends from its first unacknowledged
    // message (2): it is skipped, 3 runs.
    resume(&mut f.inbound);
    f.feed(&format!(
        "{{\"type\":9,\"sequenceId\":2}}\u{1e}{}{}",
        tag(2),
        tag(3)
    ))
    .await;
    assert_eq!(
        f.out(),
        vec![
            r#"{"type":3,"invocationId":"3","result":null}"#,
            r#"{"type":8,"sequenceId":3}"#
        ]
    );
    assert_eq!(f.conn.state().0.load(Ordering::Relaxed), 3);
    // A Sequence that skips messages is a protocol error.
    assert_eq!(
        f.feed("{\"type\":9,\"sequenceId\":9}\u{1e}").await,
        Flow::Stop
    );
}

#[tokio::test]
async fn version_2_without_an_offer_or_over_long_polling_is_not_stateful() {
    let mut f = Fixture::with(Transport::WebSockets, false);
    f.feed("{\"protocol\":\"json\",\"version\":2}\u{1e}").await;
    assert!(!f.conn.is_stateful());
    let mut f = Fixture::with(Transport::LongPolling, true);
    f.feed("{\"protocol\":\"json\",\"version\":2}\u{1e}").await;
    assert!(!f.conn.is_stateful());
    let mut f = Fixture::with(Transport::WebSockets, true);
    f.feed("{\"protocol\":\"json\",\"version\":1}\u{1e}").await;
    assert!(!f.conn.is_stateful());
}
