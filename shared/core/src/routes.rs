//! The route table: every API route, once. The HTTP layer builds its router from it, the
//! OpenAPI document is checked against it, and (with the AWS issue) so is `template.yaml`.

/// Where a route is deployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Both the local server and AWS.
    Both,
    /// Only the local server (AWS has a managed equivalent).
    LocalOnly,
}

/// One route.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// A stable name (the Lambda function's name on AWS).
    pub name: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Path template, OpenAPI style.
    pub path: &'static str,
    /// Where it runs.
    pub shape: Shape,
}

const fn route(name: &'static str, method: &'static str, path: &'static str) -> Route {
    Route {
        name,
        method,
        path,
        shape: Shape::Both,
    }
}

const fn local(name: &'static str, method: &'static str, path: &'static str) -> Route {
    Route {
        name,
        method,
        path,
        shape: Shape::LocalOnly,
    }
}

/// What a member whose team requires two-factor login may reach before enrolling: their
/// own account, enrolment, logout.
pub const BEFORE_ENROLMENT: &[&str] = &[
    "get_me",
    "update_me",
    "logout",
    "start_two_factor",
    "confirm_two_factor",
];

/// Every route of the API.
pub const ROUTES: &[Route] = &[
    route("signup", "POST", "/api/v1/auth/signup"),
    route("verify_email", "POST", "/api/v1/auth/verify-email"),
    route("login", "POST", "/api/v1/auth/login"),
    route(
        "login_second_factor",
        "POST",
        "/api/v1/auth/login/second-factor",
    ),
    route("password_check", "POST", "/api/v1/auth/password-check"),
    route("change_password", "POST", "/api/v1/auth/password"),
    route("request_reset", "POST", "/api/v1/auth/reset"),
    route("confirm_reset", "POST", "/api/v1/auth/reset/confirm"),
    route("logout", "POST", "/api/v1/auth/logout"),
    route("get_me", "GET", "/api/v1/me"),
    route("update_me", "PATCH", "/api/v1/me"),
    route("list_tokens", "GET", "/api/v1/me/tokens"),
    route("create_token", "POST", "/api/v1/me/tokens"),
    route("revoke_token", "DELETE", "/api/v1/me/tokens/{token_id}"),
    route("start_two_factor", "POST", "/api/v1/me/two-factor"),
    route(
        "confirm_two_factor",
        "POST",
        "/api/v1/me/two-factor/confirm",
    ),
    route(
        "disable_two_factor",
        "POST",
        "/api/v1/me/two-factor/disable",
    ),
    route("accept_invitation", "POST", "/api/v1/auth/invitation"),
    route("get_team", "GET", "/api/v1/team"),
    route("update_team", "PATCH", "/api/v1/team"),
    route("list_members", "GET", "/api/v1/team/members"),
    route(
        "change_member_role",
        "PATCH",
        "/api/v1/team/members/{user_id}",
    ),
    route("remove_member", "DELETE", "/api/v1/team/members/{user_id}"),
    route(
        "hand_over_documents",
        "POST",
        "/api/v1/team/members/{user_id}/hand-over",
    ),
    route("change_email", "POST", "/api/v1/me/email"),
    route("confirm_email_change", "POST", "/api/v1/auth/address"),
    route("claim_domain", "POST", "/api/v1/team/domains"),
    route("release_domain", "DELETE", "/api/v1/team/domains/{domain}"),
    route("confirm_domain", "POST", "/api/v1/auth/domain"),
    route("search_audit", "GET", "/api/v1/team/audit"),
    route("export_audit", "GET", "/api/v1/team/audit/export"),
    route("verify_audit", "GET", "/api/v1/team/audit/verify"),
    route("list_invitations", "GET", "/api/v1/team/invitations"),
    route("invite_member", "POST", "/api/v1/team/invitations"),
    route(
        "withdraw_invitation",
        "DELETE",
        "/api/v1/team/invitations/{invitation_id}",
    ),
    route("create_upload", "POST", "/api/v1/documents/uploads"),
    // On AWS the client posts to a presigned S3 URL instead.
    local("receive_upload", "PUT", "/api/v1/uploads/{upload_id}"),
    route("create_document", "POST", "/api/v1/documents"),
    route("list_documents", "GET", "/api/v1/documents"),
    route("get_document", "GET", "/api/v1/documents/{id}"),
    route("update_document", "PATCH", "/api/v1/documents/{id}"),
    route("delete_document", "DELETE", "/api/v1/documents/{id}"),
    route("get_document_file", "GET", "/api/v1/documents/{id}/file"),
    route(
        "get_document_page",
        "GET",
        "/api/v1/documents/{id}/pages/{n}",
    ),
    route("send_document", "POST", "/api/v1/documents/{id}/send"),
    route("approve_document", "POST", "/api/v1/documents/{id}/approve"),
    route("reject_document", "POST", "/api/v1/documents/{id}/reject"),
    route("cancel_document", "POST", "/api/v1/documents/{id}/cancel"),
    route("remind_document", "POST", "/api/v1/documents/{id}/remind"),
    route(
        "reissue_link",
        "POST",
        "/api/v1/documents/{id}/recipients/{party_id}/reissue",
    ),
    route(
        "revoke_link",
        "POST",
        "/api/v1/documents/{id}/recipients/{party_id}/revoke",
    ),
    route("recipient_session", "POST", "/api/v1/r/session"),
    route("recipient_document", "GET", "/api/v1/r/document"),
    route("recipient_file", "GET", "/api/v1/r/file"),
    route("recipient_page", "GET", "/api/v1/r/pages/{n}"),
    route("recipient_viewed", "POST", "/api/v1/r/viewed"),
    route("recipient_agree", "POST", "/api/v1/r/agree"),
    route("recipient_decline", "POST", "/api/v1/r/decline"),
    route("list_executions", "GET", "/api/v1/ops/executions"),
    route("get_execution", "GET", "/api/v1/ops/executions/{id}"),
    route(
        "retry_execution",
        "POST",
        "/api/v1/ops/executions/{id}/retry",
    ),
    route("verify", "POST", "/api/v1/verify"),
    route("openapi", "GET", "/api/v1/openapi.json"),
    local("ca_root_pem", "GET", "/api/v1/ca/root.pem"),
    local("ca_root_cert", "GET", "/api/v1/ca/root.crt"),
    local("ca_issuing_cert", "GET", "/api/v1/ca/issuing.crt"),
    local("ca_root_crl", "GET", "/api/v1/ca/root.crl"),
    local("ca_crl", "GET", "/api/v1/ca/crl"),
    local("tsa", "POST", "/api/v1/tsa"),
];
