//! `request-desk`: serves the API, hub and web client, or migrates (`request-desk migrate`).

use anyhow::{bail, Context};
use clap::Parser;
use request_desk_domain::hold::HoldTtl;
use request_desk_infrastructure::postgres::{self, PoolConfig};
use request_desk_local_postgres::{Databases, LocalCluster, LocalClusterConfig};
use request_desk_server::config::{self, Cli, Command};
use request_desk_server::test_databases;
use request_desk_server::web_client::WebClient;
use request_desk_server::{seed, telemetry, Application, ServerSettings};

fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    telemetry::init(cli.config.log_format);
    let config = cli.config;
    if cli.command == Some(Command::Openapi) {
        // A closed pipe (`| head`) ends the output quietly.
        use std::io::Write;
        let json = serde_json::to_string_pretty(request_desk_server::openapi::document())?;
        let _ = writeln!(std::io::stdout().lock(), "{json}");
        return Ok(());
    }
    let local_db_dir = config::local_db_dir(config.local_db_dir.as_deref());

    if let Some(Command::LocalDb {
        test,
        stop,
        data_dir,
        port,
        new_database,
        prefix,
    }) = cli.command.clone()
    {
        if new_database {
            let admin = test_databases::admin_url(config.database_url.as_deref(), &local_db_dir)?;
            let databases = Databases::new(&admin);
            let name = test_databases::create(&databases, &prefix)?;
            println!("{}", databases.url_for(&name));
            return Ok(());
        }
        return local_db(&local_db_dir, test, stop, data_dir.zip(port));
    }

    // Dev mode: the project-local cluster, left when `cluster` drops at the
    // end (the last dev server to leave stops it).
    let mut cluster = None;
    let database_url = match &config.database_url {
        Some(url) => url.clone(),
        None => {
            let local = LocalCluster::start(LocalClusterConfig::dev(&local_db_dir))
                .context("starting the local PostgreSQL (dev mode)")?;
            let url = local.database_url();
            cluster = Some(local);
            url
        }
    };

    if matches!(cli.command, Some(Command::Migrate)) {
        let pool = postgres::pool(&database_url, &PoolConfig::default());
        let applied = postgres::run_migrations(&pool).context("applying migrations")?;
        println!(
            "applied {} migration(s){}",
            applied.len(),
            if applied.is_empty() {
                String::new()
            } else {
                format!(": {}", applied.join(", "))
            }
        );
        return Ok(());
    }

    let jwt_secret = match (&config.jwt_secret, config.dev_mode()) {
        (Some(secret), _) => secret.0.clone(),
        (None, true) => config::dev_secret(&local_db_dir)?,
        (None, false) => bail!("JWT_SECRET must be set (at least 16 characters) when DATABASE_URL is set; see .env.example"),
    };
    let web_client = WebClient::choose(
        config.web_dist_dir.clone(),
        config::checkout_dir().join("web/dist"),
    );
    let settings = ServerSettings {
        database_url,
        pool_size: config.database_pool_size,
        limits: config.limits(),
        jwt_secret,
        jwt_ttl: time::Duration::minutes(config.jwt_ttl_minutes),
        hold_ttl: HoldTtl::from_secs(config.hold_ttl_seconds)
            .context("HOLD_TTL_SECONDS must be between 1 and 86400")?,
        bind_addr: config.bind_addr.clone(),
        seed_demo: config.seed_demo || config.dev_mode(),
        web_client: web_client.clone(),
        hub: config.hub(),
        cors: request_desk_server::cors::AllowedOrigins::new(config.cors_allowed_origins.clone()),
    };

    let result = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        let url = format!("http://{}", app.addr());
        println!("Request Desk listening on {url}");
        if config.dev_mode() {
            println!("  open {url}/ and sign in as alice@example.com / {} (also bob@, designer@, admin@example.com)", seed::DEMO_PASSWORD);
        }
        if web_client.is_built() {
            println!("  web client: {}", web_client.describe());
        } else {
            println!("  the web client is not built: run `just web` to build it (the API works without it)");
        }
        app.run_until_signalled().await.context("serving")
    });
    drop(cluster);
    result
}

/// `request-desk local-db`: start (or reuse) a local cluster, pin it and
/// print its URL; or, with `--stop`, stop it if it runs.
fn local_db(
    dir: &std::path::Path,
    test: bool,
    stop: bool,
    throw_away: Option<(std::path::PathBuf, u16)>,
) -> anyhow::Result<()> {
    let cluster_config = match throw_away {
        Some((data_dir, port)) => LocalClusterConfig {
            data_dir,
            port,
            ..LocalClusterConfig::test(dir)
        },
        None if test => LocalClusterConfig::test(dir),
        None => LocalClusterConfig::dev(dir),
    };
    if stop {
        let data_dir = cluster_config.data_dir.clone();
        let was_running = LocalCluster::stop_if_running(cluster_config)
            .context("stopping the local PostgreSQL")?;
        eprintln!(
            "{} {}",
            if was_running {
                "stopped"
            } else {
                "not running:"
            },
            data_dir.display()
        );
        return Ok(());
    }
    let cluster = LocalCluster::start(cluster_config).context("starting the local PostgreSQL")?;
    println!(
        "{}",
        if test {
            cluster.url_for("postgres")
        } else {
            cluster.database_url()
        }
    );
    cluster
        .keep_running()
        .context("pinning the local PostgreSQL")
}
