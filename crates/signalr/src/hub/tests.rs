use std::sync::atomic::Ordering as AtomicOrdering;

use serde_json::json;

use super::*;
use crate::connection::{Connection, Outbound};
use crate::testing::{Tag, TestApp};
use crate::Transport;

fn count(c: &Connection<Tag>) -> usize {
    let mut rx = c.queue().unwrap().rx.try_lock().unwrap();
    std::iter::from_fn(|| rx.try_recv().ok()).count()
}

#[test]
fn the_defaults_match_the_official_client() {
    let c = HubConfig::default();
    assert_eq!(c.keep_alive, Duration::from_secs(15));
    assert_eq!(c.client_timeout, Duration::from_secs(30));
    assert_eq!(c.max_message_size, 32 * 1024);
    assert_eq!(c.long_poll_timeout, Duration::from_secs(90));
    assert_eq!(c.stateful_reconnect_buffer, 100_000);
    assert!(c.send_queue >= 64);
    assert_eq!(sweep_period(&c), Duration::from_secs(1));
}

#[test]
fn a_hub_can_be_built_outside_a_runtime() {
    let hub = Hub::new(TestApp, HubConfig::default());
    assert!(!hub.inner.maintenance_started.load(Ordering::Relaxed));
    assert_eq!(
        hub.open_connections(),
        vec![
            ("websockets", 0),
            ("server_sent_events", 0),
            ("long_polling", 0)
        ]
    );
    assert_eq!(
        hub.send("E", &json!({"v": 1}), Audience::All),
        FanOut::default()
    );
}

#[test]
fn audiences_pick_all_one_user_or_a_predicate_over_connection_state() {
    let hub = Hub::new(TestApp, HubConfig::default());
    let a = open_connection(&hub, "1", Transport::WebSockets);
    let b = open_connection(&hub, "2", Transport::LongPolling);
    b.state().0.store(5, AtomicOrdering::Relaxed);
    let tagged = |n: i64| move |t: &Tag| t.0.load(AtomicOrdering::Relaxed) == n;

    assert_eq!(hub.send("E", &1, Audience::Where(&tagged(5))).delivered, 1);
    assert_eq!((count(&a), count(&b)), (0, 1));
    assert_eq!(hub.send("E", &1, Audience::User("1")).delivered, 1);
    assert_eq!((count(&a), count(&b)), (1, 0));
    assert_eq!(hub.send("E", &1, Audience::All).delivered, 2);
    assert_eq!((count(&a), count(&b)), (1, 1));
    // A payload that cannot be serialized is not sent.
    let bad: std::collections::HashMap<(i32, i32), i32> = [((1, 2), 3)].into();
    assert_eq!(hub.send("E", &bad, Audience::All).delivered, 0);
}

#[test]
fn close_user_sends_close_with_allow_reconnect_to_that_users_connections_only() {
    let hub = Hub::new(TestApp, HubConfig::default());
    let a1 = open_connection(&hub, "1", Transport::WebSockets);
    let a2 = open_connection(&hub, "1", Transport::ServerSentEvents);
    let b = open_connection(&hub, "2", Transport::WebSockets);
    assert_eq!(hub.close_user("1", "Your account was disabled."), 2);
    for c in [&a1, &a2] {
        let mut rx = c.queue().unwrap().rx.try_lock().unwrap();
        match rx.try_recv() {
            Ok(Outbound::Close(Some(f))) => assert_eq!(
                f.json_text(),
                r#"{"type":7,"error":"Your account was disabled.","allowReconnect":true}"#
            ),
            other => panic!("expected a Close, got {other:?}"),
        }
    }
    assert!(!b.is_closing());
}

#[tokio::test(start_paused = true)]
async fn pings_every_keep_alive_and_a_silent_client_is_closed_with_paused_time() {
    let hub = Hub::new(TestApp, HubConfig::default());
    assert!(hub.inner.maintenance_started.load(Ordering::Relaxed));
    let started = Instant::now();
    let conn = open_connection(&hub, "1", Transport::WebSockets);
    let mut rx = conn.queue().unwrap().rx.lock().await;
    // Nothing before the first keep-alive interval...
    tokio::time::advance(Duration::from_secs(14)).await;
    tokio::task::yield_now().await;
    assert!(rx.try_recv().is_err());
    // ...a Ping at 15 s...
    tokio::time::advance(Duration::from_millis(1_100)).await;
    match rx.recv().await {
        Some(Outbound::Record(f)) => assert_eq!(f.json_text(), r#"{"type":6}"#),
        other => panic!("expected a ping, got {other:?}"),
    }
    // ...and a Close once the client was silent for 30 s.
    let close = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no Close within 60 s"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        tokio::task::yield_now().await;
        if let Ok(Outbound::Close(Some(f))) = rx.try_recv() {
            break f;
        }
    };
    assert!(close.json_text().contains("Server timeout elapsed"));
    assert!(started.elapsed() >= Duration::from_secs(30));
    assert!(started.elapsed() <= Duration::from_secs(32));
}

#[tokio::test(start_paused = true)]
async fn shutdown_refuses_new_work_stops_maintenance_and_awaits_tracked_tasks() {
    let hub = Hub::new(TestApp, HubConfig::default());
    let conn = open_connection(&hub, "1", Transport::WebSockets);
    // A writer-like task that finishes when the connection ends.
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let c = Arc::clone(&conn);
            hub.spawn(async move {
                c.ended.cancelled().await;
            });
            hub.shutdown();
            assert!(hub.is_shutting_down());
            // The connection got its farewell; ending it lets the task finish.
            assert!(matches!(
                conn.queue().unwrap().rx.lock().await.try_recv(),
                Ok(Outbound::Close(Some(_)))
            ));
            let waiting = hub.closed();
            tokio::pin!(waiting);
            assert!(
                tokio::time::timeout(Duration::from_secs(5), &mut waiting)
                    .await
                    .is_err(),
                "a live task holds the shutdown"
            );
            conn.abort();
            tokio::time::timeout(Duration::from_secs(5), waiting)
                .await
                .expect("tasks awaited");
        })
        .await;
}

#[test]
fn the_maintenance_task_holds_only_a_weak_handle() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let hub = Hub::new(TestApp, HubConfig::default());
        let weak = Arc::downgrade(&hub.inner);
        drop(hub);
        assert!(weak.upgrade().is_none());
    });
}
