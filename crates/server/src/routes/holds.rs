//! `/api/holds*`: a slot kept while its taker fills in the form.

use actix_web::{web, HttpResponse};
use request_desk_domain::{HoldId, RequestDesk};
use serde::Deserialize;

use super::{body_date, path_id, run, Endpoint};
use crate::auth::SignedIn;
use crate::booking_gate::BookingGate;
use crate::error::ApiError;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/api/holds").get(list).post(take),
        Endpoint::new("/api/holds/{id}").delete(release),
    ]
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct HoldBody {
    #[schema(value_type = String, format = Date, required = true)]
    date: Option<String>,
}

/// Keep a slot of a day while the caller fills in the form (one live hold per person).
#[utoipa::path(post, path = "/api/holds", operation_id = "takeHold", tag = "holds", security(("bearer" = [])), request_body = HoldBody,
    responses(
        (status = 201, description = "Held", body = request_desk_domain::hold::Hold),
        (status = 409, description = "`capacity_full`, `date_closed` or `date_out_of_window`", body = crate::error::ErrorBody),
        (status = 422, description = "`validation_failed`", body = crate::error::ErrorBody),
    ))]
pub async fn take(
    desk: web::Data<RequestDesk>,
    gate: web::Data<BookingGate>,
    metrics: web::Data<crate::metrics::Metrics>,
    SignedIn(actor): SignedIn,
    body: web::Json<HoldBody>,
) -> Result<HttpResponse, ApiError> {
    let date = body_date("date", body.into_inner().date)?;
    // A hold waits on its day's row like a booking, so it queues at the same gate.
    let _admitted = gate.enter(date).await?;
    let hold = run(&desk, move |d| d.take_hold(&actor, date)).await?;
    metrics.holds_taken.inc();
    Ok(HttpResponse::Created().json(hold))
}

/// The caller's live holds.
#[utoipa::path(get, path = "/api/holds", operation_id = "listHolds", tag = "holds", security(("bearer" = [])),
    responses((status = 200, description = "Live holds", body = Vec<request_desk_domain::hold::Hold>)))]
pub async fn list(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.holds(&actor)).await?))
}

/// Give a hold back.
#[utoipa::path(delete, path = "/api/holds/{id}", operation_id = "releaseHold", tag = "holds", security(("bearer" = [])),
    params(("id" = String, Path, description = "The hold's id")),
    responses(
        (status = 204, description = "Released"),
        (status = 404, description = "`not_found`: no live hold of the caller has this id", body = crate::error::ErrorBody),
    ))]
pub async fn release(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "hold", HoldId)?;
    run(&desk, move |d| d.release_hold(&actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
