//! The web client built into the binary: a release build carries `web/dist`
//! as it was when the binary was built (`just release` builds the client
//! first), so `request-desk` serves the whole product from any directory.
//!
//! Served like the directory is (see the parent module): client routes fall
//! back to `index.html`, `/assets/` is immutable and the rest `no-cache`,
//! the build's `.br`/`.gz` copies are sent as they are in the negotiated
//! encoding, source maps are never served (not even embedded). Every file
//! has an `ETag` (its SHA-256), so a revalidation costs a 304.

use std::borrow::Cow;

#[cfg(test)]
use actix_web::body::BoxBody;
use actix_web::http::header::{
    AcceptEncoding, ContentEncoding, HeaderValue, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE,
    ETAG, IF_NONE_MATCH, VARY,
};
use actix_web::http::Method;
use actix_web::middleware::Compress;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use rust_embed::{EmbeddedFile, RustEmbed};

use super::{copy_encoding, is_reserved, not_found, plain_path, IMMUTABLE, REVALIDATE};

/// `web/dist` at build time. A debug build reads the folder at run time
/// instead (rust-embed's behaviour), which is why only release builds use it
/// (see `WebClient::choose`). Missing at build time: nothing embedded.
#[derive(RustEmbed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
#[exclude = "*.map"]
#[derive(Debug)]
pub struct Dist;

/// Whether `E` holds a built client.
pub fn has_client<E: RustEmbed>() -> bool {
    E::get("index.html").is_some()
}

/// Serves the embedded client at `/`.
pub fn configure<E: RustEmbed + 'static>(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("")
            .wrap(Compress::default())
            .default_service(web::to(serve::<E>)),
    );
}

/// Answers `req` from `E`: the file at its path, else (a client route) the index.
async fn serve<E: RustEmbed>(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    if !matches!(*req.method(), Method::GET | Method::HEAD)
        || is_reserved(path)
        || path.ends_with(".map")
    {
        return not_found(&req);
    }
    let relative = path.trim_start_matches('/');
    let wanted = if relative.is_empty() {
        "index.html".to_owned()
    } else if relative.ends_with('/') {
        format!("{relative}index.html")
    } else {
        relative.to_owned()
    };
    let found = plain_path(&wanted)
        .then(|| E::get(&wanted))
        .flatten()
        .map(|file| (Cow::Owned(wanted), file));
    let Some((name, file)) =
        found.or_else(|| E::get("index.html").map(|f| (Cow::Borrowed("index.html"), f)))
    else {
        return not_found(&req);
    };
    file_response::<E>(&req, &name, file)
}

/// The page `name` of `E` (e.g. `api-docs/index.html`), if embedded.
pub fn page<E: RustEmbed>(req: &HttpRequest, name: &str) -> Option<HttpResponse> {
    E::get(name).map(|file| file_response::<E>(req, name, file))
}

fn etag(file: &EmbeddedFile) -> String {
    let hash = file.metadata.sha256_hash();
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn file_response<E: RustEmbed>(req: &HttpRequest, name: &str, file: EmbeddedFile) -> HttpResponse {
    let cache = if name.starts_with("assets/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let tag = etag(&file);
    let mut res = if req
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
    {
        HttpResponse::NotModified().finish()
    } else {
        let mut res = HttpResponse::Ok();
        res.insert_header((CONTENT_TYPE, file.metadata.mimetype()));
        let body = match precompressed::<E>(req, name) {
            Some((encoding, copy)) => {
                res.insert_header((CONTENT_ENCODING, encoding.as_str()));
                copy.data
            }
            None => file.data,
        };
        if has_copies::<E>(name) {
            res.insert_header((VARY, "accept-encoding"));
        }
        res.body(match body {
            Cow::Borrowed(bytes) => actix_web::web::Bytes::from_static(bytes),
            Cow::Owned(bytes) => actix_web::web::Bytes::from(bytes),
        })
    };
    let headers = res.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(ETAG, value);
    }
    res.map_into_boxed_body()
}

fn has_copies<E: RustEmbed>(name: &str) -> bool {
    ["br", "gz"]
        .iter()
        .any(|suffix| E::get(&format!("{name}.{suffix}")).is_some())
}

/// The build's compressed copy of `name` in the encoding the request
/// prefers, if there is one.
fn precompressed<E: RustEmbed>(
    req: &HttpRequest,
    name: &str,
) -> Option<(ContentEncoding, EmbeddedFile)> {
    let (encoding, suffix) = copy_encoding(req.get_header::<AcceptEncoding>())?;
    E::get(&format!("{name}.{suffix}")).map(|copy| (encoding, copy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::ACCEPT_ENCODING;
    use actix_web::http::StatusCode;
    use actix_web::{test, App};

    type Response = actix_web::dev::ServiceResponse<BoxBody>;

    /// A small build: `tests/fixtures/web-dist`.
    #[derive(RustEmbed)]
    #[folder = "tests/fixtures/web-dist"]
    #[exclude = "*.map"]
    #[derive(Debug)]
    struct Fixture;

    async fn get(path: &str, headers: &[(&str, &str)]) -> Response {
        let app = test::init_service(App::new().configure(configure::<Fixture>)).await;
        let mut req = test::TestRequest::get().uri(path);
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        test::call_service(&app, req.to_request()).await
    }

    async fn body(res: Response) -> String {
        String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn the_index_and_client_routes_are_revalidated() {
        for path in ["/", "/index.html", "/requests", "/requests/12"] {
            let res = get(path, &[]).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(
                res.headers().get(CACHE_CONTROL).unwrap(),
                REVALIDATE,
                "{path}"
            );
            assert!(res
                .headers()
                .get(CONTENT_TYPE)
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/html"));
            assert!(body(res).await.contains("fixture index"), "{path}");
        }
    }

    #[actix_web::test]
    async fn assets_are_immutable_and_sent_precompressed_in_the_negotiated_encoding() {
        let plain = get("/assets/app-1.js", &[]).await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(plain.headers().get(CACHE_CONTROL).unwrap(), IMMUTABLE);
        assert!(plain.headers().get(CONTENT_ENCODING).is_none());
        assert!(plain
            .headers()
            .get(CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("javascript"));
        assert!(body(plain).await.contains("fixture script"));
        for (accept, encoding, copy) in [
            ("gzip, deflate, br, zstd", "br", "brotli copy"),
            ("gzip", "gzip", "gzip copy"),
            ("br;q=0.5, gzip", "gzip", "gzip copy"),
        ] {
            let res = get("/assets/app-1.js", &[(ACCEPT_ENCODING.as_str(), accept)]).await;
            assert_eq!(
                res.headers().get(CONTENT_ENCODING).unwrap(),
                encoding,
                "{accept}"
            );
            assert_eq!(
                res.headers().get(VARY).unwrap(),
                "accept-encoding",
                "{accept}"
            );
            assert_eq!(
                res.headers().get(CACHE_CONTROL).unwrap(),
                IMMUTABLE,
                "{accept}"
            );
            assert!(body(res).await.starts_with(copy), "{accept}");
        }
    }

    #[actix_web::test]
    async fn a_matching_etag_is_a_304() {
        let first = get("/assets/app-1.js", &[]).await;
        let tag = first
            .headers()
            .get(ETAG)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let again = get("/assets/app-1.js", &[("if-none-match", &tag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers().get(ETAG).unwrap().to_str().unwrap(), tag);
        let other = get("/assets/app-1.js", &[("if-none-match", "\"nope\"")]).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[actix_web::test]
    async fn maps_reserved_paths_other_methods_and_odd_paths_are_not_served() {
        for path in ["/assets/app-1.js.map", "/api/nope", "/hubs/x", "/metrics/x"] {
            let res = get(path, &[]).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(body(res).await.contains("\"not_found\""), "{path}");
        }
        // Never a file by a path with dots or odd characters: the index, like any client route.
        let res = get("/assets/../assets/app-1.js", &[]).await;
        assert!(body(res).await.contains("fixture index"));
        let app = test::init_service(App::new().configure(configure::<Fixture>)).await;
        let res = test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }

    #[actix_web::test]
    async fn a_page_is_found_by_name() {
        let req = test::TestRequest::get().uri("/api/docs").to_http_request();
        let res = page::<Fixture>(&req, "api-docs/index.html").unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(page::<Fixture>(&req, "api-docs/missing.html").is_none());
        assert!(has_client::<Fixture>());
        assert!(
            Fixture::get("assets/app-1.js.map").is_none(),
            "source maps are not embedded"
        );
        assert!(Fixture::get("assets/app-1.js.br").is_some());
    }
}
