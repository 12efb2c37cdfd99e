use reqwest::{Method, StatusCode};

use crate::helpers::{assert_error, TestApp};

#[actix_web::test]
async fn health_endpoints_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.send(Method::GET, "/health/live", None, None).await.0,
        StatusCode::OK
    );
    let (status, body) = app.send(Method::GET, "/health/ready", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[actix_web::test]
async fn metrics_are_prometheus_text() {
    let app = TestApp::spawn().await;
    app.send(Method::GET, "/health/live", None, None).await;
    let alice = app.login("alice@example.com").await;
    app.book(&alice, &app.date_ahead(1).await, "counted").await;
    let res = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    for metric in [
        "http_requests_total",
        "http_request_duration_seconds",
        "hub_connections",
    ] {
        assert!(text.contains(metric), "{metric} missing from:\n{text}");
    }
    assert!(text.contains(r#"route="/health/live""#), "{text}");
}

#[actix_web::test]
async fn unknown_routes_and_methods_get_the_error_body() {
    let app = TestApp::spawn().await;
    assert_error(
        app.send(Method::GET, "/api/nope", None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        app.send(Method::GET, "/definitely/not/here", None, None)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (status, body) = app
        .send(Method::DELETE, "/api/settings/public", None, None)
        .await;
    assert!(status.is_client_error(), "{status}");
    assert!(body["error"].is_string(), "{body}");
}

#[actix_web::test]
async fn bodies_over_64_kib_are_refused() {
    let app = TestApp::spawn().await;
    let token = app.login("alice@example.com").await;
    let huge = serde_json::json!({"title": "x", "dueDate": "2030-01-01", "description": "y".repeat(70 * 1024)});
    assert_error(
        app.post("/api/requests", &token, huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
}

#[actix_web::test]
async fn the_root_explains_how_to_build_the_client_when_it_is_missing() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("just web"));
}

/// The real binary, as an operator runs it.
fn binary() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_request-desk"));
    // Away from any developer's .env, which the binary would read.
    cmd.current_dir(std::env::temp_dir())
        .env_remove("JWT_SECRET")
        .env("RUST_LOG", "warn");
    cmd
}

#[actix_web::test]
async fn outside_dev_mode_the_server_refuses_to_start_without_a_jwt_secret() {
    let db = crate::helpers::TestDatabase::create();
    let output = binary()
        .env("DATABASE_URL", &db.url)
        .env("BIND_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("JWT_SECRET must be set"), "{stderr}");
}

#[actix_web::test]
async fn migrate_applies_pending_migrations_and_exits() {
    let db = crate::helpers::TestDatabase::create_empty();
    let first = binary()
        .arg("migrate")
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert!(
        String::from_utf8_lossy(&first.stdout)
            .starts_with(&format!("applied {migrations} migration")),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    let again = binary()
        .arg("migrate")
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("applied 0 migration"));
}

#[actix_web::test]
async fn instances_starting_together_migrate_once_and_all_start() {
    // Four instances on a fresh database at the same moment: without the
    // migration lock, two create the same table and one fails.
    let db = crate::helpers::TestDatabase::create_empty();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            std::thread::spawn(move || {
                let pool = request_desk_infrastructure::postgres::pool(
                    &url,
                    &request_desk_infrastructure::postgres::PoolConfig::default(),
                );
                request_desk_infrastructure::postgres::run_migrations(&pool)
            })
        })
        .collect();
    let applied: Vec<Vec<String>> = runs
        .into_iter()
        .map(|r| r.join().unwrap().expect("every instance starts"))
        .collect();
    assert_eq!(
        applied.iter().filter(|a| !a.is_empty()).count(),
        1,
        "exactly one instance applied the migrations: {applied:?}"
    );
}
