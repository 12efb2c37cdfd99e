use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[actix_web::test]
async fn registering_creates_a_requester_without_exposing_the_hash() {
    let app = TestApp::spawn().await;
    let (status, user) = app
        .send(Method::POST, "/api/auth/register", None, Some(json!({"email": "Carol@Example.com", "password": "demo-password", "displayName": " Carol "})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["email"], "carol@example.com");
    assert_eq!(user["displayName"], "Carol");
    assert_eq!(user["role"], "requester");
    assert!(user["id"].is_i64());
    assert_eq!(user["disabled"], false);
    assert_eq!(
        user.as_object().unwrap().len(),
        5,
        "only id, email, displayName, role, disabled: {user}"
    );

    let token = app.login("carol@example.com").await;
    let (status, me) = app.get("/api/auth/me", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, user);
}

#[actix_web::test]
async fn registration_errors_follow_the_contract() {
    let app = TestApp::spawn().await;
    let register = |body| app.send(Method::POST, "/api/auth/register", None, Some(body));
    let dup = register(
        json!({"email": "ALICE@example.com", "password": "long-enough", "displayName": "A"}),
    )
    .await;
    assert_error(dup, StatusCode::CONFLICT, "conflict");
    let short = assert_error(
        register(json!({"email": "x@example.com", "password": "short", "displayName": "X"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(short["details"]["field"], "password");
    let missing = assert_error(
        register(json!({"email": "x@example.com", "password": "long-enough"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(missing["details"]["field"], "displayName");
    let bad_email = assert_error(
        register(json!({"email": "not-an-email", "password": "long-enough", "displayName": "X"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(bad_email["details"]["field"], "email");
    assert_error(
        register(json!({"email": 5, "password": "long-enough", "displayName": "X"})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );

    let res = app
        .client
        .post(format!("{}/api/auth/register", app.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"],
        "bad_request"
    );
}

#[actix_web::test]
async fn login_fails_alike_for_a_wrong_password_and_an_unknown_email() {
    let app = TestApp::spawn().await;
    let login = |email: &str, password: &str| {
        app.send(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
    };
    let (status, body) = login("alice@example.com", "demo-password").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["token"].as_str().unwrap().split('.').count() == 3);
    assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["user"]["email"], "alice@example.com");

    let wrong = assert_error(
        login("alice@example.com", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let unknown = assert_error(
        login("nobody@example.com", "demo-password").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_eq!(wrong["message"], unknown["message"]);
}

#[actix_web::test]
async fn missing_forged_expired_and_unsigned_tokens_are_refused() {
    let app = TestApp::spawn().await;
    assert_error(
        app.send(Method::GET, "/api/auth/me", None, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let token = app.login("alice@example.com").await;
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged_sig = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    parts[2] = forged_sig;
    assert_error(
        app.get("/api/auth/me", &parts.join(".")).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    // alg: none with the same claims.
    let unsigned = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        token.split('.').nth(1).unwrap()
    );
    assert_error(
        app.get("/api/auth/me", &unsigned).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    // Signed with the right secret but expired.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({"sub": "3", "role": "requester", "iat": now - 7200, "exp": now - 3600, "iss": "request-desk", "aud": "request-desk"});
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(crate::helpers::JWT_SECRET.as_bytes()),
    )
    .unwrap();
    assert_error(
        app.get("/api/auth/me", &expired).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        app.get("/api/auth/me", "garbage").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[actix_web::test]
async fn only_admins_create_and_list_users() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com").await;
    let alice = app.login("alice@example.com").await;
    let (status, user) = app
        .post("/api/users", &admin, json!({"email": "dora@example.com", "password": "long-enough", "displayName": "Dora", "role": "designer"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["role"], "designer");
    let (status, users) = app.get("/api/users", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users.as_array().unwrap().len(), 5);
    assert!(users
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u.get("passwordHash").is_none()));

    assert_error(
        app.get("/api/users", &alice).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        app.post("/api/users", &alice, json!({"email": "e@example.com", "password": "long-enough", "displayName": "E", "role": "admin"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let bad_role = assert_error(
        app.post("/api/users", &admin, json!({"email": "e@example.com", "password": "long-enough", "displayName": "E", "role": "root"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(bad_role["details"]["field"], "role");
    assert_error(
        app.post("/api/users", &admin, json!({"email": "DORA@example.com", "password": "long-enough", "displayName": "D2", "role": "designer"})).await,
        StatusCode::CONFLICT,
        "conflict",
    );
}
