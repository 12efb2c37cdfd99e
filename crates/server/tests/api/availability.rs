use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[actix_web::test]
async fn the_default_range_is_the_booking_window() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let (status, body) = app.get("/api/availability", &alice).await;
    assert_eq!(status, StatusCode::OK);
    let days = body["days"].as_array().unwrap();
    assert_eq!(days.len(), 61);
    let s = app.settings().await;
    assert_eq!(days[0]["date"], s["minDate"]);
    assert_eq!(days[60]["date"], s["maxDate"]);
    assert_eq!(
        days[0],
        json!({"date": s["today"], "capacity": 10, "used": 0, "held": 0, "remaining": 10, "percent": 0, "status": "available", "reason": null, "note": null, "version": 0})
    );
    assert!(body["version"].is_i64());
}

#[actix_web::test]
async fn days_show_their_numbers_and_status() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let alice = app.login("alice@example.com").await;
    app.set_daily_capacity(&admin, 5).await;
    let date = app.date_ahead(1).await;
    for expected in ["available", "available", "limited", "limited", "full"] {
        app.book(&alice, &date, "poster").await;
        assert_eq!(app.day(&alice, &date).await["status"], expected);
    }
    let day = app.day(&alice, &date).await;
    assert_eq!(
        (
            day["used"].as_i64(),
            day["remaining"].as_i64(),
            day["percent"].as_i64()
        ),
        (Some(5), Some(0), Some(100))
    );
    let yesterday = app.date_ahead(-1).await;
    assert_eq!(app.day(&alice, &yesterday).await["status"], "closed");
    let beyond = app.date_ahead(61).await;
    assert_eq!(app.day(&alice, &beyond).await["status"], "closed");
}

#[actix_web::test]
async fn bad_ranges_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    assert_error(
        app.get("/api/availability?from=2026-05-12&to=2026-05-11", &alice)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        app.get("/api/availability?from=2026-01-01&to=2027-01-02", &alice)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (status, body) = app
        .get("/api/availability?from=2026-01-01&to=2027-01-01", &alice)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["days"].as_array().unwrap().len(), 366);
    assert_error(
        app.get("/api/availability?from=tomorrow", &alice).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        app.send(Method::GET, "/api/availability", None, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[actix_web::test]
async fn changes_since_a_version_list_every_changed_date() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let (_, start) = app.get("/api/availability", &alice).await;
    let since = start["version"].as_i64().unwrap();
    let (d1, d2) = (app.date_ahead(1).await, app.date_ahead(2).await);
    app.book(&alice, &d1, "a").await;
    app.book(&alice, &d2, "b").await;
    app.book(&alice, &d2, "c").await;
    let (status, changes) = app
        .get(&format!("/api/availability/changes?since={since}"), &alice)
        .await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    assert_eq!(changes["resync"], false);
    let days = changes["days"].as_array().unwrap();
    assert_eq!(
        days.iter()
            .map(|d| d["date"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec![d1.as_str(), d2.as_str()]
    );
    assert_eq!(days[1]["used"], 2);
    assert_eq!(
        changes["version"],
        days.iter()
            .map(|d| d["version"].as_i64().unwrap())
            .max()
            .unwrap()
    );
    let (_, none) = app
        .get(
            &format!("/api/availability/changes?since={}", changes["version"]),
            &alice,
        )
        .await;
    assert_eq!(none["days"], json!([]));
    assert_error(
        app.get("/api/availability/changes", &alice).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        app.get("/api/availability/changes?since=abc", &alice).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
}

#[actix_web::test]
async fn a_settings_change_asks_clients_to_resync() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let (_, start) = app.get("/api/availability", &admin).await;
    let since = start["version"].as_i64().unwrap();
    app.set_daily_capacity(&admin, 4).await;
    let (_, changes) = app
        .get(&format!("/api/availability/changes?since={since}"), &admin)
        .await;
    assert_eq!(changes["resync"], true);
    let (_, after) = app
        .get(
            &format!("/api/availability/changes?since={}", changes["version"]),
            &admin,
        )
        .await;
    assert_eq!(after["resync"], false);
}
