//! `/api/auth/*` and `/api/users`.
//!
//! Login, registration and account creation hash passwords, so they run on
//! the [`HashingPool`] (never on the blocking pool the database calls
//! share), after the rate limits.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use request_desk_domain::user::{Role, UserChanges, UserInput};
use request_desk_domain::validation::FieldError;
use request_desk_domain::{RequestDesk, UserId};
use request_desk_infrastructure::password::{HashingBusy, HashingPool};
use serde::Deserialize;
use serde_json::json;

use super::{required, run, Endpoint};
use crate::auth::{SignedIn, Tokens};
use crate::error::ApiError;
use crate::rate_limit::RateLimiters;

pub fn configure(cfg: &mut web::ServiceConfig) {
    Endpoint::new("/auth/register").post(register).register(cfg);
    Endpoint::new("/auth/login").post(login).register(cfg);
    Endpoint::new("/auth/me").get(me).register(cfg);
    Endpoint::new("/users")
        .get(list_users)
        .post(create_user)
        .register(cfg);
    Endpoint::new("/users/{id}")
        .patch(update_user)
        .register(cfg);
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountBody {
    email: Option<String>,
    password: Option<String>,
    display_name: Option<String>,
    role: Option<String>,
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

async fn register(
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

#[derive(Debug, Deserialize)]
struct LoginBody {
    email: Option<String>,
    password: Option<String>,
}

async fn login(
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
    Ok(HttpResponse::Ok().json(json!({
        "token": issued.token,
        "expiresAt": request_desk_domain::serde_formats::format_timestamp(issued.expires_at),
        "user": user,
    })))
}

async fn me(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.me(&actor)).await?))
}

fn parse_role(raw: &str) -> Result<Role, FieldError> {
    Role::parse(raw)
        .ok_or_else(|| FieldError::new("role", "must be one of requester, designer, admin"))
}

async fn create_user(
    desk: web::Data<RequestDesk>,
    pool: web::Data<HashingPool>,
    SignedIn(actor): SignedIn,
    body: web::Json<AccountBody>,
) -> Result<HttpResponse, ApiError> {
    if !actor.is_admin() {
        return Err(ApiError::forbidden("only an admin may do this"));
    }
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

async fn list_users(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.list_users(&actor)).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    role: Option<String>,
    disabled: Option<bool>,
}

/// `PATCH /api/users/{id}`: an admin changes a role or disables an account.
/// This instance stops honouring the user's tokens (or old role) at once;
/// the change notice queued in the same transaction tells the others.
async fn update_user(
    desk: web::Data<RequestDesk>,
    tokens: web::Data<Arc<Tokens>>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id
        .parse()
        .map(UserId)
        .map_err(|_| ApiError::not_found(format!("no user has the id '{id}'")))?;
    let UserPatch { role, disabled } = body.into_inner();
    let changes = UserChanges {
        role: role.as_deref().map(parse_role).transpose()?,
        disabled,
    };
    let user = run(&desk, move |d| d.update_user(&actor, id, changes)).await?;
    tokens.users.forget(user.id);
    Ok(HttpResponse::Ok().json(user))
}
