//! `/api/auth/*` and `/api/users`.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use request_desk_domain::user::{Role, UserInput};
use request_desk_domain::validation::FieldError;
use request_desk_domain::RequestDesk;
use serde::Deserialize;
use serde_json::json;

use super::{required, run};
use crate::auth::{SignedIn, Tokens};
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/register", web::post().to(register))
        .route("/auth/login", web::post().to(login))
        .route("/auth/me", web::get().to(me))
        .route("/users", web::post().to(create_user))
        .route("/users", web::get().to(list_users));
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

async fn register(
    desk: web::Data<RequestDesk>,
    body: web::Json<AccountBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().input()?;
    let user = run(&desk, move |d| d.register(&input)).await?;
    Ok(HttpResponse::Created().json(user))
}

#[derive(Debug, Deserialize)]
struct LoginBody {
    email: Option<String>,
    password: Option<String>,
}

async fn login(
    desk: web::Data<RequestDesk>,
    tokens: web::Data<Arc<Tokens>>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let LoginBody { email, password } = body.into_inner();
    let (email, password) = (required("email", email)?, required("password", password)?);
    let user = run(&desk, move |d| d.login(&email, &password)).await?;
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

async fn create_user(
    desk: web::Data<RequestDesk>,
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
        Some(r) => Role::parse(r)
            .ok_or_else(|| FieldError::new("role", "must be one of requester, designer, admin"))?,
    };
    let user = run(&desk, move |d| d.create_user(&actor, &input, role)).await?;
    Ok(HttpResponse::Created().json(user))
}

async fn list_users(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.list_users(&actor)).await?))
}
