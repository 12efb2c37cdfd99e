//! What a connection does with the bytes its client sends, whatever the
//! transport: handshake first, then hub protocol messages, each invocation
//! dispatched to a hub method and answered with a Completion.
//!
//! Transports call [`receive`] with every chunk they get (a WebSocket frame, a
//! piece of a POST body). Replies are queued on the connection like any other
//! outgoing message, so they interleave correctly with broadcasts. Messages of
//! one connection are processed one at a time, in order (as ASP.NET does by
//! default), which keeps `WatchDates` followed by `GetCapacityChangesSince`
//! deterministic for the client.

use std::fmt;

use serde_json::Value;
use time::Date;

use super::protocol::{self, ClientMessage, Outcome, RecordFramer};
use super::registry::{Connection, DateWindow};
use super::{HubBackend, HubMethodError};

/// The incoming half of a connection's protocol state.
pub(crate) struct Inbound {
    /// Reassembles records across chunks and enforces the size limit.
    framer: RecordFramer,
    /// The first record (the handshake) has been accepted.
    handshake_done: bool,
}

impl fmt::Debug for Inbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbound")
            .field("pending_bytes", &self.framer.pending())
            .field("handshake_done", &self.handshake_done)
            .finish()
    }
}

impl Inbound {
    pub(crate) fn new(max_message_size: usize) -> Inbound {
        Inbound {
            framer: RecordFramer::new(max_message_size),
            handshake_done: false,
        }
    }
}

/// Whether the transport should keep reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// The connection is closing (its farewell, if any, is queued).
    Stop,
}

/// Processes one chunk of client data for `conn`.
pub(crate) async fn receive(
    backend: &dyn HubBackend,
    conn: &Connection,
    inbound: &mut Inbound,
    data: &[u8],
) -> Flow {
    conn.touch();
    if conn.is_closing() {
        // The farewell is queued; whatever the client still sends is moot
        // (and the framer may be in an error state).
        return Flow::Stop;
    }
    let records = match inbound.framer.push(data) {
        Ok(records) => records,
        Err(too_large) => {
            tracing::warn!(connection_id = %conn.id, limit = too_large.limit, "hub message too large; closing the connection");
            let error = too_large.to_string();
            if inbound.handshake_done {
                conn.close(Some(protocol::close_frame(Some(&error), false)));
            } else {
                let error = protocol::HandshakeError::Malformed(error);
                conn.close(Some(protocol::handshake_error(&error)));
            }
            return Flow::Stop;
        }
    };
    for record in records {
        if !inbound.handshake_done {
            match protocol::parse_handshake(&record) {
                Ok(_) => {
                    inbound.handshake_done = true;
                    conn.send(protocol::handshake_response());
                    conn.set_handshaken();
                    tracing::debug!(connection_id = %conn.id, user_id = conn.user.user_id, "hub handshake completed");
                }
                Err(error) => {
                    tracing::warn!(connection_id = %conn.id, %error, "hub handshake refused");
                    conn.close(Some(protocol::handshake_error(&error)));
                    return Flow::Stop;
                }
            }
            continue;
        }
        match protocol::parse_message(&record) {
            Ok(message) => {
                if handle_message(backend, conn, message).await == Flow::Stop {
                    return Flow::Stop;
                }
            }
            Err(error) => {
                tracing::warn!(connection_id = %conn.id, %error, "invalid hub message; closing the connection");
                let text = format!("Connection closed with an error. {error}");
                conn.close(Some(protocol::close_frame(Some(&text), false)));
                return Flow::Stop;
            }
        }
    }
    Flow::Continue
}

async fn handle_message(
    backend: &dyn HubBackend,
    conn: &Connection,
    message: ClientMessage,
) -> Flow {
    match message {
        ClientMessage::Invocation {
            invocation_id,
            target,
            arguments,
            has_streams,
        } => {
            let outcome = if has_streams {
                Outcome::Error("Client-to-server streaming is not supported by this hub.".into())
            } else {
                invoke(backend, conn, &target, arguments).await
            };
            match invocation_id {
                Some(id) => {
                    conn.send(protocol::completion_frame(&id, &outcome));
                }
                None => {
                    if let Outcome::Error(error) = outcome {
                        tracing::debug!(connection_id = %conn.id, %target, %error, "hub send failed (no completion expected)");
                    }
                }
            }
            Flow::Continue
        }
        ClientMessage::StreamInvocation { invocation_id } => {
            let outcome =
                Outcome::Error("Streaming hub methods are not supported by this hub.".into());
            conn.send(protocol::completion_frame(&invocation_id, &outcome));
            Flow::Continue
        }
        ClientMessage::Ping | ClientMessage::Ignored { .. } => Flow::Continue,
        ClientMessage::Close { error } => {
            tracing::debug!(connection_id = %conn.id, error = ?error, "client sent Close");
            conn.close(None);
            Flow::Stop
        }
    }
}

/// Runs hub method `target` for `conn`. Method names are compared
/// case-insensitively, as ASP.NET does.
pub(crate) async fn invoke(
    backend: &dyn HubBackend,
    conn: &Connection,
    target: &str,
    arguments: Vec<Value>,
) -> Outcome {
    let result = if target.eq_ignore_ascii_case("GetCapacityChangesSince") {
        match parse_version(&arguments) {
            Ok(version) => backend.capacity_changes_since(version).await.map(Some),
            Err(e) => Err(e),
        }
    } else if target.eq_ignore_ascii_case("WatchDates") {
        parse_window(&arguments).map(|window| {
            conn.set_window(window);
            None
        })
    } else if target.eq_ignore_ascii_case("WatchAllDates") {
        expect_arity("WatchAllDates", &arguments, 0).map(|()| {
            conn.set_window(DateWindow::ALL);
            None
        })
    } else {
        return Outcome::Error(format!("Unknown hub method '{target}'"));
    };
    match result {
        // Both watch methods "return null": say so explicitly so the client
        // resolves with `null` rather than `undefined`.
        Ok(None) => Outcome::Value(Value::Null),
        Ok(Some(value)) => Outcome::Value(value),
        Err(error) => {
            if let HubMethodError::Failed(_) = error {
                tracing::warn!(connection_id = %conn.id, %target, %error, "hub method failed");
            }
            Outcome::Error(error.to_string())
        }
    }
}

fn expect_arity(method: &str, arguments: &[Value], expected: usize) -> Result<(), HubMethodError> {
    if arguments.len() == expected {
        Ok(())
    } else {
        Err(HubMethodError::BadArguments(format!(
            "Invocation provides {} argument(s) but target '{method}' expects {expected}.",
            arguments.len()
        )))
    }
}

fn parse_version(arguments: &[Value]) -> Result<i64, HubMethodError> {
    expect_arity("GetCapacityChangesSince", arguments, 1)?;
    arguments[0].as_i64().ok_or_else(|| {
        HubMethodError::BadArguments(format!(
            "GetCapacityChangesSince expects an integer version, got {}.",
            arguments[0]
        ))
    })
}

fn parse_date(value: &Value, name: &str) -> Result<Date, HubMethodError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    value
        .as_str()
        .and_then(|s| Date::parse(s, &format).ok())
        .ok_or_else(|| {
            HubMethodError::BadArguments(format!(
                "WatchDates expects '{name}' as a \"YYYY-MM-DD\" date, got {value}."
            ))
        })
}

fn parse_window(arguments: &[Value]) -> Result<DateWindow, HubMethodError> {
    expect_arity("WatchDates", arguments, 2)?;
    let from = parse_date(&arguments[0], "from")?;
    let to = parse_date(&arguments[1], "to")?;
    DateWindow::between(from, to).ok_or_else(|| {
        HubMethodError::BadArguments(format!("WatchDates expects from <= to, got {from} > {to}."))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures_util::future::BoxFuture;
    use futures_util::FutureExt as _;
    use serde_json::json;
    use time::macros::date;

    use super::*;
    use crate::hub::registry::{Outbound, Registry, Transport};
    use crate::hub::HubUser;

    /// Records the versions asked for; fails for negative ones.
    #[derive(Default)]
    struct FakeBackend {
        asked: Mutex<Vec<i64>>,
    }

    impl HubBackend for FakeBackend {
        fn authenticate(&self, _token: &str) -> Option<HubUser> {
            None
        }

        fn capacity_changes_since(
            &self,
            version: i64,
        ) -> BoxFuture<'static, Result<Value, HubMethodError>> {
            self.asked.lock().unwrap().push(version);
            async move {
                if version < 0 {
                    Err(HubMethodError::Failed("database unavailable".into()))
                } else {
                    Ok(json!({"version": version + 1, "resync": false, "days": []}))
                }
            }
            .boxed()
        }
    }

    struct Fixture {
        backend: FakeBackend,
        registry: Registry,
        conn: Arc<Connection>,
        inbound: Inbound,
    }

    impl Fixture {
        fn new() -> Fixture {
            let registry = Registry::new(16, 256);
            let conn = registry.create(
                HubUser {
                    user_id: 7,
                    role: "requester".into(),
                },
                true,
            );
            conn.bind(Transport::WebSockets).unwrap();
            Fixture {
                backend: FakeBackend::default(),
                registry,
                conn,
                inbound: Inbound::new(256),
            }
        }

        async fn feed(&mut self, data: &str) -> Flow {
            receive(
                &self.backend,
                &self.conn,
                &mut self.inbound,
                data.as_bytes(),
            )
            .await
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

        /// Everything queued so far, records as text, a Close as "CLOSE:<text>".
        fn out(&self) -> Vec<String> {
            let mut rx = self.conn.rx.try_lock().unwrap();
            let rx = rx.as_mut().unwrap();
            let mut out = Vec::new();
            while let Ok(m) = rx.try_recv() {
                let s = |f: &protocol::Frame| {
                    String::from_utf8(f.bytes().to_vec())
                        .unwrap()
                        .trim_end_matches('\u{1e}')
                        .to_string()
                };
                out.push(match m {
                    Outbound::Record(f) => s(&f),
                    Outbound::Close(Some(f)) => format!("CLOSE:{}", s(&f)),
                    Outbound::Close(None) => "CLOSE".to_string(),
                });
            }
            out
        }
    }

    #[tokio::test]
    async fn nothing_is_broadcast_before_the_handshake() {
        let f = Fixture::new();
        assert!(!f.conn.is_handshaken());
        let frame = protocol::ping_frame();
        assert_eq!(f.registry.ping_all(&frame), 0);
    }

    #[tokio::test]
    async fn a_handshake_with_messages_in_the_same_frame_is_processed_in_order() {
        let mut f = Fixture::new();
        let flow = f
            .feed("{\"protocol\":\"json\",\"version\":1}\u{1e}{\"type\":1,\"invocationId\":\"1\",\"target\":\"WatchAllDates\",\"arguments\":[]}\u{1e}")
            .await;
        assert_eq!(flow, Flow::Continue);
        assert_eq!(
            f.out(),
            vec![
                "{}".to_string(),
                r#"{"type":3,"invocationId":"1","result":null}"#.to_string()
            ]
        );
        assert!(f.conn.is_handshaken());
    }

    #[tokio::test]
    async fn a_bad_handshake_gets_an_error_reply_and_closes() {
        let mut f = Fixture::new();
        let flow = f
            .feed("{\"protocol\":\"messagepack\",\"version\":1}\u{1e}")
            .await;
        assert_eq!(flow, Flow::Stop);
        assert_eq!(
            f.out(),
            vec![r#"CLOSE:{"error":"The protocol 'messagepack' is not supported."}"#.to_string()]
        );
        assert!(!f.conn.is_handshaken());
    }

    #[tokio::test]
    async fn get_capacity_changes_since_returns_the_backend_body() {
        let mut f = Fixture::handshaken().await;
        f.feed("{\"type\":1,\"invocationId\":\"2\",\"target\":\"GetCapacityChangesSince\",\"arguments\":[41]}\u{1e}")
            .await;
        assert_eq!(f.backend.asked.lock().unwrap().as_slice(), &[41]);
        assert_eq!(
            f.out(),
            vec![
                r#"{"type":3,"invocationId":"2","result":{"days":[],"resync":false,"version":42}}"#
                    .to_string()
            ]
        );
    }

    #[tokio::test]
    async fn backend_failures_become_completion_errors() {
        let mut f = Fixture::handshaken().await;
        let flow = f
            .feed("{\"type\":1,\"invocationId\":\"2\",\"target\":\"GetCapacityChangesSince\",\"arguments\":[-1]}\u{1e}")
            .await;
        assert_eq!(flow, Flow::Continue);
        assert_eq!(
            f.out(),
            vec![r#"{"type":3,"invocationId":"2","error":"database unavailable"}"#.to_string()]
        );
    }

    #[tokio::test]
    async fn unknown_methods_and_bad_arguments_get_errors_and_the_connection_stays() {
        let mut f = Fixture::handshaken().await;
        for (args, target) in [
            ("[]", "Nope"),
            ("[]", "GetCapacityChangesSince"),
            ("[\"1\"]", "GetCapacityChangesSince"),
            ("[1.5]", "GetCapacityChangesSince"),
            ("[\"2026-05-01\"]", "WatchDates"),
            ("[\"2026-05-01\",5]", "WatchDates"),
            ("[\"2026-13-01\",\"2026-05-02\"]", "WatchDates"),
            ("[\"2026-05-02\",\"2026-05-01\"]", "WatchDates"),
            ("[1]", "WatchAllDates"),
        ] {
            let flow = f
                .feed(&format!(
                    "{{\"type\":1,\"invocationId\":\"9\",\"target\":\"{target}\",\"arguments\":{args}}}\u{1e}"
                ))
                .await;
            assert_eq!(flow, Flow::Continue);
            let out = f.out();
            assert_eq!(out.len(), 1);
            let v: Value = serde_json::from_str(&out[0]).unwrap();
            assert_eq!(v["type"], 3);
            assert!(v["error"].is_string(), "{target}({args}) gave {v}");
            assert!(v.get("result").is_none());
        }
        assert!(!f.conn.is_ended());
        assert_eq!(
            f.conn.window(),
            DateWindow::ALL,
            "a failed WatchDates changes nothing"
        );
        let v: Value = serde_json::from_str(
            &{
                f.feed("{\"type\":1,\"invocationId\":\"10\",\"target\":\"Nope\",\"arguments\":[]}\u{1e}")
                    .await;
                f.out()
            }[0],
        )
        .unwrap();
        assert_eq!(v["error"], "Unknown hub method 'Nope'");
    }

    #[tokio::test]
    async fn watch_dates_and_watch_all_dates_set_the_filter() {
        let mut f = Fixture::handshaken().await;
        f.feed("{\"type\":1,\"invocationId\":\"3\",\"target\":\"WatchDates\",\"arguments\":[\"2026-05-01\",\"2026-05-07\"]}\u{1e}")
            .await;
        assert_eq!(
            f.out(),
            vec![r#"{"type":3,"invocationId":"3","result":null}"#.to_string()]
        );
        assert!(f.conn.window().contains(date!(2026 - 05 - 07)));
        assert!(!f.conn.window().contains(date!(2026 - 05 - 08)));
        // A send (no invocationId) runs without a Completion.
        f.feed("{\"type\":1,\"target\":\"watchalldates\",\"arguments\":[]}\u{1e}")
            .await;
        assert!(f.out().is_empty());
        assert_eq!(f.conn.window(), DateWindow::ALL);
    }

    #[tokio::test]
    async fn a_send_to_an_unknown_method_is_silent() {
        let mut f = Fixture::handshaken().await;
        assert_eq!(
            f.feed("{\"type\":1,\"target\":\"Nope\",\"arguments\":[]}\u{1e}")
                .await,
            Flow::Continue
        );
        assert!(f.out().is_empty());
    }

    #[tokio::test]
    async fn streaming_is_refused_per_invocation() {
        let mut f = Fixture::handshaken().await;
        f.feed("{\"type\":4,\"invocationId\":\"5\",\"target\":\"S\",\"arguments\":[]}\u{1e}")
            .await;
        f.feed("{\"type\":1,\"invocationId\":\"6\",\"target\":\"WatchAllDates\",\"arguments\":[],\"streamIds\":[\"1\"]}\u{1e}")
            .await;
        let out = f.out();
        assert_eq!(out.len(), 2);
        assert!(out[0].contains(r#""invocationId":"5","error""#));
        assert!(out[1].contains(r#""invocationId":"6","error""#));
    }

    #[tokio::test]
    async fn pings_cancels_and_records_split_across_chunks_are_handled() {
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
        f.feed("get\":\"WatchAllDates\",\"arguments\":[]}\u{1e}")
            .await;
        assert_eq!(
            f.out(),
            vec![r#"{"type":3,"invocationId":"4","result":null}"#.to_string()]
        );
    }

    #[tokio::test]
    async fn an_oversized_message_closes_with_an_error() {
        let mut f = Fixture::handshaken().await;
        let big = format!(
            "{{\"type\":1,\"target\":\"{}\",\"arguments\":[]}}\u{1e}",
            "x".repeat(300)
        );
        assert_eq!(f.feed(&big).await, Flow::Stop);
        let out = f.out();
        assert_eq!(out.len(), 1);
        assert!(
            out[0].starts_with(r#"CLOSE:{"type":7,"error":"The maximum message size of 256 bytes"#),
            "{out:?}"
        );
        // Anything after that is ignored.
        assert_eq!(f.feed("{\"type\":6}\u{1e}").await, Flow::Stop);
        assert!(f.out().is_empty());
    }

    #[tokio::test]
    async fn an_invalid_message_closes_with_an_error() {
        let mut f = Fixture::handshaken().await;
        assert_eq!(f.feed("{\"type\":1}\u{1e}").await, Flow::Stop);
        let out = f.out();
        assert!(out[0].starts_with(r#"CLOSE:{"type":7,"error":"Connection closed with an error."#));
    }

    #[tokio::test]
    async fn a_client_close_ends_the_connection_quietly() {
        let mut f = Fixture::handshaken().await;
        assert_eq!(f.feed("{\"type\":7}\u{1e}").await, Flow::Stop);
        assert_eq!(f.out(), vec!["CLOSE".to_string()]);
    }
}
