//! The runner as the core's `Workflow` port (the local shape's Step Functions), and the
//! contract state machine it runs: `statemachines/contract.asl.json` with each
//! `${...FunctionArn}` substituted, through `statemachines/tasks.json`, by a Lambda ARN
//! naming the in-process handler — the same names the SAM template's
//! `DefinitionSubstitutions` use.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use keiyaku_core::ports::{
    ExecutionDetail, ExecutionList, ExecutionSummary as PortSummary, MAP_RUN_CHILDREN, MapRun,
    Workflow, WorkflowError as PortError,
};
use keiyaku_states::{Definition, DefinitionError, EventType, Status};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use crate::{ExecutionId, ExecutionSummary, Machine, MapRunChild, Runner, WorkflowError, layout};

/// The contract machine's name.
pub const CONTRACT: &str = "contract";

const CONTRACT_ASL: &str = include_str!("../../../statemachines/contract.asl.json");
const TASKS: &str = include_str!("../../../statemachines/tasks.json");

/// The ARN a substitution names for `handler` locally (region `local`, a zero account).
fn function_arn(handler: &str) -> String {
    format!("arn:aws:lambda:local:000000000000:function:{handler}")
}

/// The substitutions `tasks.json` maps: each `${Key}` to the function of its handler.
pub fn substitutions() -> Result<BTreeMap<String, String>, DefinitionError> {
    substitutions_of(TASKS)
}

fn substitutions_of(tasks_json: &str) -> Result<BTreeMap<String, String>, DefinitionError> {
    let refuse = |message: String| DefinitionError {
        path: "statemachines/tasks.json".into(),
        message,
    };
    let tasks: serde_json::Map<String, Value> =
        serde_json::from_str(tasks_json).map_err(|e| refuse(e.to_string()))?;
    tasks
        .iter()
        .map(|(key, entry)| {
            entry["handler"]
                .as_str()
                .map(|h| (key.clone(), function_arn(h)))
                .ok_or_else(|| refuse(format!("{key} names no handler")))
        })
        .collect()
}

/// The contract state machine, parsed (refused, naming the JSON path, when it uses
/// anything the interpreter does not implement): the files built into this binary, or
/// `contract.asl.json` and `tasks.json` read from `dir` when one is given.
pub fn contract_machine(dir: Option<&Path>) -> Result<Machine, DefinitionError> {
    let (asl, tasks) = match dir {
        None => (CONTRACT_ASL.to_owned(), TASKS.to_owned()),
        Some(dir) => {
            let read = |name: &str| {
                std::fs::read_to_string(dir.join(name)).map_err(|e| DefinitionError {
                    path: dir.join(name).display().to_string(),
                    message: e.to_string(),
                })
            };
            (read("contract.asl.json")?, read("tasks.json")?)
        }
    };
    Ok(Machine {
        name: CONTRACT.into(),
        definition: Definition::parse_with(&asl, &substitutions_of(&tasks)?)?,
    })
}

fn port_error(e: WorkflowError) -> PortError {
    match e {
        WorkflowError::TaskDoesNotExist
        | WorkflowError::TaskTimedOut
        | WorkflowError::InvalidToken => PortError::TaskGone,
        WorkflowError::ExecutionAlreadyExists(_) => PortError::AlreadyExists,
        WorkflowError::ExecutionDoesNotExist(_) => PortError::NotFound,
        other => PortError::Unavailable(other.to_string()),
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn port_summary(s: &ExecutionSummary) -> PortSummary {
    PortSummary {
        id: s.id.to_string(),
        name: s.name.clone(),
        status: layout::status_name(s.status).to_owned(),
        start_date: rfc3339(s.start_date),
        stop_date: s.stop_date.map(rfc3339),
    }
}

fn child_summary(c: &MapRunChild) -> PortSummary {
    PortSummary {
        id: c.id.to_string(),
        name: c.name.clone(),
        status: layout::status_name(c.status).to_owned(),
        start_date: c.start_date.map(rfc3339).unwrap_or_default(),
        stop_date: c.stop_date.map(rfc3339),
    }
}

fn parse_status(name: &str) -> Option<Status> {
    [
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::TimedOut,
        Status::Aborted,
    ]
    .into_iter()
    .find(|s| layout::status_name(*s) == name)
}

#[async_trait]
impl Workflow for Runner {
    async fn start(&self, name: &str, input: Value) -> Result<String, PortError> {
        self.start_execution(CONTRACT, name, input)
            .await
            .map(|id| id.to_string())
            .map_err(port_error)
    }

    async fn succeed_task(&self, token: &str, output: Value) -> Result<(), PortError> {
        self.send_task_success(token, output)
            .await
            .map_err(port_error)
    }

    async fn fail_task(&self, token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.send_task_failure(token, error, cause)
            .await
            .map_err(port_error)
    }

    async fn list(
        &self,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ExecutionList, PortError> {
        let status = match status {
            None => None,
            Some(name) => Some(parse_status(name).ok_or(PortError::NotFound)?),
        };
        let page = self
            .list_executions(status, cursor, limit)
            .await
            .map_err(port_error)?;
        Ok(ExecutionList {
            executions: page.executions.iter().map(port_summary).collect(),
            next_cursor: page.next,
        })
    }

    async fn describe(&self, id: &str) -> Result<ExecutionDetail, PortError> {
        let id = ExecutionId::new(id);
        let d = self.describe_execution(&id).await.map_err(port_error)?;
        let history = self.history(&id, None, 1000).await.map_err(port_error)?;
        let mut map_runs = Vec::new();
        for e in &history.events {
            let Some(arn) = e
                .detail_str("mapRunArn")
                .filter(|_| e.kind == EventType::MapRunStarted)
            else {
                continue;
            };
            let children = self
                .map_run(arn, MAP_RUN_CHILDREN)
                .await
                .map_err(port_error)?;
            map_runs.push(MapRun {
                map_run_arn: arn.to_owned(),
                executions: children.iter().map(child_summary).collect(),
            });
        }
        Ok(ExecutionDetail {
            summary: port_summary(&d.summary),
            input: d.input,
            output: d.output,
            error: d.error,
            cause: d.cause,
            events: history
                .events
                .iter()
                .filter_map(|e| serde_json::to_value(e).ok())
                .collect(),
            map_runs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_machine_loads_with_every_handler_substituted() {
        let machine = contract_machine(None).expect("the contract machine is accepted");
        let from_files = contract_machine(Some(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../statemachines"
        ))))
        .expect("the files in statemachines/ are the ones built in");
        assert_eq!(
            from_files.definition.sha256_hex(),
            machine.definition.sha256_hex()
        );
        assert_eq!(machine.name, CONTRACT);
        let subs = substitutions().unwrap();
        assert_eq!(subs.len(), 8);
        assert_eq!(
            crate::handler_name(&subs["SealFunctionArn"]),
            "seal",
            "the handler is named by the ARN's function"
        );
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for name in ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] {
            assert_eq!(layout::status_name(parse_status(name).unwrap()), name);
        }
        assert!(parse_status("running").is_none());
    }
}
