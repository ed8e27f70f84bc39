//! The Workflow port on Step Functions: the contract machine that SAM deployed from
//! `statemachines/contract.asl.json`. An execution's id is its name (`doc-<id>-<n>`,
//! unique within the machine), so the ops view's URLs carry no ARN; the ARN is derived from
//! the machine's. A Distributed Map's child execution (ARN
//! `…:execution:<machine>/<label or map run id>:<name>`) has the id `<label>:<name>`: names
//! and labels cannot hold `:` or `/`, so the two kinds of ids never meet. Histories are returned in the shape of `GetExecutionHistory`'s JSON, the
//! shape the local executor writes, so the ops view reads both alike.

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus, HistoryEvent};
use keiyaku_core::ports::{
    ExecutionDetail, ExecutionList, ExecutionSummary, MAP_RUN_CHILDREN, MapRun, Workflow,
    WorkflowError,
};
use serde_json::{Map, Value, json};

/// The contract machine on Step Functions.
pub struct StepFunctionsWorkflow {
    client: Client,
    machine_arn: String,
}

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    e.as_service_error().and_then(|s| s.code())
}

fn unavailable<E, R>(e: SdkError<E, R>) -> WorkflowError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    WorkflowError::Unavailable(aws_sdk_sfn::error::DisplayErrorContext(&e).to_string())
}

/// A task answer's error: the token is no longer (or never was) one Step Functions waits on.
fn task_error<E, R>(e: SdkError<E, R>) -> WorkflowError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match code(&e) {
        Some("InvalidToken" | "TaskDoesNotExist" | "TaskTimedOut") => WorkflowError::TaskGone,
        _ => unavailable(e),
    }
}

/// A read's error: an id that names no execution (or could not name one) is not found.
fn read_error<E, R>(e: SdkError<E, R>) -> WorkflowError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match code(&e) {
        Some("ExecutionDoesNotExist" | "InvalidArn" | "InvalidName") => WorkflowError::NotFound,
        _ => unavailable(e),
    }
}

fn rfc3339(t: &aws_sdk_sfn::primitives::DateTime) -> String {
    t.fmt(aws_sdk_sfn::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

fn parse_json(text: Option<&str>) -> Option<Value> {
    text.map(|t| serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_owned())))
}

const STATUSES: [&str; 5] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

impl StepFunctionsWorkflow {
    /// The machine `machine_arn` (`arn:aws:states:…:stateMachine:<name>`).
    pub fn new(client: Client, machine_arn: String) -> Self {
        StepFunctionsWorkflow {
            client,
            machine_arn,
        }
    }

    /// The ARN of this machine's execution `id` (see the module's doc for children's ids).
    fn execution_arn(&self, id: &str) -> String {
        let prefix = self
            .machine_arn
            .replacen(":stateMachine:", ":execution:", 1);
        if id.contains(':') {
            format!("{prefix}/{id}")
        } else {
            format!("{prefix}:{id}")
        }
    }
}

/// The id of the execution `arn` names: its name, or for a Map Run's child
/// `<label>:<name>`.
fn execution_id(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":execution:")?;
    match rest.split_once('/') {
        Some((_, child)) => Some(child),
        None => rest.split_once(':').map(|(_, name)| name),
    }
}

fn summary(e: &ExecutionListItem) -> ExecutionSummary {
    ExecutionSummary {
        id: execution_id(e.execution_arn())
            .unwrap_or(e.name())
            .to_owned(),
        name: e.name().to_owned(),
        status: e.status().as_str().to_owned(),
        start_date: rfc3339(e.start_date()),
        stop_date: e.stop_date().map(rfc3339),
    }
}

/// The details object of one event, keyed and named as `GetExecutionHistory`'s JSON has
/// them (the kinds the contract machine records; others keep type, id and time).
fn details(e: &HistoryEvent) -> Option<(&'static str, Value)> {
    let mut d = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            d.insert(key.to_owned(), v);
        }
    };
    let s = |v: Option<&str>| v.map(|v| Value::String(v.to_owned()));
    let key = if let Some(x) = e.execution_started_event_details() {
        put("input", s(x.input()));
        put("roleArn", s(x.role_arn()));
        "executionStartedEventDetails"
    } else if let Some(x) = e.execution_succeeded_event_details() {
        put("output", s(x.output()));
        "executionSucceededEventDetails"
    } else if let Some(x) = e.execution_failed_event_details() {
        put("error", s(x.error()));
        put("cause", s(x.cause()));
        "executionFailedEventDetails"
    } else if let Some(x) = e.execution_aborted_event_details() {
        put("error", s(x.error()));
        put("cause", s(x.cause()));
        "executionAbortedEventDetails"
    } else if let Some(x) = e.execution_timed_out_event_details() {
        put("error", s(x.error()));
        put("cause", s(x.cause()));
        "executionTimedOutEventDetails"
    } else if let Some(x) = e.state_entered_event_details() {
        put("name", s(Some(x.name())));
        put("input", s(x.input()));
        "stateEnteredEventDetails"
    } else if let Some(x) = e.state_exited_event_details() {
        put("name", s(Some(x.name())));
        put("output", s(x.output()));
        "stateExitedEventDetails"
    } else if let Some(x) = e.task_scheduled_event_details() {
        put("resourceType", s(Some(x.resource_type())));
        put("resource", s(Some(x.resource())));
        put("region", s(Some(x.region())));
        put("parameters", s(Some(x.parameters())));
        put("timeoutInSeconds", x.timeout_in_seconds().map(Value::from));
        put(
            "heartbeatInSeconds",
            x.heartbeat_in_seconds().map(Value::from),
        );
        "taskScheduledEventDetails"
    } else if let Some(x) = e.task_started_event_details() {
        put("resourceType", s(Some(x.resource_type())));
        put("resource", s(Some(x.resource())));
        "taskStartedEventDetails"
    } else if let Some(x) = e.task_submitted_event_details() {
        put("resourceType", s(Some(x.resource_type())));
        put("resource", s(Some(x.resource())));
        put("output", s(x.output()));
        "taskSubmittedEventDetails"
    } else if let Some(x) = e.task_succeeded_event_details() {
        put("resourceType", s(Some(x.resource_type())));
        put("resource", s(Some(x.resource())));
        put("output", s(x.output()));
        "taskSucceededEventDetails"
    } else if let Some(x) = e.task_failed_event_details() {
        put("resourceType", s(Some(x.resource_type())));
        put("resource", s(Some(x.resource())));
        put("error", s(x.error()));
        put("cause", s(x.cause()));
        "taskFailedEventDetails"
    } else if let Some(x) = e.map_run_started_event_details() {
        put("mapRunArn", s(x.map_run_arn()));
        "mapRunStartedEventDetails"
    } else if let Some(x) = e.map_run_failed_event_details() {
        put("error", s(x.error()));
        put("cause", s(x.cause()));
        "mapRunFailedEventDetails"
    } else if let Some(x) = e.task_timed_out_event_details() {
        put("resourceType", s(Some(x.resource_type())));
        put("resource", s(Some(x.resource())));
        put("error", s(x.error()));
        put("cause", s(x.cause()));
        "taskTimedOutEventDetails"
    } else {
        return None;
    };
    Some((key, Value::Object(d)))
}

/// One event as `GetExecutionHistory`'s JSON has it.
fn event_json(e: &HistoryEvent) -> Value {
    let mut v = json!({
        "id": e.id(),
        "previousEventId": e.previous_event_id(),
        "timestamp": rfc3339(e.timestamp()),
        "type": e.r#type().as_str(),
    });
    if let Some((key, d)) = details(e) {
        v[key] = d;
    }
    v
}

#[async_trait]
impl Workflow for StepFunctionsWorkflow {
    async fn start(&self, name: &str, input: Value) -> Result<String, WorkflowError> {
        // Step Functions itself returns the running execution for the same name and input.
        match self
            .client
            .start_execution()
            .state_machine_arn(&self.machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
        {
            Ok(_) => Ok(name.to_owned()),
            Err(e) if code(&e) == Some("ExecutionAlreadyExists") => {
                Err(WorkflowError::AlreadyExists)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn succeed_task(&self, token: &str, output: Value) -> Result<(), WorkflowError> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(task_error)
    }

    async fn fail_task(&self, token: &str, error: &str, cause: &str) -> Result<(), WorkflowError> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(task_error)
    }

    async fn list(
        &self,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ExecutionList, WorkflowError> {
        let status = match status {
            None => None,
            Some(s) if STATUSES.contains(&s) => Some(ExecutionStatus::from(s)),
            Some(_) => return Err(WorkflowError::NotFound),
        };
        // Step Functions answers at most 1,000 a page, newest first.
        let out = self
            .client
            .list_executions()
            .state_machine_arn(&self.machine_arn)
            .set_status_filter(status)
            .set_next_token(cursor.map(str::to_owned))
            .max_results(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| match code(&e) {
                Some("InvalidToken") => WorkflowError::NotFound,
                _ => unavailable(e),
            })?;
        Ok(ExecutionList {
            executions: out.executions().iter().map(summary).collect(),
            next_cursor: out.next_token().map(str::to_owned),
        })
    }

    async fn describe(&self, id: &str) -> Result<ExecutionDetail, WorkflowError> {
        let arn = self.execution_arn(id);
        let d = self
            .client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .map_err(read_error)?;
        let history = self
            .client
            .get_execution_history()
            .execution_arn(&arn)
            .max_results(1000)
            .send()
            .await
            .map_err(read_error)?;
        let mut map_runs = Vec::new();
        for arn in history
            .events()
            .iter()
            .filter_map(|e| e.map_run_started_event_details()?.map_run_arn())
        {
            // One page: the ops view lists the first 1,000 children.
            let children = self
                .client
                .list_executions()
                .map_run_arn(arn)
                .max_results(MAP_RUN_CHILDREN as i32)
                .send()
                .await
                .map_err(unavailable)?;
            map_runs.push(MapRun {
                map_run_arn: arn.to_owned(),
                executions: children.executions().iter().map(summary).collect(),
            });
        }
        Ok(ExecutionDetail {
            summary: ExecutionSummary {
                id: id.to_owned(),
                name: d.name().unwrap_or(id).to_owned(),
                status: d.status().as_str().to_owned(),
                start_date: rfc3339(d.start_date()),
                stop_date: d.stop_date().map(rfc3339),
            },
            input: parse_json(d.input()).unwrap_or(Value::Null),
            output: parse_json(d.output()),
            error: d.error().map(str::to_owned),
            cause: d.cause().map(str::to_owned),
            events: history.events().iter().map(event_json).collect(),
            map_runs,
        })
    }
}

/// Creates a STANDARD state machine from `definition` (its `${…}` already substituted) and
/// returns its ARN (emulators and tests; SAM deploys the real one).
pub async fn create_state_machine(
    client: &Client,
    name: &str,
    definition: &str,
    role_arn: &str,
) -> Result<String, WorkflowError> {
    let out = client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(role_arn)
        .send()
        .await
        .map_err(unavailable)?;
    Ok(out.state_machine_arn().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_s_ids_name_their_arns_and_back() {
        let config = aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .build();
        let w = StepFunctionsWorkflow::new(
            Client::from_conf(config),
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:keiyaku-contract".into(),
        );
        let prefix = "arn:aws:states:ap-northeast-1:123456789012:execution:keiyaku-contract";
        for (id, arn) in [
            ("doc-1-1", format!("{prefix}:doc-1-1")),
            (
                "fanout:1c5a6b2e-0d1f-4c53-9b2a-6f0e7d8c9b10",
                format!("{prefix}/fanout:1c5a6b2e-0d1f-4c53-9b2a-6f0e7d8c9b10"),
            ),
        ] {
            assert_eq!(w.execution_arn(id), arn);
            assert_eq!(execution_id(&arn), Some(id));
        }
        assert_eq!(execution_id("arn:aws:states:r:1:stateMachine:m"), None);
    }
}
