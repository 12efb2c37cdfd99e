//! `/api/holds*`: a slot kept while its taker fills in the form.

use actix_web::{web, HttpResponse};
use request_desk_domain::{HoldId, RequestDesk};
use serde::Deserialize;

use super::{body_date, run};
use crate::auth::SignedIn;
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/holds", web::post().to(take))
        .route("/holds", web::get().to(list))
        .route("/holds/{id}", web::delete().to(release));
}

#[derive(Debug, Deserialize)]
struct HoldBody {
    date: Option<String>,
}

async fn take(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    body: web::Json<HoldBody>,
) -> Result<HttpResponse, ApiError> {
    let date = body_date("date", body.into_inner().date)?;
    Ok(HttpResponse::Created().json(run(&desk, move |d| d.take_hold(&actor, date)).await?))
}

async fn list(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.holds(&actor)).await?))
}

async fn release(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id
        .parse()
        .map(HoldId)
        .map_err(|_| ApiError::not_found(format!("no hold has the id '{id}'")))?;
    run(&desk, move |d| d.release_hold(&actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
