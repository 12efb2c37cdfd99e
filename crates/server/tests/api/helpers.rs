//! `TestApp::spawn()`: a real server on port 0 over its own fresh database.
//!
//! The PostgreSQL server comes from `DATABASE_URL` when set (used as the
//! admin connection), else the project-local test cluster is started (once,
//! shared by every test process). Each test gets a database of its own,
//! cloned from a template migrated once (the same path as `request-desk
//! local-db --new-database`, which the hub suite and e2e use), dropped when
//! the test's `TestApp` drops.

use std::sync::OnceLock;

use diesel::{Connection, PgConnection};
use request_desk_infrastructure::hub::HubConfig;
use request_desk_local_postgres::Databases;
use request_desk_server::{test_databases, Application, ServerSettings};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const JWT_SECRET: &str = "integration-test-secret-0123456789";
pub const PASSWORD: &str = "demo-password";

/// The PostgreSQL server the tests make their databases on.
pub fn databases() -> &'static Databases {
    static DATABASES: OnceLock<Databases> = OnceLock::new();
    DATABASES.get_or_init(|| {
        let dir = request_desk_server::config::local_db_dir(
            std::env::var_os("LOCAL_DB_DIR")
                .filter(|d| !d.is_empty())
                .as_deref()
                .map(std::path::Path::new),
        );
        let url = test_databases::admin_url(std::env::var("DATABASE_URL").ok().as_deref(), &dir)
            .expect("the test PostgreSQL server");
        Databases::new(&url)
    })
}

/// A database that exists for one test and is dropped afterwards.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// A fresh database with every migration applied.
    pub fn create() -> Self {
        let name = test_databases::create(databases(), "test").expect("create a test database");
        Self::named(name)
    }

    /// A fresh database without migrations.
    pub fn create_empty() -> Self {
        let name = databases()
            .create_empty("test")
            .expect("create an empty test database");
        Self::named(name)
    }

    fn named(name: String) -> Self {
        TestDatabase {
            url: databases().url_for(&name),
            name,
        }
    }

    /// A direct connection, for checks against the database itself.
    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        // Off the async runtime, whatever thread drops us.
        let _ = std::thread::spawn(move || databases().drop_database(&name)).join();
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: std::sync::Arc<TestDatabase>,
}

pub fn settings(db: &TestDatabase) -> ServerSettings {
    ServerSettings {
        database_url: db.url.clone(),
        pool_size: 8,
        limits: request_desk_server::Limits::default(),
        jwt_secret: JWT_SECRET.into(),
        jwt_ttl: time::Duration::minutes(30),
        hold_ttl: request_desk_domain::hold::HoldTtl::DEFAULT,
        bind_addr: "127.0.0.1:0".into(),
        seed_demo: true,
        web_client: request_desk_server::web_client::WebClient::None,
        hub: HubConfig::default(),
        cors: Default::default(),
    }
}

impl TestApp {
    /// A server with the demo users over a fresh database.
    pub async fn spawn() -> TestApp {
        let db = std::sync::Arc::new(
            tokio::task::spawn_blocking(TestDatabase::create)
                .await
                .unwrap(),
        );
        Self::spawn_on(db).await
    }

    /// Another instance over the same database (a second server process, as PostgreSQL sees it).
    pub async fn spawn_on(db: std::sync::Arc<TestDatabase>) -> TestApp {
        let settings = settings(&db);
        Self::spawn_with(db, settings).await
    }

    /// A server over a fresh database, with settings changed by `change`.
    pub async fn spawn_configured(change: impl FnOnce(&mut ServerSettings)) -> TestApp {
        let db = std::sync::Arc::new(
            tokio::task::spawn_blocking(TestDatabase::create)
                .await
                .unwrap(),
        );
        let mut settings = settings(&db);
        change(&mut settings);
        Self::spawn_with(db, settings).await
    }

    pub async fn spawn_with(db: std::sync::Arc<TestDatabase>, settings: ServerSettings) -> TestApp {
        if std::env::var_os("TEST_LOG").is_some() {
            request_desk_server::telemetry::init(request_desk_server::config::LogFormat::Text);
        }
        let app = Application::build(settings).await.expect("build the app");
        let base = format!("http://{}", app.addr());
        actix_web::rt::spawn(app.run());
        TestApp {
            base,
            client: reqwest::Client::new(),
            db,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("send");
        let status = res.status();
        let text = res.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn login(&self, email: &str) -> String {
        let (status, body) = self
            .send(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({ "email": email, "password": PASSWORD })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn settings(&self) -> Value {
        self.send(Method::GET, "/api/settings/public", None, None)
            .await
            .1
    }

    /// A bookable date `days_ahead` days after today.
    pub async fn date_ahead(&self, days_ahead: i64) -> String {
        let today = self.settings().await["today"].as_str().unwrap().to_owned();
        let today = request_desk_domain::serde_formats::parse_date(&today).unwrap();
        request_desk_domain::serde_formats::format_date(today + time::Duration::days(days_ahead))
    }

    pub async fn day(&self, token: &str, date: &str) -> Value {
        let (status, body) = self
            .get(&format!("/api/availability?from={date}&to={date}"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["days"][0].clone()
    }

    pub async fn book(&self, token: &str, date: &str, title: &str) -> (StatusCode, Value) {
        self.post(
            "/api/requests",
            token,
            json!({ "title": title, "dueDate": date }),
        )
        .await
    }

    /// Sets the daily capacity (as admin), keeping the other defaults.
    pub async fn set_daily_capacity(&self, admin: &str, capacity: u32) {
        let (status, body) = self
            .put(
                "/api/settings",
                admin,
                json!({ "dailyCapacity": capacity, "limitedThresholdPercent": 60, "bookingWindowDays": 60, "closedWeekdays": [], "timezone": "UTC" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// Asserts the contract's error body and code.
#[track_caller]
pub fn assert_error(actual: (StatusCode, Value), status: StatusCode, code: &str) -> Value {
    assert_eq!(actual.0, status, "body: {}", actual.1);
    assert_eq!(actual.1["error"], code, "body: {}", actual.1);
    assert!(
        actual.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message missing: {}",
        actual.1
    );
    actual.1
}
