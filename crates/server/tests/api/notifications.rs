use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[actix_web::test]
async fn new_requests_notify_the_designer_and_status_changes_the_requester() {
    let app = TestApp::spawn().await;
    let alice = app.login("alice@example.com").await;
    let bob = app.login("bob@example.com").await;
    let designer = app.login("designer@example.com").await;
    let date = app.date_ahead(1).await;
    let (_, r) = app.book(&alice, &date, "poster").await;

    let (status, inbox) = app.get("/api/notifications", &designer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(inbox["unreadCount"], 1);
    let n = &inbox["items"][0];
    assert_eq!(
        (
            n["kind"].as_str(),
            n["requestId"].as_i64(),
            n["read"].as_bool()
        ),
        (Some("NewRequest"), r["id"].as_i64(), Some(false))
    );

    app.send(
        Method::PATCH,
        &format!("/api/requests/{}/status", r["id"]),
        Some(&designer),
        Some(json!({"status": "in_progress"})),
    )
    .await;
    let (_, inbox) = app.get("/api/notifications?unreadOnly=true", &alice).await;
    assert_eq!(inbox["items"][0]["kind"], "StatusChanged");
    let id = inbox["items"][0]["id"].as_i64().unwrap();

    assert_error(
        app.post(&format!("/api/notifications/{id}/read"), &bob, json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (status, _) = app
        .send(
            Method::POST,
            &format!("/api/notifications/{id}/read"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, inbox) = app.get("/api/notifications?unreadOnly=true", &alice).await;
    assert_eq!(
        (
            inbox["unreadCount"].as_i64(),
            inbox["items"].as_array().unwrap().len()
        ),
        (Some(0), 0)
    );
    let (_, all) = app.get("/api/notifications", &alice).await;
    assert_eq!(all["items"][0]["read"], true);

    let (status, _) = app
        .send(
            Method::POST,
            "/api/notifications/read-all",
            Some(&designer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/notifications", &designer).await.1["unreadCount"],
        0
    );
    assert_error(
        app.get("/api/notifications?unreadOnly=maybe", &alice).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        app.send(Method::GET, "/api/notifications", None, None)
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}
