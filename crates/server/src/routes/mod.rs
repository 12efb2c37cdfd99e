//! The REST endpoints of the contract, one module per area.
//!
//! Handlers are thin: parse the body or query, run the use case on the
//! blocking pool (`web::block`, Diesel is synchronous), map the result.

use actix_web::{web, FromRequest, Handler, HttpRequest, HttpResponse, Resource, Responder};
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

/// Every REST endpoint, in one list: the server registers exactly these,
/// and a test checks that the OpenAPI document describes each method of each.
pub fn endpoints() -> Vec<Endpoint> {
    [
        auth::endpoints(),
        settings::endpoints(),
        availability::endpoints(),
        requests::endpoints(),
        holds::endpoints(),
        notifications::endpoints(),
        health::endpoints(),
        crate::openapi::endpoints(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    for endpoint in endpoints() {
        endpoint.register(cfg);
    }
}

/// One path and the methods it answers. A `GET` also answers `HEAD` (actix
/// sends the headers without the body); any other method answers 405
/// `method_not_allowed` with `Allow`.
pub struct Endpoint {
    path: &'static str,
    resource: Resource,
    allow: Vec<&'static str>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("path", &self.path)
            .field("allow", &self.allow)
            .finish()
    }
}

macro_rules! method {
    ($name:ident, $route:ident, $verb:literal) => {
        pub fn $name<F, Args>(mut self, handler: F) -> Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.resource = self.resource.route(web::$route().to(handler));
            self.allow.push($verb);
            self
        }
    };
}

impl Endpoint {
    pub fn new(path: &'static str) -> Endpoint {
        Endpoint {
            path,
            resource: web::resource(path),
            allow: Vec::new(),
        }
    }

    /// The path, in the OpenAPI template syntax (`/api/requests/{id}`).
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The methods it answers (a `GET` brings `HEAD`).
    pub fn methods(&self) -> &[&'static str] {
        &self.allow
    }

    pub fn get<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self
            .resource
            .route(web::get().to(handler.clone()))
            .route(web::head().to(handler));
        self.allow.extend(["GET", "HEAD"]);
        self
    }

    method!(post, post, "POST");
    method!(put, put, "PUT");
    method!(patch, patch, "PATCH");
    method!(delete, delete, "DELETE");

    pub fn register(self, cfg: &mut web::ServiceConfig) {
        let allow = self.allow.join(", ");
        cfg.service(
            self.resource
                .default_service(web::to(move |req: HttpRequest| {
                    let allow = allow.clone();
                    async move {
                        Err::<HttpResponse, _>(ApiError::method_not_allowed(
                            req.method().as_str(),
                            req.path(),
                            &allow,
                        ))
                    }
                })),
        );
    }
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

/// An id in a path: anything but an integer names nothing, so 404.
pub fn path_id<T>(raw: &str, what: &str, make: fn(i64) -> T) -> Result<T, ApiError> {
    raw.parse()
        .map(make)
        .map_err(|_| ApiError::not_found(format!("no {what} has the id '{raw}'")))
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
