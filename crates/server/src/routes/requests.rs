//! `/api/requests*`.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use request_desk_domain::request::RequestInput;
use request_desk_domain::services::requests::ListQuery;
use request_desk_domain::validation::FieldError;
use request_desk_domain::{HoldId, RequestDesk, RequestId};
use serde::Deserialize;

use super::{body_date, path_id, query_date, query_int, required, run, Endpoint};
use crate::auth::SignedIn;
use crate::booking_gate::BookingGate;
use crate::error::ApiError;
use crate::metrics::Metrics;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/api/requests").get(list).post(create),
        Endpoint::new("/api/requests/{id}").get(get).put(update),
        Endpoint::new("/api/requests/{id}/cancel").post(cancel),
        Endpoint::new("/api/requests/{id}/status").patch(set_status),
    ]
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestBody {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200)]
    title: Option<String>,
    #[schema(value_type = Option<String>)]
    description: Option<String>,
    #[schema(value_type = Option<request_desk_domain::request::Priority>)]
    priority: Option<String>,
    #[schema(value_type = String, format = Date, required = true)]
    due_date: Option<String>,
    /// A live hold of the caller on `dueDate`, which becomes the booking.
    #[schema(value_type = Option<i64>)]
    hold_id: Option<i64>,
}

impl RequestBody {
    fn input(self) -> Result<RequestInput, FieldError> {
        Ok(RequestInput {
            title: required("title", self.title)?,
            description: self.description,
            priority: self.priority,
            due_date: body_date("dueDate", self.due_date)?,
            hold_id: self.hold_id.map(HoldId),
        })
    }
}

/// Book a request on a day (with `holdId`, the caller's hold on it becomes the booking).
#[utoipa::path(post, path = "/api/requests", operation_id = "createRequest", tag = "requests", security(("bearer" = [])), request_body = RequestBody,
    responses(
        (status = 201, description = "Booked", body = request_desk_domain::request::Request),
        (status = 409, description = "`capacity_full`, `date_closed`, `date_out_of_window` or `hold_expired`", body = crate::error::ErrorBody),
        (status = 422, description = "`validation_failed` (`details.field`)", body = crate::error::ErrorBody),
    ))]
pub async fn create(
    desk: web::Data<RequestDesk>,
    metrics: web::Data<Metrics>,
    gate: web::Data<BookingGate>,
    SignedIn(actor): SignedIn,
    body: web::Json<RequestBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().input()?;
    let started = std::time::Instant::now();
    let result = match gate.enter(input.due_date).await {
        Ok(_admitted) => run(&desk, move |d| d.create_request(&actor, &input)).await,
        Err(e) => Err(e),
    };
    let outcome = match &result {
        Ok(_) => "created",
        Err(e) => e.code,
    };
    metrics
        .booking
        .with_label_values(&[outcome])
        .observe(started.elapsed().as_secs_f64());
    Ok(HttpResponse::Created().json(result?))
}

/// Requests, newest first: requesters see their own, designers and admins all.
#[utoipa::path(get, path = "/api/requests", operation_id = "listRequests", tag = "requests", security(("bearer" = [])),
    params(
        ("status" = Option<request_desk_domain::request::RequestStatus>, Query, description = "Only this status"),
        ("from" = Option<String>, Query, format = Date, description = "Due on or after"),
        ("to" = Option<String>, Query, format = Date, description = "Due on or before"),
        ("page" = Option<i64>, Query, minimum = 1, description = "From 1 (default 1)"),
        ("pageSize" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1 to 100 (default 20)"),
    ),
    responses(
        (status = 200, description = "One page", body = request_desk_domain::request::RequestPage),
        (status = 422, description = "`validation_failed`: a page or status out of range", body = crate::error::ErrorBody),
    ))]
pub async fn list(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    q: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let get = |k: &str| q.get(k).map(String::as_str);
    let query = ListQuery {
        status: get("status").map(str::to_owned),
        from: query_date("from", get("from"))?,
        to: query_date("to", get("to"))?,
        page: query_int("page", get("page"))?,
        page_size: query_int("pageSize", get("pageSize"))?,
    };
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.list_requests(&actor, &query)).await?))
}

/// One request (another requester's is not found).
#[utoipa::path(get, path = "/api/requests/{id}", operation_id = "getRequest", tag = "requests", security(("bearer" = [])),
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = request_desk_domain::request::Request),
        (status = 404, description = "`not_found`", body = crate::error::ErrorBody),
    ))]
pub async fn get(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "request", RequestId)?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.get_request(&actor, id)).await?))
}

/// Edit or move a request (its owner while pending, or an admin).
#[utoipa::path(put, path = "/api/requests/{id}", operation_id = "updateRequest", tag = "requests", security(("bearer" = [])), request_body = RequestBody,
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "Saved", body = request_desk_domain::request::Request),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::error::ErrorBody),
        (status = 409, description = "`capacity_full`, `date_closed`, `date_out_of_window`, `hold_expired` or `invalid_transition`", body = crate::error::ErrorBody),
        (status = 422, description = "`validation_failed`", body = crate::error::ErrorBody),
    ))]
pub async fn update(
    desk: web::Data<RequestDesk>,
    gate: web::Data<BookingGate>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
    body: web::Json<RequestBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "request", RequestId)?;
    let input = body.into_inner().input()?;
    // The new date is the one a move may wait on (the old one is only released).
    let _admitted = gate.enter(input.due_date).await?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.update_request(&actor, id, &input)).await?))
}

/// Cancel a request (its owner or an admin).
#[utoipa::path(post, path = "/api/requests/{id}/cancel", operation_id = "cancelRequest", tag = "requests", security(("bearer" = [])),
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "Cancelled", body = request_desk_domain::request::Request),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::error::ErrorBody),
        (status = 409, description = "`invalid_transition`", body = crate::error::ErrorBody),
    ))]
pub async fn cancel(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "request", RequestId)?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.cancel_request(&actor, id)).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StatusBody {
    #[schema(value_type = request_desk_domain::request::RequestStatus, required = true)]
    status: Option<String>,
    /// Optional, shown to the requester in the notification (e.g. why it was rejected).
    #[schema(value_type = Option<String>)]
    reason: Option<String>,
}

/// Move a request along its workflow (designers and admins).
#[utoipa::path(patch, path = "/api/requests/{id}/status", operation_id = "setRequestStatus", tag = "requests", security(("bearer" = [])), request_body = StatusBody,
    params(("id" = String, Path, description = "The request's id")),
    responses(
        (status = 200, description = "Changed", body = request_desk_domain::request::Request),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::error::ErrorBody),
        (status = 409, description = "`invalid_transition` (or `capacity_full` when reopening onto a full day)", body = crate::error::ErrorBody),
        (status = 422, description = "`validation_failed`", body = crate::error::ErrorBody),
    ))]
pub async fn set_status(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
    body: web::Json<StatusBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "request", RequestId)?;
    let body = body.into_inner();
    let status = required("status", body.status)?;
    let reason = body.reason;
    Ok(HttpResponse::Ok().json(
        run(&desk, move |d| {
            d.set_request_status(&actor, id, &status, reason.as_deref())
        })
        .await?,
    ))
}
