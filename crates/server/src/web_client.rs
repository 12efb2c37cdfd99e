//! Serves the built reference web client (`web/dist`) at `/`.
//!
//! Client-side routes fall back to `index.html`; `/api`, `/hubs`, `/health`
//! and `/metrics` are never shadowed (unknown paths there stay JSON 404s).
//! Without a build, `/` explains how to make one.
//!
//! Delivery: responses are compressed (brotli or gzip, whichever the browser prefers);
//! the content-hashed files under `/assets/` are cached for a year as
//! `immutable`, while `index.html` (and every client route that falls back to
//! it) is `no-cache`, so a new build is picked up on the next load. Source
//! maps (`*.map`) are never served, even if a build left them in `dist`.

use std::path::PathBuf;

use actix_files::{Files, NamedFile};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{fn_service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, CACHE_CONTROL};
use actix_web::middleware::{from_fn, Compress, Next};
use actix_web::{web, HttpResponse};

use crate::error::ApiError;

const RESERVED: [&str; 4] = ["/api", "/hubs", "/health", "/metrics"];

/// Hashed build output: its name changes whenever its content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else (`index.html`, the favicon): revalidate on every load.
const REVALIDATE: &str = "no-cache";

fn is_reserved(path: &str) -> bool {
    RESERVED
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

fn not_found(req: &actix_web::HttpRequest) -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// Sets `Cache-Control` on what the client build serves and hides source maps.
async fn delivery(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if req.path().ends_with(".map") {
        let (req, _) = req.into_parts();
        let res = not_found(&req);
        return Ok(ServiceResponse::new(req, res).map_into_right_body());
    }
    let immutable = req.path().starts_with("/assets/");
    let mut res = next.call(req).await?;
    let status = res.status();
    if status.is_success() || status == actix_web::http::StatusCode::NOT_MODIFIED {
        let value = if immutable { IMMUTABLE } else { REVALIDATE };
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(value));
    }
    Ok(res.map_into_left_body())
}

pub fn configure(dist: Option<PathBuf>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| match dist.filter(|d| d.join("index.html").is_file()) {
        Some(dist) => {
            let index = dist.join("index.html");
            cfg.service(
                web::scope("")
                    .wrap(from_fn(delivery))
                    .wrap(Compress::default())
                    .service(
                        Files::new("/", dist)
                            .index_file("index.html")
                            .default_handler(fn_service(move |req: ServiceRequest| {
                                let index = index.clone();
                                async move {
                                    let (req, _) = req.into_parts();
                                    if is_reserved(req.path())
                                        || req.method() != actix_web::http::Method::GET
                                    {
                                        let res = not_found(&req);
                                        return Ok(ServiceResponse::new(req, res));
                                    }
                                    let file = NamedFile::open_async(index).await?;
                                    let res = file.into_response(&req);
                                    Ok(ServiceResponse::new(req, res))
                                }
                            })),
                    ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
    use actix_web::http::StatusCode;
    use actix_web::{test, App};

    /// A throwaway `dist` with an index, a hashed asset and a source map.
    fn dist() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "request-desk-web-client-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html><div id=root></div>").unwrap();
        let script = "console.log('request desk');\n".repeat(200);
        std::fs::write(dir.join("assets/index-abc123.js"), &script).unwrap();
        std::fs::write(dir.join("assets/index-abc123.js.map"), "{}").unwrap();
        dir
    }

    #[actix_web::test]
    async fn hashed_assets_are_immutable_and_compressed_and_the_index_is_revalidated() {
        let dir = dist();
        let app = test::init_service(App::new().configure(configure(Some(dir.clone())))).await;

        let req = test::TestRequest::get()
            .uri("/assets/index-abc123.js")
            .insert_header((ACCEPT_ENCODING, "gzip"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers().get(CACHE_CONTROL).unwrap(), IMMUTABLE);
        assert_eq!(res.headers().get(CONTENT_ENCODING).unwrap(), "gzip");
        let req = test::TestRequest::get()
            .uri("/assets/index-abc123.js")
            .insert_header((ACCEPT_ENCODING, "br, gzip"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.headers().get(CONTENT_ENCODING).unwrap(), "br");

        for path in ["/", "/index.html", "/requests"] {
            let req = test::TestRequest::get().uri(path).to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(
                res.headers().get(CACHE_CONTROL).unwrap(),
                REVALIDATE,
                "{path}"
            );
        }
        std::fs::remove_dir_all(dir).ok();
    }

    #[actix_web::test]
    async fn source_maps_are_not_served_and_reserved_paths_stay_json_404s() {
        let dir = dist();
        let app = test::init_service(App::new().configure(configure(Some(dir.clone())))).await;
        for path in ["/assets/index-abc123.js.map", "/api/nothing-here"] {
            let req = test::TestRequest::get().uri(path).to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(res.headers().get(CACHE_CONTROL).is_none(), "{path}");
            let body: serde_json::Value = test::read_body_json(res).await;
            assert_eq!(body["error"], "not_found", "{path}");
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
