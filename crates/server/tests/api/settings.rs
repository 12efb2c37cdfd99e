use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[actix_web::test]
async fn public_settings_have_the_contract_defaults_and_todays_window() {
    let app = TestApp::spawn().await;
    let s = app.settings().await;
    assert_eq!(s["dailyCapacity"], 10);
    assert_eq!(s["limitedThresholdPercent"], 60);
    assert_eq!(s["bookingWindowDays"], 60);
    assert_eq!(s["closedWeekdays"], json!([]));
    assert_eq!(s["timezone"], "UTC");
    assert_eq!(s["minDate"], s["today"]);
    assert_eq!(s["maxDate"], app.date_ahead(60).await);
    assert!(
        s["defaultDesignerId"].is_i64(),
        "the demo designer is the default: {s}"
    );
}

#[actix_web::test]
async fn admins_change_settings_and_others_cannot() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let designer = app.login("designer@example.com").await;
    let body = json!({"dailyCapacity": 3, "limitedThresholdPercent": 50, "bookingWindowDays": 30, "closedWeekdays": ["friday", "saturday"], "timezone": "Asia/Tehran"});
    let (status, s) = app.put("/api/settings", &admin, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(
        (s["dailyCapacity"].as_i64(), s["timezone"].as_str()),
        (Some(3), Some("Asia/Tehran"))
    );
    assert_eq!(s["closedWeekdays"], json!(["friday", "saturday"]));
    assert_eq!(app.settings().await["bookingWindowDays"], 30);

    assert_error(
        app.put("/api/settings", &designer, body.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        app.send(Method::PUT, "/api/settings", None, Some(body))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    for (field, value) in [
        ("dailyCapacity", json!(-1)),
        ("limitedThresholdPercent", json!(120)),
        ("timezone", json!("Mars/Base")),
        ("closedWeekdays", json!(["funday"])),
    ] {
        let mut bad = json!({"dailyCapacity": 3, "limitedThresholdPercent": 50, "bookingWindowDays": 30, "closedWeekdays": [], "timezone": "UTC"});
        bad[field] = value;
        let err = assert_error(
            app.put("/api/settings", &admin, bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(err["details"]["field"], field);
    }
    let err = assert_error(
        app.put("/api/settings", &admin, json!({"dailyCapacity": 3, "limitedThresholdPercent": 50, "bookingWindowDays": 30, "defaultDesignerId": 3})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(err["details"]["field"], "defaultDesignerId");
    assert_error(
        app.put("/api/settings", &admin, json!({"dailyCapacity": "ten"}))
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
}

#[actix_web::test]
async fn overrides_set_and_clear_a_days_capacity() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let date = app.date_ahead(3).await;
    let (status, day) = app
        .put(
            &format!("/api/capacity/overrides/{date}"),
            &admin,
            json!({"capacity": 2, "note": "half day"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{day}");
    assert_eq!(
        (
            day["date"].as_str(),
            day["capacity"].as_i64(),
            day["remaining"].as_i64()
        ),
        (Some(date.as_str()), Some(2), Some(2))
    );
    let v1 = day["version"].as_i64().unwrap();
    assert!(v1 > 0);
    let (status, day) = app
        .put(
            &format!("/api/capacity/overrides/{date}"),
            &admin,
            json!({"capacity": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(day["status"], "closed");
    let (status, day) = app
        .send(
            Method::DELETE,
            &format!("/api/capacity/overrides/{date}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (day["capacity"].as_i64(), day["status"].as_str()),
        (Some(10), Some("available"))
    );
    assert!(day["version"].as_i64().unwrap() > v1);

    let alice = app.login("alice@example.com").await;
    assert_error(
        app.put(
            &format!("/api/capacity/overrides/{date}"),
            &alice,
            json!({"capacity": 5}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        app.send(
            Method::DELETE,
            &format!("/api/capacity/overrides/{date}"),
            Some(&alice),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        app.put(
            "/api/capacity/overrides/2026-02-30",
            &admin,
            json!({"capacity": 5}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let err = assert_error(
        app.put(
            &format!("/api/capacity/overrides/{date}"),
            &admin,
            json!({"capacity": -2}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(err["details"]["field"], "capacity");
}

#[actix_web::test]
async fn lowering_capacity_below_used_keeps_requests_and_the_day_is_full() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let alice = app.login("alice@example.com").await;
    let date = app.date_ahead(2).await;
    for i in 0..3 {
        assert_eq!(
            app.book(&alice, &date, &format!("r{i}")).await.0,
            StatusCode::CREATED
        );
    }
    let (_, day) = app
        .put(
            &format!("/api/capacity/overrides/{date}"),
            &admin,
            json!({"capacity": 1}),
        )
        .await;
    assert_eq!(
        (
            day["used"].as_i64(),
            day["remaining"].as_i64(),
            day["status"].as_str(),
            day["percent"].as_i64()
        ),
        (Some(3), Some(0), Some("full"), Some(300))
    );
    let (_, list) = app.get("/api/requests", &alice).await;
    assert_eq!(list["total"], 3);
}
