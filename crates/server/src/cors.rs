//! Front ends on other origins (`CORS_ALLOWED_ORIGINS`).
//!
//! The listed origins may call the REST API and the hub (negotiate and all
//! three transports) with credentials, as ASP.NET Core's `AllowCredentials()`
//! set-up for SignalR allows; [`actix_cors`] answers the preflights and adds
//! the headers. Any other origin gets no CORS header at all: actix-cors adds
//! `Access-Control-Allow-Credentials` (and the exposed headers) to every
//! response, so [`only_for_allowed`] strips them when the origin is not listed.
//! Unset, the server is same-origin only and this middleware does nothing.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// One origin as a browser sends it: `scheme://host[:port]`, nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Origin {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let raw = raw.trim().trim_end_matches('/');
        let rest = raw
            .strip_prefix("http://")
            .or_else(|| raw.strip_prefix("https://"))
            .ok_or_else(|| {
                format!("'{raw}' is not an origin: it must start with http:// or https://")
            })?;
        let valid_host = !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
        if !valid_host {
            return Err(format!(
                "'{raw}' is not an origin: scheme://host[:port], with no path, query or wildcard"
            ));
        }
        Ok(Origin(raw.to_ascii_lowercase()))
    }
}

/// The allowed origins; empty means same origin only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Arc<[Origin]>);

impl AllowedOrigins {
    pub fn new(origins: Vec<Origin>) -> Self {
        AllowedOrigins(origins.into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn allows(&self, origin: &[u8]) -> bool {
        self.0
            .iter()
            .any(|o| o.as_str().as_bytes().eq_ignore_ascii_case(origin))
    }

    /// The actix-cors middleware for these origins.
    pub fn cors(&self) -> Cors {
        self.0
            .iter()
            .fold(Cors::default(), |cors, origin| {
                cors.allowed_origin(origin.as_str())
            })
            .allowed_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            // Authorization, Content-Type, and the SignalR client's own
            // (X-Requested-With, X-SignalR-User-Agent): what was asked for.
            .allow_any_header()
            .expose_headers([header::RETRY_AFTER, header::ALLOW, header::WWW_AUTHENTICATE])
            .supports_credentials()
            .max_age(3600)
    }
}

const CORS_HEADERS: [HeaderName; 4] = [
    header::ACCESS_CONTROL_ALLOW_ORIGIN,
    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    header::ACCESS_CONTROL_EXPOSE_HEADERS,
    header::ACCESS_CONTROL_MAX_AGE,
];

/// Wrapped outside [`AllowedOrigins::cors`]: a response to an origin that is
/// not listed (or to no origin) carries no CORS header.
pub async fn only_for_allowed(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let allowed = req
        .app_data::<actix_web::web::Data<AllowedOrigins>>()
        .map(|a| a.get_ref().clone())
        .unwrap_or_default();
    let origin_allowed = req
        .headers()
        .get(header::ORIGIN)
        .is_some_and(|o| allowed.allows(o.as_bytes()));
    let mut res = next.call(req).await?;
    if !origin_allowed {
        let headers = res.headers_mut();
        for name in CORS_HEADERS {
            headers.remove(name);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;
    use actix_web::middleware::from_fn;
    use actix_web::{test as http, web, App, HttpResponse};

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(
            "https://Desk.Example.com/"
                .parse::<Origin>()
                .unwrap()
                .as_str(),
            "https://desk.example.com"
        );
        assert!("http://localhost:5173".parse::<Origin>().is_ok());
        for bad in [
            "desk.example.com",
            "https://",
            "https://a.com/app",
            "*",
            "https://*.a.com",
        ] {
            assert!(bad.parse::<Origin>().is_err(), "{bad}");
        }
    }

    #[actix_web::test]
    async fn a_listed_origin_gets_credentials_and_others_get_no_cors_header() {
        let allowed = AllowedOrigins::new(vec!["http://front.test:5173".parse().unwrap()]);
        let app = http::init_service(
            App::new()
                .app_data(web::Data::new(allowed.clone()))
                .wrap(allowed.cors())
                .wrap(from_fn(only_for_allowed))
                .route("/api/x", web::post().to(HttpResponse::Ok)),
        )
        .await;

        let preflight = http::TestRequest::default()
            .method(Method::OPTIONS)
            .uri("/api/x")
            .insert_header((header::ORIGIN, "http://front.test:5173"))
            .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "POST"))
            .insert_header((
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization,content-type",
            ))
            .to_request();
        let res = http::call_service(&app, preflight).await;
        assert_eq!(res.status(), StatusCode::OK);
        let h = res.headers();
        assert_eq!(
            h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
            "http://front.test:5173"
        );
        assert_eq!(
            h.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).unwrap(),
            "true"
        );
        assert!(h
            .get(header::ACCESS_CONTROL_ALLOW_HEADERS)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("authorization"));

        let simple = http::TestRequest::post()
            .uri("/api/x")
            .insert_header((header::ORIGIN, "http://front.test:5173"))
            .to_request();
        let res = http::call_service(&app, simple).await;
        assert_eq!(
            res.headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .unwrap(),
            "http://front.test:5173"
        );
        assert_eq!(
            res.headers()
                .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
                .unwrap(),
            "true"
        );

        for origin in [Some("http://evil.test"), None] {
            let mut req = http::TestRequest::post().uri("/api/x");
            if let Some(origin) = origin {
                req = req.insert_header((header::ORIGIN, origin));
            }
            let res = http::call_service(&app, req.to_request()).await;
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "{origin:?}: not blocked, only not shared"
            );
            for name in CORS_HEADERS {
                assert!(res.headers().get(&name).is_none(), "{origin:?}: {name}");
            }
        }
        let preflight = http::TestRequest::default()
            .method(Method::OPTIONS)
            .uri("/api/x")
            .insert_header((header::ORIGIN, "http://evil.test"))
            .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "POST"))
            .to_request();
        let res = http::call_service(&app, preflight).await;
        assert!(res.status().is_client_error());
        assert!(res
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
    }
}
