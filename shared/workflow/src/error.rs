//! What the executor's API refuses or fails with, named after Step Functions' own errors so
//! callers written for AWS and for the local shape choose their words the same way.

use keiyaku_core::ports::StoreError;

/// An error of the workflow API. [`WorkflowError::code`] gives Step Functions' error name.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// `StartExecution` named an execution that exists with another input, or that has
    /// ended (Step Functions returns the running execution only for the same input).
    #[error("an execution named {0:?} already exists with another input or has ended")]
    ExecutionAlreadyExists(String),
    /// No execution has this id.
    #[error("no execution {0}")]
    ExecutionDoesNotExist(String),
    /// No state machine has this name.
    #[error("no state machine {0:?}")]
    StateMachineDoesNotExist(String),
    /// The execution name is empty, longer than 80 characters or has a refused character.
    #[error("invalid execution name {0:?}")]
    InvalidName(String),
    /// The execution input is larger than 262,144 bytes.
    #[error("the execution input is larger than 262144 bytes")]
    InvalidExecutionInput,
    /// A task token or paging cursor is malformed (Step Functions uses `InvalidToken` for
    /// both).
    #[error("invalid token")]
    InvalidToken,
    /// No task was ever issued this token (or its record has expired).
    #[error("no task has this token")]
    TaskDoesNotExist,
    /// The task has ended: answered, timed out, failed or stopped.
    #[error("the task has already ended")]
    TaskTimedOut,
    /// The execution kept changing under this call (another writer won every retry).
    #[error("the execution changed concurrently too many times")]
    Conflict,
    /// The execution started under another definition of its state machine than the one
    /// configured now (their SHA-256 differ); it is not advanced until that definition is
    /// configured again.
    #[error(
        "execution {execution} of state machine {machine:?} started under definition {recorded}, but the current definition is {current}; it is not advanced"
    )]
    DefinitionChanged {
        /// The execution's id.
        execution: String,
        /// Its state machine.
        machine: String,
        /// The definition hash recorded at its start.
        recorded: String,
        /// The configured definition's hash.
        current: String,
    },
    /// Stored workflow data could not be read back.
    #[error("stored workflow data is corrupt: {0}")]
    Corrupt(String),
    /// The item store failed (or refused a write larger than DynamoDB allows).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The runner has stopped (in tests: a simulated crash); nothing more is written.
    #[error("the workflow runner has stopped")]
    Stopped,
}

impl WorkflowError {
    /// Step Functions' name for the error (`ExecutionAlreadyExists`, `TaskTimedOut`, …);
    /// errors of our own machinery are `InternalError`.
    pub fn code(&self) -> &'static str {
        match self {
            WorkflowError::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            WorkflowError::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            WorkflowError::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            WorkflowError::InvalidName(_) => "InvalidName",
            WorkflowError::InvalidExecutionInput => "InvalidExecutionInput",
            WorkflowError::InvalidToken => "InvalidToken",
            WorkflowError::TaskDoesNotExist => "TaskDoesNotExist",
            WorkflowError::TaskTimedOut => "TaskTimedOut",
            WorkflowError::Conflict
            | WorkflowError::DefinitionChanged { .. }
            | WorkflowError::Corrupt(_)
            | WorkflowError::Store(_)
            | WorkflowError::Stopped => "InternalError",
        }
    }
}

impl From<serde_json::Error> for WorkflowError {
    fn from(e: serde_json::Error) -> Self {
        WorkflowError::Corrupt(e.to_string())
    }
}
