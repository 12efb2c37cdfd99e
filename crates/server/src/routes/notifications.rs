//! `/api/notifications*`.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use request_desk_domain::{NotificationId, RequestDesk};

use super::{run, Endpoint};
use crate::auth::SignedIn;
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    Endpoint::new("/notifications").get(inbox).register(cfg);
    Endpoint::new("/notifications/read-all")
        .post(read_all)
        .register(cfg);
    Endpoint::new("/notifications/{id}/read")
        .post(read)
        .register(cfg);
}

async fn inbox(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    q: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let unread_only = match q.get("unreadOnly").map(String::as_str) {
        None | Some("false") | Some("") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "'unreadOnly' must be true or false, got '{other}'"
            )))
        }
    };
    Ok(HttpResponse::Ok().json(run(&desk, move |d| d.inbox(&actor, unread_only)).await?))
}

async fn read(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id
        .parse()
        .map(NotificationId)
        .map_err(|_| ApiError::not_found(format!("no notification has the id '{id}'")))?;
    run(&desk, move |d| d.mark_read(&actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn read_all(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
) -> Result<HttpResponse, ApiError> {
    run(&desk, move |d| d.mark_all_read(&actor)).await?;
    Ok(HttpResponse::NoContent().finish())
}
