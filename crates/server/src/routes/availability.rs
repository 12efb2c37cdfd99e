//! `/api/availability` and `/api/availability/changes`.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use request_desk_domain::RequestDesk;

use super::{query_date, query_int, run, Endpoint};
use crate::auth::SignedIn;
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    Endpoint::new("/availability")
        .get(availability)
        .register(cfg);
    Endpoint::new("/availability/changes")
        .get(changes)
        .register(cfg);
}

type Query = web::Query<HashMap<String, String>>;

async fn availability(
    desk: web::Data<RequestDesk>,
    _: SignedIn,
    q: Query,
) -> Result<HttpResponse, ApiError> {
    let from = query_date("from", q.get("from").map(String::as_str))?;
    let to = query_date("to", q.get("to").map(String::as_str))?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.availability(from, to)).await?))
}

async fn changes(
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
