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
    if !could_be_execution_id(id) {
        return Err(Error::NotFound);
    }
    let mut detail = s.workflow().describe(id).await?;
    detail.events = detail.events.into_iter().map(hide_task_tokens).collect();
    Ok(detail)
}

/// Whether `id` could name an execution: the local shape's ids (hex, and a Map Run's child
/// `<parent>-<uuid>`) and Step Functions' (a name such as `doc-<id>-<n>`, or a child's
/// `<label>:<name>`) are made of letters, digits, `-`, `_` and `:`; a name has at most 80
/// characters, a label 40.
fn could_be_execution_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'))
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
    fn execution_ids_of_both_shapes_are_taken_and_nothing_else() {
        for id in [
            "6a1a190f1abc5d004d63e9ed467f30fc",
            "6a1a190f1abc5d004d63e9ed467f30fc-8cedb2be-d879-4c77-b91f-903224ff5a9f",
            "doc-01JEXAMPLE-2",
            "fanout:8cedb2be-d879-4c77-b91f-903224ff5a9f",
        ] {
            assert!(could_be_execution_id(id), "{id}");
        }
        for id in ["", "a/b", "../x", "a b", "a%2Fb", &"a".repeat(129)] {
            assert!(!could_be_execution_id(id), "{id}");
        }
    }

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
