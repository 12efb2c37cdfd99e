//! The contract's error body, and the one place domain errors become HTTP.
//!
//! Every 4xx/5xx leaves the server as
//! `{"error": "<code>", "message": "...", "details": {...}?}`: handler errors
//! through [`ApiError`], actix's own extractor errors through the handlers in
//! [`extractor_errors`], and anything else (unknown route, wrong method) by
//! [`contract_body_for_bare_errors`]. A 5xx logs its cause and returns an opaque body.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use request_desk_domain::serde_formats::{format_date, format_timestamp};
use request_desk_domain::services::{
    AuthError, AvailabilityError, NotificationError, RequestError, SettingsError,
};
use request_desk_domain::validation::FieldError;
use request_desk_domain::RepositoryError;
use serde_json::{json, Value};

use crate::metrics::DbErrorKind;

/// The contract's error body, as it is written (and documented in OpenAPI).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `validation_failed`, `unauthorized`,
    /// `forbidden`, `not_found`, `method_not_allowed`, `conflict`,
    /// `capacity_full`, `date_closed`, `date_out_of_window`,
    /// `invalid_transition`, `hold_expired`, `payload_too_large`,
    /// `rate_limited`, `service_unavailable`, `internal`.
    pub error: String,
    /// For people; never internals.
    pub message: String,
    /// Machine-readable context, e.g. `{"field": "dueDate"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub details: Option<Value>,
}

/// An error response in the contract's shape.
#[derive(Debug, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Seconds for `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
    /// Methods for `Allow` (405).
    pub allow: Option<String>,
    /// Set when the database failed (`db_errors_total{kind}`).
    pub db_error: Option<DbErrorKind>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            allow: None,
            db_error: None,
        }
    }

    /// Marks the error as the database's, of `kind`, for the metrics.
    pub fn from_database(mut self, kind: DbErrorKind) -> Self {
        self.db_error = Some(kind);
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// 429 `rate_limited`, to try again after `seconds`.
    pub fn rate_limited(message: impl Into<String>, seconds: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).with_retry_after(seconds)
    }

    /// 405 `method_not_allowed` with `Allow: allow`.
    pub fn method_not_allowed(method: &str, path: &str, allow: &str) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed on {path}; allowed: {allow}"),
        );
        e.allow = Some(allow.to_owned());
        e
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than 64 KiB",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "the database is unavailable; try again shortly",
        )
        .with_retry_after(1)
    }

    /// An opaque 500; the cause goes to the log, never to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred",
        )
    }

    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code.to_owned(),
            message: self.message.clone(),
            details: self.details.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut response = HttpResponse::build(self.status).json(self.body());
        if let Some(kind) = self.db_error {
            response.extensions_mut().insert(kind);
        }
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(value) = self
            .allow
            .as_deref()
            .and_then(|a| HeaderValue::from_str(a).ok())
        {
            headers.insert(header::ALLOW, value);
        }
        response
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            e.to_string(),
        )
        .with_details(json!({ "field": e.field }))
    }
}

impl From<RepositoryError> for ApiError {
    fn from(e: RepositoryError) -> Self {
        // Logged once, here, with the whole chain of causes.
        let cause = e.chain();
        match e {
            RepositoryError::Unavailable(_) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::unavailable().from_database(DbErrorKind::Unavailable)
            }
            RepositoryError::InvalidInput(_) => {
                tracing::warn!(%cause, "the database refused a value");
                ApiError::bad_request("the input contains characters that cannot be stored")
                    .from_database(DbErrorKind::InvalidInput)
            }
            RepositoryError::Unexpected(_) => {
                ApiError::internal(&cause).from_database(DbErrorKind::Unexpected)
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Validation(f) => f.into(),
            AuthError::EmailTaken => ApiError::conflict(e.to_string()),
            AuthError::InvalidCredentials => ApiError::unauthorized(e.to_string()),
            AuthError::Forbidden => ApiError::forbidden(e.to_string()),
            AuthError::UnknownUser => ApiError::unauthorized("the signed-in user no longer exists"),
            AuthError::Disabled => ApiError::unauthorized(e.to_string()),
            AuthError::NotFound => ApiError::not_found(e.to_string()),
            AuthError::SelfChange => ApiError::conflict(e.to_string()),
            AuthError::Repository(e) => e.into(),
        }
    }
}

impl From<SettingsError> for ApiError {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::Validation(f) => f.into(),
            SettingsError::Forbidden => ApiError::forbidden(e.to_string()),
            SettingsError::Repository(e) => e.into(),
        }
    }
}

impl From<AvailabilityError> for ApiError {
    fn from(e: AvailabilityError) -> Self {
        match e {
            AvailabilityError::Validation(f) => f.into(),
            AvailabilityError::Repository(e) => e.into(),
        }
    }
}

impl From<NotificationError> for ApiError {
    fn from(e: NotificationError) -> Self {
        match e {
            NotificationError::NotFound => ApiError::not_found(e.to_string()),
            NotificationError::Repository(e) => e.into(),
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        let message = e.to_string();
        match e {
            RequestError::Validation(f) => f.into(),
            RequestError::NotFound => ApiError::not_found(message),
            RequestError::NotYoursToEdit
            | RequestError::NotYoursToCancel
            | RequestError::StatusIsForStaff => ApiError::forbidden(message),
            RequestError::NoLongerPending | RequestError::ChangedConcurrently => {
                ApiError::conflict(message)
            }
            RequestError::DateClosed { date } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "date_closed", message)
                    .with_details(json!({ "date": format_date(date), "field": "dueDate" }))
            }
            RequestError::DateOutOfWindow { date, min, max } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "date_out_of_window",
                message,
            )
            .with_details(json!({
                "date": format_date(date),
                "minDate": format_date(min),
                "maxDate": format_date(max),
                "field": "dueDate",
            })),
            RequestError::HoldExpired => {
                ApiError::new(StatusCode::CONFLICT, "hold_expired", message)
            }
            RequestError::CapacityFull {
                date,
                capacity,
                used,
                held,
                frees_at,
            } => {
                ApiError::new(StatusCode::CONFLICT, "capacity_full", message).with_details(json!({
                    "date": format_date(date),
                    "capacity": capacity,
                    "used": used,
                    "held": held,
                    "freesAt": frees_at.map(format_timestamp),
                }))
            }
            RequestError::UnknownUser => ApiError::unauthorized(message),
            RequestError::InvalidTransition { from, to } => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", message)
                    .with_details(json!({ "from": from.as_str(), "to": to.as_str() }))
            }
            RequestError::Repository(e) => e.into(),
        }
    }
}

/// A failed `web::block`: the blocking pool is gone (shutting down).
impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(&e)
    }
}

/// Handlers for actix's JSON, path and query extractors.
pub mod extractor_errors {
    use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
    use actix_web::HttpRequest;

    use super::ApiError;

    pub fn json(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
        match err {
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                ApiError::payload_too_large().into()
            }
            JsonPayloadError::ContentType => {
                ApiError::bad_request("the body must be JSON (Content-Type: application/json)")
                    .into()
            }
            JsonPayloadError::Deserialize(e) => {
                ApiError::bad_request(format!("invalid JSON body: {e}")).into()
            }
            other => ApiError::bad_request(format!("invalid JSON body: {other}")).into(),
        }
    }

    pub fn path(err: PathError, _: &HttpRequest) -> actix_web::Error {
        ApiError::bad_request(format!("invalid path parameter: {err}")).into()
    }

    pub fn query(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
        ApiError::bad_request(format!("invalid query string: {err}")).into()
    }
}

/// Gives every error response that is not already JSON (unknown routes, wrong
/// methods, actix's own rejections) the contract's body.
pub fn contract_body_for_bare_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::not_found(format!(
            "no route for {} {}",
            res.request().method(),
            res.request().path()
        )),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = res
                .response()
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            if allow.is_empty() {
                // A 405 that names no method (the static files' service, for a
                // path no route has): no method is allowed, so no such resource.
                ApiError::not_found(format!(
                    "no route for {} {}",
                    res.request().method(),
                    res.request().path()
                ))
            } else {
                ApiError::method_not_allowed(
                    res.request().method().as_str(),
                    res.request().path(),
                    &allow,
                )
            }
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
        StatusCode::UNAUTHORIZED => ApiError::unauthorized("a valid bearer token is required"),
        s if s.is_server_error() => ApiError::new(s, "internal", "an internal error occurred"),
        s => ApiError::new(
            s,
            "bad_request",
            s.canonical_reason().unwrap_or("bad request"),
        ),
    };
    let (req, _) = res.into_parts();
    let res = ServiceResponse::new(req, error.error_response()).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_the_database_refused_is_a_400_not_a_500() {
        let e: ApiError = RepositoryError::InvalidInput("invalid byte sequence".into()).into();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.code, "bad_request");
        assert!(
            !e.message.contains("byte sequence"),
            "no internals: {}",
            e.message
        );
    }

    #[test]
    fn retry_after_and_allow_reach_the_headers() {
        let r = ApiError::rate_limited("slow down", 7).error_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), "7");
        let r = ApiError::method_not_allowed("DELETE", "/x", "GET, HEAD").error_response();
        assert_eq!(r.headers().get(header::ALLOW).unwrap(), "GET, HEAD");
    }
}
