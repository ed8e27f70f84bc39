//! The workflow's task handlers by name (`statemachines/tasks.json`): one entry point that
//! the local executor calls in-process and each AWS task Lambda calls with its event. A
//! handler's error is reported as the error name the state machine's `Retry` and `Catch`
//! match: `Keiyaku.Retryable` (a dependency failed), `Keiyaku.Cancelled` (the sender
//! withdrew the document meanwhile), `Keiyaku.NonRetryable` (anything else).

use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::contract;
use crate::domain::answer::Ending;
use crate::domain::document::Ids;
use crate::domain::document::Phase;
use crate::error::Error;
use crate::services::needs::{
    Authority, Blobs, Cpu, Decrypt, Encrypt, Items, LinkMacs, Mail, Schedule, SealingPorts,
    Settings, Time, Workflows,
};

/// A handler's failure, as a Lambda function reports it (`errorType`, `errorMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// The error name the machine matches.
    pub error: &'static str,
    /// What happened (logged; never shown to a party).
    pub cause: String,
}

impl From<Error> for TaskError {
    fn from(e: Error) -> Self {
        let error = match &e {
            Error::Gone {
                code: "cancelled", ..
            } => "Keiyaku.Cancelled",
            Error::Unavailable(_) | Error::Internal(_) => "Keiyaku.Retryable",
            _ => "Keiyaku.NonRetryable",
        };
        let cause = match &e {
            Error::Unavailable(why) | Error::Internal(why) | Error::Integrity(why) => why.clone(),
            other => other.to_string(),
        };
        TaskError { error, cause }
    }
}

/// Every field a task's payload may carry (the definition's `Parameters.Payload`).
#[derive(Deserialize)]
struct Payload {
    #[serde(flatten)]
    ids: Ids,
    phase: Option<Phase>,
    kind: Option<Phase>,
    party_id: Option<String>,
    task_token: Option<String>,
    step: Option<String>,
    event: Option<Ending>,
    error: Option<String>,
}

fn missing(field: &str) -> TaskError {
    TaskError {
        error: "Keiyaku.NonRetryable",
        cause: format!("the payload has no {field}"),
    }
}

/// Every port a task handler may use (each handler uses some of them).
pub trait TaskPorts:
    Items
    + Blobs
    + SealingPorts
    + Mail
    + Workflows
    + Schedule
    + Time
    + Settings
    + Cpu
    + Authority
    + LinkMacs
    + Encrypt
    + Decrypt
{
}

impl<T> TaskPorts for T where
    T: Items
        + Blobs
        + SealingPorts
        + Mail
        + Workflows
        + Schedule
        + Time
        + Settings
        + Cpu
        + Authority
        + LinkMacs
        + Encrypt
        + Decrypt
{
}

/// Runs handler `handler` on `payload`; its result (the Lambda's `Payload`). A task
/// function calls its own handler directly, so only that one is linked into it.
pub async fn run(s: &impl TaskPorts, handler: &str, payload: Value) -> Result<Value, TaskError> {
    match handler {
        "next_step" => next_step(s, payload).await,
        "record_wait" => record_wait(s, payload).await,
        "seal" => seal(s, payload).await,
        "extend_lta" => extend_lta(s, payload).await,
        "complete" => complete(s, payload).await,
        "notify" => notify(s, payload).await,
        "expire" => expire(s, payload).await,
        "seal_failed" => seal_failed(s, payload).await,
        other => Err(TaskError {
            error: "Keiyaku.NonRetryable",
            cause: format!("no task handler {other:?}"),
        }),
    }
}

fn parse(payload: Value) -> Result<Payload, TaskError> {
    serde_json::from_value(payload).map_err(|e| TaskError {
        error: "Keiyaku.NonRetryable",
        cause: format!("unreadable payload: {e}"),
    })
}

/// `next_step`: what comes next in a phase.
pub async fn next_step(s: &impl TaskPorts, payload: Value) -> Result<Value, TaskError> {
    let p = parse(payload)?;
    let phase = p.phase.ok_or_else(|| missing("phase"))?;
    let next = contract::next_step(s, &p.ids, phase).await?;
    serde_json::to_value(next).map_err(|e| Error::internal(e).into())
}

/// `record_wait`: keeps the task token and asks the party.
pub async fn record_wait(s: &impl TaskPorts, payload: Value) -> Result<Value, TaskError> {
    let p = parse(payload)?;
    let phase = p.kind.ok_or_else(|| missing("kind"))?;
    let party = p.party_id.ok_or_else(|| missing("party_id"))?;
    let token = p.task_token.ok_or_else(|| missing("task_token"))?;
    contract::record_wait(s, &p.ids, phase, &party, &token).await?;
    Ok(json!({}))
}

/// `seal`: the B-T seal of the send or of one party's agreement.
pub async fn seal(s: &impl TaskPorts, payload: Value) -> Result<Value, TaskError> {
    let p = parse(payload)?;
    match p.step.as_deref() {
        Some("send") => contract::seal(s, &p.ids, None).await?,
        Some("agreement") => {
            let party = p.party_id.ok_or_else(|| missing("party_id"))?;
            contract::seal(s, &p.ids, Some(&party)).await?
        }
        _ => return Err(missing("step (send or agreement)")),
    }
    Ok(json!({}))
}

/// `extend_lta`: the fully agreed file to long-term form.
pub async fn extend_lta(s: &impl TaskPorts, payload: Value) -> Result<Value, TaskError> {
    let p = parse(payload)?;
    contract::extend_lta(s, &p.ids).await?;
    Ok(json!({}))
}

/// `complete`: stores the final file, marks the document completed, mails every party.
pub async fn complete(s: &impl TaskPorts, payload: Value) -> Result<Value, TaskError> {
    let p = parse(payload)?;
    let status = contract::complete(s, &p.ids).await?;
    Ok(json!({ "status": status.name() }))
}

/// `notify`: ends the document as rejected, declined or cancelled.
pub async fn notify(s: &impl TaskPorts, payload: Value) -> Result<Value, TaskError> {
    let p = parse(payload)?;
    let ending = p.event.ok_or_else(|| missing("event"))?;
    let status = contract::end(s, &p.ids, ending).await?;
    Ok(json!({ "status": status.name() }))
}

/// `expire`: marks the document expired.
pub async fn expire(s: &impl TaskPorts, payload: Value) -> Result<Value, TaskError> {
    let p = parse(payload)?;
    let status = contract::end(s, &p.ids, Ending::Expired).await?;
    Ok(json!({ "status": status.name() }))
}

/// `seal_failed`: parks the document for the operators' retry.
pub async fn seal_failed(s: &impl TaskPorts, payload: Value) -> Result<Value, TaskError> {
    let p = parse(payload)?;
    let token = p.task_token.ok_or_else(|| missing("task_token"))?;
    let step = p.step.unwrap_or_default();
    let error = p.error.unwrap_or_default();
    contract::seal_failed(s, &p.ids, &step, &error, &token).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_named_as_the_machine_matches_them() {
        let cancelled = TaskError::from(Error::Gone {
            code: "cancelled",
            message: "x".into(),
        });
        assert_eq!(cancelled.error, "Keiyaku.Cancelled");
        assert_eq!(
            TaskError::from(Error::Unavailable("tsa".into())).error,
            "Keiyaku.Retryable"
        );
        assert_eq!(
            TaskError::from(Error::Internal("db".into())).error,
            "Keiyaku.Retryable"
        );
        assert_eq!(
            TaskError::from(Error::NotFound).error,
            "Keiyaku.NonRetryable"
        );
        assert_eq!(
            TaskError::from(Error::Gone {
                code: "document_closed",
                message: "x".into()
            })
            .error,
            "Keiyaku.NonRetryable"
        );
    }
}
