//! The OpenAPI 3.1 description of the REST API, generated from the handlers
//! (`#[utoipa::path]` on each) and the wire types (`ToSchema`), served at
//! `GET /api/openapi.json`, with a browsable reference at `/api/docs`.
//!
//! The error responses every operation can give (`bad_request`, `internal`,
//! `service_unavailable`, and `unauthorized` where a token is required,
//! `payload_too_large` where there is a body) are added here once by
//! [`CommonErrors`]; each handler lists the ones particular to it. The hub's
//! event payloads are components too, so clients type them from one source.

use actix_files::NamedFile;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, Response};
use utoipa::{Modify, OpenApi};

use crate::error::{ApiError, ErrorBody};
use crate::routes::{self, Endpoint};
use crate::web_client::{embedded, WebClient};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Request Desk",
        description = "Live capacity booking for work requests. Every error has the body \
            `{\"error\": code, \"message\", \"details\"?}`. Live updates come from the SignalR hub at \
            `/hubs/notifications`; its event payloads are the `CapacityUpdated`, \
            `CapacitySettingsChanged`, `Notification` and `InboxUpdated` components."
    ),
    paths(
        routes::auth::register,
        routes::auth::login,
        routes::auth::me,
        routes::auth::list_users,
        routes::auth::create_user,
        routes::auth::update_user,
        routes::settings::public,
        routes::settings::update,
        routes::settings::set_override,
        routes::settings::clear_override,
        routes::availability::availability,
        routes::availability::changes,
        routes::requests::create,
        routes::requests::list,
        routes::requests::get,
        routes::requests::update,
        routes::requests::cancel,
        routes::requests::set_status,
        routes::holds::take,
        routes::holds::list,
        routes::holds::release,
        routes::notifications::inbox,
        routes::notifications::read,
        routes::notifications::read_all,
        routes::health::live,
        routes::health::ready,
        routes::health::metrics,
        openapi_json,
        docs,
    ),
    components(schemas(
        ErrorBody,
        request_desk_infrastructure::live::hub::CapacityUpdated,
        request_desk_infrastructure::live::hub::CapacitySettingsChanged,
        request_desk_infrastructure::live::hub::InboxUpdated,
        request_desk_domain::notification::Notification,
    )),
    modifiers(&CommonErrors),
    tags(
        (name = "auth", description = "Sign-in and accounts"),
        (name = "settings", description = "Capacity settings and day overrides (admin)"),
        (name = "availability", description = "Day capacity for the picker"),
        (name = "requests", description = "Work requests"),
        (name = "holds", description = "A slot kept while its taker fills in the form"),
        (name = "notifications", description = "The inbox"),
        (name = "operations", description = "Health, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// The document as served, built once.
pub fn document() -> &'static Value {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
        add_links(&mut doc);
        doc
    })
}

/// Adds the bearer scheme and the error responses every operation shares.
#[derive(Debug)]
struct CommonErrors;

fn error_response(description: &str) -> Response {
    Response::builder()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build()
}

fn add_error(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| error_response(description).into());
}

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
            ]
            .into_iter()
            .flatten()
            {
                add_error(
                    op,
                    "400",
                    "`bad_request`: unparseable JSON, wrong types or a bad query string",
                );
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add_error(
                        op,
                        "401",
                        "`unauthorized`: no token, or an expired, forged or revoked one",
                    );
                }
                if op.request_body.is_some() {
                    add_error(op, "413", "`payload_too_large`: a body over 64 KiB");
                }
                add_error(
                    op,
                    "500",
                    "`internal`: an unexpected failure (never with internals)",
                );
                add_error(op, "503", "`service_unavailable`: the database or a queue is busy; try again (`Retry-After`)");
            }
        }
    }
}

/// What a created resource leads to: `(operation, status, path parameter,
/// the operations that take it)`. Links let clients (and schemathesis's
/// stateful phase) follow an id from the answer that made it.
const LINKS: &[(&str, &str, &str, &[&str])] = &[
    (
        "createRequest",
        "201",
        "id",
        &[
            "getRequest",
            "updateRequest",
            "cancelRequest",
            "setRequestStatus",
        ],
    ),
    ("takeHold", "201", "id", &["releaseHold"]),
    ("createUser", "201", "id", &["updateUser"]),
    ("register", "201", "id", &["updateUser"]),
];

/// Adds [`LINKS`] to the serialized document (utoipa 5.5 writes a link's
/// `operationId` as `operation_id`, so links are added as JSON).
fn add_links(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        let Some(id) = op["operationId"].as_str().map(str::to_owned) else {
            continue;
        };
        for (_, status, param, targets) in LINKS.iter().filter(|(from, ..)| *from == id) {
            let links: serde_json::Map<String, Value> = targets
                .iter()
                .map(|target| {
                    let link = json!({
                        "operationId": target,
                        "parameters": { (*param): format!("$response.body#/{param}") },
                    });
                    ((*target).to_owned(), link)
                })
                .collect();
            op["responses"][*status]["links"] = Value::Object(links);
        }
    }
}

/// Where the built API reference lives (`web/dist/api-docs`).
#[derive(Debug, Clone)]
pub struct DocsPage(pub WebClient);

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/api/openapi.json").get(openapi_json),
        Endpoint::new("/api/docs").get(docs),
    ]
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", operation_id = "openapi", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// A browsable reference of this document (Swagger UI, from the web client's build).
#[utoipa::path(get, path = "/api/docs", operation_id = "docs", tag = "operations",
    responses(
        (status = 200, description = "The reference page", content_type = "text/html", body = String),
        (status = 404, description = "`not_found`: the web client (which carries the page) is not built", body = ErrorBody),
    ))]
pub async fn docs(req: HttpRequest, page: web::Data<DocsPage>) -> Result<HttpResponse, ApiError> {
    const PAGE: &str = "api-docs/index.html";
    let found = match &page.0 {
        WebClient::Dir(dir) if dir.join(PAGE).is_file() => Some(
            NamedFile::open_async(dir.join(PAGE))
                .await
                .map_err(|e| ApiError::internal(&e))?
                .into_response(&req),
        ),
        WebClient::Embedded => embedded::page::<embedded::Dist>(&req, PAGE),
        WebClient::Dir(_) | WebClient::None => None,
    };
    match found {
        Some(res) => Ok(res),
        None => Err(ApiError::not_found(
            "the API reference is part of the web client: build it with `just web`; \
             the document itself is at /api/openapi.json",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(path, METHOD)` of every documented operation.
    fn documented() -> Vec<(String, String)> {
        document()["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| (path.clone(), m.to_uppercase()))
            })
            .collect()
    }

    #[test]
    fn every_route_is_in_the_document_and_every_documented_route_exists() {
        let documented = documented();
        let served: Vec<(String, String)> = routes::endpoints()
            .iter()
            .flat_map(|e| {
                e.methods()
                    .iter()
                    .filter(|m| **m != "HEAD")
                    .map(move |m| (e.path().to_owned(), (*m).to_owned()))
            })
            .collect();
        let missing: Vec<_> = served.iter().filter(|r| !documented.contains(r)).collect();
        assert!(
            missing.is_empty(),
            "routes missing from the OpenAPI document: {missing:?}"
        );
        let unserved: Vec<_> = documented.iter().filter(|r| !served.contains(r)).collect();
        assert!(
            unserved.is_empty(),
            "documented but not served: {unserved:?}"
        );
    }

    #[test]
    fn operation_ids_are_unique_and_links_name_real_operations() {
        let ops: Vec<&Value> = document()["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .collect();
        let ids: Vec<&str> = ops
            .iter()
            .map(|op| {
                op["operationId"]
                    .as_str()
                    .expect("every operation has an id")
            })
            .collect();
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "operation ids repeat: {ids:?}");
        for (from, status, _, targets) in LINKS {
            assert!(ids.contains(from), "{from}");
            let op = ops.iter().find(|op| op["operationId"] == *from).unwrap();
            for target in *targets {
                assert!(ids.contains(target), "{target}");
                assert_eq!(
                    op["responses"][*status]["links"][*target]["operationId"],
                    *target
                );
            }
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_the_error_body_and_the_hub_payloads() {
        let json = document();
        assert_eq!(json["openapi"], "3.1.0");
        let schemas = &json["components"]["schemas"];
        for name in [
            "ErrorBody",
            "CapacityUpdated",
            "CapacitySettingsChanged",
            "InboxUpdated",
            "Notification",
            "Day",
            "Request",
            "Hold",
        ] {
            assert!(schemas.get(name).is_some(), "{name} missing");
        }
        // Every operation documents its errors with the contract's body.
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.contains_key("500"), "{method} {path}");
                for (status, response) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert_eq!(
                            response["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/ErrorBody",
                            "{method} {path} {status}"
                        );
                    }
                }
            }
        }
    }
}
