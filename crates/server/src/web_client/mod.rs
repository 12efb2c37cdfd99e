//! Serves the built reference web client (`web/dist`) at `/`.
//!
//! Client-side routes fall back to `index.html`; `/api`, `/hubs`, `/health`
//! and `/metrics` are never shadowed (unknown paths there stay JSON 404s).
//! Without a build, `/` explains how to make one.
//!
//! Delivery: responses are compressed (brotli or gzip, whichever the browser prefers).
//! The build compresses its files ahead (`web/scripts/precompress.mjs`: a
//! `.br` and a `.gz` beside each text file of 1 KiB or more); such a copy is
//! sent as it is, so a cold page load costs the server no compression at all,
//! and only what has none (`index.html`, small files, a build made without the
//! script) is compressed as it is sent. The choice between the two follows
//! the `Accept-Encoding` negotiation of actix's `Compress`, so a file is sent
//! in the same encoding either way (brotli when both are accepted equally).
//! The content-hashed files under `/assets/` are cached for a year as
//! `immutable`, while `index.html` (and every client route that falls back to
//! it) is `no-cache`, so a new build is picked up on the next load. Source
//! maps (`*.map`) are never served, even if a build left them in `dist`.
//!
//! Where it comes from ([`WebClient`]): `WEB_DIST_DIR` when set; else, in a
//! release build that carries one, the client embedded at build time
//! ([`embedded`]); else the checkout's `web/dist`.

use std::path::{Path, PathBuf};
use std::rc::Rc;

pub mod embedded;

use actix_files::{Files, NamedFile};
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{fn_service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    AcceptEncoding, ContentEncoding, Encoding, HeaderValue, CACHE_CONTROL, RANGE, VARY,
};
use actix_web::http::Method;
use actix_web::middleware::{from_fn, Compress, Next};
use actix_web::{web, HttpMessage, HttpResponse};

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

/// The encodings `Compress` offers (with the same features), in its order: negotiating over
/// the same list picks the same encoding for a file whether it has a copy compressed ahead or not.
const NEGOTIATED: [Encoding; 4] = [
    Encoding::identity(),
    Encoding::brotli(),
    Encoding::gzip(),
    Encoding::deflate(),
];

/// The copy of the requested file that the build compressed ahead in the encoding this
/// request negotiates (`name.br` or `name.gz` in `dist`), if there is one: the file's path
/// and the copy's. Only whole-file `GET`s and `HEAD`s of plain paths are looked up.
fn precompressed(dist: &Path, req: &ServiceRequest) -> Option<(PathBuf, PathBuf, ContentEncoding)> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) || req.headers().contains_key(RANGE) {
        return None;
    }
    let relative = req.path().strip_prefix('/')?;
    if !plain_path(relative) {
        return None;
    }
    let (encoding, suffix) = copy_encoding(req.get_header::<AcceptEncoding>())?;
    let file = dist.join(relative);
    let copy = dist.join(format!("{relative}.{suffix}"));
    (file.is_file() && copy.is_file()).then_some((file, copy, encoding))
}

/// The encoding of the build's compressed copies (`.br`, `.gz`) that
/// `accept` negotiates, and the copy's suffix; `None` for any other choice.
fn copy_encoding(accept: Option<AcceptEncoding>) -> Option<(ContentEncoding, &'static str)> {
    match accept?.negotiate(NEGOTIATED.iter())? {
        Encoding::Known(ContentEncoding::Brotli) => Some((ContentEncoding::Brotli, "br")),
        Encoding::Known(ContentEncoding::Gzip) => Some((ContentEncoding::Gzip, "gz")),
        _ => None,
    }
}

/// `file`'s copy compressed ahead, sent as `file` itself (its type and name) in `encoding`.
async fn send_precompressed(
    req: &actix_web::HttpRequest,
    file: PathBuf,
    copy: PathBuf,
    encoding: ContentEncoding,
) -> Result<HttpResponse<BoxBody>, actix_web::Error> {
    let opened = web::block(move || std::fs::File::open(copy)).await??;
    let mut res = NamedFile::from_file(opened, file)?
        .set_content_encoding(encoding)
        .into_response(req);
    res.headers_mut()
        .insert(VARY, HeaderValue::from_static("accept-encoding"));
    Ok(res)
}

/// Sets `Cache-Control` on what the client build serves, sends the copies the build
/// compressed ahead, and hides source maps.
async fn delivery(
    dist: Rc<Path>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if req.path().ends_with(".map") {
        let (req, _) = req.into_parts();
        let res = not_found(&req);
        return Ok(ServiceResponse::new(req, res).map_into_right_body());
    }
    let immutable = req.path().starts_with("/assets/");
    let mut res = match precompressed(&dist, &req) {
        Some((file, copy, encoding)) => {
            let (req, _) = req.into_parts();
            let res = send_precompressed(&req, file, copy, encoding).await?;
            ServiceResponse::new(req, res).map_into_right_body()
        }
        None => next.call(req).await?.map_into_left_body(),
    };
    let status = res.status();
    if status.is_success() || status == actix_web::http::StatusCode::NOT_MODIFIED {
        let value = if immutable { IMMUTABLE } else { REVALIDATE };
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(value));
    }
    Ok(res)
}

/// Where the web client is served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebClient {
    /// No client: `/` explains how to build one.
    None,
    /// A build on disk (`WEB_DIST_DIR`, or the checkout's `web/dist`).
    Dir(PathBuf),
    /// The build embedded in this binary ([`embedded::Dist`]).
    Embedded,
}

impl WebClient {
    /// `WEB_DIST_DIR` if set; else the embedded build, in a release binary
    /// that has one; else `checkout_dist`.
    pub fn choose(configured: Option<PathBuf>, checkout_dist: PathBuf) -> WebClient {
        match configured {
            Some(dir) => WebClient::Dir(dir),
            None if cfg!(not(debug_assertions)) && embedded::has_client::<embedded::Dist>() => {
                WebClient::Embedded
            }
            None => WebClient::Dir(checkout_dist),
        }
    }

    /// Whether there is a client to serve.
    pub fn is_built(&self) -> bool {
        match self {
            WebClient::None => false,
            WebClient::Dir(dir) => dir.join("index.html").is_file(),
            WebClient::Embedded => embedded::has_client::<embedded::Dist>(),
        }
    }

    /// Where it comes from, for the start-up line.
    pub fn describe(&self) -> String {
        match self {
            WebClient::None => "none".into(),
            WebClient::Dir(dir) => dir.display().to_string(),
            WebClient::Embedded => "built into this binary".into(),
        }
    }
}

/// Whether every segment of a relative path is plain (no `.`/`..`, no empty
/// segment, only `[A-Za-z0-9._-]`), so that it can only name a file inside
/// the build.
fn plain_path(relative: &str) -> bool {
    relative.split('/').all(|segment| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    })
}

pub fn configure(client: WebClient) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| match client {
        WebClient::Embedded => embedded::configure::<embedded::Dist>(cfg),
        WebClient::Dir(dist) if dist.join("index.html").is_file() => {
            let index = dist.join("index.html");
            let root: Rc<Path> = Rc::from(dist.as_path());
            cfg.service(
                web::scope("")
                    .wrap(from_fn(move |req: ServiceRequest, next: Next<_>| {
                        delivery(Rc::clone(&root), req, next)
                    }))
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
        WebClient::Dir(_) | WebClient::None => {
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
    use actix_web::body::BodySize;
    use actix_web::http::header::{
        ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    };
    use actix_web::http::StatusCode;
    use actix_web::{test, App};

    /// A throwaway `dist` with an index, a hashed asset with the copies the build compresses
    /// ahead (stand-ins: the server sends them as they are), one without, and a source map.
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
        std::fs::write(dir.join("assets/index-abc123.js.br"), BROTLI_COPY).unwrap();
        std::fs::write(dir.join("assets/index-abc123.js.gz"), GZIP_COPY).unwrap();
        std::fs::write(dir.join("assets/lazy-def456.js"), &script).unwrap();
        std::fs::write(dir.join("assets/index-abc123.js.map"), "{}").unwrap();
        dir
    }

    const BROTLI_COPY: &[u8] = b"brotli, compressed by the build";
    const GZIP_COPY: &[u8] = b"gzip, compressed by the build";

    async fn get(
        app: &impl actix_web::dev::Service<
            actix_http::Request,
            Response = ServiceResponse,
            Error = actix_web::Error,
        >,
        path: &str,
        accept_encoding: Option<&str>,
    ) -> ServiceResponse {
        let mut req = test::TestRequest::get().uri(path);
        if let Some(value) = accept_encoding {
            req = req.insert_header((ACCEPT_ENCODING, value));
        }
        test::call_service(app, req.to_request()).await
    }

    #[actix_web::test]
    async fn hashed_assets_are_immutable_and_compressed_and_the_index_is_revalidated() {
        let dir = dist();
        let app =
            test::init_service(App::new().configure(configure(WebClient::Dir(dir.clone())))).await;

        // no copy compressed ahead: compressed as it is sent
        let res = get(&app, "/assets/lazy-def456.js", Some("gzip")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers().get(CACHE_CONTROL).unwrap(), IMMUTABLE);
        assert_eq!(res.headers().get(CONTENT_ENCODING).unwrap(), "gzip");
        let res = get(&app, "/assets/lazy-def456.js", Some("br, gzip")).await;
        assert_eq!(res.headers().get(CONTENT_ENCODING).unwrap(), "br");

        for path in ["/", "/index.html", "/requests"] {
            let res = get(&app, path, None).await;
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
    async fn copies_compressed_by_the_build_are_sent_as_they_are_in_the_negotiated_encoding() {
        let dir = dist();
        let app =
            test::init_service(App::new().configure(configure(WebClient::Dir(dir.clone())))).await;
        let path = "/assets/index-abc123.js";
        let plain = get(&app, path, None).await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert!(plain.headers().get(CONTENT_ENCODING).is_none());
        let content_type = plain.headers().get(CONTENT_TYPE).unwrap().clone();
        assert!(
            content_type.to_str().unwrap().contains("javascript"),
            "{content_type:?}"
        );

        for (accept, encoding, body) in [
            ("gzip, deflate, br, zstd", "br", BROTLI_COPY), // Chromium's: brotli first
            ("br", "br", BROTLI_COPY),
            ("gzip", "gzip", GZIP_COPY),
            ("br;q=0.5, gzip", "gzip", GZIP_COPY),
        ] {
            let res = get(&app, path, Some(accept)).await;
            assert_eq!(res.status(), StatusCode::OK, "{accept}");
            let headers = res.headers();
            assert_eq!(headers.get(CONTENT_ENCODING).unwrap(), encoding, "{accept}");
            assert_eq!(headers.get(CONTENT_TYPE).unwrap(), content_type, "{accept}");
            assert_eq!(headers.get(VARY).unwrap(), "accept-encoding", "{accept}");
            assert_eq!(headers.get(CACHE_CONTROL).unwrap(), IMMUTABLE, "{accept}");
            // sent with its length, not streamed through an encoder
            assert_eq!(
                res.response().body().size(),
                BodySize::Sized(body.len() as u64),
                "{accept}"
            );
            assert_eq!(test::read_body(res).await, body, "{accept}");
        }

        // not accepted, or a part of the file: the file itself
        for (accept, range) in [("identity", None), ("br, gzip", Some("bytes=0-6"))] {
            let mut req = test::TestRequest::get()
                .uri(path)
                .insert_header((ACCEPT_ENCODING, accept));
            if let Some(range) = range {
                req = req.insert_header((RANGE, range));
            }
            let res = test::call_service(&app, req.to_request()).await;
            assert!(res.status().is_success(), "{accept}");
            let identity = res
                .headers()
                .get(CONTENT_ENCODING)
                .is_none_or(|e| e == "identity");
            assert!(identity, "{accept} {range:?}");
            let body = test::read_body(res).await;
            assert!(body.starts_with(b"console"), "{accept} {range:?}");
        }

        // HEAD: the same headers
        let req = test::TestRequest::default()
            .method(Method::HEAD)
            .uri(path)
            .insert_header((ACCEPT_ENCODING, "br"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.headers().get(CONTENT_ENCODING).unwrap(), "br");

        // a revalidation of the copy it was sent
        let res = get(&app, path, Some("br")).await;
        let etag = res.headers().get(ETAG).unwrap().clone();
        let req = test::TestRequest::get()
            .uri(path)
            .insert_header((ACCEPT_ENCODING, "br"))
            .insert_header((IF_NONE_MATCH, etag))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(res.headers().get(CACHE_CONTROL).unwrap(), IMMUTABLE);
        std::fs::remove_dir_all(dir).ok();
    }

    #[actix_web::test]
    async fn source_maps_are_not_served_and_reserved_paths_stay_json_404s() {
        let dir = dist();
        let app =
            test::init_service(App::new().configure(configure(WebClient::Dir(dir.clone())))).await;
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
