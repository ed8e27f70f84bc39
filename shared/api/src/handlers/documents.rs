//! Document routes: upload slots, creating drafts, listing, reading, downloading, deleting.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt};
use keiyaku_core::Error;
use keiyaku_core::app::documents::{self, NewDocument};
use keiyaku_core::app::listing::{self, ListQuery};
use keiyaku_core::app::parties::{self, ApproverInput, DraftEdit, RecipientInput};
use keiyaku_core::app::uploads::{self, UploadPurpose};
use keiyaku_core::domain::document::{Document, Status, StatusGroup};
use keiyaku_core::domain::user::Caller;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Binary;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Authed, JsonBody, QueryParams, Writer, is_json, parse_json, read_limited};

/// Asks for an upload slot.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// The file's name on the client's machine.
    #[schema(max_length = 1000)]
    pub filename: String,
    /// Its exact size in bytes (at most the configured limit, 20 MiB by default).
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::extract::whole_number")]
    pub size: u64,
    /// `document` (the default).
    pub purpose: Option<UploadPurpose>,
}

/// Where to send the file.
#[derive(Serialize, ToSchema)]
pub struct UploadSlot {
    /// Name this in `POST /documents`.
    pub upload_id: String,
    /// Send the file here…
    pub url: String,
    /// …with this method: `PUT` (the body is the file; the local shape), or `POST` (a
    /// presigned S3 POST on AWS: a multipart form of `fields`, then the file as `file`).
    pub method: String,
    /// The form fields of a `POST`, sent before the file (empty for `PUT`).
    pub fields: std::collections::BTreeMap<String, String>,
    /// The slot is gone after this.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// The file arrived.
#[derive(Serialize, ToSchema)]
pub struct UploadReceived {
    /// The slot.
    pub upload_id: String,
    /// Bytes received.
    pub size: u64,
}

/// Creates a draft from an upload slot.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFromUpload {
    /// The slot the file was sent to.
    pub upload_id: String,
    /// Title (≤ 200 characters; defaults to the file name).
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
}

/// Query of the one-call upload.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectUploadQuery {
    /// Title (≤ 200 characters; defaults to the file name).
    #[param(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// The original file name.
    pub filename: Option<String>,
}

/// A document in a listing.
#[derive(Serialize, ToSchema)]
pub struct DocumentSummary {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Original file name.
    pub filename: String,
    /// Where it is in its life.
    pub status: Status,
    /// Pages.
    pub pages: u32,
    /// Size of the original in bytes.
    pub size: u64,
    /// When it was created.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it last changed.
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The recipients, in the order they agree.
    pub parties: Vec<PartyName>,
    /// 親展: only its sender, approvers and recipients see it; in the team's list its title
    /// and parties are left empty for everyone else.
    pub confidential: bool,
}

/// A party as a list names them.
#[derive(Serialize, ToSchema)]
pub struct PartyName {
    /// Name.
    pub name: String,
    /// 会社名.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

/// Who is looking at a document, and as what.
#[derive(Serialize, ToSchema)]
pub struct Viewer {
    /// `sender`, or `approver`.
    pub role: ViewerRole,
    /// Which approver the viewer is (`a1`, …), when one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver_id: Option<String>,
}

/// What the viewer is to the document.
#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViewerRole {
    /// Its sender.
    Sender,
    /// One of its approvers.
    Approver,
    /// An admin or auditor of its team, reading it.
    Team,
}

/// A document with its details and history.
#[derive(Serialize, ToSchema)]
pub struct DocumentDetail {
    /// The summary fields.
    #[serde(flatten)]
    pub summary: DocumentSummary,
    /// Its sender.
    pub owner_id: String,
    /// The team it belongs to.
    pub team_id: String,
    /// SHA-256 of the original, hex.
    pub sha256: String,
    /// PDF version of the original.
    pub pdf_version: String,
    /// SHA-256 of the current file (the newest sealed version once there is one), hex.
    pub file_sha256: String,
    /// The seals applied so far (`send`, `agreement:<party>`, `long_term`), oldest first.
    pub seals: Vec<keiyaku_core::domain::seal::SealRecord>,
    /// The recipients, in the order they agree.
    pub recipients: Vec<RecipientView>,
    /// The approvers, who answer before it goes out.
    pub approvers: Vec<ApproverView>,
    /// The sender's message to the parties.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The deadline for every answer.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<time::OffsetDateTime>,
    /// For a file in long-term form: by when its document timestamp must be renewed.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub renew_by: Option<time::OffsetDateTime>,
    /// Everything that happened to it, oldest first.
    pub history: Vec<HistoryView>,
    /// Who is looking at it, and as what.
    pub viewer: Viewer,
}

/// Something that happened to a document.
#[derive(Serialize, ToSchema)]
pub struct HistoryView {
    /// When, UTC.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: time::OffsetDateTime,
    /// Who (a user id, or the party's id).
    pub actor: String,
    /// What, e.g. `document.created`.
    pub action: String,
    /// From which address (shown to the sender only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// A recipient as the sender sees them (the access code itself is never shown); an
/// approver sees no addresses.
#[derive(Serialize, ToSchema)]
pub struct RecipientView {
    /// Id within the document (`r1`, …).
    pub id: String,
    /// Name.
    pub name: String,
    /// E-mail address (shown to the sender only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// 会社名.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// 部署.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Whether an access code is set.
    pub has_access_code: bool,
    /// Their answer in the current send, once given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<AnswerView>,
}

/// A party's answer.
#[derive(Serialize, ToSchema)]
pub struct AnswerView {
    /// `agreed`, `declined`, `approved` or `rejected`.
    pub decision: keiyaku_core::domain::answer::Decision,
    /// When, UTC.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub answered_at: time::OffsetDateTime,
    /// The reason they gave, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn answer_of(d: &Document, party: &str) -> Option<AnswerView> {
    d.answer_of(d.send, party).map(|a| AnswerView {
        decision: a.decision,
        answered_at: a.at,
        reason: a.reason.clone(),
    })
}

/// An approver.
#[derive(Serialize, ToSchema)]
pub struct ApproverView {
    /// Id within the document (`a1`, …).
    pub id: String,
    /// Name, as the sender gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address (shown to the sender only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Their answer in the current send, once given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<AnswerView>,
}

/// A recipient as the sender names them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientRequest {
    /// Name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// E-mail address.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 会社名.
    #[schema(max_length = 100)]
    pub company: Option<String>,
    /// 部署.
    #[schema(max_length = 100)]
    pub department: Option<String>,
    /// An access code the recipient must give (4 to 32 letters or digits; full-width
    /// digits are read as digits). Tell it to them another way than this service's mail.
    #[schema(min_length = 4, max_length = 32)]
    pub access_code: Option<String>,
}

/// An approver as the sender names them: an address, or an address with a name.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ApproverRequest {
    /// The address alone.
    #[schema(format = Email)]
    Email(String),
    /// The address and a name.
    Named(NamedApprover),
}

/// An approver's address and name.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedApprover {
    /// E-mail address.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Name.
    #[schema(max_length = 100)]
    pub name: Option<String>,
}

/// What a draft edit changes; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDocumentRequest {
    /// Title.
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// The recipients in the order they agree (replaces the list).
    #[schema(max_items = 30)]
    pub recipients: Option<Vec<RecipientRequest>>,
    /// The approvers, in order (replaces the list): each an e-mail address, or the address
    /// with a name. Whoever confirms that address in an account here approves; someone
    /// without one is invited by the approval mail.
    #[schema(max_items = 10)]
    pub approvers: Option<Vec<ApproverRequest>>,
    /// A message to the parties (empty clears it).
    #[schema(max_length = 2000)]
    pub message: Option<String>,
    /// The deadline for every answer: more than an hour ahead, at most 300 days.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// 親展: only its sender, approvers and recipients see it, and its file is never
    /// attached to mails.
    pub confidential: Option<bool>,
}

/// A page of documents.
#[derive(Serialize, ToSchema)]
pub struct DocumentList {
    /// Newest first.
    pub documents: Vec<DocumentSummary>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Listing filters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this status.
    #[param(inline)]
    pub status: Option<Status>,
    /// Only this tab: `draft`, `open` (awaiting approval, in progress, seal failed),
    /// `completed`, or `closed` (declined, rejected, cancelled, expired).
    #[param(inline)]
    pub group: Option<StatusGroup>,
    /// Only titles containing this.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// `sender` (the default): the caller's own documents; `approver`: documents that name
    /// the caller as an approver.
    #[param(inline)]
    pub role: Option<listing::ListRole>,
}

/// Download options.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileParams {
    /// `1` to download (attachment) rather than show inline.
    pub download: Option<String>,
}

/// The size of a page image.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Width of the image in pixels (its height follows the page); 1000 when not given.
    #[param(minimum = 100, maximum = 2400)]
    pub width: Option<u32>,
}

/// A page number from the path: a whole number (from 1).
pub(crate) fn page_number(n: &str) -> Result<u32, ApiError> {
    n.parse::<u32>().map_err(|_| {
        ApiError(Error::invalid(
            "page_number_invalid",
            "n",
            "the page number is a whole number, from 1",
        ))
    })
}

/// A page image as a response, kept by no cache.
pub(crate) fn png_response(png: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        png,
    )
        .into_response()
}

/// Page `n` of the document's current file as a PNG image, for browsers and phones that
/// cannot show a PDF; drawn on request and stored nowhere.
#[utoipa::path(get, path = "/api/v1/documents/{id}/pages/{n}", tag = "documents",
    params(("id" = String, Path, description = "Document id"),
           ("n" = u32, Path, minimum = 1, description = "Page number, from 1"), PageParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The page", content_type = "image/png", body = Binary)))]
pub async fn get_document_page(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path((id, n)): Path<(String, String)>,
    QueryParams(p): QueryParams<PageParams>,
) -> ApiResult<Response> {
    let n = page_number(&n)?;
    let png = keiyaku_core::app::pages::document_page(&s, &caller, &id, n, p.width).await?;
    Ok(png_response(png))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn summary(d: &Document) -> DocumentSummary {
    DocumentSummary {
        id: d.id.to_string(),
        title: d.title.clone(),
        filename: d.filename.clone(),
        status: d.status,
        pages: d.pages,
        size: d.original.size,
        created_at: rfc3339(d.created_at),
        updated_at: rfc3339(d.updated_at),
        parties: d
            .recipients
            .iter()
            .map(|r| PartyName {
                name: r.name.clone(),
                company: r.company.clone(),
            })
            .collect(),
        confidential: d.confidential,
    }
}

/// The detail view of a document as `viewer` may see it: the sender sees everything; an
/// approver sees what approving needs (the parties' names and companies, not their
/// addresses nor the addresses requests came from).
pub(crate) async fn detail(
    s: &AppState,
    viewer: &Caller,
    d: Document,
) -> ApiResult<DocumentDetail> {
    let sender = &d.owner_id == viewer.user_id();
    let shown = |value: String| sender.then_some(value);
    let history = documents::history(s, &d)
        .await?
        .into_iter()
        .map(|e| HistoryView {
            at: e.at,
            actor: e.actor,
            action: e.action,
            ip: shown(e.ip),
        })
        .collect();
    Ok(DocumentDetail {
        owner_id: d.owner_id.to_string(),
        team_id: d.team_id.to_string(),
        sha256: d.original.sha256.clone(),
        pdf_version: d.pdf_version.clone(),
        file_sha256: d.current_file().sha256.clone(),
        seals: d.seals.clone(),
        recipients: d
            .recipients
            .iter()
            .map(|r| RecipientView {
                id: r.id.clone(),
                name: r.name.clone(),
                email: shown(r.email.to_string()),
                company: r.company.clone(),
                department: r.department.clone(),
                has_access_code: r.access_code_hash.is_some(),
                answer: answer_of(&d, &r.id),
            })
            .collect(),
        approvers: d
            .approvers
            .iter()
            .map(|a| ApproverView {
                id: a.id.clone(),
                name: a.name.clone(),
                email: shown(a.email.to_string()),
                answer: answer_of(&d, &a.id),
            })
            .collect(),
        message: d.message.clone(),
        expires_at: d.expires_at,
        renew_by: d.renew_by,
        summary: summary(&d),
        history,
        viewer: Viewer {
            role: if sender {
                ViewerRole::Sender
            } else if documents::approver_of(&d, viewer).is_some() {
                ViewerRole::Approver
            } else {
                ViewerRole::Team
            },
            approver_id: documents::approver_of(&d, viewer).map(|a| a.id.clone()),
        },
    })
}

/// Longest `Idempotency-Key`.
pub(crate) const MAX_IDEMPOTENCY_KEY: usize = 255;
/// What an `Idempotency-Key` is made of: visible ASCII, no spaces.
pub(crate) const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]+$";

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_IDEMPOTENCY_KEY
        || !bytes.iter().all(|b| (b'!'..=b'~').contains(b))
    {
        return Err(ApiError(Error::invalid(
            "invalid_idempotency_key",
            "Idempotency-Key",
            format!("1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters, no spaces"),
        )));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// Open an upload slot; send the PDF to its `url`, then create the document from it.
#[utoipa::path(post, path = "/api/v1/documents/uploads", tag = "documents", request_body = UploadRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "The slot", body = UploadSlot)))]
pub async fn create_upload(
    State(s): State<AppState>,
    Writer(caller): Writer,
    JsonBody(req): JsonBody<UploadRequest>,
) -> ApiResult<(StatusCode, Json<UploadSlot>)> {
    let slot = uploads::open_upload(
        &s,
        &caller,
        &req.filename,
        req.size,
        req.purpose.unwrap_or_default(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadSlot {
            url: slot.target.url,
            upload_id: slot.id.to_string(),
            method: slot.target.method,
            fields: slot.target.fields,
            expires_at: rfc3339(slot.expires_at),
        }),
    ))
}

/// Receive the file of an upload slot (local shape; on AWS the client posts to S3).
#[utoipa::path(put, path = "/api/v1/uploads/{upload_id}", tag = "documents",
    params(("upload_id" = String, Path, description = "The slot")),
    request_body(content = Binary, content_type = "application/pdf"),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Received", body = UploadReceived)))]
pub async fn receive_upload(
    State(s): State<AppState>,
    Writer(caller): Writer,
    Path(upload_id): Path<String>,
    req: Request,
) -> ApiResult<Json<UploadReceived>> {
    let body = req
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other)
        .boxed();
    let size = uploads::receive_upload(&s, &caller, &upload_id, body).await?;
    Ok(Json(UploadReceived { upload_id, size }))
}

/// Create a draft: from an upload slot (`application/json`), or in one call with the PDF as
/// the body (`application/pdf`, at most 4 MB). An `Idempotency-Key` makes retries safe.
#[utoipa::path(post, path = "/api/v1/documents", tag = "documents",
    params(DirectUploadQuery, ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first result")),
    request_body(content(
        (CreateFromUpload = "application/json"),
        (Binary = "application/pdf"))),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, description = "The draft", body = DocumentDetail)))]
pub async fn create_document(
    State(s): State<AppState>,
    Writer(caller): Writer,
    QueryParams(query): QueryParams<DirectUploadQuery>,
    req: Request,
) -> ApiResult<Response> {
    let key = idempotency_key(req.headers())?;
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let (doc, fresh) = if is_json(content_type.as_ref()) {
        let bytes = read_limited(req.into_body(), crate::extract::MAX_JSON_BYTES).await?;
        let body: CreateFromUpload = parse_json(&bytes)?;
        let title = body.title.or(query.title);
        documents::create_from_upload(
            &s,
            &caller,
            &body.upload_id,
            title.as_deref(),
            key.as_deref(),
        )
        .await?
    } else if content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/pdf")
        })
    {
        let limit = usize::try_from(s.config.max_direct_upload_bytes).unwrap_or(usize::MAX);
        let bytes = read_limited(req.into_body(), limit).await?;
        let new = NewDocument {
            bytes,
            title: query.title,
            filename: query.filename.unwrap_or_default(),
            idempotency_key: key,
        };
        documents::create(&s, &caller, new).await?
    } else {
        return Err(ApiError(Error::UnsupportedMediaType {
            message:
                "send application/json naming an upload_id, or the PDF itself as application/pdf"
                    .into(),
        }));
    };
    let mut response = (StatusCode::CREATED, Json(detail(&s, &caller, doc).await?)).into_response();
    if !fresh {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The caller's documents, newest first.
#[utoipa::path(get, path = "/api/v1/documents", tag = "documents", params(ListParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "A page", body = DocumentList)))]
pub async fn list_documents(
    State(s): State<AppState>,
    Authed(caller): Authed,
    QueryParams(p): QueryParams<ListParams>,
) -> ApiResult<Json<DocumentList>> {
    let listing = listing::list(
        &s,
        &caller,
        ListQuery {
            status: p.status,
            group: p.group,
            q: p.q.as_deref(),
            cursor: p.cursor.as_deref().filter(|c| !c.is_empty()),
            limit: p.limit,
            role: p.role.unwrap_or_default(),
        },
    )
    .await?;
    Ok(Json(DocumentList {
        documents: listing.documents.iter().map(summary).collect(),
        next_cursor: listing.next_cursor,
    }))
}

/// A document: metadata, status, history.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "Document id")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The document", body = DocumentDetail)))]
pub async fn get_document(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<DocumentDetail>> {
    let doc = documents::get(&s, &caller, &id).await?;
    documents::record_read(&s, &caller, &doc, "document.viewed").await?;
    Ok(Json(detail(&s, &caller, doc).await?))
}

/// Edit a draft: title, recipients (in order), approvers, message, deadline.
#[utoipa::path(patch, path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "Document id")),
    request_body = UpdateDocumentRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The edited draft", body = DocumentDetail)))]
pub async fn update_document(
    State(s): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateDocumentRequest>,
) -> ApiResult<Json<DocumentDetail>> {
    let doc = parties::edit_draft(&s, &caller, &id, draft_edit(req)?).await?;
    Ok(Json(detail(&s, &caller, doc).await?))
}

/// The domain's draft edit from the request.
pub(crate) fn draft_edit(req: UpdateDocumentRequest) -> ApiResult<DraftEdit> {
    let expires_at = match req.expires_at.as_deref() {
        None => None,
        Some(raw) => Some(
            time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                .map_err(|_| {
                    ApiError(Error::invalid(
                        "invalid_expiry",
                        "expires_at",
                        "expires_at is an RFC 3339 date and time",
                    ))
                })?,
        ),
    };
    let edit = DraftEdit {
        title: req.title,
        recipients: req.recipients.map(|list| {
            list.into_iter()
                .map(|r| RecipientInput {
                    name: r.name,
                    email: r.email,
                    company: r.company,
                    department: r.department,
                    access_code: r.access_code,
                })
                .collect()
        }),
        approvers: req.approvers.map(|list| {
            list.into_iter()
                .map(|a| match a {
                    ApproverRequest::Email(email) => ApproverInput { email, name: None },
                    ApproverRequest::Named(n) => ApproverInput {
                        email: n.email,
                        name: n.name,
                    },
                })
                .collect()
        }),
        message: req.message,
        expires_at,
        confidential: req.confidential,
    };
    Ok(edit)
}

/// Delete a draft.
#[utoipa::path(delete, path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "Document id")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_document(
    State(s): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    documents::delete(&s, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// RFC 5987 `attr-char`s stay as they are; everything else is percent-encoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `Content-Disposition` with an ASCII fallback and the UTF-8 name per RFC 5987 / 6266.
pub fn content_disposition(kind: &str, filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{kind}; filename=\"{fallback}\"; filename*=UTF-8''{}",
        utf8_percent_encode(filename, ATTR_CHAR)
    )
}

/// The document's current PDF, streamed (verified segment by segment as it goes).
#[utoipa::path(get, path = "/api/v1/documents/{id}/file", tag = "documents",
    params(("id" = String, Path, description = "Document id"), FileParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The PDF", content_type = "application/pdf", body = Binary)))]
pub async fn get_document_file(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    QueryParams(p): QueryParams<FileParams>,
) -> ApiResult<Response> {
    let (doc, stream) = documents::open_file(&s, &caller, &id).await?;
    let action = match p.download.as_deref() {
        Some("1" | "true") => "document.downloaded",
        _ => "document.file_viewed",
    };
    documents::record_read(&s, &caller, &doc, action).await?;
    Ok(pdf_response(&doc, stream, p.download.as_deref()))
}

/// A document's file as a response: inline, or as an attachment with `download=1`.
pub(crate) fn pdf_response(
    doc: &Document,
    stream: keiyaku_core::ports::ByteStream,
    download: Option<&str>,
) -> Response {
    let kind = match download {
        Some("1" | "true") => "attachment",
        _ => "inline",
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(doc.current_file().size),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(kind, &doc.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    (headers, Body::from_stream(stream)).into_response()
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn content_disposition_keeps_japanese_names_safely() {
        assert_eq!(
            content_disposition("inline", "契約書 v2.pdf"),
            "inline; filename=\"___ v2.pdf\"; filename*=UTF-8''%E5%A5%91%E7%B4%84%E6%9B%B8%20v2.pdf"
        );
        assert!(
            content_disposition("attachment", "a\"b.pdf")
                .starts_with("attachment; filename=\"a_b.pdf\"")
        );
    }
}
