//! Serves the built reference web client (`web/dist`) at `/`.
//!
//! Client-side routes fall back to `index.html`; `/api`, `/hubs`, `/health`
//! and `/metrics` are never shadowed (unknown paths there stay JSON 404s).
//! Without a build, `/` explains how to make one.

use std::path::PathBuf;

use actix_files::{Files, NamedFile};
use actix_web::dev::{fn_service, ServiceRequest, ServiceResponse};
use actix_web::{web, HttpResponse};

use crate::error::ApiError;

const RESERVED: [&str; 4] = ["/api", "/hubs", "/health", "/metrics"];

fn is_reserved(path: &str) -> bool {
    RESERVED
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

pub fn configure(dist: Option<PathBuf>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| match dist.filter(|d| d.join("index.html").is_file()) {
        Some(dist) => {
            let index = dist.join("index.html");
            cfg.service(
                Files::new("/", dist)
                    .index_file("index.html")
                    .default_handler(fn_service(move |req: ServiceRequest| {
                        let index = index.clone();
                        async move {
                            let (req, _) = req.into_parts();
                            if is_reserved(req.path())
                                || req.method() != actix_web::http::Method::GET
                            {
                                let res =
                                    actix_web::ResponseError::error_response(&ApiError::not_found(
                                        format!("no route for {} {}", req.method(), req.path()),
                                    ));
                                return Ok(ServiceResponse::new(req, res));
                            }
                            let file = NamedFile::open_async(index).await?;
                            let res = file.into_response(&req);
                            Ok(ServiceResponse::new(req, res))
                        }
                    })),
            );
        }
        None => {
            cfg.route("/", web::get().to(not_built));
        }
    }
}

async fn not_built() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(
        "<!doctype html><meta charset=utf-8><title>Request Desk</title>\
         <h1>Request Desk is running</h1>\
         <p>The API is at <code>/api</code> and the live hub at <code>/hubs/notifications</code>.</p>\
         <p>The web client is not built. Install Node.js 20+ and run <code>just web</code> \
         (or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>), then restart.</p>",
    )
}
