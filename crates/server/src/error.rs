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
use request_desk_domain::serde_formats::format_date;
use request_desk_domain::services::{
    AuthError, AvailabilityError, NotificationError, RequestError, SettingsError,
};
use request_desk_domain::validation::FieldError;
use request_desk_domain::RepositoryError;
use serde_json::{json, Value};

/// An error response in the contract's shape.
#[derive(Debug, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
        }
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

    fn body(&self) -> Value {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let Some(details) = &self.details {
            body["details"] = details.clone();
        }
        body
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut response = HttpResponse::build(self.status).json(self.body());
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
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
        match e {
            RepositoryError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::unavailable()
            }
            RepositoryError::Unexpected(cause) => ApiError::internal(&cause),
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
            RequestError::Forbidden(_) => ApiError::forbidden(message),
            RequestError::Conflict(_) => ApiError::conflict(message),
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
            } => ApiError::new(StatusCode::CONFLICT, "capacity_full", message).with_details(
                json!({ "date": format_date(date), "capacity": capacity, "used": used }),
            ),
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
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "bad_request",
            format!(
                "{} is not allowed on {}",
                res.request().method(),
                res.request().path()
            ),
        ),
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
