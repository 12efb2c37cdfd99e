use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[actix_web::test]
async fn booking_creates_a_pending_request_for_the_default_designer() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let date = app.date_ahead(2).await;
    let (status, r) = app.post("/api/requests", &alice, json!({"title": "  Spring poster ", "description": "A3", "priority": "urgent", "dueDate": date})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(
        (
            r["title"].as_str(),
            r["priority"].as_str(),
            r["status"].as_str()
        ),
        (Some("Spring poster"), Some("urgent"), Some("pending"))
    );
    assert_eq!(r["dueDate"], date.as_str());
    assert_eq!(r["assigneeId"], app.settings().await["defaultDesignerId"]);
    assert!(r["createdAt"].as_str().unwrap().ends_with('Z'));
    let (_, plain) = app.book(&alice, &date, "Flyer").await;
    assert_eq!(plain["priority"], "normal");
    assert_eq!(app.day(&alice, &date).await["used"], 2);
}

#[actix_web::test]
async fn every_request_names_its_requester_so_a_designer_needs_no_user_list() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let bob = app.login("bob@example.com").await;
    let designer = app.login("designer@example.com").await;
    let date = app.date_ahead(2).await;
    let (_, created) = app.book(&alice, &date, "Poster").await;
    assert_eq!(created["requesterName"], "Alice");
    app.book(&bob, &date, "Flyer").await;
    app.book(&alice, &date, "Banner").await;
    let (status, page) = app.get("/api/requests", &designer).await;
    assert_eq!(status, StatusCode::OK);
    let mut names: Vec<(&str, &str)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["title"].as_str().unwrap(),
                r["requesterName"].as_str().unwrap(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("Banner", "Alice"), ("Flyer", "Bob"), ("Poster", "Alice")]
    );
    let id = created["id"].as_i64().unwrap();
    let (_, moved) = app
        .send(
            Method::PATCH,
            &format!("/api/requests/{id}/status"),
            Some(&designer),
            Some(json!({"status": "in_progress"})),
        )
        .await;
    assert_eq!(moved["requesterName"], "Alice");
}

#[actix_web::test]
async fn booking_errors_name_the_rule() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let alice = app.login("alice@example.com").await;
    let past = app.date_ahead(-1).await;
    let err = assert_error(
        app.book(&alice, &past, "x").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "date_out_of_window",
    );
    assert_eq!(err["details"]["date"], past.as_str());
    assert_error(
        app.book(&alice, &app.date_ahead(61).await, "x").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "date_out_of_window",
    );

    let date = app.date_ahead(3).await;
    app.put(
        &format!("/api/capacity/overrides/{date}"),
        &admin,
        json!({"capacity": 0}),
    )
    .await;
    assert_error(
        app.book(&alice, &date, "x").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "date_closed",
    );
    let all_days = json!([
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday"
    ]);
    app.put("/api/settings", &admin, json!({"dailyCapacity": 10, "limitedThresholdPercent": 60, "bookingWindowDays": 60, "closedWeekdays": all_days})).await;
    assert_error(
        app.book(&alice, &app.date_ahead(1).await, "x").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "date_closed",
    );

    let title = assert_error(
        app.book(&alice, &date, "   ").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(title["details"]["field"], "title");
    let long = assert_error(
        app.book(&alice, &date, &"x".repeat(201)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(long["details"]["field"], "title");
    let desc = assert_error(
        app.post(
            "/api/requests",
            &alice,
            json!({"title": "x", "description": "d".repeat(5001), "dueDate": date}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(desc["details"]["field"], "description");
    let prio = assert_error(
        app.post(
            "/api/requests",
            &alice,
            json!({"title": "x", "priority": "asap", "dueDate": date}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(prio["details"]["field"], "priority");
    let due = assert_error(
        app.post(
            "/api/requests",
            &alice,
            json!({"title": "x", "dueDate": "next week"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(due["details"]["field"], "dueDate");
    assert_error(
        app.post(
            "/api/requests",
            &alice,
            json!({"title": 7, "dueDate": date}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        app.send(
            Method::POST,
            "/api/requests",
            None,
            Some(json!({"title": "x", "dueDate": date})),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[actix_web::test]
async fn a_full_date_is_a_conflict_with_its_numbers() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let alice = app.login("alice@example.com").await;
    let date = app.date_ahead(1).await;
    app.put(
        &format!("/api/capacity/overrides/{date}"),
        &admin,
        json!({"capacity": 1}),
    )
    .await;
    assert_eq!(
        app.book(&alice, &date, "first").await.0,
        StatusCode::CREATED
    );
    let err = assert_error(
        app.book(&alice, &date, "second").await,
        StatusCode::CONFLICT,
        "capacity_full",
    );
    assert_eq!(
        err["details"],
        json!({"date": date, "capacity": 1, "used": 1, "held": 0, "freesAt": null})
    );
}

#[actix_web::test]
async fn requesters_see_only_their_own_requests() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let bob = app.login("bob@example.com").await;
    let designer = app.login("designer@example.com").await;
    let date = app.date_ahead(1).await;
    let (_, r) = app.book(&alice, &date, "alice's").await;
    app.book(&bob, &date, "bob's").await;
    let id = r["id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("/api/requests/{id}"), &alice).await.1, r);
    assert_error(
        app.get(&format!("/api/requests/{id}"), &bob).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(
        app.get(&format!("/api/requests/{id}"), &designer).await.0,
        StatusCode::OK
    );
    assert_error(
        app.get("/api/requests/999999", &designer).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        app.get("/api/requests/abc", &designer).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let (_, list) = app.get("/api/requests", &alice).await;
    assert_eq!(
        (
            list["total"].as_i64(),
            list["page"].as_i64(),
            list["pageSize"].as_i64()
        ),
        (Some(1), Some(1), Some(20))
    );
    let (_, list) = app.get("/api/requests", &designer).await;
    assert_eq!(list["total"], 2);
}

#[actix_web::test]
async fn listing_filters_and_pages() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let (d1, d2) = (app.date_ahead(1).await, app.date_ahead(5).await);
    for i in 0..3 {
        app.book(&alice, &d1, &format!("a{i}")).await;
    }
    let (_, last) = app.book(&alice, &d2, "b").await;
    app.post(
        &format!("/api/requests/{}/cancel", last["id"]),
        &alice,
        json!({}),
    )
    .await;
    let (_, page) = app.get("/api/requests?page=2&pageSize=2", &alice).await;
    assert_eq!(
        (
            page["total"].as_i64(),
            page["items"].as_array().unwrap().len()
        ),
        (Some(4), 2)
    );
    let (_, cancelled) = app.get("/api/requests?status=cancelled", &alice).await;
    assert_eq!(cancelled["total"], 1);
    let (_, ranged) = app
        .get(&format!("/api/requests?from={d2}&to={d2}"), &alice)
        .await;
    assert_eq!(ranged["total"], 1);
    assert_error(
        app.get("/api/requests?status=done", &alice).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        app.get("/api/requests?pageSize=1000", &alice).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        app.get("/api/requests?page=x", &alice).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
}

#[actix_web::test]
async fn moving_a_request_moves_its_slot_and_a_full_target_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let alice = app.login("alice@example.com").await;
    let (d1, d2) = (app.date_ahead(1).await, app.date_ahead(2).await);
    let (_, r) = app.book(&alice, &d1, "poster").await;
    let id = r["id"].as_i64().unwrap();
    let (status, moved) = app
        .put(
            &format!("/api/requests/{id}"),
            &alice,
            json!({"title": "poster v2", "priority": "high", "dueDate": d2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(
        (moved["dueDate"].as_str(), moved["title"].as_str()),
        (Some(d2.as_str()), Some("poster v2"))
    );
    assert_eq!(app.day(&alice, &d1).await["used"], 0);
    assert_eq!(app.day(&alice, &d2).await["used"], 1);

    app.put(
        &format!("/api/capacity/overrides/{d1}"),
        &admin,
        json!({"capacity": 1}),
    )
    .await;
    app.book(&admin, &d1, "filler").await;
    let err = assert_error(
        app.put(
            &format!("/api/requests/{id}"),
            &alice,
            json!({"title": "poster v3", "priority": "high", "dueDate": d1}),
        )
        .await,
        StatusCode::CONFLICT,
        "capacity_full",
    );
    assert_eq!(err["details"]["date"], d1.as_str());
    let (_, unchanged) = app.get(&format!("/api/requests/{id}"), &alice).await;
    assert_eq!(
        (unchanged["dueDate"].as_str(), unchanged["title"].as_str()),
        (Some(d2.as_str()), Some("poster v2"))
    );
    assert_eq!(app.day(&alice, &d2).await["used"], 1);
}

#[actix_web::test]
async fn only_owners_of_pending_requests_and_admins_edit() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let bob = app.login("bob@example.com").await;
    let designer = app.login("designer@example.com").await;
    let admin = app.login("admin@example.com").await;
    let date = app.date_ahead(1).await;
    let (_, r) = app.book(&alice, &date, "poster").await;
    let path = format!("/api/requests/{}", r["id"]);
    let body = json!({"title": "t", "priority": "low", "dueDate": date});
    assert_error(
        app.put(&path, &bob, body.clone()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        app.put(&path, &designer, body.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    app.send(
        Method::PATCH,
        &format!("{path}/status"),
        Some(&designer),
        Some(json!({"status": "in_progress"})),
    )
    .await;
    assert_error(
        app.put(&path, &alice, body.clone()).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_eq!(app.put(&path, &admin, body).await.0, StatusCode::OK);
}

#[actix_web::test]
async fn cancelling_frees_the_slot_once() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let bob = app.login("bob@example.com").await;
    let date = app.date_ahead(1).await;
    let (_, r) = app.book(&alice, &date, "poster").await;
    let path = format!("/api/requests/{}/cancel", r["id"]);
    assert_error(
        app.post(&path, &bob, json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (status, c) = app.send(Method::POST, &path, Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["status"], "cancelled");
    assert_eq!(app.day(&alice, &date).await["used"], 0);
    assert_error(
        app.post(&path, &alice, json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    );
    assert_eq!(app.day(&alice, &date).await["used"], 0);
}

#[actix_web::test]
async fn status_changes_follow_the_workflow() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let designer = app.login("designer@example.com").await;
    let date = app.date_ahead(1).await;
    let (_, r) = app.book(&alice, &date, "poster").await;
    let path = format!("/api/requests/{}/status", r["id"]);
    let set = |token: String, status: &'static str| {
        let path = path.clone();
        let app = &app;
        async move {
            app.send(
                Method::PATCH,
                &path,
                Some(&token),
                Some(json!({ "status": status })),
            )
            .await
        }
    };
    assert_error(
        set(alice.clone(), "in_progress").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let err = assert_error(
        set(designer.clone(), "completed").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    );
    assert_eq!(
        err["details"],
        json!({"from": "pending", "to": "completed"})
    );
    assert_error(
        set(designer.clone(), "finished").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        set(designer.clone(), "in_progress").await.1["status"],
        "in_progress"
    );
    assert_eq!(app.day(&alice, &date).await["used"], 1);
    assert_eq!(
        set(designer.clone(), "rejected").await.1["status"],
        "rejected"
    );
    assert_eq!(
        app.day(&alice, &date).await["used"],
        0,
        "rejecting frees the slot"
    );
    assert_error(
        set(designer.clone(), "in_progress").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    );
    assert_error(
        app.send(
            Method::PATCH,
            "/api/requests/999999/status",
            Some(&designer),
            Some(json!({"status": "in_progress"})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}
