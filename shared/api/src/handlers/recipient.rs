//! The recipient's routes: the mailed link's token (from the URL fragment) is exchanged for
//! a recipient cookie (HttpOnly, SameSite=Strict, path `/api/v1/r`), which opens exactly one
//! document for exactly one party.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use keiyaku_core::Error;
use keiyaku_core::app::recipients::{self, RecipientCaller, RecipientView};
use keiyaku_core::domain::answer::Decision;
use keiyaku_core::domain::party::reason;
use serde::Deserialize;
use utoipa::ToSchema;

use super::contract::ReasonRequest;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ClientAddr, JsonBody, QueryParams};

/// The recipient cookie's name.
pub const RECIPIENT_COOKIE: &str = "keiyaku_recipient";

/// Opens a recipient link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// The token from the link's fragment (after `#`).
    #[schema(min_length = 1, max_length = 128)]
    pub token: String,
    /// The access code, when the sender set one (full-width digits are accepted).
    #[schema(max_length = 64)]
    pub code: Option<String>,
}

/// A recipient with an open session (from the recipient cookie).
pub struct Recipient(pub RecipientCaller);

impl FromRequestParts<AppState> for Recipient {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let name = crate::extract::cookie_name(state, RECIPIENT_COOKIE, false);
        let secret = crate::extract::cookie(parts, &name).ok_or_else(|| {
            ApiError(Error::unauthorized(
                "open the link from your mail to see this document",
            ))
        })?;
        Ok(Recipient(recipients::authenticate(state, &secret).await?))
    }
}

/// Open the mailed link: its token and, when the sender set one, the access code. Sets the
/// recipient cookie. Ten wrong codes suspend the link until the sender reissues it.
#[utoipa::path(post, path = "/api/v1/r/session", tag = "recipient", request_body = SessionRequest,
    responses((status = 200, description = "The document as the recipient sees it", body = RecipientView,
        headers(("set-cookie" = String, description = "The recipient cookie")))))]
pub async fn open_session(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    JsonBody(req): JsonBody<SessionRequest>,
) -> ApiResult<Response> {
    let (secret, caller) =
        recipients::open_session(&s, &req.token, req.code.as_deref(), ip).await?;
    let view = recipients::view(&s, &caller).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        crate::extract::set_cookie(
            &s,
            &crate::extract::cookie_name(&s, RECIPIENT_COOKIE, false),
            &secret,
            "/api/v1/r",
            cookie::SameSite::Strict,
            recipients::SESSION_HOURS * 3600,
        )?,
    );
    Ok((headers, Json(view)).into_response())
}

/// The document as the recipient sees it.
#[utoipa::path(get, path = "/api/v1/r/document", tag = "recipient",
    security(("recipient" = [])),
    responses((status = 200, description = "The document", body = RecipientView)))]
pub async fn document(
    State(s): State<AppState>,
    Recipient(caller): Recipient,
) -> ApiResult<Json<RecipientView>> {
    Ok(Json(recipients::view(&s, &caller).await?))
}

/// The document's current PDF (after completion: the sealed file in long-term form).
#[utoipa::path(get, path = "/api/v1/r/file", tag = "recipient",
    params(super::documents::FileParams),
    security(("recipient" = [])),
    responses((status = 200, description = "The PDF", content_type = "application/pdf", body = super::Binary)))]
pub async fn file(
    State(s): State<AppState>,
    Recipient(caller): Recipient,
    QueryParams(p): QueryParams<super::documents::FileParams>,
) -> ApiResult<Response> {
    let (doc, stream) = recipients::open_file(&s, &caller).await?;
    Ok(super::documents::pdf_response(
        &doc,
        stream,
        p.download.as_deref(),
    ))
}

/// Page `n` of the document's current file as a PNG image (as for the sender).
#[utoipa::path(get, path = "/api/v1/r/pages/{n}", tag = "recipient",
    params(("n" = u32, Path, minimum = 1, description = "Page number, from 1"),
           super::documents::PageParams),
    security(("recipient" = [])),
    responses((status = 200, description = "The page", content_type = "image/png", body = super::Binary)))]
pub async fn page(
    State(s): State<AppState>,
    Recipient(caller): Recipient,
    axum::extract::Path(n): axum::extract::Path<String>,
    QueryParams(p): QueryParams<super::documents::PageParams>,
) -> ApiResult<Response> {
    let n = super::documents::page_number(&n)?;
    let png = keiyaku_core::app::pages::recipient_page(&s, &caller, n, p.width).await?;
    Ok(super::documents::png_response(png))
}

/// The recipient reached the last page (recorded once per send in the history); the page
/// enables 同意 only then.
#[utoipa::path(post, path = "/api/v1/r/viewed", tag = "recipient",
    security(("recipient" = [])),
    responses((status = 200, description = "Recorded", body = RecipientView)))]
pub async fn viewed(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    Recipient(caller): Recipient,
) -> ApiResult<Json<RecipientView>> {
    Ok(Json(recipients::viewed(&s, &caller, ip).await?))
}

/// Agree to the document. The service seals the agreement; the next recipient, or the
/// completion, follows.
#[utoipa::path(post, path = "/api/v1/r/agree", tag = "recipient",
    security(("recipient" = [])),
    responses((status = 200, description = "Agreed", body = RecipientView)))]
pub async fn agree(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    Recipient(caller): Recipient,
) -> ApiResult<Json<RecipientView>> {
    Ok(Json(
        recipients::answer(&s, &caller, Decision::Agreed, None, ip).await?,
    ))
}

/// Decline the document (with a reason for the sender); it ends, and everyone concerned is
/// told.
#[utoipa::path(post, path = "/api/v1/r/decline", tag = "recipient", request_body = ReasonRequest,
    security(("recipient" = [])),
    responses((status = 200, description = "Declined", body = RecipientView)))]
pub async fn decline(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    Recipient(caller): Recipient,
    JsonBody(req): JsonBody<ReasonRequest>,
) -> ApiResult<Json<RecipientView>> {
    let reason = reason(req.reason.as_deref())?;
    Ok(Json(
        recipients::answer(&s, &caller, Decision::Declined, reason, ip).await?,
    ))
}
