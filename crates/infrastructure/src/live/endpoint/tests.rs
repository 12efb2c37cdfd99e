//! Request Desk's hub: the typed methods, the watched window, and the
//! façade end to end over Long Polling through actix's test service (the
//! Node suite in `tests/hub/` covers every transport with the official
//! client).

use actix_web::http::{header, StatusCode};
use actix_web::{test as atest, App};
use serde_json::json;
use time::macros::date;

use super::*;

const RS: char = '\u{1e}';

/// Accepts `token-<user id>`; answers changes with `version + 2`.
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
        async move {
            if version < 0 {
                Err(HubMethodError::Failed("database unavailable".into()))
            } else {
                Ok(json!({"version": version + 2, "resync": false, "days": []}))
            }
        }
        .boxed()
    }
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
    assert_eq!(Watch::default().window(), DateWindow::ALL);
}

#[test]
fn methods_parse_case_insensitively_with_readable_errors() {
    assert_eq!(
        Method::parse("getcapacitychangessince", &[json!(41)]),
        Ok(Method::GetCapacityChangesSince(41))
    );
    assert_eq!(
        Method::parse("WatchDates", &[json!("2026-05-01"), json!("2026-05-07")]),
        Ok(Method::WatchDates(
            DateWindow::between(date!(2026 - 05 - 01), date!(2026 - 05 - 07)).unwrap()
        ))
    );
    assert_eq!(
        Method::parse("WATCHALLDATES", &[]),
        Ok(Method::WatchAllDates)
    );
    let err = |target: &str, args: &[Value]| Method::parse(target, args).unwrap_err().to_string();
    assert_eq!(err("Nope", &[]), "Unknown hub method 'Nope'");
    assert_eq!(
        err("WatchDates", &[json!("2026-05-01")]),
        "Invocation provides 1 argument(s) but target 'WatchDates' expects 2."
    );
    assert_eq!(
        err("WatchDates", &[json!("2026-05-02"), json!("2026-05-01")]),
        "WatchDates expects from <= to, got 2026-05-02 > 2026-05-01."
    );
    assert!(err("WatchDates", &[json!("2026-13-01"), json!("2026-05-01")]).contains("'from'"));
    assert!(err("WatchDates", &[json!("2026-05-01"), json!(5)]).contains("'to'"));
    assert!(err("GetCapacityChangesSince", &[json!("1")]).contains("integer version"));
    assert!(err("GetCapacityChangesSince", &[json!(1.5)]).contains("integer version"));
    assert!(err("WatchAllDates", &[json!(1)]).contains("expects 0"));
}

fn bearer(user: i64) -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer token-{user}"))
}

fn records(body: &[u8]) -> Vec<Value> {
    std::str::from_utf8(body)
        .unwrap()
        .split_terminator(RS)
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

#[actix_web::test]
async fn watch_dates_filters_capacity_updates_and_send_to_user_addresses_one_user() {
    let hub = Hub::new(
        Arc::new(FakeBackend),
        HubConfig {
            long_poll_timeout: std::time::Duration::from_millis(200),
            ..HubConfig::default()
        },
    );
    let app = {
        let hub = hub.clone();
        atest::init_service(App::new().configure(move |c| hub.configure(c))).await
    };
    let negotiate = atest::TestRequest::post()
        .uri("/hubs/notifications/negotiate?negotiateVersion=1")
        .insert_header(bearer(1))
        .to_request();
    let body: Value = atest::read_body_json(atest::call_service(&app, negotiate).await).await;
    let id = body["connectionToken"].as_str().unwrap().to_owned();
    let poll = || {
        atest::TestRequest::get()
            .uri(&format!("/hubs/notifications?id={id}"))
            .insert_header(bearer(1))
            .to_request()
    };
    let post = |body: String| {
        atest::TestRequest::post()
            .uri(&format!("/hubs/notifications?id={id}"))
            .insert_header(bearer(1))
            .set_payload(body)
            .to_request()
    };
    assert_eq!(
        atest::call_service(&app, poll()).await.status(),
        StatusCode::OK
    );
    let calls = format!(
        "{{\"protocol\":\"json\",\"version\":1}}{RS}\
         {{\"type\":1,\"invocationId\":\"0\",\"target\":\"WatchDates\",\"arguments\":[\"2026-05-01\",\"2026-05-31\"]}}{RS}\
         {{\"type\":1,\"invocationId\":\"1\",\"target\":\"GetCapacityChangesSince\",\"arguments\":[5]}}{RS}\
         {{\"type\":1,\"invocationId\":\"2\",\"target\":\"GetCapacityChangesSince\",\"arguments\":[-1]}}{RS}"
    );
    atest::call_service(&app, post(calls)).await;
    let got = records(&atest::read_body(atest::call_service(&app, poll()).await).await);
    assert_eq!(
        got,
        vec![
            json!({}),
            json!({"type": 3, "invocationId": "0", "result": null}),
            json!({"type": 3, "invocationId": "1", "result": {"version": 7, "resync": false, "days": []}}),
            json!({"type": 3, "invocationId": "2", "error": "database unavailable"}),
        ]
    );

    hub.broadcast_capacity_updated(date!(2026 - 06 - 01), &json!({"date": "2026-06-01"}));
    hub.send_to_user(2, "InboxUpdated", &json!({"unreadCount": 9}));
    assert!(atest::read_body(atest::call_service(&app, poll()).await)
        .await
        .is_empty());
    hub.broadcast_capacity_updated(date!(2026 - 05 - 02), &json!({"date": "2026-05-02"}));
    hub.send_to_user(1, "InboxUpdated", &json!({"unreadCount": 1}));
    hub.broadcast("CapacitySettingsChanged", &json!({"version": 3}));
    let got = records(&atest::read_body(atest::call_service(&app, poll()).await).await);
    let targets: Vec<_> = got.iter().map(|m| m["target"].as_str().unwrap()).collect();
    assert_eq!(
        targets,
        ["CapacityUpdated", "InboxUpdated", "CapacitySettingsChanged"]
    );

    // Back to every date.
    atest::call_service(
        &app,
        post(format!(
            "{{\"type\":1,\"target\":\"WatchAllDates\",\"arguments\":[]}}{RS}"
        )),
    )
    .await;
    hub.broadcast_capacity_updated(date!(2026 - 06 - 01), &json!({"date": "2026-06-01"}));
    let got = records(&atest::read_body(atest::call_service(&app, poll()).await).await);
    assert_eq!(got[0]["arguments"][0]["date"], "2026-06-01");

    assert_eq!(hub.close_user(1, "Your account was disabled."), 1);
    let got = records(&atest::read_body(atest::call_service(&app, poll()).await).await);
    assert_eq!(
        got,
        vec![json!({"type": 7, "error": "Your account was disabled.", "allowReconnect": true})]
    );
    assert_eq!(hub.open_connections()[2], ("long_polling", 0));
}
