//! The ops view: the workflow's executions and their event histories, and the retry of a
//! failed seal. Operators only (`keiyaku operator grant`); anyone else is answered 404, as
//! for something that does not exist.

use crate::domain::document::{Ids, Status};
use crate::domain::user::Caller;
use crate::error::{Error, Result};
use crate::ports::{ExecutionDetail, ExecutionList, WorkflowError};
use crate::services::needs::{Items, Workflows};
use serde_json::{Value, json};

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
    s: &impl Workflows,
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
    s.workflow()
        .list(status, cursor, limit)
        .await
        .map_err(|e| match e {
            crate::ports::WorkflowError::TaskGone | crate::ports::WorkflowError::NotFound => {
                Error::invalid("invalid_cursor", "cursor", "the cursor is not valid")
            }
            other => other.into(),
        })
}

/// One execution with its history, task tokens hidden (whatever the adapter).
pub async fn describe(s: &impl Workflows, caller: &Caller, id: &str) -> Result<ExecutionDetail> {
    operator(caller)?;
    if id.is_empty() || id.len() > 100 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::NotFound);
    }
    let mut detail = s.workflow().describe(id).await?;
    detail.events = detail.events.into_iter().map(hide_task_tokens).collect();
    Ok(detail)
}

/// An event as the ops view shows it: task tokens (which complete a party's wait) hidden
/// wherever a task's parameters, input or output carry one.
fn hide_task_tokens(mut event: Value) -> Value {
    fn hide(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if key == "task_token" || key == "taskToken" {
                        *value = Value::String("(hidden)".into());
                    } else {
                        hide(value);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(hide),
            _ => {}
        }
    }
    if let Some(map) = event.as_object_mut() {
        for details in map.values_mut().filter(|v| v.is_object()) {
            if let Some(fields) = details.as_object_mut() {
                for field in ["parameters", "input", "output"] {
                    // AWS keeps these as JSON text.
                    if let Some(text) = fields.get(field).and_then(Value::as_str)
                        && let Ok(mut parsed) = serde_json::from_str::<Value>(text)
                    {
                        hide(&mut parsed);
                        fields.insert(field.into(), Value::String(parsed.to_string()));
                    }
                }
            }
        }
    }
    event
}

/// Re-drives the execution's parked seal: the failed step runs again.
pub async fn retry(
    s: &(impl Items + Workflows),
    caller: &Caller,
    id: &str,
) -> Result<ExecutionDetail> {
    let execution = describe(s, caller, id).await?;
    let ids: Ids = serde_json::from_value(execution.input.clone())
        .map_err(|_| Error::conflict("not_a_contract", "this execution is not a document's"))?;
    retry_seal(s, &ids).await?;
    tracing::info!(execution = id, operator = %caller.user_id(), "seal retry requested");
    describe(s, caller, id).await
}

/// An operator re-drives a parked seal: the parked task completes, so the machine runs the
/// failed step again (which puts the document back where it was).
pub async fn retry_seal(s: &(impl Items + Workflows), ids: &Ids) -> Result<()> {
    let (doc, _) = crate::store::documents::load(s, ids).await?;
    if doc.status != Status::SealFailed {
        return Err(Error::conflict(
            "not_seal_failed",
            "this document has no failed seal waiting for a retry",
        ));
    }
    let parked = s
        .items()
        .get(&crate::store::waits::wait_key(
            ids,
            crate::store::waits::OPS_PARTY,
        ))
        .await?
        .filter(|i| i.body["send"] == ids.send)
        .ok_or_else(|| Error::conflict("not_seal_failed", "no parked seal for this send"))?;
    let token = parked.body["task_token"]
        .as_str()
        .ok_or_else(|| Error::internal("a parked seal without a token"))?
        .to_owned();
    // The step that runs again puts the document back where it was (so a stop in between
    // leaves it parked and retryable, never stranded).
    match s
        .workflow()
        .succeed_task(&token, json!({ "retry": true }))
        .await
    {
        Ok(()) => Ok(()),
        Err(WorkflowError::TaskGone) => Err(Error::conflict(
            "not_seal_failed",
            "the parked seal is no longer waiting",
        )),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ops_view_never_shows_a_task_token() {
        let event = serde_json::json!({
            "id": 3,
            "type": "TaskScheduled",
            "taskScheduledEventDetails": {
                "resource": "invoke.waitForTaskToken",
                "parameters": "{\"Payload\":{\"document_id\":\"d1\",\"task_token\":\"SECRET\"}}"
            }
        });
        let shown = hide_task_tokens(event).to_string();
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(
            shown.contains("d1") && shown.contains("(hidden)"),
            "{shown}"
        );
    }
}
