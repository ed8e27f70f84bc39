//! Audit-log routes (admins and auditors): search, the CSV export (streamed), and the
//! verification of the team's hash chain.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use keiyaku_core::Error;
use keiyaku_core::app::audit::{self, AuditQuery, AuditReader};
use keiyaku_core::domain::audit::{AuditEvent, Outcome};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{AuditCaller, QueryParams};

/// What to look for in the audit log, and where a page starts.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// From this time (RFC 3339, inclusive).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Until this time (RFC 3339, exclusive).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Only this actor: a user id, or `recipient:<document>:<party>`.
    #[param(max_length = 200)]
    pub actor: Option<String>,
    /// Only actions starting with this (`account.`, `document.sent`).
    #[param(max_length = 200)]
    pub action: Option<String>,
    /// Only this target (`document:<id>`, `user:<id>`, `team`).
    #[param(max_length = 200)]
    pub target: Option<String>,
    /// From a previous page's `next_cursor`.
    #[param(pattern = "^[0-9a-f]{28}$")]
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// What to export from the audit log (all of it that matches, newest first).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// From this time (RFC 3339, inclusive).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Until this time (RFC 3339, exclusive).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Only this actor: a user id, or `recipient:<document>:<party>`.
    #[param(max_length = 200)]
    pub actor: Option<String>,
    /// Only actions starting with this (`account.`, `document.sent`).
    #[param(max_length = 200)]
    pub action: Option<String>,
    /// Only this target (`document:<id>`, `user:<id>`, `team`).
    #[param(max_length = 200)]
    pub target: Option<String>,
}

fn time_param(value: Option<&str>, field: &'static str) -> ApiResult<Option<OffsetDateTime>> {
    match value {
        None => Ok(None),
        Some(v) => OffsetDateTime::parse(v, &Rfc3339).map(Some).map_err(|_| {
            Error::invalid(
                "invalid_time",
                field,
                format!("{field} must be a time in RFC 3339 form (2026-04-01T00:00:00+09:00)"),
            )
            .into()
        }),
    }
}

/// A text filter, empty counting as absent.
fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

impl ExportParams {
    fn query(&self) -> ApiResult<AuditQuery<'_>> {
        Ok(AuditQuery {
            from: time_param(self.from.as_deref(), "from")?,
            to: time_param(self.to.as_deref(), "to")?,
            actor: text(&self.actor),
            action: text(&self.action),
            target: text(&self.target),
            ..Default::default()
        })
    }
}

impl AuditParams {
    fn query(&self) -> ApiResult<AuditQuery<'_>> {
        Ok(AuditQuery {
            from: time_param(self.from.as_deref(), "from")?,
            to: time_param(self.to.as_deref(), "to")?,
            actor: text(&self.actor),
            action: text(&self.action),
            target: text(&self.target),
            cursor: self.cursor.as_deref(),
            limit: self.limit,
        })
    }
}

/// The place of an event in its team's chain.
#[derive(Serialize, ToSchema)]
pub struct ChainView {
    /// Its position, from 1.
    pub seq: u64,
    /// SHA-256(previous link ‖ content hash), hex.
    pub link: String,
}

/// An event of the audit log.
#[derive(Serialize, ToSchema)]
pub struct AuditEventView {
    /// Its id.
    pub id: String,
    /// When (RFC 3339).
    #[schema(format = DateTime)]
    pub at: String,
    /// Who: a user id, `recipient:<document>:<party>`, `approver:…`, or `keiyaku`.
    pub actor: String,
    /// The actor's name, when they are an account of the team.
    pub actor_name: Option<String>,
    /// What (`account.logged_in`, `document.sent`, …).
    pub action: String,
    /// On what, when it concerns something.
    pub target: Option<String>,
    /// `success` or `failure`.
    pub outcome: Outcome,
    /// The client address.
    pub ip: String,
    /// The client's User-Agent.
    pub user_agent: Option<String>,
    /// SHA-256 of its content, hex.
    pub hash: String,
    /// Its place in the chain (none while it waits to be chained).
    pub chain: Option<ChainView>,
}

/// A page of the audit log, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPageView {
    /// The events.
    pub events: Vec<AuditEventView>,
    /// Give this back as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

fn view(e: AuditEvent, name: Option<String>) -> AuditEventView {
    AuditEventView {
        at: e.at.format(&Rfc3339).unwrap_or_default(),
        id: e.id,
        actor: e.actor,
        actor_name: name,
        action: e.action,
        target: e.target,
        outcome: e.outcome,
        ip: e.ip,
        user_agent: e.user_agent,
        hash: e.hash,
        chain: e.chain.map(|c| ChainView {
            seq: c.seq,
            link: c.link,
        }),
    }
}

/// Search the team's audit log (admins and auditors), newest first.
#[utoipa::path(get, path = "/api/v1/team/audit", tag = "audit", params(AuditParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "A page of events", body = AuditPageView)))]
pub async fn search_audit(
    State(s): State<AppState>,
    AuditCaller(caller): AuditCaller,
    QueryParams(p): QueryParams<AuditParams>,
) -> ApiResult<Json<AuditPageView>> {
    let reader = AuditReader::of(&caller)?;
    let page = audit::search(&s, &reader, p.query()?).await?;
    let people = audit::people(&s, &reader).await?;
    Ok(Json(AuditPageView {
        events: page
            .events
            .into_iter()
            .map(|e| {
                let name = people.get(&e.actor).map(|u| u.name.clone());
                view(e, name)
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Export the team's audit log as CSV (admins and auditors): UTF-8 with a BOM, so Excel
/// opens the Japanese; times in JST; streamed for any range, newest first.
#[utoipa::path(get, path = "/api/v1/team/audit/export", tag = "audit", params(ExportParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The events as CSV", content_type = "text/csv", body = String)))]
pub async fn export_audit(
    State(s): State<AppState>,
    AuditCaller(caller): AuditCaller,
    QueryParams(p): QueryParams<ExportParams>,
) -> ApiResult<Response> {
    let reader = AuditReader::of(&caller)?;
    let japanese = caller.user.language != "en";
    let stream = audit::export(s.clone(), &reader, p.query()?, japanese).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"keiyaku-audit-log.csv\""),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok((headers, Body::from_stream(stream)).into_response())
}

/// Where a chain is broken.
#[derive(Serialize, ToSchema)]
pub struct BrokenView {
    /// The position in the chain.
    pub seq: u64,
    /// The event there, when there is one.
    pub event_id: Option<String>,
    /// `edited`, `missing`, `moved` or `cut`.
    pub reason: String,
}

/// What a verification of the team's chain found.
#[derive(Serialize, ToSchema)]
pub struct VerificationView {
    /// Whether the chain runs unbroken from its start to its head.
    pub intact: bool,
    /// Events checked.
    pub checked: u64,
    /// Events still waiting to be chained.
    pub unchained: u64,
    /// The chain's last position.
    pub head_seq: u64,
    /// The first break, if any.
    pub first_broken: Option<BrokenView>,
}

/// Verify the team's audit chain (admins and auditors): reports the first broken link.
#[utoipa::path(get, path = "/api/v1/team/audit/verify", tag = "audit",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The verification", body = VerificationView)))]
pub async fn verify_audit(
    State(s): State<AppState>,
    AuditCaller(caller): AuditCaller,
) -> ApiResult<Json<VerificationView>> {
    let reader = AuditReader::of(&caller)?;
    let v = audit::verify_team(&s, &reader).await?;
    Ok(Json(VerificationView {
        intact: v.broken.is_none(),
        checked: v.checked,
        unchained: v.unchained,
        head_seq: v.head_seq,
        first_broken: v.broken.map(|b| BrokenView {
            seq: b.seq,
            event_id: b.event_id,
            reason: b.reason.to_owned(),
        }),
    }))
}
