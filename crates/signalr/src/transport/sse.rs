//! The Server-Sent Events transport: a streaming `text/event-stream`
//! response whose body is the connection's queue, one record per event
//! (`data: <record>\r\n\r\n`). Client → server messages arrive by HTTP POST
//! (see `http.rs`). Text only: a MessagePack handshake is refused.
//!
//! The response body stream is the connection's single writer. When the
//! client goes away actix drops the stream; a guard inside it then ends the
//! connection and removes it from the registry, so no task is left behind.

use std::convert::Infallible;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::sync::{mpsc, OwnedMutexGuard};

use crate::app::HubApp;
use crate::connection::{BindError, Connection, Outbound, Transport};
use crate::http::error_response;
use crate::Hub;

/// Sent first so the client's `onopen` fires at once (some EventSource
/// implementations wait for the first bytes); a comment line, ignored.
const PREAMBLE: &[u8] = b":\r\n";

/// Ends the connection when the response stream is dropped, whatever the
/// reason (finished, client gone, server stopping).
struct Attached<A: HubApp> {
    hub: Hub<A>,
    conn: Arc<Connection<A::State>>,
}

impl<A: HubApp> Drop for Attached<A> {
    fn drop(&mut self) {
        self.conn.abort();
        self.hub.inner.registry.remove(&self.conn);
        tracing::debug!(connection_id = %self.conn.id(), user = %self.conn.user(), transport = "server_sent_events", "hub connection closed");
    }
}

/// State of the event stream between two events.
struct EventStream<A: HubApp> {
    attached: Attached<A>,
    /// The queue, held for the stream's life (the stream is its one reader).
    rx: OwnedMutexGuard<mpsc::Receiver<Outbound>>,
    /// The farewell has been emitted; the next poll ends the stream.
    done: bool,
}

/// Attaches the SSE transport and returns the streaming response.
pub(crate) fn start<A: HubApp>(hub: &Hub<A>, conn: Arc<Connection<A::State>>) -> HttpResponse {
    if conn.is_ended() {
        return error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "The connection has ended.",
        );
    }
    match conn.bind(Transport::ServerSentEvents) {
        Ok(()) => {}
        Err(BindError::AlreadyBound) => {
            return error_response(
                StatusCode::CONFLICT,
                "conflict",
                "An event stream is already attached to this connection.",
            )
        }
        Err(BindError::OtherTransport(_)) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Cannot change transports mid-connection.",
            )
        }
    }
    let Some(Ok(rx)) = conn.queue().map(|q| Arc::clone(&q.rx).try_lock_owned()) else {
        conn.abort();
        hub.inner.registry.remove(&conn);
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The connection could not be started.",
        );
    };
    tracing::debug!(connection_id = %conn.id(), user = %conn.user(), transport = "server_sent_events", "hub connection opened");
    let state = EventStream {
        attached: Attached {
            hub: hub.clone(),
            conn,
        },
        rx,
        done: false,
    };
    let body =
        futures_util::stream::once(async { Ok::<_, Infallible>(Bytes::from_static(PREAMBLE)) })
            .chain(futures_util::stream::unfold(state, next_event));
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Keeps a compression middleware from buffering the stream.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        // Tells nginx-style proxies not to buffer either.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}

/// The next event: a queued record, or the farewell, or the end.
async fn next_event<A: HubApp>(
    mut state: EventStream<A>,
) -> Option<(Result<Bytes, Infallible>, EventStream<A>)> {
    if state.done {
        return None;
    }
    let conn = Arc::clone(&state.attached.conn);
    let next = tokio::select! {
        biased;
        () = conn.ended.cancelled() => {
            state.done = true;
            let farewell = conn.take_urgent_farewell()?;
            return Some((Ok(farewell.sse_event()), state));
        }
        next = state.rx.recv() => next,
    };
    match next {
        Some(Outbound::Record(frame)) => Some((Ok(frame.sse_event()), state)),
        Some(Outbound::Close(Some(frame))) => {
            state.done = true;
            Some((Ok(frame.sse_event()), state))
        }
        Some(Outbound::Close(None)) | None => None,
    }
}
