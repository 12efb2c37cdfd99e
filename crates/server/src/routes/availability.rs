//! `/api/availability` and `/api/availability/changes`.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use request_desk_domain::RequestDesk;

use super::{query_date, query_int, run, Endpoint};
use crate::auth::SignedIn;
use crate::error::ApiError;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/api/availability").get(availability),
        Endpoint::new("/api/availability/changes").get(changes),
    ]
}

type Query = web::Query<HashMap<String, String>>;

/// Each day's capacity from `from` to `to` (default: the booking window; at most 366 days).
#[utoipa::path(get, path = "/api/availability", operation_id = "getAvailability", tag = "availability", security(("bearer" = [])),
    params(
        ("from" = Option<String>, Query, format = Date, description = "First day (default today)"),
        ("to" = Option<String>, Query, format = Date, description = "Last day (default the window's end)"),
    ),
    responses(
        (status = 200, description = "The days and the version they were read at", body = request_desk_domain::services::availability::Availability),
        (status = 422, description = "`validation_failed`: `to` before `from`, or a range over 366 days", body = crate::error::ErrorBody),
    ))]
pub async fn availability(
    desk: web::Data<RequestDesk>,
    _: SignedIn,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let from = query_date("from", q.get("from").map(String::as_str))?;
    let to = query_date("to", q.get("to").map(String::as_str))?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.availability(from, to)).await?))
}

/// The days changed after `since` (`resync` when the settings changed: refetch everything).
#[utoipa::path(get, path = "/api/availability/changes", operation_id = "getAvailabilityChanges", tag = "availability", security(("bearer" = [])),
    params(("since" = i64, Query, minimum = 0, description = "The last version applied (0 for everything)")),
    responses(
        (status = 200, description = "What changed", body = request_desk_domain::services::availability::Changes),
        (status = 422, description = "`validation_failed`: a negative `since`", body = crate::error::ErrorBody),
    ))]
pub async fn changes(
    desk: web::Data<RequestDesk>,
    _: SignedIn,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let since = query_int("since", q.get("since").map(String::as_str))?.ok_or_else(|| {
        ApiError::bad_request(
            "'since' is required: the last version you applied (0 for everything)",
        )
    })?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.changes_since(since)).await?))
}
