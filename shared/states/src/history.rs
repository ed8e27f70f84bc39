//! The execution history: Step Functions' event names and shapes (as `GetExecutionHistory`
//! returns them), appended to and never rewritten.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::definition::Kind;

/// AWS's hard quota on history events per execution.
pub const MAX_EVENTS: usize = 25_000;

/// The type of a history event. The variants are AWS's own names (`GetExecutionHistory`,
/// `HistoryEventType` in the API reference), so they carry no doc comments of their own.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionAborted,
    ExecutionTimedOut,
    PassStateEntered,
    PassStateExited,
    TaskStateEntered,
    TaskScheduled,
    TaskStarted,
    TaskSubmitted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    EvaluationFailed,
    MapRunStarted,
    MapRunSucceeded,
    MapRunFailed,
    MapRunAborted,
    TaskStateExited,
    LambdaFunctionScheduled,
    LambdaFunctionStarted,
    LambdaFunctionSucceeded,
    LambdaFunctionFailed,
    LambdaFunctionTimedOut,
    ChoiceStateEntered,
    ChoiceStateExited,
    WaitStateEntered,
    WaitStateExited,
    ParallelStateEntered,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    ParallelStateExited,
    MapStateEntered,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapStateExited,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapIterationAborted,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
}

impl EventType {
    /// The `...StateEntered` event of a state kind.
    pub fn entered(kind: &Kind) -> EventType {
        match kind {
            Kind::Pass => EventType::PassStateEntered,
            Kind::Task(_) => EventType::TaskStateEntered,
            Kind::Choice(_) => EventType::ChoiceStateEntered,
            Kind::Wait(_) => EventType::WaitStateEntered,
            Kind::Succeed => EventType::SucceedStateEntered,
            Kind::Fail(_) => EventType::FailStateEntered,
            Kind::Parallel(_) => EventType::ParallelStateEntered,
            Kind::Map(_) => EventType::MapStateEntered,
        }
    }

    /// The `...StateExited` event of a state kind (Fail states have none; AWS logs none).
    pub fn exited(kind: &Kind) -> Option<EventType> {
        Some(match kind {
            Kind::Pass => EventType::PassStateExited,
            Kind::Task(_) => EventType::TaskStateExited,
            Kind::Choice(_) => EventType::ChoiceStateExited,
            Kind::Wait(_) => EventType::WaitStateExited,
            Kind::Succeed => EventType::SucceedStateExited,
            Kind::Fail(_) => return None,
            Kind::Parallel(_) => EventType::ParallelStateExited,
            Kind::Map(_) => EventType::MapStateExited,
        })
    }

    /// The name of the details field `GetExecutionHistory` uses for this event type.
    pub fn details_key(self) -> &'static str {
        use EventType::*;
        match self {
            ExecutionStarted => "executionStartedEventDetails",
            ExecutionSucceeded => "executionSucceededEventDetails",
            ExecutionFailed => "executionFailedEventDetails",
            ExecutionAborted => "executionAbortedEventDetails",
            ExecutionTimedOut => "executionTimedOutEventDetails",
            TaskScheduled => "taskScheduledEventDetails",
            TaskStarted => "taskStartedEventDetails",
            TaskSubmitted => "taskSubmittedEventDetails",
            TaskSucceeded => "taskSucceededEventDetails",
            TaskFailed => "taskFailedEventDetails",
            TaskTimedOut => "taskTimedOutEventDetails",
            EvaluationFailed => "evaluationFailedEventDetails",
            MapRunStarted => "mapRunStartedEventDetails",
            MapRunFailed => "mapRunFailedEventDetails",
            MapRunSucceeded | MapRunAborted => "details",
            LambdaFunctionScheduled => "lambdaFunctionScheduledEventDetails",
            // AWS logs no details with it; an empty details value is never recorded.
            LambdaFunctionStarted => "lambdaFunctionStartedEventDetails",
            LambdaFunctionSucceeded => "lambdaFunctionSucceededEventDetails",
            LambdaFunctionFailed => "lambdaFunctionFailedEventDetails",
            LambdaFunctionTimedOut => "lambdaFunctionTimedOutEventDetails",
            MapStateStarted => "mapStateStartedEventDetails",
            MapIterationStarted => "mapIterationStartedEventDetails",
            MapIterationSucceeded => "mapIterationSucceededEventDetails",
            MapIterationFailed => "mapIterationFailedEventDetails",
            MapIterationAborted => "mapIterationAbortedEventDetails",
            PassStateEntered | TaskStateEntered | ChoiceStateEntered | WaitStateEntered
            | ParallelStateEntered | MapStateEntered | SucceedStateEntered | FailStateEntered => {
                "stateEnteredEventDetails"
            }
            PassStateExited | TaskStateExited | ChoiceStateExited | WaitStateExited
            | ParallelStateExited | MapStateExited | SucceedStateExited => {
                "stateExitedEventDetails"
            }
            ParallelStateStarted
            | ParallelStateSucceeded
            | ParallelStateFailed
            | ParallelStateAborted
            | MapStateSucceeded
            | MapStateFailed
            | MapStateAborted => "details",
        }
    }
}

/// One history event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// 1-based position in the history.
    pub id: u64,
    /// The event this one follows from (0 for the first).
    pub previous_event_id: u64,
    /// When it happened (the `now` of the call that recorded it).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The details field, keyed as AWS keys it (e.g. `stateEnteredEventDetails`).
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl HistoryEvent {
    /// The details object, whatever its key.
    pub fn details(&self) -> Option<&Value> {
        self.details.get(self.kind.details_key())
    }

    /// A string field of the details (e.g. `name`, `error`).
    pub fn detail_str(&self, field: &str) -> Option<&str> {
        self.details()?.get(field)?.as_str()
    }

    /// A field of the details that AWS stores as serialized JSON (`input`, `output`),
    /// parsed back.
    pub fn detail_json(&self, field: &str) -> Option<Value> {
        serde_json::from_str(self.detail_str(field)?).ok()
    }
}
