//! The REST endpoints of the contract, one module per area.
//!
//! Handlers are thin: parse the body or query, run the use case on the
//! blocking pool (`web::block`, Diesel is synchronous), map the result.

use actix_web::web;
use request_desk_domain::serde_formats::parse_date;
use request_desk_domain::validation::FieldError;
use request_desk_domain::RequestDesk;
use time::Date;

use crate::error::ApiError;

pub mod auth;
pub mod availability;
pub mod health;
pub mod holds;
pub mod notifications;
pub mod requests;
pub mod settings;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .configure(auth::configure)
            .configure(settings::configure)
            .configure(availability::configure)
            .configure(requests::configure)
            .configure(holds::configure)
            .configure(notifications::configure),
    )
    .configure(health::configure);
}

/// Runs a use case off the async workers and flattens both error layers.
pub async fn run<T, E>(
    desk: &web::Data<RequestDesk>,
    f: impl FnOnce(&RequestDesk) -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    let desk = desk.clone();
    web::block(move || f(&desk)).await?.map_err(Into::into)
}

/// A body field the contract requires.
pub fn required<T>(field: &'static str, value: Option<T>) -> Result<T, FieldError> {
    value.ok_or_else(|| FieldError::new(field, "is required"))
}

/// A date in a body: missing or malformed is a validation error on that field.
pub fn body_date(field: &'static str, value: Option<String>) -> Result<Date, FieldError> {
    let raw = required(field, value)?;
    parse_date(&raw).ok_or_else(|| FieldError::new(field, "must be a date as YYYY-MM-DD"))
}

/// A date in a query string or path: malformed is a bad request.
pub fn query_date(name: &str, value: Option<&str>) -> Result<Option<Date>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(raw) => parse_date(raw).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "'{name}' must be a date as YYYY-MM-DD, got '{raw}'"
            ))
        }),
    }
}

/// An integer in a query string: malformed is a bad request.
pub fn query_int(name: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!("'{name}' must be an integer, got '{raw}'"))
        }),
    }
}
