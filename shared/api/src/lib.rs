//! keiyaku's HTTP API, shared by both shapes: the router built from the route table in
//! `keiyaku-core`, the handlers, the one mapping from domain errors to HTTP, and OpenAPI.
//! The local server serves this router; on AWS each Lambda serves its one route of it.

pub mod error;
pub mod extract;
pub mod handlers;
pub mod middleware;
pub mod openapi;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use keiyaku_core::routes::{ROUTES, Route, Shape};
use keiyaku_core::{Error, Services};

use crate::error::ApiError;
use crate::handlers::{accounts, authority, contract, documents, ops, recipient, verification};

/// What every handler gets.
pub type AppState = Arc<Services>;

/// The handler of a route in the table.
pub fn method_router(route: &Route) -> Option<MethodRouter<AppState>> {
    Some(match route.name {
        "signup" => post(accounts::signup),
        "verify_email" => post(accounts::verify_email),
        "login" => post(accounts::login),
        "password_check" => post(accounts::password_check),
        "change_password" => post(accounts::change_password),
        "request_reset" => post(accounts::request_reset),
        "confirm_reset" => post(accounts::confirm_reset),
        "logout" => post(accounts::logout),
        "get_me" => get(accounts::get_me),
        "update_me" => patch(accounts::update_me),
        "list_tokens" => get(accounts::list_tokens),
        "revoke_token" => delete(accounts::revoke_token),
        "create_upload" => post(documents::create_upload),
        "receive_upload" => put(documents::receive_upload),
        "create_document" => post(documents::create_document),
        "list_documents" => get(documents::list_documents),
        "get_document" => get(documents::get_document),
        "update_document" => patch(documents::update_document),
        "delete_document" => delete(documents::delete_document),
        "get_document_file" => get(documents::get_document_file),
        "send_document" => post(contract::send_document),
        "approve_document" => post(contract::approve_document),
        "reject_document" => post(contract::reject_document),
        "cancel_document" => post(contract::cancel_document),
        "remind_document" => post(contract::remind_document),
        "reissue_link" => post(contract::reissue_link),
        "revoke_link" => post(contract::revoke_link),
        "recipient_session" => post(recipient::open_session),
        "recipient_document" => get(recipient::document),
        "recipient_file" => get(recipient::file),
        "recipient_agree" => post(recipient::agree),
        "recipient_decline" => post(recipient::decline),
        "list_executions" => get(ops::list_executions),
        "get_execution" => get(ops::get_execution),
        "retry_execution" => post(ops::retry_execution),
        "verify" => post(verification::verify),
        "openapi" => get(openapi::openapi_json),
        "ca_root_pem" => get(authority::ca_root_pem),
        "ca_root_cert" => get(authority::ca_root_cert),
        "ca_issuing_cert" => get(authority::ca_issuing_cert),
        "ca_root_crl" => get(authority::ca_root_crl),
        "ca_crl" => get(authority::ca_crl),
        "tsa" => post(authority::tsa),
        _ => return None,
    })
}

/// The API router for the routes of `shape` (the local server serves every route).
pub fn router(services: Arc<Services>, local: bool) -> Router {
    routes(
        services,
        ROUTES.iter().filter(|r| local || r.shape == Shape::Both),
    )
}

/// The router of the one route named `name` (a Lambda function's), with the same layers as
/// the whole API; `None` for a name the table does not have.
pub fn single_route(services: Arc<Services>, name: &str) -> Option<Router> {
    let route = ROUTES.iter().find(|r| r.name == name)?;
    Some(routes(services, std::iter::once(route)))
}

fn routes<'a>(services: Arc<Services>, table: impl Iterator<Item = &'a Route>) -> Router {
    let mut router = Router::new();
    for route in table {
        if let Some(handler) = method_router(route) {
            router = router.route(route.path, handler);
        }
    }
    router
        .fallback(|| async { ApiError(Error::NotFound) })
        .method_not_allowed_fallback(|| async {
            let detail = error::ErrorDetail {
                code: "method_not_allowed".into(),
                message: "this path does not take that method".into(),
                field: None,
            };
            (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(error::ErrorBody { error: detail }),
            )
        })
        // Bodies are limited per route (JSON 64 KiB, PDFs by configuration), not globally.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            services.clone(),
            middleware::request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            services.clone(),
            middleware::check_origin,
        ))
        .layer(axum::middleware::from_fn_with_state(
            services.clone(),
            middleware::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            services.clone(),
            middleware::client_address,
        ))
        .layer(axum::middleware::from_fn(middleware::trace))
        .with_state(services)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_handler_and_an_openapi_operation() {
        let doc = openapi::document(20 << 20);
        for route in ROUTES {
            assert!(
                method_router(route).is_some(),
                "no handler for {}",
                route.name
            );
            let op = &doc["paths"][route.path][route.method.to_lowercase()];
            assert!(
                op.is_object(),
                "{} {} missing from OpenAPI",
                route.method,
                route.path
            );
        }
        let documented: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum();
        assert_eq!(
            documented,
            ROUTES.len(),
            "OpenAPI has operations the route table lacks"
        );
    }
}
