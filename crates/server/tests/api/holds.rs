//! Holds: picking a day keeps a slot; `used + held ≤ capacity` at every moment.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp, PASSWORD};
use crate::live::{announced_days, StreamTap};

async fn hold(app: &TestApp, token: &str, date: &str) -> (StatusCode, Value) {
    app.post("/api/holds", token, json!({ "date": date })).await
}

async fn book_with(app: &TestApp, token: &str, date: &str, hold_id: &Value) -> (StatusCode, Value) {
    app.post(
        "/api/requests",
        token,
        json!({ "title": "held", "dueDate": date, "holdId": hold_id }),
    )
    .await
}

/// Ends every hold of the test database now, as if its time had passed.
fn expire_all_holds(app: &TestApp) {
    app.db
        .connect()
        .batch_execute("UPDATE holds SET expires_at = now() - interval '1 second'")
        .unwrap();
}

#[actix_web::test]
async fn a_hold_is_taken_listed_replaced_and_released() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let bob = app.login("bob@example.com").await;
    let (first, second) = (app.date_ahead(2).await, app.date_ahead(3).await);

    let (status, h1) = hold(&app, &alice, &first).await;
    assert_eq!(status, StatusCode::CREATED, "{h1}");
    assert_eq!(h1["date"], first.as_str());
    assert!(h1["expiresAt"].as_str().unwrap().ends_with('Z'));
    let day = app.day(&alice, &first).await;
    assert_eq!(
        (day["held"].as_i64(), day["remaining"].as_i64()),
        (Some(1), Some(9))
    );

    // One live hold per user: a new one releases the old in the same transaction.
    let (_, h2) = hold(&app, &alice, &second).await;
    let (_, listed) = app.get("/api/holds", &alice).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], h2["id"]);
    assert_eq!(app.day(&alice, &first).await["held"], 0);
    assert_eq!(app.day(&alice, &second).await["held"], 1);

    // Someone else's hold reads as not found; the owner releases it once.
    let path = format!("/api/holds/{}", h2["id"]);
    assert_error(
        app.send(Method::DELETE, &path, Some(&bob), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(
        app.send(Method::DELETE, &path, Some(&alice), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.send(Method::DELETE, &path, Some(&alice), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(app.day(&alice, &second).await["held"], 0);
    assert_eq!(app.get("/api/holds", &alice).await.1, json!([]));
}

#[actix_web::test]
async fn holds_follow_the_booking_rules_and_bad_input_names_the_field() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let admin = app.login("admin@example.com").await;
    assert_error(
        app.post("/api/holds", &alice, json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        hold(&app, &alice, "2026-13-01").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        hold(&app, &alice, &app.date_ahead(-1).await).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "date_out_of_window",
    );
    let date = app.date_ahead(4).await;
    app.put(
        &format!("/api/capacity/overrides/{date}"),
        &admin,
        json!({ "capacity": 0 }),
    )
    .await;
    assert_error(
        hold(&app, &alice, &date).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "date_closed",
    );
    assert_eq!(
        app.get("/api/holds", &alice).await.1,
        json!([]),
        "nothing was held"
    );
    assert_error(
        app.send(
            Method::POST,
            "/api/holds",
            None,
            Some(json!({ "date": date })),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[actix_web::test]
async fn a_held_slot_cannot_be_booked_by_others_and_its_booking_cannot_fail_for_capacity() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let alice = app.login("alice@example.com").await;
    let bob = app.login("bob@example.com").await;
    app.set_daily_capacity(&admin, 2).await;
    let date = app.date_ahead(2).await;
    let (_, h) = hold(&app, &alice, &date).await;
    assert_eq!(app.book(&bob, &date, "first").await.0, StatusCode::CREATED);
    // used 1 + held 1 = capacity 2: the day is full for everyone else.
    assert_error(
        app.book(&bob, &date, "second").await,
        StatusCode::CONFLICT,
        "capacity_full",
    );
    assert_error(
        hold(&app, &bob, &date).await,
        StatusCode::CONFLICT,
        "capacity_full",
    );
    // Lowering the capacity below used + held keeps the hold...
    app.set_daily_capacity(&admin, 1).await;
    let day = app.day(&alice, &date).await;
    assert_eq!(
        (
            day["used"].as_i64(),
            day["held"].as_i64(),
            day["status"].as_str()
        ),
        (Some(1), Some(1), Some("full"))
    );
    // ...and a foreign holdId is refused with nothing booked.
    assert_error(
        book_with(&app, &bob, &date, &h["id"]).await,
        StatusCode::CONFLICT,
        "hold_expired",
    );
    // The holder's booking becomes the hold: it cannot fail for capacity.
    let (status, request) = book_with(&app, &alice, &date, &h["id"]).await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    let day = app.day(&alice, &date).await;
    assert_eq!(
        (day["used"].as_i64(), day["held"].as_i64()),
        (Some(2), Some(0))
    );
    // A hold is used once.
    assert_error(
        book_with(&app, &alice, &date, &h["id"]).await,
        StatusCode::CONFLICT,
        "hold_expired",
    );
    assert_eq!(app.day(&alice, &date).await["used"], 2);
}

#[actix_web::test]
async fn an_expired_hold_counts_for_nothing_at_once_and_the_sweeper_announces_the_freed_slot() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let date = app.date_ahead(2).await;
    let (_, h) = hold(&app, &alice, &date).await;
    let mut tap = StreamTap::open(&app);
    let held_version = app.day(&alice, &date).await["version"].as_i64().unwrap();

    expire_all_holds(&app);
    // Reads judge expiry on the database's clock, before any sweep.
    assert_eq!(app.day(&alice, &date).await["held"], 0);
    assert_eq!(app.get("/api/holds", &alice).await.1, json!([]));
    assert_error(
        book_with(&app, &alice, &date, &h["id"]).await,
        StatusCode::CONFLICT,
        "hold_expired",
    );
    assert_eq!(
        app.day(&alice, &date).await["used"],
        0,
        "nothing was booked"
    );

    // Within a few seconds a sweep deletes it and announces the date with a new version.
    let started = Instant::now();
    let announced = loop {
        let days = announced_days(&tap.changes(), &date);
        if let Some(day) = days.last() {
            break day.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no sweep announced the freed slot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(announced["held"], 0);
    assert!(announced["version"].as_i64().unwrap() > held_version);
    assert_eq!(announced, app.day(&alice, &date).await);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[actix_web::test]
async fn of_concurrent_holds_and_bookings_through_two_instances_exactly_the_free_slots_succeed() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(a.db.clone()).await;
    let admin = a.login("admin@example.com").await;
    a.set_daily_capacity(&admin, 6).await;
    // Holds are one per user, so every attempt of a round is a different user's.
    let mut tokens = Vec::new();
    for i in 0..24 {
        let email = format!("contender{i}@example.com");
        let (status, _) = a
            .post(
                "/api/users",
                &admin,
                json!({ "email": email, "password": PASSWORD, "displayName": format!("C{i}"), "role": "requester" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        tokens.push(a.login(&email).await);
    }
    for round in 1..=4 {
        let date = a.date_ahead(round).await;
        // Two slots already taken, so R = 4 are left.
        a.book(&admin, &date, "taken").await;
        a.book(&admin, &date, "taken").await;
        let attempts = tokens.iter().enumerate().map(|(i, token)| {
            let app = if i % 2 == 0 { &a } else { &b };
            let date = date.clone();
            async move {
                if i % 3 == 0 {
                    app.book(token, &date, "contended").await.0
                } else {
                    hold(app, token, &date).await.0
                }
            }
        });
        let results = join_all(attempts).await;
        let won = results
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count();
        assert!(
            results
                .iter()
                .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
            "{results:?}"
        );
        assert_eq!(
            won, 4,
            "round {round}: exactly the free slots were won: {results:?}"
        );
        let mut conn = a.db.connect();
        let held: Count = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM holds WHERE date = '{date}' AND expires_at > now()"
        ))
        .get_result(&mut conn)
        .unwrap();
        let used: Count = diesel::sql_query(format!(
            "SELECT used::bigint AS n FROM days WHERE date = '{date}'"
        ))
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(
            used.n + held.n,
            6,
            "round {round}: used {} + held {} fills the day exactly",
            used.n,
            held.n
        );
        let day = a.day(&admin, &date).await;
        assert_eq!(
            (
                day["used"].as_i64(),
                day["held"].as_i64(),
                day["remaining"].as_i64()
            ),
            (Some(used.n), Some(held.n), Some(0))
        );
    }
}

#[actix_web::test]
async fn a_move_with_ones_own_hold_cannot_fail_for_capacity_and_a_foreign_hold_moves_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let alice = app.login("alice@example.com").await;
    let bob = app.login("bob@example.com").await;
    let (from, to) = (app.date_ahead(2).await, app.date_ahead(3).await);
    app.put(
        &format!("/api/capacity/overrides/{to}"),
        &admin,
        json!({ "capacity": 1 }),
    )
    .await;
    let (_, request) = app.book(&alice, &from, "to be moved").await;
    let (status, h) = hold(&app, &alice, &to).await;
    assert_eq!(status, StatusCode::CREATED, "{h}");
    // The held slot is the only one: the day is full for everyone else.
    assert_error(
        app.book(&bob, &to, "late").await,
        StatusCode::CONFLICT,
        "capacity_full",
    );
    let path = format!("/api/requests/{}", request["id"]);
    let move_with = |hold_id: &Value| json!({ "title": "to be moved", "priority": "normal", "dueDate": to, "holdId": hold_id });
    // Someone else's hold moves nothing.
    let (_, bobs) = hold(&app, &bob, &from).await;
    assert_error(
        app.put(&path, &alice, move_with(&bobs["id"])).await,
        StatusCode::CONFLICT,
        "hold_expired",
    );
    assert_eq!(app.get(&path, &alice).await.1["dueDate"], from.as_str());
    // Her own hold: the move cannot fail for capacity and uses the hold.
    let (status, moved) = app.put(&path, &alice, move_with(&h["id"])).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["dueDate"], to.as_str());
    let day = app.day(&alice, &to).await;
    assert_eq!(
        (
            day["used"].as_i64(),
            day["held"].as_i64(),
            day["status"].as_str()
        ),
        (Some(1), Some(0), Some("full"))
    );
    assert_eq!(app.day(&alice, &from).await["used"], 0);
    assert_eq!(app.get("/api/holds", &alice).await.1, json!([]));
}

#[actix_web::test]
async fn a_new_instance_knows_every_live_hold_and_its_sweeper_frees_none_early() {
    let first = TestApp::spawn().await;
    let alice = first.login("alice@example.com").await;
    let date = first.date_ahead(2).await;
    let (_, h) = hold(&first, &alice, &date).await;
    // Another process over the same database, with nothing in memory (as
    // after a restart of every instance): it knows the hold from the
    // database alone, to the millisecond.
    let second = TestApp::spawn_on(first.db.clone()).await;
    let (status, listed) = second.get("/api/holds", &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed, json!([h]));
    // Its sweeper runs every second and frees only expired holds.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(second.day(&alice, &date).await["held"], 1);
    assert_eq!(second.get("/api/holds", &alice).await.1, json!([h]));
    // And the holder's booking through the new instance uses it.
    let (status, booked) = book_with(&second, &alice, &date, &h["id"]).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
}
