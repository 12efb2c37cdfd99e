//! The hub's HTTP surface driven through actix-web's test service: negotiate,
//! authentication, Long Polling and Server-Sent Events end to end, as the
//! official client uses them. (WebSockets need a real socket; the Node suite
//! in `tests/hub/` covers them with the official client.)

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::http::{header, StatusCode};
use actix_web::{test, App};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use serde_json::{json, Value};
use time::macros::date;

use super::{Hub, HubBackend, HubConfig, HubMethodError, HubUser};

/// Accepts `token-<user id>`; everything else is forged.
struct FakeBackend;

impl HubBackend for FakeBackend {
    fn authenticate(&self, token: &str) -> Option<HubUser> {
        let user_id = token.strip_prefix("token-")?.parse().ok()?;
        Some(HubUser {
            user_id,
            role: "requester".into(),
        })
    }

    fn capacity_changes_since(
        &self,
        version: i64,
    ) -> BoxFuture<'static, Result<Value, HubMethodError>> {
        async move { Ok(json!({"version": version + 2, "resync": false, "days": []})) }.boxed()
    }
}

fn hub() -> Hub {
    Hub::new(
        Arc::new(FakeBackend),
        HubConfig {
            long_poll_timeout: Duration::from_millis(300),
            ..HubConfig::default()
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
    let hub = hub();
    let app = app!(hub);
    let req = test::TestRequest::post()
        .uri("/hubs/notifications/negotiate?negotiateVersion=1")
        .insert_header(bearer(1))
        .to_request();
    let v1 = json_body(test::call_service(&app, req).await).await;
    assert_eq!(v1["negotiateVersion"], 1);
    assert!(v1["connectionId"].is_string());
    assert!(v1["connectionToken"].is_string());
    assert_ne!(v1["connectionId"], v1["connectionToken"]);
    let names: Vec<_> = v1["availableTransports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transport"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["WebSockets", "ServerSentEvents", "LongPolling"]);

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
async fn long_polling_round_trip_with_watch_dates() {
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
        "{HANDSHAKE}{{\"type\":1,\"invocationId\":\"0\",\"target\":\"WatchDates\",\"arguments\":[\"2026-05-01\",\"2026-05-31\"]}}{RS}"
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

    // Outside the window: nothing (the poll times out empty); inside: delivered.
    hub.broadcast_capacity_updated(date!(2026 - 06 - 01), &json!({"date": "2026-06-01"}));
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(test::read_body(res).await.is_empty());
    hub.broadcast_capacity_updated(date!(2026 - 05 - 02), &json!({"date": "2026-05-02"}));
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    let got = records(&test::read_body(res).await);
    assert_eq!(
        got,
        vec![
            json!({"type": 1, "target": "CapacityUpdated", "arguments": [{"date": "2026-05-02"}]})
        ]
    );

    // A method call through the backend.
    let body = format!("{{\"type\":1,\"invocationId\":\"1\",\"target\":\"GetCapacityChangesSince\",\"arguments\":[5]}}{RS}");
    test::call_service(&app, post_request(&id, 1, &body).to_request()).await;
    let res = test::call_service(&app, poll_request(&id, 1).to_request()).await;
    let got = records(&test::read_body(res).await);
    assert_eq!(got[0]["result"]["version"], 7);
}

#[actix_web::test]
async fn a_newer_poll_ends_the_waiting_one_with_204_and_delete_ends_the_connection() {
    let hub = Hub::new(
        Arc::new(FakeBackend),
        HubConfig {
            long_poll_timeout: Duration::from_secs(5),
            ..HubConfig::default()
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
            hub.send_to_user(1, "InboxUpdated", &json!({"unreadCount": 2}));
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
        "{{\"type\":1,\"target\":\"WatchAllDates\",\"arguments\":[\"{}\"]}}{RS}",
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

    hub.broadcast("CapacitySettingsChanged", &json!({"version": 4}));
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
    let req = test::TestRequest::post()
        .uri("/hubs/notifications/negotiate?negotiateVersion=1")
        .insert_header(bearer(3))
        .to_request();
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
    assert!(std::str::from_utf8(&event)
        .unwrap()
        .starts_with("data: {\"error\":\"The protocol 'messagepack' is not supported.\"}"));
    assert!(next_chunk(&mut body).await.is_none());
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
