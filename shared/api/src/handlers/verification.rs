//! `POST /verify`: the report `keiyaku verify --json` prints, for an upload slot's file or a
//! PDF sent in the request.

use axum::Json;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use keiyaku_core::Error;
use keiyaku_core::app::verification;
use serde::Deserialize;
use utoipa::ToSchema;

use super::Binary;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Authed, ClientAddr, is_json, parse_json, read_limited, session_token};

/// A verification upload to report on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyUpload {
    /// An upload slot opened with `"purpose": "verify"`, its file sent.
    pub upload_id: String,
}

/// Verify every signature and timestamp of a PDF: an upload slot's (`application/json`,
/// signed in), or the PDF itself as the body (`application/pdf`, at most 4 MB, no account
/// needed). Counted per client address (60 in 15 minutes) or, signed in, per account (600
/// an hour, upload slots for verification included).
#[utoipa::path(post, path = "/api/v1/verify", tag = "verification",
    request_body(content(
        (VerifyUpload = "application/json"),
        (Binary = "application/pdf"))),
    responses((status = 200, description = "The verification report", body = keiyaku_pdf::verify::Report)))]
pub async fn verify(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    req: Request,
) -> ApiResult<Json<serde_json::Value>> {
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    if is_json(content_type.as_ref()) {
        let (mut parts, body) = req.into_parts();
        let Authed(caller) = Authed::from_request_parts(&mut parts, &s).await?;
        let bytes = read_limited(body, crate::extract::MAX_JSON_BYTES).await?;
        let body: VerifyUpload = parse_json(&bytes)?;
        return Ok(Json(
            keiyaku_core::app::uploads::verification_of_upload(&s, &caller, &body.upload_id)
                .await?,
        ));
    }
    let is_pdf = content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/pdf"));
    if !is_pdf {
        return Err(ApiError(Error::UnsupportedMediaType {
            message:
                "send application/json naming an upload_id, or the PDF itself as application/pdf"
                    .into(),
        }));
    }
    // Signed-in callers are counted per account; a session that does not authenticate is
    // refused rather than counted as anonymous.
    let (mut parts, body) = req.into_parts();
    let caller = match session_token(&parts, &s) {
        Some(_) => Some(Authed::from_request_parts(&mut parts, &s).await?.0),
        None => None,
    };
    let limit = usize::try_from(s.config.max_direct_upload_bytes).unwrap_or(usize::MAX);
    let bytes = read_limited(body, limit).await?;
    if bytes.is_empty() {
        return Err(ApiError(Error::invalid(
            "empty_file",
            "body",
            "the file is empty",
        )));
    }
    Ok(Json(
        verification::verify_sent(&s, bytes, ip, caller.as_ref()).await?,
    ))
}
