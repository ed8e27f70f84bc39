//! The ops view: the workflow's executions and their event histories, and the retry of a
//! failed seal. Operators only (`keiyaku operator grant`); anyone else is answered 404, as
//! for something that does not exist.

use crate::accounts::Caller;
use crate::contract::Ids;
use crate::error::{Error, Result};
use crate::ports::{ExecutionDetail, ExecutionList};
use crate::services::Services;

/// The execution statuses a listing can be filtered by.
pub const STATUSES: &[&str] = &["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

fn operator(caller: &Caller) -> Result<()> {
    if caller.user.operator {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

/// Executions newest first, optionally of one status.
pub async fn list(
    s: &Services,
    caller: &Caller,
    status: Option<&str>,
    cursor: Option<&str>,
    limit: Option<usize>,
) -> Result<ExecutionList> {
    operator(caller)?;
    if let Some(status) = status
        && !STATUSES.contains(&status)
    {
        return Err(Error::invalid(
            "invalid_status",
            "status",
            format!("status is one of {}", STATUSES.join(", ")),
        ));
    }
    let limit = limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(Error::invalid(
            "invalid_limit",
            "limit",
            "limit must be between 1 and 100",
        ));
    }
    s.workflow
        .list(status, cursor, limit)
        .await
        .map_err(|e| match e {
            crate::ports::WorkflowError::TaskGone | crate::ports::WorkflowError::NotFound => {
                Error::invalid("invalid_cursor", "cursor", "the cursor is not valid")
            }
            other => other.into(),
        })
}

/// One execution with its history.
pub async fn describe(s: &Services, caller: &Caller, id: &str) -> Result<ExecutionDetail> {
    operator(caller)?;
    if id.is_empty() || id.len() > 100 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::NotFound);
    }
    Ok(s.workflow.describe(id).await?)
}

/// Re-drives the execution's parked seal: the failed step runs again.
pub async fn retry(s: &Services, caller: &Caller, id: &str) -> Result<ExecutionDetail> {
    let execution = describe(s, caller, id).await?;
    let ids: Ids = serde_json::from_value(execution.input.clone())
        .map_err(|_| Error::conflict("not_a_contract", "this execution is not a document's"))?;
    crate::answers::retry_seal(s, &ids).await?;
    tracing::info!(execution = id, operator = %caller.user_id(), "seal retry requested");
    describe(s, caller, id).await
}
