//! `/api/auth/*` and `/api/users`.
//!
//! Login, registration and account creation hash passwords, so they run on
//! the [`HashingPool`] (never on the blocking pool the database calls
//! share), after the rate limits.

use std::fmt;
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use request_desk_domain::user::{Role, UserChanges, UserInput};
use request_desk_domain::validation::FieldError;
use request_desk_domain::{RequestDesk, UserId};
use request_desk_infrastructure::password::{HashingBusy, HashingPool};
use serde::{Deserialize, Serialize};

/// `POST /api/auth/login`'s answer.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// `Authorization: Bearer <token>`, and the hub's `accessTokenFactory`.
    pub token: String,
    #[serde(with = "request_desk_domain::serde_formats::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: time::OffsetDateTime,
    pub user: request_desk_domain::user::User,
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &Redacted)
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .finish()
    }
}

use super::{path_id, required, run, Endpoint};
use crate::auth::{SignedIn, Tokens};
use crate::config::Redacted;
use crate::error::ApiError;
use crate::rate_limit::RateLimiters;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/api/auth/register").post(register),
        Endpoint::new("/api/auth/login").post(login),
        Endpoint::new("/api/auth/me").get(me),
        Endpoint::new("/api/users")
            .get(list_users)
            .post(create_user),
        Endpoint::new("/api/users/{id}").patch(update_user),
    ]
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountBody {
    #[schema(value_type = String, format = Email, required = true)]
    email: Option<String>,
    #[schema(value_type = String, required = true, min_length = 8)]
    password: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1)]
    display_name: Option<String>,
    #[schema(value_type = Option<request_desk_domain::user::Role>)]
    role: Option<String>,
}

impl fmt::Debug for AccountBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountBody")
            .field("email", &self.email)
            .field("password", &self.password.as_ref().map(|_| Redacted))
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .finish()
    }
}

impl AccountBody {
    fn input(self) -> Result<UserInput, FieldError> {
        Ok(UserInput {
            email: required("email", self.email)?,
            password: required("password", self.password)?,
            display_name: required("displayName", self.display_name)?,
        })
    }
}

/// Runs a use case that hashes on the hashing pool.
async fn hashing<T, E>(
    pool: &HashingPool,
    desk: &web::Data<RequestDesk>,
    f: impl FnOnce(&RequestDesk) -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    let desk = desk.clone();
    pool.run(move || f(&desk))
        .await
        .map_err(|HashingBusy| {
            ApiError::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                HashingBusy.to_string(),
            )
            .with_retry_after(1)
        })?
        .map_err(Into::into)
}

/// Create a requester account.
#[utoipa::path(post, path = "/api/auth/register", operation_id = "register", tag = "auth", request_body = AccountBody,
    responses(
        (status = 201, description = "Registered", body = request_desk_domain::user::User),
        (status = 409, description = "`conflict`: the email is taken", body = crate::error::ErrorBody),
        (status = 422, description = "`validation_failed`", body = crate::error::ErrorBody),
        (status = 429, description = "`rate_limited` (`Retry-After`)", body = crate::error::ErrorBody),
    ))]
pub async fn register(
    req: HttpRequest,
    desk: web::Data<RequestDesk>,
    pool: web::Data<HashingPool>,
    limits: web::Data<RateLimiters>,
    body: web::Json<AccountBody>,
) -> Result<HttpResponse, ApiError> {
    limits.registration(&req)?;
    let input = body.into_inner().input()?;
    let user = hashing(&pool, &desk, move |d| d.register(&input)).await?;
    Ok(HttpResponse::Created().json(user))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    #[schema(value_type = String, required = true)]
    email: Option<String>,
    #[schema(value_type = String, required = true)]
    password: Option<String>,
}

impl fmt::Debug for LoginBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginBody")
            .field("email", &self.email)
            .field("password", &self.password.as_ref().map(|_| Redacted))
            .finish()
    }
}

/// Sign in: a bearer token for the API and the hub.
#[utoipa::path(post, path = "/api/auth/login", operation_id = "login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "`unauthorized`: wrong email or password (the same message for both)", body = crate::error::ErrorBody),
        (status = 422, description = "`validation_failed`", body = crate::error::ErrorBody),
        (status = 429, description = "`rate_limited` (`Retry-After`)", body = crate::error::ErrorBody),
    ))]
pub async fn login(
    req: HttpRequest,
    desk: web::Data<RequestDesk>,
    tokens: web::Data<Arc<Tokens>>,
    pool: web::Data<HashingPool>,
    limits: web::Data<RateLimiters>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let LoginBody { email, password } = body.into_inner();
    let (email, password) = (required("email", email)?, required("password", password)?);
    limits.login(&req, &email)?;
    let user = hashing(&pool, &desk, move |d| d.login(&email, &password)).await?;
    let issued = tokens.issue(&user)?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        token: issued.token,
        expires_at: issued.expires_at,
        user,
    }))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/auth/me", operation_id = "me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = request_desk_domain::user::User)))]
pub async fn me(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.me(&actor)).await?))
}

fn parse_role(raw: &str) -> Result<Role, FieldError> {
    Role::parse(raw)
        .ok_or_else(|| FieldError::new("role", "must be one of requester, designer, admin"))
}

/// Create an account with any role (admin).
#[utoipa::path(post, path = "/api/users", operation_id = "createUser", tag = "auth", security(("bearer" = [])), request_body = AccountBody,
    responses(
        (status = 201, description = "Created", body = request_desk_domain::user::User),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 409, description = "`conflict`: the email is taken", body = crate::error::ErrorBody),
        (status = 422, description = "`validation_failed`", body = crate::error::ErrorBody),
    ))]
pub async fn create_user(
    desk: web::Data<RequestDesk>,
    pool: web::Data<HashingPool>,
    SignedIn(actor): SignedIn,
    body: web::Json<AccountBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let role_raw = body.role.clone();
    let input = body.input()?;
    let role = match role_raw.as_deref() {
        None => Role::Requester,
        Some(r) => parse_role(r)?,
    };
    let user = hashing(&pool, &desk, move |d| d.create_user(&actor, &input, role)).await?;
    Ok(HttpResponse::Created().json(user))
}

/// Every account (admin).
#[utoipa::path(get, path = "/api/users", operation_id = "listUsers", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The accounts", body = Vec<request_desk_domain::user::User>),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
    ))]
pub async fn list_users(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.list_users(&actor)).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(value_type = Option<request_desk_domain::user::Role>)]
    role: Option<String>,
    #[schema(value_type = Option<bool>)]
    disabled: Option<bool>,
}

/// `PATCH /api/users/{id}`: an admin changes a role or disables an account.
/// This instance stops honouring the user's tokens (or old role) at once;
/// the change notice queued in the same transaction tells the others.
/// Change an account's role or disable it (admin); its tokens stop working at once.
#[utoipa::path(patch, path = "/api/users/{id}", operation_id = "updateUser", tag = "auth", security(("bearer" = [])), request_body = UserPatch,
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "Changed", body = request_desk_domain::user::User),
        (status = 403, description = "`forbidden`", body = crate::error::ErrorBody),
        (status = 404, description = "`not_found`", body = crate::error::ErrorBody),
        (status = 409, description = "`conflict`: e.g. the last admin", body = crate::error::ErrorBody),
        (status = 422, description = "`validation_failed`", body = crate::error::ErrorBody),
    ))]
pub async fn update_user(
    desk: web::Data<RequestDesk>,
    tokens: web::Data<Arc<Tokens>>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "user", UserId)?;
    let UserPatch { role, disabled } = body.into_inner();
    let changes = UserChanges {
        role: role.as_deref().map(parse_role).transpose()?,
        disabled,
    };
    let user = run(&desk, move |d| d.update_user(&actor, id, changes)).await?;
    tokens.users.forget(user.id);
    Ok(HttpResponse::Ok().json(user))
}
