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

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/api/settings/public").get(public),
        Endpoint::new("/api/settings").put(update),
        Endpoint::new("/api/capacity/overrides/{date}")
            .put(set_override)
            .delete(clear_override),
    ]
}

/// The capacity settings and today's booking window, for anyone.
#[utoipa::path(get, path = "/api/settings/public", operation_id = "getPublicSettings", tag = "settings",
    responses((status = 200, description = "The settings", body = request_desk_domain::settings::SettingsView)))]
pub async fn public(desk: web::Data<RequestDesk>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run(&desk, |d| d.public_settings()).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsBody {
    #[schema(value_type = i64, required = true)]
    daily_capacity: Option<i64>,
    #[schema(value_type = i64, required = true)]
    limited_threshold_percent: Option<i64>,
    #[schema(value_type = i64, required = true)]
    booking_window_days: Option<i64>,
    #[schema(schema_with = request_desk_domain::settings::weekday_names_schema)]
    closed_weekdays: Option<Vec<String>>,
    #[schema(value_type = Option<String>)]
    timezone: Option<String>,
    #[schema(value_type = Option<i64>)]
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

/// Replace the capacity settings (admin).
#[utoipa::path(put, path = "/api/settings", operation_id = "updateSettings", tag = "settings", security(("bearer" = [])), request_body = SettingsBody,
    responses(
        (status = 200, description = "Saved", body = request_desk_domain::settings::SettingsView),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 422, description = "`validation_failed`", body = crate::error::ErrorBody),
    ))]
pub async fn update(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    body: web::Json<SettingsBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().input()?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.update_settings(&actor, &input)).await?))
}

fn path_date(raw: &str) -> Result<Date, ApiError> {
    parse_date(raw)
        .ok_or_else(|| ApiError::bad_request(format!("'{raw}' is not a date as YYYY-MM-DD")))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OverrideBody {
    #[schema(value_type = i64, required = true)]
    capacity: Option<i64>,
    #[schema(value_type = Option<String>)]
    note: Option<String>,
}

/// Set one day's capacity (0 closes it) and an optional note (admin).
#[utoipa::path(put, path = "/api/capacity/overrides/{date}", operation_id = "setCapacityOverride", tag = "settings", security(("bearer" = [])), request_body = OverrideBody,
    params(("date" = String, Path, format = Date, description = "The day")),
    responses(
        (status = 200, description = "The day now", body = request_desk_domain::capacity::Day),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 409, description = "`conflict`: below what is already booked and held", body = crate::error::ErrorBody),
        (status = 422, description = "`validation_failed`", body = crate::error::ErrorBody),
    ))]
pub async fn set_override(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    date: web::Path<String>,
    body: web::Json<OverrideBody>,
) -> Result<HttpResponse, ApiError> {
    let date = path_date(&date)?;
    let OverrideBody { capacity, note } = body.into_inner();
    let capacity = required("capacity", capacity)?;
    Ok(HttpResponse::Ok()
        .json(run(&desk, move |d| d.set_override(&actor, date, capacity, note)).await?))
}

/// Return a day to the daily capacity (admin).
#[utoipa::path(delete, path = "/api/capacity/overrides/{date}", operation_id = "clearCapacityOverride", tag = "settings", security(("bearer" = [])),
    params(("date" = String, Path, format = Date, description = "The day")),
    responses(
        (status = 200, description = "The day now", body = request_desk_domain::capacity::Day),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 409, description = "`conflict`: the daily capacity is below what is booked and held", body = crate::error::ErrorBody),
    ))]
pub async fn clear_override(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    date: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let date = path_date(&date)?;
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.clear_override(&actor, date)).await?))
}
