//! `/api/notifications*`.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use request_desk_domain::{NotificationId, RequestDesk};

use super::{path_id, run, Endpoint};
use crate::auth::SignedIn;
use crate::error::ApiError;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/api/notifications").get(inbox),
        Endpoint::new("/api/notifications/read-all").post(read_all),
        Endpoint::new("/api/notifications/{id}/read").post(read),
    ]
}

/// The caller's notifications, newest first, and the unread count.
#[utoipa::path(get, path = "/api/notifications", operation_id = "getInbox", tag = "notifications", security(("bearer" = [])),
    params(("unreadOnly" = Option<bool>, Query, description = "Only unread ones")),
    responses((status = 200, description = "The inbox", body = request_desk_domain::notification::Inbox)))]
pub async fn inbox(
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

/// Mark one notification read.
#[utoipa::path(post, path = "/api/notifications/{id}/read", operation_id = "markNotificationRead", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "The notification's id")),
    responses(
        (status = 204, description = "Read"),
        (status = 404, description = "`not_found`", body = crate::error::ErrorBody),
    ))]
pub async fn read(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "notification", NotificationId)?;
    run(&desk, move |d| d.mark_read(&actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mark every notification of the caller read.
#[utoipa::path(post, path = "/api/notifications/read-all", operation_id = "markAllNotificationsRead", tag = "notifications", security(("bearer" = [])),
    responses((status = 204, description = "All read")))]
pub async fn read_all(
    desk: web::Data<RequestDesk>,
    SignedIn(actor): SignedIn,
) -> Result<HttpResponse, ApiError> {
    run(&desk, move |d| d.mark_all_read(&actor)).await?;
    Ok(HttpResponse::NoContent().finish())
}
