//! Tests of the protocol module's JSON side and of frames.

use super::*;
use serde_json::json;

const RS: char = '\u{1e}';

fn text(frame: &Frame) -> String {
    String::from_utf8(frame.json().to_vec()).unwrap()
}

#[test]
fn a_json_v1_handshake_is_accepted() {
    let hs = parse_handshake(br#"{"protocol":"json","version":1}"#).unwrap();
    assert_eq!(hs.protocol, Protocol::Json);
    assert_eq!(hs.version, 1);
}

#[test]
fn unknown_handshake_fields_are_ignored() {
    assert!(parse_handshake(br#"{"version":1,"protocol":"json","extra":[1]}"#).is_ok());
}

#[test]
fn an_unknown_protocol_is_refused_with_a_readable_error() {
    let err = parse_handshake(br#"{"protocol":"xml","version":1}"#).unwrap_err();
    assert_eq!(err, HandshakeError::UnsupportedProtocol("xml".into()));
    assert_eq!(
        text(&handshake_error(&err)),
        format!(r#"{{"error":"The protocol 'xml' is not supported."}}{RS}"#)
    );
}

#[test]
fn an_unknown_version_is_refused() {
    let err = parse_handshake(br#"{"protocol":"json","version":3}"#).unwrap_err();
    assert!(matches!(
        err,
        HandshakeError::UnsupportedVersion { version: 3, .. }
    ));
}

#[test]
fn garbage_and_incomplete_handshakes_are_refused() {
    for bad in [
        &b"hello"[..],
        b"",
        b"[]",
        br#"{"protocol":"json"}"#,
        br#"{"version":1}"#,
        br#"{"protocol":1,"version":1}"#,
        br#"{"protocol":"json","version":"1"}"#,
        br#"{"protocol":"json","version":-1}"#,
    ] {
        let err = parse_handshake(bad).unwrap_err();
        assert!(
            matches!(err, HandshakeError::Malformed(_)),
            "{bad:?} gave {err:?}"
        );
        // The error reply is itself a valid record.
        let reply = text(&handshake_error(&err));
        assert!(reply.ends_with(RS));
        let v: Value = serde_json::from_str(reply.trim_end_matches(RS)).unwrap();
        assert!(v["error"].is_string());
    }
}

#[test]
fn the_handshake_response_is_an_empty_object() {
    assert_eq!(text(&handshake_response()), format!("{{}}{RS}"));
}

#[test]
fn an_invoke_is_parsed() {
    let m = parse_message(
        Protocol::Json,
        br#"{"type":1,"invocationId":"0","target":"WatchDates","arguments":["2026-05-01","2026-05-31"]}"#,
    )
    .unwrap();
    assert_eq!(
        m,
        ClientMessage::Invocation {
            invocation_id: Some("0".into()),
            target: "WatchDates".into(),
            arguments: vec![json!("2026-05-01"), json!("2026-05-31")],
            has_streams: false,
        }
    );
}

#[test]
fn a_send_has_no_invocation_id() {
    let m = parse_message(
        Protocol::Json,
        br#"{"type":1,"target":"WatchAllDates","arguments":[]}"#,
    )
    .unwrap();
    assert!(matches!(
        m,
        ClientMessage::Invocation {
            invocation_id: None,
            ..
        }
    ));
}

#[test]
fn an_invocation_with_stream_ids_is_flagged() {
    let m = parse_message(
        Protocol::Json,
        br#"{"type":1,"invocationId":"1","target":"X","arguments":[],"streamIds":["2"]}"#,
    )
    .unwrap();
    assert!(matches!(
        m,
        ClientMessage::Invocation {
            has_streams: true,
            ..
        }
    ));
}

#[test]
fn other_message_types_are_parsed() {
    assert_eq!(
        parse_message(Protocol::Json, br#"{"type":6}"#).unwrap(),
        ClientMessage::Ping
    );
    assert_eq!(
        parse_message(Protocol::Json, br#"{"type":7,"error":"bye"}"#).unwrap(),
        ClientMessage::Close {
            error: Some("bye".into())
        }
    );
    assert_eq!(
        parse_message(
            Protocol::Json,
            br#"{"type":4,"invocationId":"3","target":"S","arguments":[]}"#
        )
        .unwrap(),
        ClientMessage::StreamInvocation {
            invocation_id: "3".into()
        }
    );
    assert_eq!(
        parse_message(Protocol::Json, br#"{"type":5,"invocationId":"3"}"#).unwrap(),
        ClientMessage::Ignored { message_type: 5 }
    );
}

#[test]
fn invalid_messages_are_refused() {
    for bad in [
        &b"nope"[..],
        br#"{"target":"X","arguments":[]}"#,
        br#"{"type":"1","target":"X","arguments":[]}"#,
        br#"{"type":1,"arguments":[]}"#,
        br#"{"type":1,"target":"X"}"#,
        br#"{"type":1,"target":"X","arguments":{}}"#,
        br#"{"type":1,"invocationId":7,"target":"X","arguments":[]}"#,
        br#"{"type":4,"target":"X","arguments":[]}"#,
        br#"{"type":42}"#,
    ] {
        assert!(
            parse_message(Protocol::Json, bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn an_event_has_exactly_one_argument() {
    let f = invocation_frame("InboxUpdated", &json!({"unreadCount": 3})).unwrap();
    assert_eq!(
        text(&f),
        format!(r#"{{"type":1,"target":"InboxUpdated","arguments":[{{"unreadCount":3}}]}}{RS}"#)
    );
}

#[test]
fn completions_carry_a_result_or_an_error() {
    assert_eq!(
        text(&completion_frame(
            "7",
            &Outcome::Value(json!({"version": 3}))
        )),
        format!(r#"{{"type":3,"invocationId":"7","result":{{"version":3}}}}{RS}"#)
    );
    assert_eq!(
        text(&completion_frame("7", &Outcome::Value(Value::Null))),
        format!(r#"{{"type":3,"invocationId":"7","result":null}}{RS}"#)
    );
    assert_eq!(
        text(&completion_frame(
            "7",
            &Outcome::Error("Unknown hub method 'X'".into())
        )),
        format!(r#"{{"type":3,"invocationId":"7","error":"Unknown hub method 'X'"}}{RS}"#)
    );
}

#[test]
fn ping_and_close_frames() {
    assert_eq!(text(&ping_frame()), format!(r#"{{"type":6}}{RS}"#));
    assert_eq!(
        text(&close_frame(None, false)),
        format!(r#"{{"type":7}}{RS}"#)
    );
    assert_eq!(
        text(&close_frame(Some("bye"), true)),
        format!(r#"{{"type":7,"error":"bye","allowReconnect":true}}{RS}"#)
    );
}

#[test]
fn the_sse_form_is_one_data_line_built_once() {
    let f = invocation_frame("X", &json!("a\nb")).unwrap();
    let e1 = f.sse_event();
    let e2 = f.clone().sse_event();
    assert_eq!(e1.as_ptr(), e2.as_ptr(), "derived once and shared");
    let s = std::str::from_utf8(&e1).unwrap();
    assert!(s.starts_with("data: {"));
    assert!(s.ends_with("\u{1e}\r\n\r\n"));
    assert_eq!(
        s.matches('\n').count(),
        2,
        "an escaped newline stays escaped"
    );
}

#[test]
fn frames_share_one_buffer_when_cloned() {
    let f = ping_frame();
    let g = f.clone();
    assert!(f.ptr_eq(&g));
    assert_eq!(f.json().as_ptr(), g.json().as_ptr());
    assert_eq!(f.json().len(), 11);
}

#[test]
fn messagepack_and_version_2_handshakes_are_accepted() {
    let hs = parse_handshake(br#"{"protocol":"messagepack","version":2}"#).unwrap();
    assert_eq!(
        hs,
        HandshakeRequest {
            protocol: Protocol::MessagePack,
            version: 2
        }
    );
    assert_eq!(
        parse_handshake(br#"{"protocol":"json","version":2}"#)
            .unwrap()
            .version,
        2
    );
}

#[test]
fn ack_and_sequence_are_parsed_and_rendered() {
    assert_eq!(
        parse_message(Protocol::Json, br#"{"type":8,"sequenceId":12}"#).unwrap(),
        ClientMessage::Ack { sequence_id: 12 }
    );
    assert_eq!(
        parse_message(Protocol::Json, br#"{"type":9,"sequenceId":3}"#).unwrap(),
        ClientMessage::Sequence { sequence_id: 3 }
    );
    assert!(parse_message(Protocol::Json, br#"{"type":8}"#).is_err());
    assert_eq!(
        text(&ack_frame(4)),
        format!(r#"{{"type":8,"sequenceId":4}}{RS}"#)
    );
    assert_eq!(
        text(&sequence_frame(5)),
        format!(r#"{{"type":9,"sequenceId":5}}{RS}"#)
    );
    assert!(!ack_frame(1).is_trackable() && !sequence_frame(1).is_trackable());
    assert!(!ping_frame().is_trackable() && !close_frame(None, true).is_trackable());
    assert!(invocation_frame("X", &1).unwrap().is_trackable());
    assert!(completion_frame("1", &Outcome::Value(Value::Null)).is_trackable());
}

#[test]
fn one_frame_renders_each_protocol_once() {
    let f = invocation_frame("InboxUpdated", &json!({"unreadCount": 3})).unwrap();
    let a = f.encoded(Protocol::MessagePack);
    let b = f.clone().encoded(Protocol::MessagePack);
    assert_eq!(a.as_ptr(), b.as_ptr(), "rendered once and shared");
    // [1, {}, nil, "InboxUpdated", [{"unreadCount": 3}]] behind a one-byte length.
    let body = &a[1..];
    assert_eq!(usize::from(a[0]), body.len());
    assert_eq!(
        msgpack::decode_value(body).unwrap(),
        json!([1, {}, null, "InboxUpdated", [{"unreadCount": 3}]])
    );
    assert_eq!(f.encoded(Protocol::Json), f.json().clone());
    // The handshake reply is JSON for both protocols.
    let hs = handshake_response();
    assert_eq!(
        hs.encoded(Protocol::MessagePack),
        hs.encoded(Protocol::Json)
    );
}
