//! Two-factor login settings of the logged-in user: enrolment (the secret and its QR code,
//! shown only in this answer), confirmation by a first code, and turning it off.

use axum::Json;
use axum::extract::State;
use base64::Engine;
use keiyaku_core::Error;
use keiyaku_core::app::two_factor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::StatusMessage;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Authed, JsonBody};

/// What the authenticator app needs.
#[derive(Serialize, ToSchema)]
pub struct EnrolmentView {
    /// The secret in base32, for typing into the app by hand.
    pub secret: String,
    /// The `otpauth://` URL, as the QR code carries it.
    pub otpauth_url: String,
    /// The QR code of `otpauth_url`, an SVG image as a `data:` URL.
    pub qr_code: String,
}

/// A code from the authenticator app.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The six digits the app shows.
    #[schema(max_length = 64)]
    pub code: String,
}

/// The recovery codes, shown once.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten codes, each usable once instead of the app's code.
    pub recovery_codes: Vec<String>,
}

/// Turning two-factor login off.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableRequest {
    /// The account's password.
    pub password: String,
    /// The app's code, or a recovery code.
    #[schema(max_length = 64)]
    pub code: String,
}

/// The QR code of `text` as an SVG `data:` URL (the client's CSP allows `data:` images).
fn qr_data_url(text: &str) -> Result<String, Error> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(Error::internal)?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

/// Start (or restart) enrolment: a new secret for the authenticator app, with its QR code.
/// Two-factor login is on only once a first code confirms it.
#[utoipa::path(post, path = "/api/v1/me/two-factor", tag = "accounts",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The new secret", body = EnrolmentView)))]
pub async fn start_two_factor(
    State(s): State<AppState>,
    Authed(caller): Authed,
) -> ApiResult<Json<EnrolmentView>> {
    let started = two_factor::start(&s, &caller).await?;
    Ok(Json(EnrolmentView {
        qr_code: qr_data_url(&started.otpauth_url)?,
        secret: started.secret,
        otpauth_url: started.otpauth_url,
    }))
}

/// Confirm enrolment with the app's first code: two-factor login is on, and the ten
/// recovery codes are shown this once.
#[utoipa::path(post, path = "/api/v1/me/two-factor/confirm", tag = "accounts", request_body = CodeRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "On; the recovery codes", body = RecoveryCodes)))]
pub async fn confirm_two_factor(
    State(s): State<AppState>,
    Authed(caller): Authed,
    JsonBody(req): JsonBody<CodeRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    let recovery_codes = two_factor::confirm(&s, &caller, &req.code).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

/// Turn two-factor login off, with the password and a code.
#[utoipa::path(post, path = "/api/v1/me/two-factor/disable", tag = "accounts", request_body = DisableRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Off", body = StatusMessage)))]
pub async fn disable_two_factor(
    State(s): State<AppState>,
    Authed(caller): Authed,
    JsonBody(req): JsonBody<DisableRequest>,
) -> ApiResult<Json<StatusMessage>> {
    two_factor::disable(&s, &caller, &req.password, &req.code).await?;
    Ok(StatusMessage::new("two_factor_disabled"))
}
