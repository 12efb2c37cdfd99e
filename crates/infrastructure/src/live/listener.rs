//! The change stream's read half: one dedicated `LISTEN` connection per instance.
//!
//! Changes are announced by `NOTIFY` inside the transaction that makes them
//! (see [`crate::postgres::changes`]), so an announcement exists exactly
//! when the change committed, and PostgreSQL delivers announcements in
//! commit order. This module keeps a connection outside the r2d2 pool
//! listening on [`CHANNEL`], decodes payloads into [`StreamEvent::Change`]
//! (or reports one it cannot read as [`StreamEvent::Unreadable`], never dropping it),
//! notices a lost connection (socket error, or a liveness probe that fails
//! or stalls), and reconnects quickly: PostgreSQL coming back should reach
//! viewers within a second, so the backoff is capped well below that.
//! Every (re)connect is reported as [`StreamEvent::Listening`], so the
//! consumer can catch up on what committed while nobody listened.

use std::time::Duration;

use futures_util::StreamExt;
use request_desk_domain::live::LiveEvent;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use request_desk_domain::error::chain;

use crate::change_payload::{decode, Unreadable};
use crate::postgres::changes::CHANNEL;

/// What the listener reports to its consumer, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// Listening (again): changes that committed before this were not
    /// heard and must be read from the change feed.
    Listening,
    /// One committed change's events, in commit order.
    Change(Vec<LiveEvent>),
    /// A committed change this build cannot read (a newer format, or
    /// corrupt): its events must come from the change feed.
    Unreadable {
        why: Unreadable,
        /// The payload's first characters, for the log.
        excerpt: String,
    },
    /// The connection was lost; reconnecting.
    Lost,
}

/// Timing of the listener.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// First retry delay after a failed connect; doubles per failure up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest wait between connection attempts. Keep it well under a
    /// second: it bounds how late viewers hear of changes after PostgreSQL
    /// returns.
    pub max_backoff: Duration,
    /// How often the connection is probed; a probe that fails or takes
    /// longer than this counts as a loss.
    pub probe_interval: Duration,
    /// Events queued for a slow consumer before the listener waits for it
    /// (PostgreSQL keeps queueing notifications meanwhile; a wait longer
    /// than `probe_interval` reconnects, and the consumer catches up from
    /// the change feed).
    pub queue: usize,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(250),
            probe_interval: Duration::from_secs(2),
            queue: 1024,
        }
    }
}

/// Starts the listener on the current Tokio runtime. It runs until the receiver is dropped.
pub fn spawn_listener(database_url: String, config: ListenerConfig) -> mpsc::Receiver<StreamEvent> {
    let (tx, rx) = mpsc::channel(config.queue.max(1));
    tokio::spawn(run(database_url, config, tx));
    rx
}

async fn run(url: String, config: ListenerConfig, tx: mpsc::Sender<StreamEvent>) {
    let mut backoff = config.min_backoff;
    let mut failures = 0u32;
    while !tx.is_closed() {
        match listen_once(&url, &config, &tx).await {
            Ok(()) => {
                backoff = config.min_backoff;
                failures = 0;
                if tx.send(StreamEvent::Lost).await.is_err() {
                    return;
                }
                tracing::warn!("change stream lost; reconnecting");
            }
            Err(e) => {
                failures += 1;
                // Once per outage, then every ~10 s, rather than four times a second.
                if failures == 1 || failures.is_multiple_of(40) {
                    tracing::warn!(error = %chain(&e), failures, "change stream cannot listen yet; retrying");
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(config.max_backoff);
    }
}

/// Connects, listens and forwards changes until the connection fails.
/// `Err` when it never got to listen; `Ok` when an established listen ended.
async fn listen_once(
    url: &str,
    config: &ListenerConfig,
    tx: &mpsc::Sender<StreamEvent>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let (payloads_tx, mut payloads) = mpsc::channel::<String>(config.queue.max(1));
    // The connection object does the socket I/O; notifications surface from
    // it. Bounded like the consumer's queue: when both are full the driver
    // stops reading the socket, PostgreSQL queues the notifications, and if
    // that lasts past a probe interval the probe fails and the listener
    // reconnects — the consumer then catches up from the change feed. Memory
    // never grows with a slow consumer.
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if payloads_tx.send(n.payload().to_owned()).await.is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %chain(&e), "change stream connection error");
                    break;
                }
            }
        }
    });
    if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
        driver.abort();
        return Err(e);
    }
    tracing::info!("change stream listening");
    if tx.send(StreamEvent::Listening).await.is_err() {
        driver.abort();
        return Ok(());
    }
    let mut probe = tokio::time::interval(config.probe_interval);
    probe.tick().await;
    loop {
        tokio::select! {
            payload = payloads.recv() => match payload {
                Some(p) => {
                    let event = match decode(&p) {
                        Ok(events) => StreamEvent::Change(events),
                        Err(why) => StreamEvent::Unreadable {
                            why,
                            excerpt: p.chars().take(120).collect(),
                        },
                    };
                    if tx.send(event).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            _ = probe.tick() => {
                let alive = tokio::time::timeout(config.probe_interval, client.simple_query("SELECT 1")).await;
                if !matches!(alive, Ok(Ok(_))) {
                    break;
                }
            }
        }
    }
    driver.abort();
    Ok(())
}
