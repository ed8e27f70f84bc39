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

/// Runs handler `handler` on `payload`; its result (the Lambda's `Payload`).
pub async fn run(
    s: &(
         impl Items
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
     ),
    handler: &str,
    payload: Value,
) -> Result<Value, TaskError> {
    let p: Payload = serde_json::from_value(payload).map_err(|e| TaskError {
        error: "Keiyaku.NonRetryable",
        cause: format!("unreadable payload: {e}"),
    })?;
    let ids = &p.ids;
    match handler {
        "next_step" => {
            let phase = p.phase.ok_or_else(|| missing("phase"))?;
            let next = contract::next_step(s, ids, phase).await?;
            serde_json::to_value(next).map_err(|e| Error::internal(e).into())
        }
        "record_wait" => {
            let phase = p.kind.ok_or_else(|| missing("kind"))?;
            let party = p.party_id.ok_or_else(|| missing("party_id"))?;
            let token = p.task_token.ok_or_else(|| missing("task_token"))?;
            contract::record_wait(s, ids, phase, &party, &token).await?;
            Ok(json!({}))
        }
        "seal" => {
            match p.step.as_deref() {
                Some("send") => contract::seal(s, ids, None).await?,
                Some("agreement") => {
                    let party = p.party_id.ok_or_else(|| missing("party_id"))?;
                    contract::seal(s, ids, Some(&party)).await?
                }
                _ => return Err(missing("step (send or agreement)")),
            }
            Ok(json!({}))
        }
        "extend_lta" => {
            contract::extend_lta(s, ids).await?;
            Ok(json!({}))
        }
        "complete" => {
            let status = contract::complete(s, ids).await?;
            Ok(json!({ "status": status.name() }))
        }
        "notify" => {
            let ending = p.event.ok_or_else(|| missing("event"))?;
            let status = contract::end(s, ids, ending).await?;
            Ok(json!({ "status": status.name() }))
        }
        "expire" => {
            let status = contract::end(s, ids, Ending::Expired).await?;
            Ok(json!({ "status": status.name() }))
        }
        "seal_failed" => {
            let token = p.task_token.ok_or_else(|| missing("task_token"))?;
            let step = p.step.unwrap_or_default();
            let error = p.error.unwrap_or_default();
            contract::seal_failed(s, ids, &step, &error, &token).await?;
            Ok(json!({}))
        }
        other => Err(TaskError {
            error: "Keiyaku.NonRetryable",
            cause: format!("no task handler {other:?}"),
        }),
    }
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
