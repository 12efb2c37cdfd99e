//! The core promise: no day is ever overbooked, however many submit at once,
//! and through however many server processes.

use diesel::sql_types::{BigInt, Date as SqlDate};
use diesel::{QueryableByName, RunQueryDsl};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Rows holding a slot on `date`, and the day's stored `used`, read from the database itself.
fn slots_in_database(app: &TestApp, date: &str) -> (i64, i64) {
    let mut conn = app.db.connect();
    let date = request_desk_domain::serde_formats::parse_date(date).unwrap();
    let rows: Count = diesel::sql_query("SELECT count(*) AS n FROM requests WHERE due_date = $1 AND status IN ('pending', 'in_progress', 'completed')")
        .bind::<SqlDate, _>(date)
        .get_result(&mut conn)
        .unwrap();
    let used: Count = diesel::sql_query(
        "SELECT COALESCE((SELECT used::bigint FROM days WHERE date = $1), 0) AS n",
    )
    .bind::<SqlDate, _>(date)
    .get_result(&mut conn)
    .unwrap();
    (rows.n, used.n)
}

#[actix_web::test]
async fn of_fifty_concurrent_bookings_for_ten_slots_exactly_ten_succeed_across_two_instances() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(a.db.clone()).await;
    let tokens = [
        a.login("alice@example.com").await,
        a.login("bob@example.com").await,
    ];
    for round in 1..=5 {
        let date = a.date_ahead(round).await;
        let attempts = (0..50).map(|i| {
            let app = if i % 2 == 0 { &a } else { &b };
            let token = &tokens[i % 2];
            let date = date.clone();
            async move { app.book(token, &date, &format!("round {round} #{i}")).await }
        });
        let results = join_all(attempts).await;
        let created = results
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        let full = results
            .iter()
            .filter(|(s, b)| *s == StatusCode::CONFLICT && b["error"] == "capacity_full")
            .count();
        assert_eq!(
            (created, full),
            (10, 40),
            "round {round}: {:?}",
            results.iter().map(|r| r.0).collect::<Vec<_>>()
        );
        assert_eq!(slots_in_database(&a, &date), (10, 10), "round {round}");
        let day = b.day(&tokens[0], &date).await;
        assert_eq!(
            (day["used"].as_i64(), day["status"].as_str()),
            (Some(10), Some("full"))
        );
    }
}

#[actix_web::test]
async fn concurrent_moves_between_two_dates_never_deadlock_or_overbook() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(a.db.clone()).await;
    let admin = a.login("admin@example.com").await;
    let (d1, d2) = (a.date_ahead(1).await, a.date_ahead(2).await);
    for d in [&d1, &d2] {
        a.put(
            &format!("/api/capacity/overrides/{d}"),
            &admin,
            json!({"capacity": 6}),
        )
        .await;
    }
    // Five requests on each date, one slot free on each.
    let mut ids = Vec::new();
    for (i, d) in [&d1, &d2].into_iter().cycle().take(10).enumerate() {
        let (status, r) = a.book(&admin, d, &format!("r{i}")).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        ids.push((r["id"].as_i64().unwrap(), d.clone()));
    }
    for _round in 0..3 {
        let moves = ids.iter().enumerate().map(|(i, (id, from))| {
            let app = if i % 2 == 0 { &a } else { &b };
            let to = if *from == d1 { d2.clone() } else { d1.clone() };
            let admin = &admin;
            async move {
                app.put(
                    &format!("/api/requests/{id}"),
                    admin,
                    json!({"title": "moved", "priority": "normal", "dueDate": to}),
                )
                .await
            }
        });
        let results = tokio::time::timeout(std::time::Duration::from_secs(30), join_all(moves))
            .await
            .expect("no deadlock");
        for (status, body) in &results {
            assert!(
                *status == StatusCode::OK || body["error"] == "capacity_full",
                "{status} {body}"
            );
        }
        for d in [&d1, &d2] {
            let (rows, used) = slots_in_database(&a, d);
            assert_eq!(rows, used, "used matches the rows on {d}");
            assert!(used <= 6, "{d} overbooked: {used}");
        }
        let (r1, _) = slots_in_database(&a, &d1);
        let (r2, _) = slots_in_database(&a, &d2);
        assert_eq!(r1 + r2, 10);
        // Refresh where each request is now.
        for (id, date) in ids.iter_mut() {
            *date = a.get(&format!("/api/requests/{id}"), &admin).await.1["dueDate"]
                .as_str()
                .unwrap()
                .to_owned();
        }
    }
}

#[actix_web::test]
async fn the_schema_refuses_a_negative_used_count() {
    let app = TestApp::spawn().await;
    let mut conn = app.db.connect();
    let err = diesel::sql_query("INSERT INTO days (date, used) VALUES ('2030-01-01', -1)")
        .execute(&mut conn)
        .unwrap_err();
    assert!(err.to_string().contains("check constraint"), "{err}");
    let err = diesel::sql_query("INSERT INTO settings (id, daily_capacity, limited_threshold_percent, booking_window_days, timezone) VALUES (2, 1, 1, 1, 'UTC')")
        .execute(&mut conn)
        .unwrap_err();
    assert!(
        err.to_string().contains("check constraint") || err.to_string().contains("duplicate"),
        "{err}"
    );
}
