//! Workflow: the state machine that drives a document (Step Functions on AWS, the embedded
//! executor locally). The domain starts executions, completes the tasks that wait for a
//! party, and reads executions for the ops view.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

/// What the workflow service refused or failed with.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The task is not waiting any more (answered, timed out, stopped) or never existed.
    #[error("the task is no longer waiting")]
    TaskGone,
    /// An execution of that name exists with another input, or has ended.
    #[error("an execution of that name already exists")]
    AlreadyExists,
    /// No such execution.
    #[error("no such execution")]
    NotFound,
    /// The service failed; worth retrying.
    #[error("workflow service: {0}")]
    Unavailable(String),
}

/// One execution in the ops view's listing.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExecutionSummary {
    /// The execution's id (what `/ops/executions/{id}` takes).
    pub id: String,
    /// Its name: `doc-<document id>-<send number>` for a document's execution, a UUID for a
    /// Map Run's child.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// When it started (RFC 3339).
    pub start_date: String,
    /// When it ended (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<String>,
}

/// A page of executions, newest first.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ExecutionList {
    /// The executions.
    pub executions: Vec<ExecutionSummary>,
    /// Pass as `cursor` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One execution with its input, outcome and event history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ExecutionDetail {
    /// The listing fields.
    #[serde(flatten)]
    pub summary: ExecutionSummary,
    /// The input (ids only).
    pub input: Value,
    /// The output, once succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The error, once failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cause, once failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The events in Step Functions' shape (`GetExecutionHistory`), oldest first (at most
    /// the first 1,000).
    pub events: Vec<Value>,
    /// The Map Runs its Distributed Map states started (named by `MapRunStarted` events),
    /// each with its child executions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub map_runs: Vec<MapRun>,
}

/// A Distributed Map's run: its child executions, one per item or batch.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MapRun {
    /// The Map Run's ARN.
    pub map_run_arn: String,
    /// Its child executions (at most the first 1,000), each readable through
    /// `/ops/executions/{id}`.
    pub executions: Vec<ExecutionSummary>,
}

/// How many of a Map Run's children the ops view lists (one page of `ListExecutions`).
pub const MAP_RUN_CHILDREN: usize = 1000;

/// Runs the contract state machine.
#[async_trait]
pub trait Workflow: Send + Sync {
    /// Starts the contract machine as execution `name` with `input`; starting a running
    /// execution again with the same input returns it (a retried start is harmless).
    async fn start(&self, name: &str, input: Value) -> Result<String, WorkflowError>;
    /// Completes the waiting task with this token successfully, with `output`.
    async fn succeed_task(&self, token: &str, output: Value) -> Result<(), WorkflowError>;
    /// Fails the waiting task with this token with `error` (e.g. `Keiyaku.Cancelled`).
    async fn fail_task(&self, token: &str, error: &str, cause: &str) -> Result<(), WorkflowError>;
    /// Executions newest first, optionally only those with `status` (`RUNNING`, …).
    async fn list(
        &self,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ExecutionList, WorkflowError>;
    /// One execution and its history.
    async fn describe(&self, id: &str) -> Result<ExecutionDetail, WorkflowError>;
}
