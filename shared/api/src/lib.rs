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
use axum::routing::MethodRouter;
use keiyaku_core::routes::{ROUTES, Route, Shape};
use keiyaku_core::{Error, Services};

use crate::error::ApiError;

/// What every handler gets.
pub type AppState = Arc<Services>;

/// The handler of route `$name` (its name in the route table) as a method router. The
/// whole API's router and each Lambda function take their handlers from here; a function
/// names its route at compile time, so only its own handler is linked into it.
#[macro_export]
macro_rules! route_handler {
    (signup) => {
        $crate::__routing::post($crate::handlers::accounts::signup)
    };
    (verify_email) => {
        $crate::__routing::post($crate::handlers::accounts::verify_email)
    };
    (login) => {
        $crate::__routing::post($crate::handlers::accounts::login)
    };
    (login_second_factor) => {
        $crate::__routing::post($crate::handlers::accounts::login_second_factor)
    };
    (password_check) => {
        $crate::__routing::post($crate::handlers::accounts::password_check)
    };
    (change_password) => {
        $crate::__routing::post($crate::handlers::accounts::change_password)
    };
    (request_reset) => {
        $crate::__routing::post($crate::handlers::accounts::request_reset)
    };
    (confirm_reset) => {
        $crate::__routing::post($crate::handlers::accounts::confirm_reset)
    };
    (logout) => {
        $crate::__routing::post($crate::handlers::accounts::logout)
    };
    (get_me) => {
        $crate::__routing::get($crate::handlers::accounts::get_me)
    };
    (update_me) => {
        $crate::__routing::patch($crate::handlers::accounts::update_me)
    };
    (list_tokens) => {
        $crate::__routing::get($crate::handlers::accounts::list_tokens)
    };
    (create_token) => {
        $crate::__routing::post($crate::handlers::accounts::create_token)
    };
    (revoke_token) => {
        $crate::__routing::delete($crate::handlers::accounts::revoke_token)
    };
    (start_two_factor) => {
        $crate::__routing::post($crate::handlers::two_factor::start_two_factor)
    };
    (confirm_two_factor) => {
        $crate::__routing::post($crate::handlers::two_factor::confirm_two_factor)
    };
    (disable_two_factor) => {
        $crate::__routing::post($crate::handlers::two_factor::disable_two_factor)
    };
    (accept_invitation) => {
        $crate::__routing::post($crate::handlers::teams::accept_invitation)
    };
    (get_team) => {
        $crate::__routing::get($crate::handlers::teams::get_team)
    };
    (update_team) => {
        $crate::__routing::patch($crate::handlers::teams::update_team)
    };
    (list_members) => {
        $crate::__routing::get($crate::handlers::teams::list_members)
    };
    (change_member_role) => {
        $crate::__routing::patch($crate::handlers::teams::change_member_role)
    };
    (remove_member) => {
        $crate::__routing::delete($crate::handlers::teams::remove_member)
    };
    (hand_over_documents) => {
        $crate::__routing::post($crate::handlers::teams::hand_over_documents)
    };
    (change_email) => {
        $crate::__routing::post($crate::handlers::accounts::change_email)
    };
    (confirm_email_change) => {
        $crate::__routing::post($crate::handlers::accounts::confirm_email_change)
    };
    (claim_domain) => {
        $crate::__routing::post($crate::handlers::teams::claim_domain)
    };
    (release_domain) => {
        $crate::__routing::delete($crate::handlers::teams::release_domain)
    };
    (confirm_domain) => {
        $crate::__routing::post($crate::handlers::teams::confirm_domain)
    };
    (search_audit) => {
        $crate::__routing::get($crate::handlers::audit::search_audit)
    };
    (export_audit) => {
        $crate::__routing::get($crate::handlers::audit::export_audit)
    };
    (verify_audit) => {
        $crate::__routing::get($crate::handlers::audit::verify_audit)
    };
    (list_invitations) => {
        $crate::__routing::get($crate::handlers::teams::list_invitations)
    };
    (invite_member) => {
        $crate::__routing::post($crate::handlers::teams::invite_member)
    };
    (withdraw_invitation) => {
        $crate::__routing::delete($crate::handlers::teams::withdraw_invitation)
    };
    (create_upload) => {
        $crate::__routing::post($crate::handlers::documents::create_upload)
    };
    (receive_upload) => {
        $crate::__routing::put($crate::handlers::documents::receive_upload)
    };
    (create_document) => {
        $crate::__routing::post($crate::handlers::documents::create_document)
    };
    (list_documents) => {
        $crate::__routing::get($crate::handlers::documents::list_documents)
    };
    (get_document) => {
        $crate::__routing::get($crate::handlers::documents::get_document)
    };
    (update_document) => {
        $crate::__routing::patch($crate::handlers::documents::update_document)
    };
    (delete_document) => {
        $crate::__routing::delete($crate::handlers::documents::delete_document)
    };
    (get_document_file) => {
        $crate::__routing::get($crate::handlers::documents::get_document_file)
    };
    (get_document_page) => {
        $crate::__routing::get($crate::handlers::documents::get_document_page)
    };
    (send_document) => {
        $crate::__routing::post($crate::handlers::contract::send_document)
    };
    (approve_document) => {
        $crate::__routing::post($crate::handlers::contract::approve_document)
    };
    (reject_document) => {
        $crate::__routing::post($crate::handlers::contract::reject_document)
    };
    (cancel_document) => {
        $crate::__routing::post($crate::handlers::contract::cancel_document)
    };
    (remind_document) => {
        $crate::__routing::post($crate::handlers::contract::remind_document)
    };
    (reissue_link) => {
        $crate::__routing::post($crate::handlers::contract::reissue_link)
    };
    (revoke_link) => {
        $crate::__routing::post($crate::handlers::contract::revoke_link)
    };
    (recipient_session) => {
        $crate::__routing::post($crate::handlers::recipient::open_session)
    };
    (recipient_document) => {
        $crate::__routing::get($crate::handlers::recipient::document)
    };
    (recipient_file) => {
        $crate::__routing::get($crate::handlers::recipient::file)
    };
    (recipient_page) => {
        $crate::__routing::get($crate::handlers::recipient::page)
    };
    (recipient_viewed) => {
        $crate::__routing::post($crate::handlers::recipient::viewed)
    };
    (recipient_agree) => {
        $crate::__routing::post($crate::handlers::recipient::agree)
    };
    (recipient_decline) => {
        $crate::__routing::post($crate::handlers::recipient::decline)
    };
    (list_executions) => {
        $crate::__routing::get($crate::handlers::ops::list_executions)
    };
    (get_execution) => {
        $crate::__routing::get($crate::handlers::ops::get_execution)
    };
    (retry_execution) => {
        $crate::__routing::post($crate::handlers::ops::retry_execution)
    };
    (verify) => {
        $crate::__routing::post($crate::handlers::verification::verify)
    };
    (openapi) => {
        $crate::__routing::get($crate::openapi::openapi_json)
    };
    (ca_root_pem) => {
        $crate::__routing::get($crate::handlers::authority::ca_root_pem)
    };
    (ca_root_cert) => {
        $crate::__routing::get($crate::handlers::authority::ca_root_cert)
    };
    (ca_issuing_cert) => {
        $crate::__routing::get($crate::handlers::authority::ca_issuing_cert)
    };
    (ca_root_crl) => {
        $crate::__routing::get($crate::handlers::authority::ca_root_crl)
    };
    (ca_crl) => {
        $crate::__routing::get($crate::handlers::authority::ca_crl)
    };
    (tsa) => {
        $crate::__routing::post($crate::handlers::authority::tsa)
    };
}

#[doc(hidden)]
pub use axum::routing as __routing;

/// The handler of a route in the table.
pub fn method_router(route: &Route) -> Option<MethodRouter<AppState>> {
    Some(match route.name {
        "signup" => route_handler!(signup),
        "verify_email" => route_handler!(verify_email),
        "login" => route_handler!(login),
        "login_second_factor" => route_handler!(login_second_factor),
        "password_check" => route_handler!(password_check),
        "change_password" => route_handler!(change_password),
        "request_reset" => route_handler!(request_reset),
        "confirm_reset" => route_handler!(confirm_reset),
        "logout" => route_handler!(logout),
        "get_me" => route_handler!(get_me),
        "update_me" => route_handler!(update_me),
        "list_tokens" => route_handler!(list_tokens),
        "create_token" => route_handler!(create_token),
        "revoke_token" => route_handler!(revoke_token),
        "start_two_factor" => route_handler!(start_two_factor),
        "confirm_two_factor" => route_handler!(confirm_two_factor),
        "disable_two_factor" => route_handler!(disable_two_factor),
        "accept_invitation" => route_handler!(accept_invitation),
        "get_team" => route_handler!(get_team),
        "update_team" => route_handler!(update_team),
        "list_members" => route_handler!(list_members),
        "change_member_role" => route_handler!(change_member_role),
        "remove_member" => route_handler!(remove_member),
        "hand_over_documents" => route_handler!(hand_over_documents),
        "change_email" => route_handler!(change_email),
        "confirm_email_change" => route_handler!(confirm_email_change),
        "claim_domain" => route_handler!(claim_domain),
        "release_domain" => route_handler!(release_domain),
        "confirm_domain" => route_handler!(confirm_domain),
        "search_audit" => route_handler!(search_audit),
        "export_audit" => route_handler!(export_audit),
        "verify_audit" => route_handler!(verify_audit),
        "list_invitations" => route_handler!(list_invitations),
        "invite_member" => route_handler!(invite_member),
        "withdraw_invitation" => route_handler!(withdraw_invitation),
        "create_upload" => route_handler!(create_upload),
        "receive_upload" => route_handler!(receive_upload),
        "create_document" => route_handler!(create_document),
        "list_documents" => route_handler!(list_documents),
        "get_document" => route_handler!(get_document),
        "update_document" => route_handler!(update_document),
        "delete_document" => route_handler!(delete_document),
        "get_document_file" => route_handler!(get_document_file),
        "get_document_page" => route_handler!(get_document_page),
        "send_document" => route_handler!(send_document),
        "approve_document" => route_handler!(approve_document),
        "reject_document" => route_handler!(reject_document),
        "cancel_document" => route_handler!(cancel_document),
        "remind_document" => route_handler!(remind_document),
        "reissue_link" => route_handler!(reissue_link),
        "revoke_link" => route_handler!(revoke_link),
        "recipient_session" => route_handler!(recipient_session),
        "recipient_document" => route_handler!(recipient_document),
        "recipient_file" => route_handler!(recipient_file),
        "recipient_page" => route_handler!(recipient_page),
        "recipient_viewed" => route_handler!(recipient_viewed),
        "recipient_agree" => route_handler!(recipient_agree),
        "recipient_decline" => route_handler!(recipient_decline),
        "list_executions" => route_handler!(list_executions),
        "get_execution" => route_handler!(get_execution),
        "retry_execution" => route_handler!(retry_execution),
        "verify" => route_handler!(verify),
        "openapi" => route_handler!(openapi),
        "ca_root_pem" => route_handler!(ca_root_pem),
        "ca_root_cert" => route_handler!(ca_root_cert),
        "ca_issuing_cert" => route_handler!(ca_issuing_cert),
        "ca_root_crl" => route_handler!(ca_root_crl),
        "ca_crl" => route_handler!(ca_crl),
        "tsa" => route_handler!(tsa),
        _ => return None,
    })
}

/// The API router for the routes of `shape` (the local server serves every route).
pub fn router(services: Arc<Services>, local: bool) -> Router {
    router_with(services, local, Router::new())
}

/// [`router`] with `site` beside the API under the same layers (the local shape's browser
/// client: its answers carry their own security headers, which the layers keep).
pub fn router_with(services: Arc<Services>, local: bool, site: Router<AppState>) -> Router {
    routes(
        services,
        ROUTES
            .iter()
            .filter(|r| local || r.shape == Shape::Both)
            .filter_map(|r| Some((r.path, method_router(r)?))),
        site,
    )
}

/// The router of the one route named `name` (a Lambda function's) served by `handler`
/// (`route_handler!(name)`), with the same layers as the whole API; `None` for a name the
/// table does not have.
pub fn single_route(
    services: Arc<Services>,
    name: &str,
    handler: MethodRouter<AppState>,
) -> Option<Router> {
    let route = ROUTES.iter().find(|r| r.name == name)?;
    Some(routes(services, [(route.path, handler)], Router::new()))
}

fn routes(
    services: Arc<Services>,
    table: impl IntoIterator<Item = (&'static str, MethodRouter<AppState>)>,
    site: Router<AppState>,
) -> Router {
    let mut router = site;
    for (path, handler) in table {
        router = router.route(path, handler);
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
