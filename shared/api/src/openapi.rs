//! The OpenAPI 3.1 document, generated from the handlers' annotations. Every operation also
//! lists the error statuses the API answers with, all sharing the one error body.

use keiyaku_core::text;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, ResponseBuilder};

use crate::error::{ErrorBody, ErrorDetail};
use crate::handlers::{
    StatusMessage, accounts, audit, authority, contract, documents, ops, recipient, teams,
    two_factor, verification,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "keiyaku API", description = "keiyaku: electronic contracts sealed with PAdES signatures and RFC 3161 timestamps."),
    paths(
        accounts::signup, accounts::verify_email, accounts::login, accounts::login_second_factor,
        accounts::password_check,
        accounts::change_password, accounts::request_reset, accounts::confirm_reset,
        accounts::logout, accounts::get_me, accounts::update_me,
        accounts::list_tokens, accounts::create_token, accounts::revoke_token,
        two_factor::start_two_factor, two_factor::confirm_two_factor, two_factor::disable_two_factor,
        teams::accept_invitation, teams::get_team, teams::update_team, teams::list_members, teams::change_member_role, teams::remove_member, accounts::change_email, accounts::confirm_email_change,
        teams::hand_over_documents, teams::claim_domain, teams::release_domain, teams::confirm_domain,
        audit::search_audit, audit::export_audit, audit::verify_audit,
        teams::list_invitations, teams::invite_member, teams::withdraw_invitation,
        documents::create_upload, documents::receive_upload, documents::create_document,
        documents::list_documents, documents::get_document, documents::update_document, documents::delete_document,
        documents::get_document_file,
        documents::get_document_page,
        contract::send_document, contract::approve_document, contract::reject_document,
        contract::cancel_document, contract::remind_document, contract::reissue_link,
        contract::revoke_link,
        recipient::open_session, recipient::document, recipient::file, recipient::page, recipient::viewed, recipient::agree,
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

/// The server's text rules (`keiyaku_core::text`) by the properties they apply to: set here
/// because utoipa's attributes take a pattern only as a literal, and the server and the
/// schema must share one.
const TEXT_PATTERNS: &[(&str, &str)] = &[
    ("SignupRequest/properties/name", text::LINE_PATTERN),
    ("UpdateMeRequest/properties/name", text::LINE_PATTERN),
    ("RecipientRequest/properties/name", text::LINE_PATTERN),
    (
        "RecipientRequest/properties/company",
        text::OPTIONAL_LINE_PATTERN,
    ),
    (
        "RecipientRequest/properties/department",
        text::OPTIONAL_LINE_PATTERN,
    ),
    ("NamedApprover/properties/name", text::OPTIONAL_LINE_PATTERN),
    ("CreateFromUpload/properties/title", text::LINE_PATTERN),
    ("UpdateDocumentRequest/properties/title", text::LINE_PATTERN),
    (
        "UpdateDocumentRequest/properties/message",
        text::FREE_TEXT_PATTERN,
    ),
    ("ReasonRequest/properties/reason", text::FREE_TEXT_PATTERN),
];

/// The OpenAPI document as JSON, with this deployment's document size limit.
pub fn document(max_document_bytes: u64) -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    if let Some(size) = doc.pointer_mut("/components/schemas/UploadRequest/properties/size") {
        size["maximum"] = max_document_bytes.into();
    }
    for (at, pattern) in TEXT_PATTERNS {
        if let Some(property) = doc.pointer_mut(&format!("/components/schemas/{at}")) {
            property["pattern"] = (*pattern).into();
        }
    }
    if let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for (path, item) in paths.iter_mut() {
            let Some(operations) = item.as_object_mut() else {
                continue;
            };
            for operation in operations.values_mut() {
                let Some(parameters) = operation
                    .get_mut("parameters")
                    .and_then(|p| p.as_array_mut())
                else {
                    continue;
                };
                for parameter in parameters {
                    match (path.as_str(), parameter["name"].as_str()) {
                        (_, Some("Idempotency-Key")) => {
                            parameter["schema"] = serde_json::json!({
                                "type": "string",
                                "minLength": 1,
                                "maxLength": crate::handlers::documents::MAX_IDEMPOTENCY_KEY,
                                "pattern": crate::handlers::documents::IDEMPOTENCY_KEY_PATTERN,
                            });
                        }
                        ("/api/v1/documents", Some("title")) => {
                            parameter["schema"]["pattern"] = text::LINE_PATTERN.into();
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A renamed schema or property would silently lose its rule: each must be found.
    #[test]
    fn every_text_rule_lands_on_a_property() {
        let doc = document(20 << 20);
        for (at, pattern) in TEXT_PATTERNS {
            let property = doc
                .pointer(&format!("/components/schemas/{at}"))
                .unwrap_or_else(|| panic!("no property {at}"));
            assert_eq!(property["pattern"], *pattern, "{at}");
        }
        let parameters = doc
            .pointer("/paths/~1api~1v1~1documents/post/parameters")
            .and_then(|p| p.as_array())
            .expect("the one-call upload's parameters");
        let named = |name: &str| {
            parameters
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("no parameter {name}"))
        };
        assert_eq!(named("title")["schema"]["pattern"], text::LINE_PATTERN);
        assert_eq!(
            named("Idempotency-Key")["schema"]["maxLength"],
            crate::handlers::documents::MAX_IDEMPOTENCY_KEY
        );
    }
}
