//! The Long Polling transport: each `GET ?id=…` borrows the connection's
//! queue, waits for the first record (up to `long_poll_timeout`), then
//! answers with everything queued by then, in order, in the connection's
//! protocol (MessagePack bodies are binary).
//!
//! Rules from the ASP.NET Core server that the official client relies on:
//!
//! * the first poll completes at once, empty (it confirms the connection);
//! * a poll with nothing to say answers 200 with an empty body after
//!   `long_poll_timeout`, and the client polls again;
//! * a newer poll ends a waiting one with 204;
//! * `DELETE` ends the connection, and a waiting poll answers 204;
//! * a poll to a connection that has ended answers 204 (the client then stops).
//!
//! Only one poll holds the queue at a time (an async mutex), so records
//! still leave in order. A poll in flight counts as the client being present.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use bytes::{Bytes, BytesMut};
use tokio_util::sync::CancellationToken;

use crate::app::HubApp;
use crate::connection::{BindError, Connection, Outbound, Transport};
use crate::http::error_response;
use crate::protocol::Protocol;
use crate::Hub;

/// Counts a poll as in flight for its lifetime, even when the client
/// aborts it (the handler future is then dropped).
struct InFlight<'a, S>(&'a Connection<S>);

impl<'a, S> InFlight<'a, S> {
    fn enter(conn: &'a Connection<S>) -> InFlight<'a, S> {
        conn.polls.active.fetch_add(1, Ordering::AcqRel);
        InFlight(conn)
    }
}

impl<S> Drop for InFlight<'_, S> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.polls.active.fetch_sub(1, Ordering::AcqRel);
    }
}

fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

fn data(body: Bytes, protocol: Option<Protocol>) -> HttpResponse {
    let content_type = match protocol {
        Some(Protocol::MessagePack) => "application/octet-stream",
        _ => "text/plain; charset=utf-8",
    };
    HttpResponse::Ok().content_type(content_type).body(body)
}

/// Handles one poll.
pub(crate) async fn poll<A: HubApp>(hub: &Hub<A>, conn: Arc<Connection<A::State>>) -> HttpResponse {
    conn.touch();
    match conn.bind(Transport::LongPolling) {
        Ok(()) => {
            tracing::debug!(connection_id = %conn.id(), user = %conn.user(), transport = "long_polling", "hub connection opened");
            return data(Bytes::new(), None);
        }
        Err(BindError::AlreadyBound) => {}
        Err(BindError::OtherTransport(_)) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Cannot change transports mid-connection.",
            )
        }
    }
    if conn.is_ended() {
        return no_content();
    }
    let _in_flight = InFlight::enter(&conn);
    let mine = CancellationToken::new();
    if let Some(older) = conn
        .polls
        .current
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .replace(mine.clone())
    {
        older.cancel();
    }
    let Some(queue) = conn.queue() else {
        return no_content();
    };
    let mut rx = tokio::select! {
        biased;
        () = mine.cancelled() => return no_content(),
        queue = queue.rx.lock() => queue,
    };
    let protocol = conn.protocol();
    let first = tokio::select! {
        biased;
        () = mine.cancelled() => return no_content(),
        () = conn.ended.cancelled() => {
            return match conn.take_urgent_farewell() {
                Some(farewell) => data(farewell.encoded(conn.protocol().unwrap_or(Protocol::Json)), conn.protocol()),
                None => no_content(),
            };
        }
        next = rx.recv() => next,
        () = tokio::time::sleep(hub.config().long_poll_timeout) => return data(Bytes::new(), protocol),
    };

    // Everything queued by now goes into this response. The handshake reply
    // (JSON for every protocol) is what sets the protocol, so it is read per
    // message.
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut finished = false;
    let mut next = first;
    loop {
        match next {
            Some(Outbound::Record(frame)) => {
                chunks.push(frame.encoded(conn.protocol().unwrap_or(Protocol::Json)));
            }
            Some(Outbound::Close(farewell)) => {
                chunks
                    .extend(farewell.map(|f| f.encoded(conn.protocol().unwrap_or(Protocol::Json))));
                finished = true;
                break;
            }
            None => {
                finished = true;
                break;
            }
        }
        match rx.try_recv() {
            Ok(more) => next = Some(more),
            Err(_) => break,
        }
    }
    drop(rx);
    if finished {
        // The entry lingers (ended) so a late poll gets 204; the sweeper or
        // the client's DELETE removes it.
        conn.abort();
        tracing::debug!(connection_id = %conn.id(), user = %conn.user(), transport = "long_polling", "hub connection closed");
    }
    let body = match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => {
            let mut body = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
            for chunk in &chunks {
                body.extend_from_slice(chunk);
            }
            body.freeze()
        }
    };
    data(body, conn.protocol())
}
