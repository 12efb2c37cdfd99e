//! The backplane: one dedicated `LISTEN` connection per instance.
//!
//! Changes are announced by `NOTIFY` inside the transaction that makes them
//! (see [`super::changes`]), so an announcement exists exactly when the change
//! committed. This module keeps a connection outside the r2d2 pool listening
//! on [`CHANNEL`], turns payloads into [`BackplaneEvent`]s, notices a lost
//! connection (socket error, or a liveness query that fails or stalls),
//! reconnects with exponential backoff, and reports each reconnect so the
//! consumer can catch up from the change feed.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use super::changes::{Notice, CHANNEL};

/// What the listener reports to its consumer, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackplaneEvent {
    /// Listening. `reconnected` is false the first time: after a reconnect the
    /// consumer must catch up, since NOTIFYs sent while away are lost.
    Listening { reconnected: bool },
    /// A committed change announced by some instance (this one included).
    Notice(Notice),
    /// The connection was lost; reconnecting.
    Lost,
}

/// Timing of the listener.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// How often the connection is probed; a probe that fails or takes longer than this counts as a loss.
    pub probe_interval: Duration,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            probe_interval: Duration::from_secs(2),
        }
    }
}

/// Starts the listener on the current Tokio runtime. It runs until the receiver is dropped.
pub fn spawn_listener(
    database_url: String,
    config: ListenerConfig,
) -> mpsc::UnboundedReceiver<BackplaneEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(database_url, config, tx));
    rx
}

async fn run(url: String, config: ListenerConfig, tx: mpsc::UnboundedSender<BackplaneEvent>) {
    let mut backoff = config.min_backoff;
    let mut listened_before = false;
    while !tx.is_closed() {
        match listen_once(&url, &config, &tx, listened_before).await {
            Ok(()) => {
                listened_before = true;
                backoff = config.min_backoff;
                let _ = tx.send(BackplaneEvent::Lost);
                tracing::warn!("backplane connection lost; reconnecting");
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "backplane cannot listen yet")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(config.max_backoff);
    }
}

/// Connects, listens and forwards notices until the connection fails.
/// `Err` when it never got to listen; `Ok` when an established listen ended.
async fn listen_once(
    url: &str,
    config: &ListenerConfig,
    tx: &mpsc::UnboundedSender<BackplaneEvent>,
    reconnected: bool,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let (payloads_tx, mut payloads) = mpsc::unbounded_channel::<String>();
    // The connection object does the socket I/O; notifications surface from it.
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if payloads_tx.send(n.payload().to_owned()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "backplane connection error");
                    break;
                }
            }
        }
    });
    if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
        driver.abort();
        return Err(e);
    }
    tracing::info!(reconnected, "backplane listening");
    let _ = tx.send(BackplaneEvent::Listening { reconnected });
    let mut probe = tokio::time::interval(config.probe_interval);
    probe.tick().await;
    loop {
        tokio::select! {
            payload = payloads.recv() => match payload {
                Some(p) => match Notice::decode(&p) {
                    Some(notice) => {
                        if tx.send(BackplaneEvent::Notice(notice)).is_err() {
                            break;
                        }
                    }
                    None => tracing::warn!(payload = %p, "ignoring an unknown backplane payload"),
                },
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
