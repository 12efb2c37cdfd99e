//! The hub's HTTP surface driven through actix-web's test service: negotiate,
//! authentication, caps, rate limits, Long Polling (JSON and MessagePack) and
//! Server-Sent Events end to end, as the official client uses them.
//! (WebSockets need a real socket; the Node suite in Request Desk's
//! `tests/hub/` covers them with the official client.)

use std::pin::Pin;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::http::{header, StatusCode};
use actix_web::{test, App};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::testing::{Tag, TestApp};
use crate::{Audience, Hub, HubConfig, RateLimit};

fn hub() -> Hub<TestApp> {
    hub_with(HubConfig::default())
}

/// The transports a negotiate answer offers, in order.
fn transport_names(negotiated: &Value) -> Vec<&str> {
    negotiated["availableTransports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transport"].as_str().unwrap())
        .collect()
}

/// A hub whose server installed the WebSocket upgrade hook.
fn hub_serving_websockets() -> Hub<TestApp> {
    let hub = hub();
    let _hook = hub.websocket_upgrade();
    hub
}

fn hub_with(config: HubConfig) -> Hub<TestApp> {
    Hub::new(
        TestApp,
        HubConfig {
            path: "/hubs/notifications".into(),
            long_poll_timeout: Duration::from_millis(300),
            ..config
        },
    )
}

const RS: char = '\u{1e}';
const HANDSHAKE: &str = "{\"protocol\":\"json\",\"version\":1}\u{1e}";

macro_rules! app {
    ($hub:expr) => {{
        let hub = $hub.clone();
        test::init_service(App::new().configure(move |c| hub.configure(c))).await
    }};
}

fn bearer(user: i64) -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer token-{user}"))
}

/// `POST …/negotiate?negotiateVersion=1` as `user`.
fn negotiate_v1(user: i64) -> actix_http::Request {
    test::TestRequest::post()
        .uri("/hubs/notifications/negotiate?negotiateVersion=1")
        .insert_header(bearer(user))
        .to_request()
}

async fn json_body(res: actix_web::dev::ServiceResponse) -> Value {
    serde_json::from_slice(&test::read_body(res).await).unwrap()
}

/// Splits a poll or POST body into its records (without separators).
fn records(body: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(body).unwrap();
    assert!(
        text.is_empty() || text.ends_with(RS),
        "whole records only: {text:?}"
    );
    text.split_terminator(RS)
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

/// The next chunk of a streaming body, or `None` at its end.
async fn next_chunk<B: MessageBody + Unpin>(body: &mut B) -> Option<Bytes> {
    let chunk = tokio::time::timeout(
        Duration::from_secs(2),
        futures_util::future::poll_fn(|cx| Pin::new(&mut *body).poll_next(cx)),
    )
    .await
    .expect("a chunk within 2 s");
    chunk.map(|c| c.map_err(|_| ()).expect("no body error"))
}

#[actix_web::test]
async fn negotiate_without_or_with_a_forged_token_is_401() {
    let hub = hub();
    let app = app!(hub);
    for req in [
        test::TestRequest::post().uri("/hubs/notifications/negotiate?negotiateVersion=1"),
        test::TestRequest::post()
            .uri("/hubs/notifications/negotiate?negotiateVersion=1")
            .insert_header((header::AUTHORIZATION, "Bearer forged")),
        test::TestRequest::post()
            .uri("/hubs/notifications/negotiate?negotiateVersion=1")
            .insert_header((header::AUTHORIZATION, "Bearer token-1-expired")),
        test::TestRequest::post()
            .uri("/hubs/notifications/negotiate?negotiateVersion=1&access_token=forged"),
    ] {
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer"
        );
        assert_eq!(json_body(res).await["error"], "unauthorized");
    }
}

#[actix_web::test]
async fn negotiate_v1_hands_out_a_secret_token_and_v0_only_an_id() {
    let hub = hub_serving_websockets();
    let app = app!(hub);
    let req = negotiate_v1(1);
    let v1 = json_body(test::call_service(&app, req).await).await;
    assert_eq!(v1["negotiateVersion"], 1);
    assert!(v1["connectionId"].is_string());
    assert!(v1["connectionToken"].is_string());
    assert_ne!(v1["connectionId"], v1["connectionToken"]);
    let names = transport_names(&v1);
    assert_eq!(names, ["WebSockets", "ServerSentEvents", "LongPolling"]);

    // Binary is offered where it is served; stateful reconnect only when asked for.
    assert_eq!(
        v1["availableTransports"][0]["transferFormats"],
        json!(["Text", "Binary"])
    );
    assert_eq!(
        v1["availableTransports"][1]["transferFormats"],
        json!(["Text"])
    );
    assert_eq!(
        v1["availableTransports"][2]["transferFormats"],
        json!(["Text", "Binary"])
    );
    assert!(v1.get("useStatefulReconnect").is_none());
    let req = test::TestRequest::post()
        .uri("/hubs/notifications/negotiate?negotiateVersion=1&useStatefulReconnect=true")
        .insert_header(bearer(1))
        .to_request();
    let stateful = json_body(test::call_service(&app, req).await).await;
    assert_eq!(stateful["useStatefulReconnect"], true);

    // The access_token parameter works as well as the header.
    let req = test::TestRequest::post()
        .uri("/hubs/notifications/negotiate?access_token=token-1")
        .to_request();
    let v0 = json_body(test::call_service(&app, req).await).await;
    assert_eq!(v0["negotiateVersion"], 0);
    assert!(v0.get("connectionToken").is_none());

    // The v0 id addresses the connection; the v1 id does not (the token does).
    let first_poll = |id: &str| {
        test::TestRequest::get()
            .uri(&format!("/hubs/notifications?id={id}"))
            .insert_header(bearer(1))
            .to_request()
    };
    let id0 = v0["connectionId"].as_str().unwrap();
    let res = test::call_service(&app, first_poll(id0)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let id1 = v1["connectionId"].as_str().unwrap();
    let res = test::call_service(&app, first_poll(id1)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// Negotiates (v1) as `user` and returns the connection token.
macro_rules! negotiate {
    ($app:expr, $user:expr) => {{
        let req = test::TestRequest::post()
            .uri("/hubs/notifications/negotiate?negotiateVersion=1")
            .insert_header(bearer($user))
            .to_request();
        let body = json_body(test::call_service($app, req).await).await;
        body["connectionToken"].as_str().unwrap().to_string()
    }};
}

fn poll_request(id: &str, user: i64) -> test::TestRequest {
    test::TestRequest::get()
        .uri(&format!("/hubs/notifications?id={id}&_=1"))
        .insert_header(bearer(user))
}

fn post_request(id: &str, user: i64, body: &str) -> test::TestRequest {
    test::TestRequest::post()
        .uri(&format!("/hubs/notifications?id={id}"))
        .insert_header(bearer(user))
        .insert_header((header::CONTENT_TYPE, "text/plain;charset=UTF-8"))
        .set_payload(body.to_string())
}

#[actix_web::test]
async fn unknown_ids_are_404_and_other_users_connections_403() {
    let hub = hub();
    let app = app!(hub);
    let res = test::call_service(&app, poll_request("nope", 1).to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = test::call_service(&app, post_request("nope", 1, HANDSHAKE).to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let id = negotiate!(&app, 1);
    let res = test::call_service(&app, poll_request(&id, 2).to_request()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let req = test::TestRequest::get()
        .uri(&format!("/hubs/notifications?id={id}"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn long_polling_round_trip_with_a_state_filter() {
    let hub = hub();
    let app = app!(hub);
    let id = negotiate!(&app, 1);

    // The first poll completes at once, empty.
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(test::read_body(res).await.is_empty());
    assert_eq!(hub.open_connections()[2], ("long_polling", 1));

    // Handshake and an invoke in one POST body.
    let body = format!(
        "{HANDSHAKE}{{\"type\":1,\"invocationId\":\"0\",\"target\":\"Tag\",\"arguments\":[5]}}{RS}"
    );
    let res = test::call_service(&app, post_request(&id, 1, &body).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    let got = records(&test::read_body(res).await);
    assert_eq!(
        got,
        vec![
            json!({}),
            json!({"type": 3, "invocationId": "0", "result": null})
        ]
    );

    // Not matching the predicate: nothing (the poll times out empty); matching: delivered.
    let tagged = |n: i64| move |t: &Tag| t.0.load(std::sync::atomic::Ordering::Relaxed) == n;
    hub.send(
        "CapacityUpdated",
        &json!({"date": "2026-06-01"}),
        Audience::Where(&tagged(4)),
    );
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(test::read_body(res).await.is_empty());
    hub.send(
        "CapacityUpdated",
        &json!({"date": "2026-05-02"}),
        Audience::Where(&tagged(5)),
    );
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    let got = records(&test::read_body(res).await);
    assert_eq!(
        got,
        vec![
            json!({"type": 1, "target": "CapacityUpdated", "arguments": [{"date": "2026-05-02"}]})
        ]
    );

    // A method with a result.
    let body = format!("{{\"type\":1,\"invocationId\":\"1\",\"target\":\"Echo\",\"arguments\":[{{\"version\":7}}]}}{RS}");
    test::call_service(&app, post_request(&id, 1, &body).to_request()).await;
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    let got = records(&test::read_body(res).await);
    assert_eq!(got[0]["result"]["version"], 7);
}

#[actix_web::test]
async fn a_newer_poll_ends_the_waiting_one_with_204_and_delete_ends_the_connection() {
    let hub = hub_with(HubConfig::default());
    let hub = Hub::new(
        TestApp,
        HubConfig {
            long_poll_timeout: Duration::from_secs(5),
            ..hub.config().clone()
        },
    );
    let app = app!(hub);
    let id = negotiate!(&app, 1);
    test::call_service(&app, poll_request(&id, 1).to_request()).await;
    test::call_service(&app, post_request(&id, 1, HANDSHAKE).to_request()).await;
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    assert_eq!(records(&test::read_body(res).await), vec![json!({})]);

    // Poll A waits; poll B arrives: A answers 204, B gets the next message.
    let a = test::call_service(&app, poll_request(&id, 1).to_request());
    let b = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let b = test::call_service(&app, poll_request(&id, 1).to_request());
        let send = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            hub.send(
                "InboxUpdated",
                &json!({"unreadCount": 2}),
                Audience::User("1"),
            );
        };
        tokio::join!(b, send).0
    };
    let (a, b) = tokio::join!(a, b);
    assert_eq!(a.status(), StatusCode::NO_CONTENT);
    assert_eq!(b.status(), StatusCode::OK);
    let got = records(&test::read_body(b).await);
    assert_eq!(got[0]["target"], "InboxUpdated");

    // A waiting poll answers 204 when the client sends DELETE.
    let waiting = test::call_service(&app, poll_request(&id, 1).to_request());
    let delete = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let req = test::TestRequest::delete()
            .uri(&format!("/hubs/notifications?id={id}"))
            .insert_header(bearer(1))
            .to_request();
        test::call_service(&app, req).await
    };
    let (waiting, delete) = tokio::join!(waiting, delete);
    assert_eq!(delete.status(), StatusCode::ACCEPTED);
    assert_eq!(waiting.status(), StatusCode::NO_CONTENT);
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(hub.open_connections()[2], ("long_polling", 0));
}

#[actix_web::test]
async fn an_oversized_post_closes_the_connection_with_an_error() {
    let hub = hub();
    let app = app!(hub);
    let id = negotiate!(&app, 1);
    test::call_service(&app, poll_request(&id, 1).to_request()).await;
    test::call_service(&app, post_request(&id, 1, HANDSHAKE).to_request()).await;
    test::call_service(&app, poll_request(&id, 1).to_request()).await;
    let big = format!(
        "{{\"type\":1,\"target\":\"Echo\",\"arguments\":[\"{}\"]}}{RS}",
        "x".repeat(40 * 1024)
    );
    let res = test::call_service(&app, post_request(&id, 1, &big).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    let got = records(&test::read_body(res).await);
    assert_eq!(got[0]["type"], 7);
    assert!(got[0]["error"]
        .as_str()
        .unwrap()
        .contains("maximum message size"));
    // The connection is over: polls get 204, sends 404.
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = test::call_service(
        &app,
        post_request(&id, 1, "{\"type\":6}\u{1e}").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn server_sent_events_stream_records_and_end_with_close_on_shutdown() {
    let hub = hub();
    let app = app!(hub);
    let id = negotiate!(&app, 3);
    // EventSource sends the token as a query parameter.
    let req = test::TestRequest::get()
        .uri(&format!("/hubs/notifications?id={id}&access_token=token-3"))
        .insert_header((header::ACCEPT, "text/event-stream"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "text/event-stream"
    );
    assert_eq!(
        res.headers().get(header::CONTENT_ENCODING).unwrap(),
        "identity"
    );
    let mut body = res.into_body();
    assert_eq!(next_chunk(&mut body).await.unwrap(), ":\r\n");
    assert_eq!(hub.open_connections()[1], ("server_sent_events", 1));

    let res = test::call_service(&app, post_request(&id, 3, HANDSHAKE).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        next_chunk(&mut body).await.unwrap(),
        "data: {}\u{1e}\r\n\r\n"
    );

    hub.send(
        "CapacitySettingsChanged",
        &json!({"version": 4}),
        Audience::All,
    );
    assert_eq!(
        next_chunk(&mut body).await.unwrap(),
        "data: {\"type\":1,\"target\":\"CapacitySettingsChanged\",\"arguments\":[{\"version\":4}]}\u{1e}\r\n\r\n"
    );

    // A second stream for the same connection is refused.
    let req = test::TestRequest::get()
        .uri(&format!("/hubs/notifications?id={id}&access_token=token-3"))
        .insert_header((header::ACCEPT, "text/event-stream"))
        .to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::CONFLICT
    );

    hub.shutdown();
    assert_eq!(
        next_chunk(&mut body).await.unwrap(),
        "data: {\"type\":7,\"allowReconnect\":true}\u{1e}\r\n\r\n"
    );
    assert!(next_chunk(&mut body).await.is_none(), "the stream ends");
    assert_eq!(hub.open_connections()[1], ("server_sent_events", 0));

    // No new connections while shutting down.
    let req = negotiate_v1(3);
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[actix_web::test]
async fn a_bad_handshake_over_sse_gets_an_error_and_the_stream_ends() {
    let hub = hub();
    let app = app!(hub);
    let id = negotiate!(&app, 3);
    let req = test::TestRequest::get()
        .uri(&format!("/hubs/notifications?id={id}"))
        .insert_header(bearer(3))
        .insert_header((header::ACCEPT, "text/event-stream"))
        .to_request();
    let mut body = test::call_service(&app, req).await.into_body();
    next_chunk(&mut body).await;
    test::call_service(
        &app,
        post_request(&id, 3, "{\"protocol\":\"messagepack\",\"version\":1}\u{1e}").to_request(),
    )
    .await;
    let event = next_chunk(&mut body).await.unwrap();
    assert!(std::str::from_utf8(&event).unwrap().starts_with(
        "data: {\"error\":\"Cannot use the 'messagepack' protocol on the current transport."
    ));
    assert!(next_chunk(&mut body).await.is_none());
}

#[actix_web::test]
async fn without_the_upgrade_hook_negotiate_offers_no_websockets_and_an_attempt_is_501() {
    let hub = hub();
    let app = app!(hub);
    let req = negotiate_v1(1);
    let v1 = json_body(test::call_service(&app, req).await).await;
    let names = transport_names(&v1);
    assert_eq!(names, ["ServerSentEvents", "LongPolling"]);
    let req = test::TestRequest::get()
        .uri(&format!(
            "/hubs/notifications?id={}",
            v1["connectionToken"].as_str().unwrap()
        ))
        .insert_header(bearer(1))
        .insert_header((header::UPGRADE, "websocket"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::NOT_IMPLEMENTED);
}

#[actix_web::test]
async fn a_plain_get_without_id_is_400_and_a_websocket_attempt_needs_a_token() {
    let hub = hub();
    let app = app!(hub);
    let req = test::TestRequest::get()
        .uri("/hubs/notifications")
        .insert_header(bearer(1))
        .to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::BAD_REQUEST
    );
    let req = test::TestRequest::get()
        .uri("/hubs/notifications")
        .insert_header((header::UPGRADE, "websocket"))
        .to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

fn msgpack(v: &Value) -> Vec<u8> {
    let mut body = Vec::new();
    crate::protocol::msgpack::write_value(&mut body, v);
    let mut out = Vec::new();
    crate::protocol::msgpack::write_varint(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// Splits a binary poll body into its MessagePack messages.
fn messages(mut body: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let (len, prefix) = crate::protocol::msgpack::read_varint(body)
            .unwrap()
            .unwrap();
        out.push(crate::protocol::msgpack::decode_value(&body[prefix..prefix + len]).unwrap());
        body = &body[prefix + len..];
    }
    out
}

#[actix_web::test]
async fn long_polling_carries_messagepack_as_binary_bodies() {
    let hub = hub();
    let app = app!(hub);
    let id = negotiate!(&app, 1);
    test::call_service(&app, poll_request(&id, 1).to_request()).await;
    let mut body = b"{\"protocol\":\"messagepack\",\"version\":1}\x1e".to_vec();
    body.extend(msgpack(&json!([
        1,
        {},
        "0",
        "Echo",
        [[1, "two", 3.5, null]],
        []
    ])));
    let req = test::TestRequest::post()
        .uri(&format!("/hubs/notifications?id={id}"))
        .insert_header(bearer(1))
        .insert_header((header::CONTENT_TYPE, "application/octet-stream"))
        .set_payload(body)
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    let bytes = test::read_body(res).await;
    // The handshake reply is JSON; what follows is MessagePack.
    assert!(bytes.starts_with(b"{}\x1e"));
    assert_eq!(
        messages(&bytes[3..]),
        vec![json!([3, {}, "0", 3, [1, "two", 3.5, null]])]
    );

    hub.send("InboxUpdated", &json!({"unreadCount": 2}), Audience::All);
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "application/octet-stream"
    );
    assert_eq!(
        messages(&test::read_body(res).await),
        vec![json!([1, {}, null, "InboxUpdated", [{"unreadCount": 2}]])]
    );
}

#[actix_web::test]
async fn past_the_caps_negotiate_answers_429_per_user_and_503_per_instance() {
    let hub = hub_with(HubConfig {
        max_connections: Some(3),
        max_connections_per_user: Some(2),
        ..HubConfig::default()
    });
    let app = app!(hub);
    let negotiate = |user: i64| negotiate_v1(user);
    let first = negotiate!(&app, 1);
    negotiate!(&app, 1);
    let res = test::call_service(&app, negotiate(1)).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get(header::RETRY_AFTER).is_some());
    assert_eq!(json_body(res).await["error"], "rate_limited");
    negotiate!(&app, 2);
    let res = test::call_service(&app, negotiate(3)).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json_body(res).await;
    assert_eq!(body["error"], "service_unavailable");
    assert!(body["message"].is_string());

    // A connection that ends gives its permits back.
    test::call_service(&app, poll_request(&first, 1).to_request()).await;
    let req = test::TestRequest::delete()
        .uri(&format!("/hubs/notifications?id={first}"))
        .insert_header(bearer(1))
        .to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        test::call_service(&app, negotiate(1)).await.status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn negotiates_are_rate_limited_per_client_address() {
    let hub = hub_with(HubConfig {
        negotiate_rate_limit: Some(RateLimit {
            burst: 2,
            per_second: 0.5,
        }),
        ..HubConfig::default()
    });
    let app = app!(hub);
    let from = |ip: &str| {
        test::TestRequest::post()
            .uri("/hubs/notifications/negotiate?negotiateVersion=1")
            .insert_header(bearer(1))
            .peer_addr(format!("{ip}:5000").parse().unwrap())
            .to_request()
    };
    for _ in 0..2 {
        assert_eq!(
            test::call_service(&app, from("10.0.0.1")).await.status(),
            StatusCode::OK
        );
    }
    let res = test::call_service(&app, from("10.0.0.1")).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "2");
    assert_eq!(json_body(res).await["error"], "rate_limited");
    assert_eq!(
        test::call_service(&app, from("10.0.0.2")).await.status(),
        StatusCode::OK
    );
}
