//! Account routes: sign-up, verification, login and logout, the profile, passwords.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keiyaku_core::app::accounts::{self, SignUp};
use keiyaku_core::domain::user::{SessionKind, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Language, StatusMessage};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Authed, ClientAddr, ClientInfo, JsonBody, SESSION_COOKIE};

/// Sign-up request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// E-mail address (confirmed by mail before first login).
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Name as it should appear on contracts.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Password: at least 10 characters, not a dictionary word, not derived from the
    /// e-mail address or the name, not easily guessed.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    /// `ja` (default) or `en`.
    pub language: Option<Language>,
}

/// A one-time token from a mailed link (taken from the URL fragment by the page).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The token.
    pub token: String,
}

/// Login request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: String,
    /// `cookie` (default, for browsers: sets the session cookie) or `token` (for API
    /// clients: returns a bearer token instead).
    pub mode: Option<LoginMode>,
}

/// How a login is used.
#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LoginMode {
    /// A browser session in an HttpOnly cookie.
    Cookie,
    /// A bearer token for API clients.
    Token,
}

/// The logged-in user.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// User id.
    pub id: String,
    /// Team id.
    pub team_id: String,
    /// E-mail address.
    pub email: String,
    /// Name.
    pub name: String,
    /// `ja` or `en`.
    pub language: String,
    /// `admin`, `member` or `auditor`.
    pub role: String,
    /// Whether the address is confirmed.
    pub email_verified: bool,
    /// Whether the account may use the ops view.
    pub operator: bool,
    /// Whether logins ask for a second factor.
    pub two_factor: bool,
    /// The team requires two-factor login and this user has not enrolled yet: until they
    /// have, only `/me`, enrolment and logout answer (403 `two_factor_enrolment_required`).
    pub must_enrol_two_factor: bool,
    /// When the account was made.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// For cookie sessions: send this in `X-CSRF-Token` on every state-changing request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Me {
    fn new(user: &User, csrf: Option<String>, must_enrol_two_factor: bool) -> Self {
        Me {
            id: user.id.to_string(),
            team_id: user.team_id.to_string(),
            email: user.email.to_string(),
            name: user.name.clone(),
            language: user.language.clone(),
            role: user.role.as_str().into(),
            email_verified: user.email_verified,
            operator: user.operator,
            two_factor: user.two_factor,
            must_enrol_two_factor,
            created_at: rfc3339(user.created_at),
            csrf_token: csrf,
        }
    }
}

/// Login answer.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// The user (with the CSRF token for cookie sessions).
    pub user: Me,
    /// The bearer token (`mode: token` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A right password for an account with two-factor login: the login waits for its code.
#[derive(Serialize, ToSchema)]
pub struct SecondFactorChallenge {
    /// Always true: send the code to `POST /api/v1/auth/login/second-factor`.
    pub second_factor_required: bool,
    /// Carries this login to its second step (five minutes, five wrong codes).
    pub login_token: String,
    /// When the login stops waiting (RFC 3339).
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// The second step of a login.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorRequest {
    /// The `login_token` of the first step.
    pub login_token: String,
    /// The six digits of the authenticator app, or one of the recovery codes.
    #[schema(max_length = 64)]
    pub code: String,
}

/// A password to check.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordCheckRequest {
    /// The candidate password.
    pub password: String,
    /// The e-mail address it would belong to.
    pub email: Option<String>,
    /// The name of its user.
    pub name: Option<String>,
}

/// Whether a password would be accepted, and if not why.
#[derive(Serialize, ToSchema)]
pub struct PasswordCheckResponse {
    /// True when it would be accepted.
    pub acceptable: bool,
    /// Why not (e.g. `password_too_short`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why not, in English.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The current password.
    pub current: String,
    /// The new password.
    pub new: String,
}

/// Password reset request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The account's e-mail address.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// Password reset confirmation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmRequest {
    /// The token from the mailed link.
    pub token: String,
    /// The new password.
    pub new: String,
}

/// Profile change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// `ja` or `en`.
    pub language: Option<Language>,
    /// New name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
}

/// Create an account and its own team; a verification mail follows. Answers the same
/// whether or not the address is registered.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "accounts", request_body = SignupRequest,
    responses((status = 202, description = "Verification mail sent", body = StatusMessage)))]
pub async fn signup(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    JsonBody(req): JsonBody<SignupRequest>,
) -> ApiResult<(StatusCode, Json<StatusMessage>)> {
    accounts::sign_up(
        &s,
        SignUp {
            email: &req.email,
            name: &req.name,
            password: &req.password,
            language: req.language.map(Language::as_str),
        },
        ip,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        StatusMessage::new("verification_sent"),
    ))
}

/// Confirm the e-mail address with the token from the mail.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "accounts", request_body = TokenRequest,
    responses((status = 200, description = "Address confirmed", body = StatusMessage)))]
pub async fn verify_email(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    JsonBody(req): JsonBody<TokenRequest>,
) -> ApiResult<Json<StatusMessage>> {
    accounts::verify_email(&s, &req.token, ip).await?;
    Ok(StatusMessage::new("verified"))
}

/// The device cookie's name (prefixed over https).
pub const DEVICE_COOKIE: &str = "keiyaku_device";
/// How long a browser keeps its device cookie: a year, as the server keeps its record.
const DEVICE_MAX_AGE: i64 = 365 * 24 * 3600;

fn session_cookie(s: &AppState, value: &str, max_age: i64) -> Result<HeaderValue, ApiError> {
    let name = crate::extract::cookie_name(s, SESSION_COOKIE, true);
    crate::extract::set_cookie(s, &name, value, "/", cookie::SameSite::Lax, max_age)
}

/// Log in. Browsers get the session cookie; with `"mode":"token"` API clients get a bearer
/// token (valid until 90 days unused) instead.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, description = "Logged in", body = LoginResponse,
        headers(("set-cookie" = String, description = "The session cookie (cookie mode), and a device cookie the first time this browser logs in to the account"))),
        (status = 202, description = "The password is right and the account asks for a second factor", body = SecondFactorChallenge)))]
pub async fn login(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    parts: axum::http::request::Parts,
    JsonBody(req): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    let kind = match req.mode.unwrap_or(LoginMode::Cookie) {
        LoginMode::Cookie => SessionKind::Browser,
        LoginMode::Token => SessionKind::Api,
    };
    let device_cookie = crate::extract::cookie_name(&s, DEVICE_COOKIE, true);
    let device = crate::extract::cookie(&parts, &device_cookie);
    match accounts::login(
        &s,
        &req.email,
        &req.password,
        kind,
        &client,
        device.as_deref(),
    )
    .await?
    {
        accounts::LoginStep::Done(done) => logged_in(&s, *done),
        accounts::LoginStep::SecondFactor(pending) => Ok((
            StatusCode::ACCEPTED,
            Json(SecondFactorChallenge {
                second_factor_required: true,
                login_token: pending.token,
                expires_at: rfc3339(pending.expires_at),
            }),
        )
            .into_response()),
    }
}

/// The second step of a login to an account with two-factor login: the code of the
/// authenticator app (each accepted once) or a recovery code (each usable once).
#[utoipa::path(post, path = "/api/v1/auth/login/second-factor", tag = "accounts", request_body = SecondFactorRequest,
    responses((status = 200, description = "Logged in, as by a login without a second factor", body = LoginResponse,
        headers(("set-cookie" = String, description = "The session cookie (cookie mode), and a device cookie the first time this browser logs in to the account")))))]
pub async fn login_second_factor(
    State(s): State<AppState>,
    ClientInfo(client): ClientInfo,
    JsonBody(req): JsonBody<SecondFactorRequest>,
) -> ApiResult<Response> {
    let done =
        keiyaku_core::app::two_factor::login(&s, &req.login_token, &req.code, &client).await?;
    logged_in(&s, done)
}

/// The answer to a login that opened a session: its cookie or bearer token, and a device
/// cookie when this browser was new to the account.
fn logged_in(s: &AppState, done: accounts::LoggedIn) -> ApiResult<Response> {
    let device_cookie = crate::extract::cookie_name(s, DEVICE_COOKIE, true);
    let mut response = if done.kind == SessionKind::Api {
        Json(LoginResponse {
            user: Me::new(&done.user, None, done.must_enrol_two_factor),
            token: Some(done.token),
        })
        .into_response()
    } else {
        let cookie = session_cookie(s, &done.token, s.config.session_absolute.whole_seconds())?;
        let mut response = Json(LoginResponse {
            user: Me::new(&done.user, Some(done.csrf), done.must_enrol_two_factor),
            token: None,
        })
        .into_response();
        response.headers_mut().append(header::SET_COOKIE, cookie);
        response
    };
    // A browser that logged in is known by its device cookie from now on: login failures
    // from elsewhere do not lock it out.
    if let Some(token) = &done.device {
        let cookie = crate::extract::set_cookie(
            s,
            &device_cookie,
            token,
            "/",
            cookie::SameSite::Strict,
            DEVICE_MAX_AGE,
        )?;
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Why a password would be refused (rate-limited).
#[utoipa::path(post, path = "/api/v1/auth/password-check", tag = "accounts", request_body = PasswordCheckRequest,
    responses((status = 200, description = "The verdict", body = PasswordCheckResponse)))]
pub async fn password_check(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    JsonBody(req): JsonBody<PasswordCheckRequest>,
) -> ApiResult<Json<PasswordCheckResponse>> {
    let weakness = accounts::password_check(
        &s,
        &req.password,
        req.email.as_deref(),
        req.name.as_deref(),
        ip,
    )
    .await?;
    Ok(Json(PasswordCheckResponse {
        acceptable: weakness.is_none(),
        code: weakness.map(|w| w.code().to_owned()),
        message: weakness.map(|w| w.message().to_owned()),
    }))
}

/// Change the password (the current one is required); every other session ends.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "accounts", request_body = ChangePasswordRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Changed", body = StatusMessage)))]
pub async fn change_password(
    State(s): State<AppState>,
    Authed(caller): Authed,
    JsonBody(req): JsonBody<ChangePasswordRequest>,
) -> ApiResult<Json<StatusMessage>> {
    accounts::change_password(&s, &caller, &req.current, &req.new).await?;
    Ok(StatusMessage::new("password_changed"))
}

/// A new address for the account, with the password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    /// The new address.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// The account's password.
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

/// Change the account's address: a link goes to the new address (the change is made when
/// it is opened) and a notice to the current one.
#[utoipa::path(post, path = "/api/v1/me/email", tag = "accounts", request_body = ChangeEmailRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 202, description = "The link is on its way to the new address", body = StatusMessage)))]
pub async fn change_email(
    State(s): State<AppState>,
    Authed(caller): Authed,
    JsonBody(req): JsonBody<ChangeEmailRequest>,
) -> ApiResult<(StatusCode, Json<StatusMessage>)> {
    keiyaku_core::app::address::request(&s, &caller, &req.email, &req.password).await?;
    Ok((
        StatusCode::ACCEPTED,
        StatusMessage::new("confirmation_sent"),
    ))
}

/// The token of the link mailed to a new address.
#[derive(Deserialize, ToSchema)]
pub struct ConfirmEmailRequest {
    /// From the link's fragment.
    #[schema(min_length = 1, max_length = 100)]
    pub token: String,
}

/// The account's address after the change.
#[derive(Serialize, ToSchema)]
pub struct EmailChanged {
    /// The new address.
    pub email: String,
}

/// Finish an address change from the link mailed to the new address.
#[utoipa::path(post, path = "/api/v1/auth/address", tag = "accounts", request_body = ConfirmEmailRequest,
    responses((status = 200, description = "The address is changed", body = EmailChanged)))]
pub async fn confirm_email_change(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    JsonBody(req): JsonBody<ConfirmEmailRequest>,
) -> ApiResult<Json<EmailChanged>> {
    let user = keiyaku_core::app::address::confirm(&s, &req.token, ip).await?;
    Ok(Json(EmailChanged {
        email: user.email.to_string(),
    }))
}

/// Mail a password-reset link (answers the same for unknown addresses).
#[utoipa::path(post, path = "/api/v1/auth/reset", tag = "accounts", request_body = ResetRequest,
    responses((status = 202, description = "A mail is on its way if the account exists", body = StatusMessage)))]
pub async fn request_reset(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    JsonBody(req): JsonBody<ResetRequest>,
) -> ApiResult<(StatusCode, Json<StatusMessage>)> {
    accounts::request_reset(&s, &req.email, ip).await?;
    Ok((StatusCode::ACCEPTED, StatusMessage::new("reset_mail_sent")))
}

/// Set a new password with the token from the reset mail; every session ends.
#[utoipa::path(post, path = "/api/v1/auth/reset/confirm", tag = "accounts", request_body = ResetConfirmRequest,
    responses((status = 200, description = "Password set", body = StatusMessage)))]
pub async fn confirm_reset(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    JsonBody(req): JsonBody<ResetConfirmRequest>,
) -> ApiResult<Json<StatusMessage>> {
    accounts::confirm_reset(&s, &req.token, &req.new, ip).await?;
    Ok(StatusMessage::new("password_reset"))
}

/// End this session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Logged out")))]
pub async fn logout(State(s): State<AppState>, Authed(caller): Authed) -> ApiResult<Response> {
    accounts::logout(&s, &caller).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie(&s, "", 0)?);
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// One of the caller's API tokens (the token itself is never shown again).
#[derive(Serialize, ToSchema)]
pub struct ApiTokenView {
    /// Its id, for `DELETE /api/v1/me/tokens/{token_id}`.
    pub id: String,
    /// Its name (tokens made for scripts); absent for a token-mode login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When it was issued (RFC 3339).
    pub created_at: String,
    /// When it was last used (RFC 3339).
    pub last_used: String,
    /// When it ends unless revoked first: 90 days after it was issued, or sooner when
    /// unused for 90 days (RFC 3339).
    pub expires_at: String,
    /// Whether this request is made with it.
    pub current: bool,
}

/// The API tokens of the logged-in user that still work, newest first.
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "accounts",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The tokens", body = [ApiTokenView])))]
pub async fn list_tokens(
    State(s): State<AppState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<ApiTokenView>>> {
    let tokens = accounts::list_api_tokens(&s, &caller).await?;
    Ok(Json(tokens.into_iter().map(ApiTokenView::new).collect()))
}

impl ApiTokenView {
    fn new(t: accounts::ApiToken) -> Self {
        ApiTokenView {
            id: t.id,
            name: t.name,
            created_at: rfc3339(t.created_at),
            last_used: rfc3339(t.last_used),
            expires_at: rfc3339(t.expires_at),
            current: t.current,
        }
    }
}

/// A new API token's name.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What it is for (e.g. the script that uses it).
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// A new API token: the token itself is shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// The bearer token.
    pub token: String,
    /// The token as listed from now on.
    #[serde(flatten)]
    pub listed: ApiTokenView,
}

/// Make a named API token for a script: for users whose logins ask for a second factor (a
/// script cannot give one), the only way around it.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "accounts", request_body = CreateTokenRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "Made; the token is shown this once", body = CreatedToken)))]
pub async fn create_token(
    State(s): State<AppState>,
    Authed(caller): Authed,
    JsonBody(req): JsonBody<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (listed, token) = accounts::create_api_token(&s, &caller, &req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
            listed: ApiTokenView::new(listed),
        }),
    ))
}

/// Revoke one of the logged-in user's API tokens: it stops working at once.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{token_id}", tag = "accounts",
    params(("token_id" = String, Path, description = "The token's id", max_length = 64)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_token(
    State(s): State<AppState>,
    Authed(caller): Authed,
    axum::extract::Path(token_id): axum::extract::Path<String>,
) -> ApiResult<StatusCode> {
    accounts::revoke_api_token(&s, &caller, &token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The logged-in user, with the CSRF token for cookie sessions.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The user", body = Me)))]
pub async fn get_me(Authed(caller): Authed) -> Json<Me> {
    let csrf = (caller.kind == SessionKind::Browser).then(|| caller.csrf.clone());
    Json(Me::new(&caller.user, csrf, caller.must_enrol_two_factor()))
}

/// Change name or language.
#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", request_body = UpdateMeRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The updated user", body = Me)))]
pub async fn update_me(
    State(s): State<AppState>,
    Authed(caller): Authed,
    JsonBody(req): JsonBody<UpdateMeRequest>,
) -> ApiResult<Json<Me>> {
    let user = accounts::update_profile(
        &s,
        &caller,
        req.name.as_deref(),
        req.language.map(Language::as_str),
    )
    .await?;
    let csrf = (caller.kind == SessionKind::Browser).then(|| caller.csrf.clone());
    Ok(Json(Me::new(&user, csrf, caller.must_enrol_two_factor())))
}
