//! `/api/requests*`.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use request_desk_domain::request::RequestInput;
use request_desk_domain::services::requests::ListQuery;
use request_desk_domain::validation::FieldError;
use request_desk_domain::{HoldId, RequestDesk, RequestId};
use serde::Deserialize;

use super::{body_date, query_date, query_int, required, run};
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::metrics::Metrics;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/requests", web::post().to(create))
        .route("/requests", web::get().to(list))
        .route("/requests/{id}", web::get().to(get))
        .route("/requests/{id}", web::put().to(update))
        .route("/requests/{id}/cancel", web::post().to(cancel))
        .route("/requests/{id}/status", web::patch().to(set_status));
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestBody {
    title: Option<String>,
    description: Option<String>,
    priority: Option<String>,
    due_date: Option<String>,
    /// A live hold of the caller on `dueDate`, which becomes the booking.
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

fn request_id(raw: &str) -> Result<RequestId, ApiError> {
    raw.parse()
        .map(RequestId)
        .map_err(|_| ApiError::not_found(format!("no request has the id '{raw}'")))
}

async fn create(
    desk: web::Data<RequestDesk>,
    metrics: web::Data<Metrics>,
    SignedIn(actor): SignedIn,
    body: web::Json<RequestBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().input()?;
    let started = std::time::Instant::now();
    let result = run(&desk, move |d| d.create_request(&actor, &input)).await;
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

async fn list(
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

async fn get(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = request_id(&id)?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.get_request(&actor, id)).await?))
}

async fn update(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
    body: web::Json<RequestBody>,
) -> Result<HttpResponse, ApiError> {
    let id = request_id(&id)?;
    let input = body.into_inner().input()?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.update_request(&actor, id, &input)).await?))
}

async fn cancel(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = request_id(&id)?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.cancel_request(&actor, id)).await?))
}

#[derive(Debug, Deserialize)]
struct StatusBody {
    status: Option<String>,
    /// Optional, shown to the requester in the notification (e.g. why it was rejected).
    reason: Option<String>,
}

async fn set_status(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
    body: web::Json<StatusBody>,
) -> Result<HttpResponse, ApiError> {
    let id = request_id(&id)?;
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
