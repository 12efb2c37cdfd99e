//! `/api/settings*` and `/api/capacity/overrides/{date}`.

use actix_web::{web, HttpResponse};
use request_desk_domain::serde_formats::parse_date;
use request_desk_domain::settings::SettingsInput;
use request_desk_domain::validation::FieldError;
use request_desk_domain::RequestDesk;
use serde::Deserialize;
use time::Date;

use super::{required, run, Endpoint};
use crate::auth::SignedIn;
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    Endpoint::new("/settings/public").get(public).register(cfg);
    Endpoint::new("/settings").put(update).register(cfg);
    Endpoint::new("/capacity/overrides/{date}")
        .put(set_override)
        .delete(clear_override)
        .register(cfg);
}

async fn public(desk: web::Data<RequestDesk>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run(&desk, |d| d.public_settings()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsBody {
    daily_capacity: Option<i64>,
    limited_threshold_percent: Option<i64>,
    booking_window_days: Option<i64>,
    closed_weekdays: Option<Vec<String>>,
    timezone: Option<String>,
    default_designer_id: Option<i64>,
}

impl SettingsBody {
    fn input(self) -> Result<SettingsInput, FieldError> {
        Ok(SettingsInput {
            daily_capacity: required("dailyCapacity", self.daily_capacity)?,
            limited_threshold_percent: required(
                "limitedThresholdPercent",
                self.limited_threshold_percent,
            )?,
            booking_window_days: required("bookingWindowDays", self.booking_window_days)?,
            closed_weekdays: self.closed_weekdays.unwrap_or_default(),
            timezone: self.timezone.unwrap_or_else(|| "UTC".into()),
            default_designer_id: self.default_designer_id,
        })
    }
}

async fn update(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    body: web::Json<SettingsBody>,
) -> Result<HttpResponse, ApiError> {
    if !actor.is_admin() {
        return Err(ApiError::forbidden(
            "only an admin may change capacity settings",
        ));
    }
    let input = body.into_inner().input()?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.update_settings(&actor, &input)).await?))
}

fn path_date(raw: &str) -> Result<Date, ApiError> {
    parse_date(raw)
        .ok_or_else(|| ApiError::bad_request(format!("'{raw}' is not a date as YYYY-MM-DD")))
}

#[derive(Debug, Deserialize)]
struct OverrideBody {
    capacity: Option<i64>,
    note: Option<String>,
}

async fn set_override(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    date: web::Path<String>,
    body: web::Json<OverrideBody>,
) -> Result<HttpResponse, ApiError> {
    if !actor.is_admin() {
        return Err(ApiError::forbidden(
            "only an admin may change capacity settings",
        ));
    }
    let date = path_date(&date)?;
    let OverrideBody { capacity, note } = body.into_inner();
    let capacity = required("capacity", capacity)?;
    Ok(HttpResponse::Ok()
        .json(run(&desk, move |d| d.set_override(&actor, date, capacity, note)).await?))
}

async fn clear_override(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    date: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !actor.is_admin() {
        return Err(ApiError::forbidden(
            "only an admin may change capacity settings",
        ));
    }
    let date = path_date(&date)?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.clear_override(&actor, date)).await?))
}
