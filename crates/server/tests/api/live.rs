//! The live pipeline, forced deterministically: a change is judged against,
//! and announced with, the settings in force when it commits, and the change
//! feed reads one snapshot. Interleavings are forced by a second connection
//! holding a lock while the server's request waits on it.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use request_desk_domain::live::LiveEvent;
use request_desk_infrastructure::change_payload::decode;
use request_desk_infrastructure::postgres::changes::CHANNEL;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Holds `lock_sql` in an open transaction on its own connection until dropped.
struct LockHolder {
    release: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LockHolder {
    fn hold(app: &TestApp, lock_sql: String) -> LockHolder {
        let mut conn = app.db.connect();
        let (locked_tx, locked_rx) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            conn.batch_execute(&format!("BEGIN; {lock_sql};")).unwrap();
            locked_tx.send(()).unwrap();
            let _ = released.recv();
            conn.batch_execute("COMMIT").unwrap();
        });
        locked_rx.recv().unwrap();
        LockHolder {
            release: Some(release),
            thread: Some(thread),
        }
    }

    fn release(mut self) {
        drop(self.release.take());
        self.thread.take().unwrap().join().unwrap();
    }
}

/// Waits until `n` sessions of the test database wait on a lock.
async fn until_waiting_on_a_lock(app: &TestApp, n: i64) {
    let db = app.db.clone();
    let started = Instant::now();
    loop {
        let db = db.clone();
        let waiting = tokio::task::spawn_blocking(move || {
            let mut conn = db.connect();
            diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .get_result::<Count>(&mut conn)
            .unwrap()
            .n
        })
        .await
        .unwrap();
        if waiting >= n {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no request came to wait on the lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A connection listening on the change stream, as every instance does.
pub struct StreamTap(PgConnection);

impl StreamTap {
    pub fn open(app: &TestApp) -> StreamTap {
        let mut conn = PgConnection::establish(&app.db.url).unwrap();
        conn.batch_execute(&format!("LISTEN {CHANNEL}")).unwrap();
        StreamTap(conn)
    }

    /// Every change announced so far, in commit order.
    pub fn changes(&mut self) -> Vec<Vec<LiveEvent>> {
        // A round trip brings in the notifications that arrived meanwhile.
        self.0.batch_execute("SELECT 1").unwrap();
        self.0
            .notifications_iter()
            .map(|n| decode(&n.unwrap().payload).expect("a change-stream payload"))
            .collect()
    }
}

/// The `Day`s announced for `date`, as JSON like the REST API's.
pub fn announced_days(changes: &[Vec<LiveEvent>], date: &str) -> Vec<Value> {
    changes
        .iter()
        .flatten()
        .filter_map(|e| match e {
            LiveEvent::DayChanged { day, .. } => Some(serde_json::to_value(day).unwrap()),
            _ => None,
        })
        .filter(|d| d["date"] == date)
        .collect()
}

/// `POST /api/requests` sent in the background (it will wait on a lock).
fn book_in_background(
    app: &TestApp,
    token: &str,
    date: &str,
    title: &str,
) -> actix_web::rt::task::JoinHandle<(StatusCode, Value)> {
    let (client, base, token) = (app.client.clone(), app.base.clone(), token.to_owned());
    let body = json!({"title": title, "dueDate": date});
    actix_web::rt::spawn(async move {
        let response = client
            .post(format!("{base}/api/requests"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    })
}

/// Sets the daily capacity through `PUT /api/settings`, asserting it is not held up.
async fn set_capacity(app: &TestApp, admin: &str, capacity: u32) {
    let started = Instant::now();
    app.set_daily_capacity(admin, capacity).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a settings change must not wait for bookings of one day"
    );
}

/// What a booking that waited on its day's row lock, while the daily capacity
/// went from `before` to `after`, ended as.
struct RaceOutcome {
    answer: (StatusCode, Value),
    day: Value,
    announced: Vec<Value>,
}

/// `booked` requests on a day of capacity `before`; another session holds the
/// day's row while one more booking arrives and waits; meanwhile the admin
/// sets the capacity to `after` (which commits at once); then the row is released.
async fn book_while_the_capacity_changes(booked: usize, before: u32, after: u32) -> RaceOutcome {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let alice = app.login("alice@example.com").await;
    app.set_daily_capacity(&admin, before).await;
    let date = app.date_ahead(3).await;
    for i in 0..booked {
        let (status, _) = app.book(&alice, &date, &format!("#{i}")).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut tap = StreamTap::open(&app);
    let held = LockHolder::hold(
        &app,
        format!("SELECT 1 FROM days WHERE date = '{date}' FOR UPDATE"),
    );
    let booking = book_in_background(&app, &alice, &date, "the one that waits");
    until_waiting_on_a_lock(&app, 1).await;
    set_capacity(&app, &admin, after).await;
    held.release();
    let answer = booking.await.unwrap();
    RaceOutcome {
        answer,
        day: app.day(&alice, &date).await,
        announced: announced_days(&tap.changes(), &date),
    }
}

#[actix_web::test]
async fn a_booking_waiting_for_its_day_is_judged_by_a_capacity_lowered_meanwhile() {
    let race = book_while_the_capacity_changes(5, 6, 5).await;
    let body = assert_error(race.answer, StatusCode::CONFLICT, "capacity_full");
    assert_eq!(body["details"]["capacity"], 5);
    assert_eq!(body["details"]["used"], 5);
    assert_eq!(
        (race.day["used"].as_i64(), race.day["capacity"].as_i64()),
        (Some(5), Some(5))
    );
    assert!(
        race.announced.is_empty(),
        "a refused booking announces nothing"
    );
}

#[actix_web::test]
async fn a_booking_waiting_for_its_day_is_announced_with_a_capacity_raised_meanwhile() {
    let race = book_while_the_capacity_changes(4, 5, 10).await;
    assert_eq!(race.answer.0, StatusCode::CREATED);
    // 5 of 10 is "available" under the settings in force at the commit; under
    // the superseded ones it would have read "5 of 5, full".
    let day = &race.day;
    assert_eq!(
        (
            day["used"].as_i64(),
            day["capacity"].as_i64(),
            day["status"].as_str()
        ),
        (Some(5), Some(10), Some("available"))
    );
    assert_eq!(race.announced.len(), 1, "{:?}", race.announced);
    assert_eq!(
        &race.announced[0], day,
        "the announcement is what the database holds"
    );
}

#[actix_web::test]
async fn the_change_feed_reads_one_snapshot_so_a_settings_change_it_straddles_is_never_missed() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let alice = app.login("alice@example.com").await;
    let date = app.date_ahead(2).await;
    app.book(&alice, &date, "before").await;
    let (_, start) = app.get("/api/availability", &alice).await;
    let since = start["version"].as_i64().unwrap();

    // The feed starts reading (settings first), then waits for the days table.
    let held = LockHolder::hold(&app, "LOCK TABLE days IN ACCESS EXCLUSIVE MODE".into());
    let feed = {
        let (client, base, token) = (app.client.clone(), app.base.clone(), alice.clone());
        actix_web::rt::spawn(async move {
            client
                .get(format!("{base}/api/availability/changes?since={since}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    until_waiting_on_a_lock(&app, 1).await;
    // A settings change commits while the feed is half-way.
    set_capacity(&app, &admin, 3).await;
    held.release();
    let first = feed.await.unwrap();

    // Whatever the first read saw, resuming from its version must not skip the change.
    let resumed = first["version"].as_i64().unwrap();
    let (status, second) = app
        .get(
            &format!("/api/availability/changes?since={resumed}"),
            &alice,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        first["resync"] == true || second["resync"] == true,
        "a client resuming from {resumed} never learns that the capacity changed: {first} then {second}"
    );
    // And the day's numbers in the first answer agree with its own version.
    for day in first["days"].as_array().unwrap() {
        assert!(day["version"].as_i64().unwrap() <= resumed);
        assert_eq!(
            day["capacity"], 10,
            "the snapshot predates the change: {day}"
        );
    }
}
