//! The OpenAPI 3.1 document, generated from the handlers' annotations. Every operation also
//! lists the error statuses the API answers with, all sharing the one error body.

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, ResponseBuilder};

use crate::error::{ErrorBody, ErrorDetail};
use crate::handlers::{
    StatusMessage, accounts, authority, contract, documents, ops, recipient, verification,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "keiyaku API", description = "keiyaku: electronic contracts sealed with PAdES signatures and RFC 3161 timestamps."),
    paths(
        accounts::signup, accounts::verify_email, accounts::login, accounts::password_check,
        accounts::change_password, accounts::request_reset, accounts::confirm_reset,
        accounts::logout, accounts::get_me, accounts::update_me,
        accounts::list_tokens, accounts::revoke_token,
        documents::create_upload, documents::receive_upload, documents::create_document,
        documents::list_documents, documents::get_document, documents::update_document, documents::delete_document,
        documents::get_document_file,
        contract::send_document, contract::approve_document, contract::reject_document,
        contract::cancel_document, contract::remind_document, contract::reissue_link,
        contract::revoke_link,
        recipient::open_session, recipient::document, recipient::file, recipient::agree,
        recipient::decline,
        ops::list_executions, ops::get_execution, ops::retry_execution,
        verification::verify, openapi_json,
        authority::ca_root_pem, authority::ca_root_cert, authority::ca_issuing_cert,
        authority::ca_root_crl, authority::ca_crl, authority::tsa,
    ),
    components(schemas(ErrorBody, ErrorDetail, StatusMessage)),
    modifiers(&Common),
)]
struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn openapi_json(
    axum::extract::State(s): axum::extract::State<crate::AppState>,
) -> axum::Json<serde_json::Value> {
    let mut doc = document(s.config.max_document_bytes);
    // The cookies' names as this deployment sets them (prefixed over https).
    for (scheme, base, whole_site) in [
        ("cookie", crate::extract::SESSION_COOKIE, true),
        (
            "recipient",
            crate::handlers::recipient::RECIPIENT_COOKIE,
            false,
        ),
    ] {
        if let Some(name) = doc.pointer_mut(&format!("/components/securitySchemes/{scheme}/name")) {
            *name = serde_json::Value::String(crate::extract::cookie_name(&s, base, whole_site));
        }
    }
    axum::Json(doc)
}

struct Common;

const ERRORS: &[(&str, &str)] = &[
    ("400", "The request is malformed or breaks a rule"),
    ("401", "Not logged in, or the session has ended"),
    (
        "403",
        "Refused (CSRF token, foreign origin, unconfirmed address)",
    ),
    ("404", "No such thing, or not one you may see"),
    ("405", "Method not allowed"),
    ("409", "The state changed, or it already exists"),
    (
        "410",
        "What the request acts on has ended (cancelled, declined, expired)",
    ),
    ("408", "The request took longer than the server allows"),
    ("413", "Too large"),
    ("415", "Wrong content type"),
    (
        "422",
        "The file cannot be accepted (e.g. not a sealable PDF)",
    ),
    ("429", "Slowed down: retry after Retry-After seconds"),
    ("503", "A service we depend on is unavailable: retry later"),
];

impl utoipa::Modify for Common {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "recipient",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::handlers::recipient::RECIPIENT_COOKIE,
            ))),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::extract::SESSION_COOKIE,
            ))),
        );
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for (status, description) in ERRORS {
                    let response = ResponseBuilder::new()
                        .description(*description)
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                    "ErrorBody",
                                ))))
                                .build(),
                        )
                        .build();
                    op.responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert(RefOr::T(response));
                }
            }
        }
    }
}

/// The OpenAPI document as JSON, with this deployment's document size limit.
pub fn document(max_document_bytes: u64) -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    if let Some(size) = doc.pointer_mut("/components/schemas/UploadRequest/properties/size") {
        size["maximum"] = max_document_bytes.into();
    }
    doc
}
