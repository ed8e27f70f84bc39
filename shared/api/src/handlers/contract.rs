//! What the sender and the approvers do to a document that goes out: send (starting its
//! workflow), approve or reject, cancel, remind, reissue a recipient's link.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use keiyaku_core::domain::answer::Decision;
use keiyaku_core::domain::party::reason;
use keiyaku_core::{Error, app::answers, app::parties, app::recipients};
use serde::Deserialize;
use utoipa::ToSchema;

use super::documents::{DocumentDetail, UpdateDocumentRequest, detail, draft_edit};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, MAX_JSON_BYTES, Writer, is_json, parse_json, read_limited};

/// An answer's reason.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why (shown to the sender; at most 1000 characters).
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

/// Send the draft as it stands; the fields of `PATCH /documents/{id}` may be given here too.
/// Its approvers are asked first, if any; then its recipients, in order.
#[utoipa::path(post, path = "/api/v1/documents/{id}/send", tag = "workflow",
    params(("id" = String, Path, description = "Document id")),
    request_body(content = Option<UpdateDocumentRequest>, description = "Optional last edits"),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Sent", body = DocumentDetail)))]
pub async fn send_document(
    State(s): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult<Json<DocumentDetail>> {
    let json = is_json(req.headers().get(header::CONTENT_TYPE));
    let bytes = read_limited(req.into_body(), MAX_JSON_BYTES).await?;
    if !bytes.is_empty() {
        if !json {
            return Err(ApiError(Error::UnsupportedMediaType {
                message: "send the edits as application/json, or no body".into(),
            }));
        }
        // `null` is no edits, as the schema says (an optional body).
        if serde_json::from_slice::<serde_json::Value>(&bytes).ok() != Some(serde_json::Value::Null)
        {
            let edits: UpdateDocumentRequest = parse_json(&bytes)?;
            parties::edit_draft(&s, &caller, &id, draft_edit(edits)?).await?;
        }
    }
    let doc = answers::send(&s, &caller, &id).await?;
    Ok(Json(detail(&s, &caller, doc).await?))
}

/// An approver approves the document; the next approver, or its recipients, come next.
#[utoipa::path(post, path = "/api/v1/documents/{id}/approve", tag = "workflow",
    params(("id" = String, Path, description = "Document id")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Approved", body = DocumentDetail)))]
pub async fn approve_document(
    State(s): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
) -> ApiResult<Json<DocumentDetail>> {
    let doc = answers::approve(&s, &caller, &id, Decision::Approved, None).await?;
    Ok(Json(detail(&s, &caller, doc).await?))
}

/// An approver rejects the document: it is not sent, and the sender is told why.
#[utoipa::path(post, path = "/api/v1/documents/{id}/reject", tag = "workflow",
    params(("id" = String, Path, description = "Document id")),
    request_body = ReasonRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Rejected", body = DocumentDetail)))]
pub async fn reject_document(
    State(s): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ReasonRequest>,
) -> ApiResult<Json<DocumentDetail>> {
    let reason = reason(req.reason.as_deref())?;
    let doc = answers::approve(&s, &caller, &id, Decision::Rejected, reason).await?;
    Ok(Json(detail(&s, &caller, doc).await?))
}

/// The sender withdraws the document; the parties asked so far are told.
#[utoipa::path(post, path = "/api/v1/documents/{id}/cancel", tag = "workflow",
    params(("id" = String, Path, description = "Document id")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Cancelled", body = DocumentDetail)))]
pub async fn cancel_document(
    State(s): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
) -> ApiResult<Json<DocumentDetail>> {
    let doc = answers::cancel(&s, &caller, &id).await?;
    Ok(Json(detail(&s, &caller, doc).await?))
}

/// Remind the party the document waits for (at most once an hour per party).
#[utoipa::path(post, path = "/api/v1/documents/{id}/remind", tag = "workflow",
    params(("id" = String, Path, description = "Document id")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Reminded")))]
pub async fn remind_document(
    State(s): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    answers::remind(&s, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reissue a recipient's link at any time once one was sent (after too many wrong access
/// codes, a lost mail, or to show the sealed file after the end): the earlier link stops
/// working and a new one is mailed; five an hour for one recipient.
#[utoipa::path(post, path = "/api/v1/documents/{id}/recipients/{party_id}/reissue", tag = "workflow",
    params(("id" = String, Path, description = "Document id"),
           ("party_id" = String, Path, description = "The recipient (`r1`, …)")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Reissued")))]
pub async fn reissue_link(
    State(s): State<AppState>,
    Writer(caller): Writer,
    Path((id, party_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    recipients::reissue(&s, &caller, &id, &party_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke a recipient's link: it stops working at once and nothing new is mailed (reissue
/// it to send a new one).
#[utoipa::path(post, path = "/api/v1/documents/{id}/recipients/{party_id}/revoke", tag = "workflow",
    params(("id" = String, Path, description = "Document id"),
           ("party_id" = String, Path, description = "The recipient (`r1`, …)")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_link(
    State(s): State<AppState>,
    Writer(caller): Writer,
    Path((id, party_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    recipients::revoke(&s, &caller, &id, &party_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
