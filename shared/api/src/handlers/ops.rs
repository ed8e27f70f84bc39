//! The ops view: executions of the contract workflow, their histories, and the retry of a
//! parked seal. Operators only; anyone else gets 404.

use axum::Json;
use axum::extract::{Path, State};
use keiyaku_core::app::ops;
use keiyaku_core::ports::{ExecutionDetail, ExecutionList};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Authed, QueryParams};

/// Listing filters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExecutionParams {
    /// Only this status: `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

/// The workflow's executions, newest first.
#[utoipa::path(get, path = "/api/v1/ops/executions", tag = "ops", params(ExecutionParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "A page", body = ExecutionList)))]
pub async fn list_executions(
    State(s): State<AppState>,
    Authed(caller): Authed,
    QueryParams(p): QueryParams<ExecutionParams>,
) -> ApiResult<Json<ExecutionList>> {
    Ok(Json(
        ops::list(
            &s,
            &caller,
            p.status.as_deref(),
            p.cursor.as_deref().filter(|c| !c.is_empty()),
            p.limit,
        )
        .await?,
    ))
}

/// One execution and its event history (Step Functions' event names).
#[utoipa::path(get, path = "/api/v1/ops/executions/{id}", tag = "ops",
    params(("id" = String, Path, description = "Execution id")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The execution", body = ExecutionDetail)))]
pub async fn get_execution(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ExecutionDetail>> {
    Ok(Json(ops::describe(&s, &caller, &id).await?))
}

/// Re-drive a failed seal: the step that failed runs again.
#[utoipa::path(post, path = "/api/v1/ops/executions/{id}/retry", tag = "ops",
    params(("id" = String, Path, description = "Execution id")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Retried; the execution as it is now", body = ExecutionDetail)))]
pub async fn retry_execution(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ExecutionDetail>> {
    Ok(Json(ops::retry(&s, &caller, &id).await?))
}
