//! The one delivery path: committed changes, in commit order, to this
//! instance's viewers — the instance that made a change included.
//!
//! The [`Relay`] keeps a *watermark*: every versioned change up to it has
//! been delivered. A change on the stream carries its events with their
//! final numbers, so delivering it needs no database read. Versions are
//! handed out in commit order and the stream arrives in commit order, so
//! after a catch-up from the feed (which reads one snapshot), a change at or
//! below the watermark was in that snapshot and is skipped; everything
//! above it is new. Viewers apply an event only when its version is newer
//! than what they hold, so a change delivered twice around a reconnect is
//! harmless, and none is ever skipped.
//!
//! ```text
//!   Listening  ─► catch up: feed.changes_since(watermark) ─► publish, watermark = snapshot version
//!   Change     ─► drop versioned events ≤ watermark ─► publish, watermark = newest version
//!   Unreadable ─► catch up, as after a reconnect (never skipped: the watermark stays below it)
//!   Lost       ─► (wait for Listening)
//! ```
//!
//! The decisions live in [`Relay`], a plain state machine tested without a
//! database; [`run`] drives it from the listener and the feed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use request_desk_domain::error::chain;
use request_desk_domain::live::{LiveEvent, LiveEvents};
use request_desk_domain::ports::Clock;
use request_desk_domain::services::availability::Changes;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::listener::StreamEvent;
use crate::change_payload::Unreadable;

/// Where a catch-up reads what committed after a version (one snapshot).
pub trait Feed: Send + Sync + 'static {
    /// `GET /api/availability/changes?since=version`.
    ///
    /// # Errors
    /// Any failure to read; the relay retries.
    fn changes_since(&self, version: i64) -> Result<Changes, Box<dyn std::error::Error + Send>>;
}

impl Feed for request_desk_domain::RequestDesk {
    fn changes_since(&self, version: i64) -> Result<Changes, Box<dyn std::error::Error + Send>> {
        request_desk_domain::RequestDesk::changes_since(self, version)
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send>)
    }
}

/// The relay's state: what has been delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    /// Every versioned change up to this one has been delivered.
    watermark: i64,
    /// False from a (re)connect until a catch-up succeeded: the watermark
    /// must not move past changes nobody heard.
    caught_up: bool,
}

impl Relay {
    /// A relay that has delivered everything up to `watermark`.
    pub fn new(watermark: i64) -> Relay {
        Relay {
            watermark,
            caught_up: false,
        }
    }

    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Whether a catch-up is owed.
    pub fn needs_catch_up(&self) -> bool {
        !self.caught_up
    }

    /// The stream (re)connected: what committed meanwhile must come from the feed.
    pub fn on_listening(&mut self) {
        self.caught_up = false;
    }

    /// A committed change could not be read: it must come from the feed,
    /// and until then no later change may move the watermark past it.
    pub fn on_unreadable(&mut self) {
        self.caught_up = false;
    }

    /// A committed change arrived: the events to deliver.
    pub fn on_change(&mut self, events: Vec<LiveEvent>) -> Vec<LiveEvent> {
        let fresh: Vec<LiveEvent> = events
            .into_iter()
            .filter(|e| e.version().is_none_or(|v| v > self.watermark))
            .collect();
        if self.caught_up {
            if let Some(newest) = fresh.iter().filter_map(LiveEvent::version).max() {
                self.watermark = self.watermark.max(newest);
            }
        }
        fresh
    }

    /// A catch-up read `changes` (everything after the watermark, from one
    /// snapshot) at `at`: the events to deliver.
    pub fn on_caught_up(&mut self, changes: Changes, at: OffsetDateTime) -> Vec<LiveEvent> {
        let mut events: Vec<LiveEvent> = changes
            .days
            .into_iter()
            .filter(|day| day.version > self.watermark)
            .map(|day| LiveEvent::DayChanged { day, at })
            .collect();
        events.sort_by_key(|e| e.version());
        if changes.resync {
            // The settings changed while nobody listened: every viewer refetches.
            events.push(LiveEvent::SettingsChanged {
                version: changes.version,
                at,
            });
        }
        self.watermark = self.watermark.max(changes.version);
        self.caught_up = true;
        events
    }
}

/// How long to wait before retrying a catch-up that failed.
const CATCH_UP_RETRY: Duration = Duration::from_millis(200);

/// Why the relay read the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUpReason {
    /// The stream (re)connected.
    Connected,
    /// A payload could not be read.
    Unreadable,
    /// An earlier catch-up failed.
    Retry,
}

impl CatchUpReason {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUpReason::Connected => "connected",
            CatchUpReason::Unreadable => "unreadable",
            CatchUpReason::Retry => "retry",
        }
    }
}

/// What the delivery path reports as it goes, for metrics. The server
/// implements it over its Prometheus registry; [`NoObserver`] ignores it.
pub trait StreamObserver: Send + Sync + 'static {
    /// The stream is listening (`true`) or lost (`false`).
    fn connected(&self, connected: bool);
    /// A catch-up from the feed succeeded.
    fn caught_up(&self, reason: CatchUpReason);
    /// A payload could not be read.
    fn unreadable(&self, why: Unreadable);
    /// `events` were handed to the viewers at `now`.
    fn delivered(&self, events: &[LiveEvent], now: OffsetDateTime);
    /// How long changes may have gone undelivered: seconds since a catch-up
    /// became owed, 0 when none is.
    fn behind(&self, seconds: f64);
}

/// A [`StreamObserver`] that records nothing.
#[derive(Debug)]
pub struct NoObserver;

impl StreamObserver for NoObserver {
    fn connected(&self, _: bool) {}
    fn caught_up(&self, _: CatchUpReason) {}
    fn unreadable(&self, _: Unreadable) {}
    fn delivered(&self, _: &[LiveEvent], _: OffsetDateTime) {}
    fn behind(&self, _: f64) {}
}

/// Where [`run`] reads, delivers and reports.
#[allow(missing_debug_implementations)] // trait objects
pub struct Outlets {
    pub feed: Arc<dyn Feed>,
    pub sink: Arc<dyn LiveEvents>,
    pub clock: Arc<dyn Clock>,
    pub observer: Arc<dyn StreamObserver>,
}

/// Drives a [`Relay`] from `stream` until it ends: delivers every change to
/// the sink, catching up from the feed after every (re)connect and every
/// payload it cannot read.
pub async fn run(mut stream: mpsc::Receiver<StreamEvent>, outlets: Outlets, mut relay: Relay) {
    // Each kind of unreadable payload is logged once; the metric counts them all.
    let mut logged: HashSet<&'static str> = HashSet::new();
    let mut owed_since = Some(Instant::now());
    loop {
        let retry = tokio::time::sleep(CATCH_UP_RETRY);
        let reason = tokio::select! {
            event = stream.recv() => match event {
                None => return,
                Some(StreamEvent::Listening) => {
                    outlets.observer.connected(true);
                    relay.on_listening();
                    Some(CatchUpReason::Connected)
                }
                Some(StreamEvent::Change(events)) => {
                    publish(&outlets, relay.on_change(events));
                    None
                }
                Some(StreamEvent::Unreadable { why, excerpt }) => {
                    outlets.observer.unreadable(why);
                    if logged.insert(why.reason()) {
                        tracing::warn!(
                            reason = why.reason(), ?why, payload = %excerpt,
                            "a change-stream payload this build cannot read; catching up from the feed \
                             (logged once per reason; counted in change_stream_undecodable_total)"
                        );
                    }
                    relay.on_unreadable();
                    Some(CatchUpReason::Unreadable)
                }
                Some(StreamEvent::Lost) => {
                    outlets.observer.connected(false);
                    None
                }
            },
            _ = retry, if relay.needs_catch_up() => Some(CatchUpReason::Retry),
        };
        if relay.needs_catch_up() {
            let since = *owed_since.get_or_insert_with(Instant::now);
            outlets.observer.behind(since.elapsed().as_secs_f64());
        }
        if let Some(reason) = reason {
            if catch_up(&mut relay, &outlets).await {
                outlets.observer.caught_up(reason);
            }
        }
        if !relay.needs_catch_up() && owed_since.take().is_some() {
            outlets.observer.behind(0.0);
        }
    }
}

/// One catch-up; whether it succeeded.
async fn catch_up(relay: &mut Relay, outlets: &Outlets) -> bool {
    let since = relay.watermark();
    let feed = outlets.feed.clone();
    match tokio::task::spawn_blocking(move || feed.changes_since(since)).await {
        Ok(Ok(changes)) => {
            let events = relay.on_caught_up(changes, outlets.clock.now());
            publish(outlets, events);
            true
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %chain(&*e), since, "catch-up failed; retrying");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, since, "catch-up task failed; retrying");
            false
        }
    }
}

fn publish(outlets: &Outlets, events: Vec<LiveEvent>) {
    if !events.is_empty() {
        outlets.sink.publish(&events);
        outlets.observer.delivered(&events, outlets.clock.now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use request_desk_domain::capacity::{Day, DayRecord};
    use request_desk_domain::settings::{BookingCalendar, CapacitySettings};
    use request_desk_domain::UserId;
    use std::sync::Mutex;
    use time::macros::{date, datetime};
    use time::Date;

    const AT: OffsetDateTime = datetime!(2026-05-11 10:00 UTC);

    fn day(date: Date, used: u32, version: i64) -> Day {
        let record = DayRecord {
            used,
            version,
            ..DayRecord::untouched(date)
        };
        Day::from_record(
            &record,
            &BookingCalendar::at(&CapacitySettings::default(), AT),
        )
    }

    fn changed(date: Date, used: u32, version: i64) -> LiveEvent {
        LiveEvent::DayChanged {
            day: day(date, used, version),
            at: AT,
        }
    }

    fn versions(events: &[LiveEvent]) -> Vec<Option<i64>> {
        events.iter().map(LiveEvent::version).collect()
    }

    fn changes(version: i64, resync: bool, days: Vec<Day>) -> Changes {
        Changes {
            version,
            resync,
            days,
        }
    }

    #[test]
    fn a_catch_up_delivers_what_nobody_heard_and_later_changes_come_from_the_stream() {
        let mut relay = Relay::new(10);
        relay.on_listening();
        assert!(relay.needs_catch_up());
        let out = relay.on_caught_up(
            changes(
                14,
                false,
                vec![
                    day(date!(2026 - 05 - 13), 2, 14),
                    day(date!(2026 - 05 - 12), 1, 12),
                ],
            ),
            AT,
        );
        assert_eq!(versions(&out), vec![Some(12), Some(14)], "in version order");
        assert_eq!(relay.watermark(), 14);
        // Heard on the stream but already in the snapshot: skipped.
        assert!(relay
            .on_change(vec![changed(date!(2026 - 05 - 12), 1, 12)])
            .is_empty());
        // Newer: delivered, and the watermark follows.
        let out = relay.on_change(vec![
            changed(date!(2026 - 05 - 12), 0, 15),
            changed(date!(2026 - 05 - 13), 3, 16),
        ]);
        assert_eq!(versions(&out), vec![Some(15), Some(16)]);
        assert_eq!(relay.watermark(), 16);
    }

    #[test]
    fn unversioned_events_always_go_out() {
        let mut relay = Relay::new(20);
        relay.on_caught_up(changes(20, false, vec![]), AT);
        let inbox = LiveEvent::InboxUpdated {
            user: UserId(3),
            unread_count: 0,
        };
        assert_eq!(relay.on_change(vec![inbox.clone()]), vec![inbox]);
        assert_eq!(relay.watermark(), 20);
    }

    #[test]
    fn a_settings_change_missed_while_away_makes_everyone_refetch() {
        let mut relay = Relay::new(5);
        relay.on_listening();
        let out = relay.on_caught_up(changes(9, true, vec![day(date!(2026 - 05 - 12), 1, 7)]), AT);
        assert_eq!(
            out.last(),
            Some(&LiveEvent::SettingsChanged { version: 9, at: AT })
        );
        // Its NOTIFY, heard after the snapshot, is not sent a second time.
        assert!(relay
            .on_change(vec![LiveEvent::SettingsChanged { version: 9, at: AT }])
            .is_empty());
        // A later settings change is.
        assert_eq!(
            relay
                .on_change(vec![LiveEvent::SettingsChanged {
                    version: 10,
                    at: AT
                }])
                .len(),
            1
        );
    }

    #[test]
    fn before_a_catch_up_succeeds_changes_go_out_but_the_watermark_stays() {
        let mut relay = Relay::new(10);
        relay.on_listening();
        // The catch-up failed (database busy); a change arrives meanwhile.
        let out = relay.on_change(vec![changed(date!(2026 - 05 - 12), 1, 13)]);
        assert_eq!(out.len(), 1);
        assert_eq!(relay.watermark(), 10, "11 and 12 were never heard");
        // The retried catch-up still reads from 10, so 11 and 12 are not lost.
        let out = relay.on_caught_up(
            changes(
                13,
                false,
                vec![
                    day(date!(2026 - 05 - 11), 1, 11),
                    day(date!(2026 - 05 - 12), 1, 13),
                ],
            ),
            AT,
        );
        assert_eq!(versions(&out), vec![Some(11), Some(13)]);
        assert_eq!(relay.watermark(), 13);
    }

    #[test]
    fn a_change_nobody_could_read_comes_from_the_feed_and_later_ones_do_not_skip_it() {
        let mut relay = Relay::new(10);
        relay.on_caught_up(changes(10, false, vec![]), AT);
        // v11 arrived in a format this build cannot read; v12 arrives before the catch-up.
        relay.on_unreadable();
        assert!(relay.needs_catch_up());
        let out = relay.on_change(vec![changed(date!(2026 - 05 - 12), 2, 12)]);
        assert_eq!(versions(&out), vec![Some(12)]);
        assert_eq!(relay.watermark(), 10, "v11 was never delivered");
        let out = relay.on_caught_up(
            changes(
                12,
                false,
                vec![
                    day(date!(2026 - 05 - 11), 1, 11),
                    day(date!(2026 - 05 - 12), 2, 12),
                ],
            ),
            AT,
        );
        assert_eq!(versions(&out), vec![Some(11), Some(12)]);
        assert_eq!(relay.watermark(), 12);
        assert!(!relay.needs_catch_up());
    }

    /// A feed that fails a given number of times, then answers.
    struct FlakyFeed {
        failures: Mutex<u32>,
        answer: Changes,
        asked: Mutex<Vec<i64>>,
    }

    impl Feed for FlakyFeed {
        fn changes_since(
            &self,
            version: i64,
        ) -> Result<Changes, Box<dyn std::error::Error + Send>> {
            self.asked.lock().unwrap().push(version);
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(Box::new(std::io::Error::other("database busy")));
            }
            Ok(self.answer.clone())
        }
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<LiveEvent>>);

    impl LiveEvents for Recorder {
        fn publish(&self, events: &[LiveEvent]) {
            self.0.lock().unwrap().extend_from_slice(events);
        }
    }

    struct FixedClock;

    impl Clock for FixedClock {
        fn now(&self) -> OffsetDateTime {
            AT
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_catch_up_is_retried_until_it_succeeds() {
        let feed = Arc::new(FlakyFeed {
            failures: Mutex::new(2),
            answer: changes(12, false, vec![day(date!(2026 - 05 - 12), 4, 12)]),
            asked: Mutex::new(Vec::new()),
        });
        let sink = Arc::new(Recorder::default());
        let (tx, rx) = mpsc::channel(8);
        let task = tokio::spawn(run(
            rx,
            Outlets {
                feed: feed.clone(),
                sink: sink.clone(),
                clock: Arc::new(FixedClock),
                observer: Arc::new(NoObserver),
            },
            Relay::new(10),
        ));
        tx.send(StreamEvent::Listening).await.unwrap();
        // Two failures, two retries 200 ms apart, then success.
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if !sink.0.lock().unwrap().is_empty() {
                break;
            }
        }
        assert_eq!(*feed.asked.lock().unwrap(), vec![10, 10, 10]);
        assert_eq!(versions(&sink.0.lock().unwrap()), vec![Some(12)]);
        tx.send(StreamEvent::Change(vec![changed(
            date!(2026 - 05 - 12),
            5,
            13,
        )]))
        .await
        .unwrap();
        drop(tx);
        task.await.unwrap();
        assert_eq!(versions(&sink.0.lock().unwrap()), vec![Some(12), Some(13)]);
    }
}
