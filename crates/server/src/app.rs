//! Wiring: picks the adapters, builds the actix application, runs it.
//!
//! This is the only place that knows which implementation stands behind each
//! domain port.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;

use actix_http::HttpService;
use actix_service::{map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::{AppConfig, Server};
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App};
use anyhow::Context;
use request_desk_domain::hold::HoldTtl;
use request_desk_domain::{Ports, RequestDesk};
use request_desk_infrastructure::clock::SystemClock;
use request_desk_infrastructure::hub::{Hub, HubConfig};
use request_desk_infrastructure::live::hub::HubDelivery;
use request_desk_infrastructure::live::{spawn_delivery, ListenerConfig, Outlets};
use request_desk_infrastructure::password::{Argon2Hasher, HashingPool};
use request_desk_infrastructure::postgres::{self, PgStore, PoolConfig};

use crate::auth::{TokenSigner, Tokens, UserDirectory};
use crate::booking_gate::BookingGate;
use crate::db_health::{fail_fast, spawn_prober, DbHealth};
use crate::error::{contract_body_for_bare_errors, extractor_errors, ApiError};
use crate::live::Backend;
use crate::metrics::{observe, Metrics};
use crate::rate_limit::{RateLimiters, RateLimits};
use crate::routes::health::HealthCheck;
use crate::{routes, seed, web_client};

/// Largest request body accepted (64 KiB); larger answers 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Listen backlog: connections the kernel queues before `accept`. The std
/// listener's 128 made SYNs retransmit (1 s stalls) when thousands of hub
/// clients connect at once; `LISTEN_BACKLOG` overrides it (the kernel caps it
/// at `net.core.somaxconn`).
pub const DEFAULT_LISTEN_BACKLOG: i32 = 4096;

/// Binds `addr` with `SO_REUSEADDR` and a listen backlog of `backlog`.
///
/// # Errors
///
/// An unresolvable address, or the socket calls failing.
pub fn bind_listener(addr: &str, backlog: i32) -> std::io::Result<TcpListener> {
    let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    })?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// The listen backlog: `LISTEN_BACKLOG` if set to a positive number, else
/// [`DEFAULT_LISTEN_BACKLOG`].
fn listen_backlog() -> anyhow::Result<i32> {
    match std::env::var("LISTEN_BACKLOG") {
        Err(_) => Ok(DEFAULT_LISTEN_BACKLOG),
        Ok(v) => v
            .parse::<i32>()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("LISTEN_BACKLOG must be a positive integer, got {v:?}")),
    }
}

/// Open connections one actix worker accepts (hub clients stay connected).
pub const MAX_CONNECTIONS_PER_WORKER: usize = 100_000;

/// The limits and timeouts of one instance (see `docs/operations.md`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wait for a pooled connection at most this long, then 503.
    pub pool_timeout: std::time::Duration,
    /// PostgreSQL `lock_timeout` on pooled connections (zero: off).
    pub lock_timeout: std::time::Duration,
    /// PostgreSQL `statement_timeout` on pooled connections (zero: off).
    pub statement_timeout: std::time::Duration,
    /// Bookings for one date holding a connection at once.
    pub booking_connections_per_date: usize,
    /// How long a booking waits for its date's turn before 503.
    pub booking_queue_timeout: std::time::Duration,
    /// How long a looked-up user (role, disabled) is trusted.
    pub user_cache_ttl: std::time::Duration,
    /// Password hashing threads and the jobs that may wait for them.
    pub hash_threads: usize,
    pub hash_queue: usize,
    pub rate: RateLimits,
}

impl Default for Limits {
    fn default() -> Self {
        let pool = PoolConfig::default();
        let hash_threads = HashingPool::default_threads();
        Limits {
            pool_timeout: pool.connection_timeout,
            lock_timeout: pool.lock_timeout,
            statement_timeout: pool.statement_timeout,
            booking_connections_per_date: 3,
            booking_queue_timeout: std::time::Duration::from_secs(5),
            user_cache_ttl: std::time::Duration::from_secs(2),
            hash_threads,
            hash_queue: hash_threads * 64,
            rate: RateLimits::default(),
        }
    }
}

/// Everything needed to start one server instance. Its `Debug` leaves out
/// the database URL (it may hold a password) and the JWT secret.
#[derive(Clone)]
pub struct ServerSettings {
    pub database_url: String,
    pub pool_size: u32,
    pub limits: Limits,
    pub jwt_secret: String,
    pub jwt_ttl: time::Duration,
    pub hold_ttl: HoldTtl,
    pub bind_addr: String,
    pub seed_demo: bool,
    /// Where the web client comes from.
    pub web_client: crate::web_client::WebClient,
    pub hub: HubConfig,
    /// `CORS_ALLOWED_ORIGINS`; empty → same origin only.
    pub cors: crate::cors::AllowedOrigins,
}

impl std::fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured in full: a new setting does not compile until it is
        // listed here.
        let ServerSettings {
            database_url: _,
            pool_size,
            limits,
            jwt_secret: _,
            jwt_ttl,
            hold_ttl,
            bind_addr,
            seed_demo,
            web_client,
            hub,
            cors,
        } = self;
        f.debug_struct("ServerSettings")
            .field("database_url", &crate::config::Redacted)
            .field("pool_size", pool_size)
            .field("limits", limits)
            .field("jwt_secret", &crate::config::Redacted)
            .field("jwt_ttl", jwt_ttl)
            .field("hold_ttl", hold_ttl)
            .field("bind_addr", bind_addr)
            .field("seed_demo", seed_demo)
            .field("web_client", web_client)
            .field("hub", hub)
            .field("cors", cors)
            .finish()
    }
}

/// A bound, ready-to-run server.
pub struct Application {
    addr: SocketAddr,
    server: Server,
    hub: Hub,
    http_connections: crate::drain::HttpConnections,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Connects, migrates, seeds (if asked) and binds; does not serve yet.
    pub async fn build(settings: ServerSettings) -> anyhow::Result<Application> {
        let (pool, pool_timeouts) = postgres::counted_pool(
            &settings.database_url,
            &PoolConfig {
                max_size: settings.pool_size,
                connection_timeout: settings.limits.pool_timeout,
                lock_timeout: settings.limits.lock_timeout,
                statement_timeout: settings.limits.statement_timeout,
            },
        );
        let store = PgStore::new(pool);
        let migrate_store = store.clone();
        let applied = web::block(move || postgres::run_migrations(migrate_store.pool()))
            .await?
            .context("applying database migrations")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied migrations");
        }

        let metrics = Metrics::new();
        let directory = Arc::new(UserDirectory::new(
            Arc::new(store.clone()),
            settings.limits.user_cache_ttl,
        ));
        let tokens = Arc::new(Tokens::new(
            TokenSigner::new(&settings.jwt_secret, settings.jwt_ttl),
            directory,
        ));
        let hashing = HashingPool::new(settings.limits.hash_threads, settings.limits.hash_queue);
        let limiters = web::Data::new(RateLimiters::new(settings.limits.rate));
        let tidy_limiters = limiters.clone();
        actix_web::rt::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                tidy_limiters.tidy();
            }
        });
        let gate = web::Data::new(BookingGate::new(
            settings.limits.booking_connections_per_date,
            settings.limits.booking_queue_timeout,
        ));
        let health_store = PgStore::new(postgres::health_pool(&settings.database_url));
        let db_health = DbHealth::new();
        let health = web::Data::new(HealthCheck {
            store: health_store.clone(),
            state: db_health.clone(),
        });
        let pools = web::Data::new(crate::routes::health::Pools {
            main: store.clone(),
            main_timeouts: pool_timeouts,
            health: health_store.clone(),
        });
        let store_port = Arc::new(store.clone());
        let clock = Arc::new(SystemClock);
        let desk = RequestDesk::new(Ports {
            users: store_port.clone(),
            passwords: Arc::new(Argon2Hasher::default()),
            settings: store_port.clone(),
            days: store_port.clone(),
            requests: store_port.clone(),
            holds: store_port.clone(),
            notifications: store_port,
            clock: clock.clone(),
        })
        .with_hold_ttl(settings.hold_ttl);
        // The hub is built from what it serves: no cycle to break at run time.
        let hub = Hub::new(
            Arc::new(Backend {
                tokens: tokens.clone(),
                desk: desk.clone(),
            }),
            settings.hub.clone(),
        );

        if settings.seed_demo {
            let seed_desk = desk.clone();
            web::block(move || seed::seed_demo(&seed_desk))
                .await?
                .context("seeding the demo users")?;
        }

        // The one delivery path: every committed change — this instance's own
        // included — reaches this instance's viewers from the change stream,
        // off the request path, from the current version on (read after
        // seeding, which changes the settings).
        let version_desk = desk.clone();
        let latest = web::block(move || version_desk.latest_version())
            .await?
            .context("reading the current version")?;
        spawn_delivery(
            settings.database_url.clone(),
            ListenerConfig::default(),
            Outlets {
                feed: Arc::new(desk.clone()),
                sink: Arc::new(crate::auth::ForgetChangedUsers {
                    users: tokens.users.clone(),
                    inner: HubDelivery::new(hub.clone(), Arc::new(metrics.clone())),
                }),
                clock,
                observer: Arc::new(metrics.clone()),
            },
            latest,
        );

        spawn_hold_sweeper(desk.clone(), metrics.clone());
        spawn_prober(db_health.clone(), health_store);

        let listener = bind_listener(&settings.bind_addr, listen_backlog()?)
            .with_context(|| format!("binding {}", settings.bind_addr))?;
        let addr = listener.local_addr()?;
        let server_hub = hub.clone();
        let web_client = settings.web_client.clone();
        let cors = settings.cors.clone();
        let upgrade_hub = hub.clone();
        let builder = actix_server::Server::build();
        // Tells each connection when the server stops, so that kept-alive
        // ones close instead of waiting out the shutdown timeout (what
        // actix-web's `HttpServer` wires, and `HttpService::build` does not).
        let stopping = builder.graceful_shutdown_signal();
        let http_connections = crate::drain::HttpConnections::default();
        let counted = http_connections.clone();
        let server = builder
            // Hub connections are long-lived: actix's default of 25,000 per worker would cap them.
            .max_concurrent_connections(MAX_CONNECTIONS_PER_WORKER)
            .disable_signals()
            .shutdown_timeout(5)
            .listen("request-desk", listener, move || {
                let app = App::new()
                    .app_data(web::Data::new(counted.clone()))
                    .app_data(web::Data::new(desk.clone()))
                    .app_data(web::Data::new(tokens.clone()))
                    .app_data(web::Data::new(store.clone()))
                    .app_data(web::Data::new(server_hub.clone()))
                    .app_data(web::Data::new(metrics.clone()))
                    .app_data(web::Data::new(hashing.clone()))
                    .app_data(limiters.clone())
                    .app_data(gate.clone())
                    .app_data(health.clone())
                    .app_data(pools.clone())
                    .app_data(web::Data::new(db_health.clone()))
                    .app_data(web::Data::new(crate::openapi::DocsPage(web_client.clone())))
                    .app_data(
                        web::JsonConfig::default()
                            .limit(MAX_BODY_BYTES)
                            .error_handler(extractor_errors::json),
                    )
                    .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                    .app_data(web::PathConfig::default().error_handler(extractor_errors::path))
                    .app_data(web::QueryConfig::default().error_handler(extractor_errors::query))
                    .app_data(web::Data::new(cors.clone()))
                    .wrap(from_fn(fail_fast))
                    .wrap(actix_web::middleware::Condition::new(
                        !cors.is_empty(),
                        cors.cors(),
                    ))
                    .wrap(ErrorHandlers::new().default_handler(contract_body_for_bare_errors))
                    .wrap(actix_web::middleware::Condition::new(
                        !cors.is_empty(),
                        from_fn(crate::cors::only_for_allowed),
                    ))
                    .wrap(from_fn(observe))
                    .wrap(from_fn(crate::drain::close_connections_while_draining))
                    .configure(routes::configure)
                    .configure(|c| server_hub.configure(c))
                    .configure(web_client::configure(web_client.clone()))
                    .default_service(web::to(|req: actix_web::HttpRequest| async move {
                        Err::<actix_web::HttpResponse, _>(ApiError::not_found(format!(
                            "no route for {} {}",
                            req.method(),
                            req.path()
                        )))
                    }));
                // What actix-web's `HttpServer` builds, plus the hub's upgrade
                // hook: a WebSocket leaves the HTTP dispatcher (and its buffers)
                // as soon as it is upgraded.
                let stopping = stopping.clone();
                let counted = counted.clone();
                HttpService::build()
                    .on_connect_ext(move |_, extensions| counted.track(extensions))
                    .graceful_shutdown_signal(move || {
                        let stopping = stopping.clone();
                        async move { stopping.notified().await }
                    })
                    .local_addr(addr)
                    .upgrade(upgrade_hub.engine().websocket_upgrade())
                    .finish(map_config(
                        app.into_factory()
                            .map_err(|err: actix_web::Error| err.error_response()),
                        |_| AppConfig::default(),
                    ))
                    .tcp()
            })?
            .run();
        Ok(Application {
            addr,
            server,
            hub,
            http_connections,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until stopped; for tests, which drop the task to stop it.
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves until SIGINT or SIGTERM, then tells every hub client to
    /// reconnect elsewhere and stops gracefully.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let hub = self.hub.clone();
        let http = self.http_connections.clone();
        actix_web::rt::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: draining (hub clients reconnect elsewhere, HTTP connections close after their next response)");
            hub.shutdown();
            crate::drain::drained(&hub, &http).await;
            tracing::info!(
                open_http_connections = http.open(),
                "drained; stopping the listener"
            );
            handle.stop(true).await;
        });
        self.server.await
    }
}

/// How often each instance offers to sweep expired holds; one sweep runs at a
/// time per database, whichever instance gets there first.
const HOLD_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Frees the slots of expired holds shortly after they expire (a change like
/// any other: stamped and announced). Reads never count an expired hold,
/// sweep or not; the sweep is what tells viewers.
fn spawn_hold_sweeper(desk: RequestDesk, metrics: Metrics) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(HOLD_SWEEP_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let desk = desk.clone();
            match web::block(move || desk.sweep_holds()).await {
                Ok(Ok(freed)) => {
                    metrics.sweeps.with_label_values(&["ok"]).inc();
                    metrics.holds_expired.inc_by(freed as u64);
                    if freed > 0 {
                        tracing::debug!(freed, "expired holds freed");
                    }
                }
                Ok(Err(e)) => {
                    metrics.sweeps.with_label_values(&["error"]).inc();
                    tracing::warn!(error = %request_desk_domain::error::chain(&e), "sweeping expired holds failed; retrying")
                }
                Err(_) => return, // shutting down
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listener_binds_and_accepts() {
        let listener = bind_listener("127.0.0.1:0", DEFAULT_LISTEN_BACKLOG).unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let (_, peer) = listener.accept().unwrap();
        assert_eq!(peer.ip(), addr.ip());
    }

    #[test]
    fn an_unresolvable_address_is_an_error() {
        assert!(bind_listener("not an address", 16).is_err());
    }

    #[test]
    fn settings_never_print_the_database_password_or_the_jwt_secret() {
        let settings = ServerSettings {
            database_url: "postgres://app:hunter2@db/desk".into(),
            pool_size: 4,
            limits: Limits::default(),
            jwt_secret: "s3cret-signing-key".into(),
            jwt_ttl: time::Duration::minutes(5),
            hold_ttl: HoldTtl::DEFAULT,
            bind_addr: "127.0.0.1:0".into(),
            seed_demo: false,
            web_client: crate::web_client::WebClient::None,
            hub: HubConfig::default(),
            cors: Default::default(),
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("s3cret"));
        assert!(printed.contains("pool_size: 4"));
    }
}
