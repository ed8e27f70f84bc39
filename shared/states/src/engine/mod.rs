//! Running a definition: an [`Execution`] is a plain serializable value; the driver feeds it
//! [`Input`]s (task results, fired timers, stop requests) with the current time and performs
//! the [`Effect`]s it returns (invoke a task, set or cancel a timer, report the end). The
//! engine reads no clock and does no I/O. Its randomness comes from two places: the
//! execution's own seeded generator (jitter, `States.UUID`, `States.MathRandom`, JSONata's
//! `$random` and `$uuid`, the names of Map Runs and their children), and the
//! [`TokenSource`] the driver passes to each call for task tokens, which must be secret (see
//! [`crate::tokens`]). The driver can persist the value after each call and resume it after
//! a restart, and tests replay exactly with a deterministic token source.
//!
//! The history is not part of the serialized value: the execution keeps only a counter of
//! the event ids it has issued. The events a call records are held in memory until the
//! driver takes them with [`Execution::take_history`] (a Distributed Map's children's, with
//! [`Execution::take_child_history`]) and stores them elsewhere, so a snapshot's size does
//! not grow with the history and a resumed execution continues the event ids without reading
//! the events back.

mod distributed;
mod eval;
mod execution;
mod exit;
mod progress;
mod reader;
mod step;
mod task;
mod writer;

use eval::*;
use exit::*;
use progress::*;
use task::*;

use step::step;

use std::cell::OnceCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::definition::{
    DataPath, Definition, Integration, Kind, Machine, QueryLanguage, ResultPath, Rule, State,
    Template, Transition, WaitSpec,
};
use crate::errors::{self, Failure};
use crate::history::{EventType, HistoryEvent, MAX_EVENTS};
use crate::intrinsics::{self, Scope};
use crate::jsonata::{self, Expr};
use crate::path::{Path, Root};
use crate::rng::Rng;
use crate::tokens::TokenSource;

/// AWS's payload quota: 256 KiB of UTF-8 serialized JSON for inputs, outputs and results.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// Identifies a task invocation within its execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u64);

/// Identifies a timer within its execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimerId(pub u64);

/// An execution's status, spelled as `DescribeExecution` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Still running.
    Running,
    /// Ended in success.
    Succeeded,
    /// Ended in failure.
    Failed,
    /// Ran past the top-level `TimeoutSeconds`.
    TimedOut,
    /// Stopped by request.
    Aborted,
}

/// How a task is named in an [`Input`]: by id (the invoker's view) or by task token (the
/// callback's view, as in `SendTaskSuccess`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskRef {
    /// The id from [`Invocation::task`].
    Id(TaskId),
    /// The token from [`Invocation::token`].
    Token(String),
}

/// Something that happened, fed to [`Execution::handle`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// A `.waitForTaskToken` invocation was accepted (the Lambda returned); the task now
    /// waits for its token. Optional: it only records `TaskSubmitted`.
    TaskSubmitted {
        /// Which task.
        task: TaskRef,
        /// What the invocation returned.
        output: Value,
    },
    /// The task finished. For `lambda:invoke` give the handler's output: the engine wraps it
    /// in Lambda's response shape as Step Functions does.
    TaskSucceeded {
        /// Which task.
        task: TaskRef,
        /// The task's output.
        output: Value,
    },
    /// The task failed (a Lambda error's `errorType` and its cause).
    TaskFailed {
        /// Which task.
        task: TaskRef,
        /// The error name.
        error: String,
        /// The cause text.
        cause: String,
    },
    /// `SendTaskHeartbeat`: restart the heartbeat clock.
    TaskHeartbeat {
        /// Which task.
        task: TaskRef,
    },
    /// A timer set by [`Effect::SetTimer`] is due.
    TimerFired {
        /// Which timer.
        timer: TimerId,
    },
    /// `StopExecution`.
    Stop {
        /// The error to record, if any.
        error: Option<String>,
        /// The cause to record, if any.
        cause: Option<String>,
    },
}

/// A task for the driver to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    /// The task's id; report its end with [`TaskRef::Id`].
    pub task: TaskId,
    /// The Task state's name.
    pub state: String,
    /// The `Resource` as written (after substitutions).
    pub resource: String,
    /// How the resource is called.
    pub integration: Integration,
    /// The Lambda function to call: `Parameters.FunctionName` for `lambda:invoke`, the
    /// resource itself for a plain function ARN or `${Name}` placeholder.
    pub function: String,
    /// The event the function receives: `Parameters.Payload` for `lambda:invoke` (`null`
    /// when absent: no payload), the effective input for a plain function ARN.
    pub payload: Value,
    /// For `.waitForTaskToken`: the token a callback will name.
    pub token: Option<String>,
}

/// Something for the driver to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// Run a task, then report [`Input::TaskSucceeded`] or [`Input::TaskFailed`].
    InvokeTask(Invocation),
    /// The task's result is no longer wanted (timed out, branch failed, execution ended);
    /// forget its token. Results that still arrive are refused.
    CancelTask {
        /// Which task.
        task: TaskId,
    },
    /// Report [`Input::TimerFired`] at `at` (or at once if that is past).
    SetTimer {
        /// Which timer.
        timer: TimerId,
        /// When it is due.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The timer is no longer wanted.
    CancelTimer {
        /// Which timer.
        timer: TimerId,
    },
    /// The execution ended.
    ExecutionFinished {
        /// How it ended.
        status: Status,
        /// The output, on success.
        output: Option<Value>,
        /// The error, otherwise.
        error: Option<String>,
        /// The cause, otherwise.
        cause: Option<String>,
    },
}

/// Why a start was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The input is over the 256 KiB quota (AWS refuses such a StartExecution).
    #[error("the execution input is larger than 262144 bytes")]
    InputTooLarge,
    /// The name is empty, longer than 80 characters or has characters AWS refuses.
    #[error("invalid execution name {0:?}")]
    InvalidName(String),
}

/// Why an input was refused; the execution is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// The execution has ended.
    #[error("the execution is not running")]
    NotRunning,
    /// No running task has this id or token (never issued, finished, timed out or
    /// cancelled): what `SendTaskSuccess` reports as `TaskTimedOut`/`InvalidToken`.
    #[error("no running task matches")]
    UnknownTask,
}

/// What to start: name, input and the knobs a driver may set.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    /// The execution name (unique per state machine).
    pub name: String,
    /// The execution input.
    pub input: Value,
    /// The state machine's ARN (for `$$.StateMachine.Id` and the execution ARN).
    pub state_machine_arn: String,
    /// Seed for `JitterStrategy: FULL`, `States.UUID` and `States.MathRandom`. Task tokens do
    /// not come from it: they come from the [`TokenSource`] given to each call.
    pub seed: u64,
}

impl Start {
    /// A start with a local state machine ARN and seed 0.
    pub fn new(name: impl Into<String>, input: Value) -> Start {
        Start {
            name: name.into(),
            input,
            state_machine_arn: "arn:aws:states:local:000000000000:stateMachine:keiyaku".into(),
            seed: 0,
        }
    }

    /// Sets the random seed.
    pub fn seed(mut self, seed: u64) -> Start {
        self.seed = seed;
        self
    }

    /// Sets the state machine ARN.
    pub fn state_machine_arn(mut self, arn: impl Into<String>) -> Start {
        self.state_machine_arn = arn.into();
        self
    }
}

/// A timer with its due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    /// Its id.
    pub id: TimerId,
    /// When it is due.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meta {
    execution_arn: String,
    name: String,
    state_machine_arn: String,
    input: Value,
    #[serde(with = "time::serde::rfc3339")]
    start_date: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Counters {
    rng: Rng,
    next_task: u64,
    next_timer: u64,
}

/// One run of a state machine: everything needed to resume it. Serialized, it holds the
/// number of history events issued but not the events themselves (see
/// [`Execution::take_history`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    meta: Meta,
    status: Status,
    #[serde(with = "time::serde::rfc3339::option")]
    stop_date: Option<OffsetDateTime>,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    /// How many history events have been issued: the last event's id.
    events: u64,
    /// The events recorded since this value was made (started or deserialized) or last
    /// taken; never serialized.
    #[serde(skip)]
    history: Vec<HistoryEvent>,
    /// The events of Distributed Map children recorded since the last take; never
    /// serialized.
    #[serde(skip)]
    child_history: Vec<ChildEvent>,
    root: Frame,
    counters: Counters,
    deadline: Option<Timer>,
}

/// A running scope: the top level, one Parallel branch or one Map iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Frame {
    status: FrameStatus,
    active: Option<Active>,
    last_event: u64,
    /// The variables its states assigned (`Assign`); a branch or iteration also reads those
    /// of the scopes around it, which it cannot change.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    vars: Map<String, Value>,
}

impl Frame {
    /// A frame that has not entered a state yet.
    fn new(last_event: u64) -> Frame {
        Frame {
            status: FrameStatus::Running,
            active: None,
            last_event,
            vars: Map::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum FrameStatus {
    Running,
    Succeeded(Value),
    Failed(Failure),
    Aborted,
}

/// The state a frame is in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Active {
    name: String,
    /// Whether it is a Task state: only those have `$$.State.RetryCount` (as on AWS).
    /// Executions kept from before this field read as tasks, so a waiting task keeps it.
    #[serde(default = "yes")]
    task: bool,
    /// The id of its `…StateEntered` event (AWS names it in run-time failures' causes).
    #[serde(default)]
    entered_event: u64,
    /// The event it was entered after (an `EvaluationFailed` event follows it, as on AWS).
    #[serde(default)]
    entered_after: u64,
    #[serde(with = "time::serde::rfc3339")]
    entered: OffsetDateTime,
    input: Value,
    retries: Vec<u64>,
    step: Step,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Step {
    /// About to run (just entered, or a retry is due).
    Ready,
    /// A task is out.
    Task(Box<TaskWait>),
    /// Waiting out a retry interval.
    Backoff(Timer),
    /// A Wait state.
    Wait(Timer),
    /// A Parallel state's branches.
    Parallel(Vec<Frame>),
    /// A Map state's iterations.
    Map(MapRun),
    /// A Distributed Map's ItemReader, reading the object that holds its items.
    Reading(Box<reader::Reading>),
    /// A Distributed Map's ResultWriter, writing its children's results.
    Writing(Box<writer::Writing>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TaskWait {
    invocation: Invocation,
    timeout: Option<Timer>,
    heartbeat: Option<(Timer, u64)>,
    /// `lambda:invoke` with `LogType: Tail`: the result carries `LogResult`.
    #[serde(default)]
    log_tail: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MapRun {
    /// Each iteration's input (after ItemSelector; for a Distributed Map, each child's).
    items: Vec<Value>,
    /// Started iterations, in index order.
    frames: Vec<Frame>,
    /// Whether each started iteration's end has been recorded.
    reported: Vec<bool>,
    /// At most this many run at once (0: no limit).
    limit: usize,
    /// A Distributed Map's run: its iterations are child executions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run: Option<Box<DistributedRun>>,
}

/// A Distributed Map's Map Run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DistributedRun {
    arn: String,
    /// The children's state machine: `…:stateMachine:<machine>/<label>`.
    machine_arn: String,
    /// Each started child, in item order.
    children: Vec<Child>,
    /// How many items the run has (batched, a child has several).
    items: usize,
    /// Items per child.
    per_child: Vec<usize>,
    tolerated_count: Option<u64>,
    tolerated_percentage: Option<f64>,
    /// The id of its `MapRunStarted` event (unknown for runs stored before it was kept).
    #[serde(default)]
    started_event: Option<u64>,
    /// Where its ResultWriter writes the children's results.
    #[serde(default)]
    destination: Option<writer::Destination>,
}

/// A child execution of a Distributed Map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Child {
    name: String,
    arn: String,
    /// Its own history's event counter.
    events: u64,
    #[serde(with = "time::serde::rfc3339")]
    started: OffsetDateTime,
    /// When it ended.
    #[serde(default, with = "time::serde::rfc3339::option")]
    stopped: Option<OffsetDateTime>,
}

/// An event of a Distributed Map's child execution, which has its own history.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildEvent {
    /// The Map Run that started the child.
    pub map_run: String,
    /// The child execution's ARN.
    pub execution: String,
    /// The child execution's name.
    pub name: String,
    /// When the child execution started.
    pub started: OffsetDateTime,
    /// The event.
    pub event: HistoryEvent,
}

enum Outcome {
    Blocked,
    Next(String, Value),
    End(Value),
    /// A state raised an error; its Retry and Catch decide.
    Error(Failure),
    /// The frame fails with this error (no retrier or catcher took it).
    Fail(Failure),
}

struct Cx<'a> {
    now: OffsetDateTime,
    events: &'a mut u64,
    history: &'a mut Vec<HistoryEvent>,
    tokens: &'a mut dyn TokenSource,
    counters: &'a mut Counters,
    meta: &'a Meta,
    effects: Vec<Effect>,
    overflow: bool,
    /// The variables the frame being run sees: its own over those of the scopes around it.
    vars: Rc<Map<String, Value>>,
    /// Events of Distributed Map children recorded in this call.
    children: &'a mut Vec<ChildEvent>,
}

impl Cx<'_> {
    /// Runs `f` on a branch or iteration `child` with the variables it sees (ours and its
    /// own), then restores ours.
    fn within<R>(&mut self, child: &mut Frame, f: impl FnOnce(&mut Self, &mut Frame) -> R) -> R {
        let ours = self.vars.clone();
        if !child.vars.is_empty() {
            let mut seen = (*ours).clone();
            seen.extend(child.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            self.vars = Rc::new(seen);
        }
        let r = f(self, child);
        self.vars = ours;
        r
    }
}

impl Cx<'_> {
    fn emit(&mut self, prev: &mut u64, kind: EventType, details: Value) -> u64 {
        let terminal = matches!(
            kind,
            EventType::ExecutionSucceeded
                | EventType::ExecutionFailed
                | EventType::ExecutionAborted
                | EventType::ExecutionTimedOut
        );
        // AWS: when 24,999 events are logged, event 25,000 must end the execution, or
        // ExecutionFailed is logged instead. We note the overflow and fail at the end of the
        // call (see `Execution::finish_call`).
        if *self.events + 1 >= MAX_EVENTS as u64 && !terminal {
            self.overflow = true;
            return *prev;
        }
        let id = *self.events + 1;
        *self.events = id;
        let mut map = Map::new();
        if !details.is_null() {
            map.insert(kind.details_key().to_string(), details);
        }
        self.history.push(HistoryEvent {
            id,
            previous_event_id: *prev,
            timestamp: self.now,
            kind,
            details: map,
        });
        *prev = id;
        id
    }

    fn timer(&mut self, at: OffsetDateTime) -> Timer {
        self.counters.next_timer += 1;
        let t = Timer {
            id: TimerId(self.counters.next_timer),
            at,
        };
        self.effects.push(Effect::SetTimer { timer: t.id, at });
        t
    }

    fn cancel_timer(&mut self, t: &Timer) {
        self.effects.push(Effect::CancelTimer { timer: t.id });
    }
}

/// AWS writes context-object timestamps with milliseconds and a `Z`.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn too_big(v: &impl Serialize) -> bool {
    serde_json::to_vec(v)
        .map(|b| b.len() > MAX_PAYLOAD_BYTES)
        .unwrap_or(true)
}

fn data_limit(what: &str) -> Failure {
    Failure::new(
        errors::DATA_LIMIT_EXCEEDED,
        format!("The {what} has exceeded the maximum number of bytes (262144)."),
    )
}

/// A result over the payload limit, in AWS's words (recorded): `who` is the state's name, or
/// for a task's result `lambda` (through `lambda:invoke`) or the function's ARN.
fn result_too_big(who: &str) -> Failure {
    Failure::new(
        errors::DATA_LIMIT_EXCEEDED,
        format!(
            "The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."
        ),
    )
}

fn runtime(msg: impl Into<String>) -> Failure {
    Failure::new(errors::RUNTIME, msg)
}

fn payload_string(v: &Value) -> String {
    v.to_string()
}

fn walk(frame: &Frame, f: &mut dyn FnMut(&Step)) {
    if let Some(a) = &frame.active {
        f(&a.step);
        match &a.step {
            Step::Parallel(bs) => bs.iter().for_each(|b| walk(b, f)),
            Step::Map(m) => m.frames.iter().for_each(|b| walk(b, f)),
            _ => {}
        }
    }
}

fn state<'m>(machine: &'m Machine, frame: &Frame) -> (&'m State, String) {
    let name = frame
        .active
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_default();
    (&machine.states[&name], name)
}

fn enter(frame: &mut Frame, machine: &Machine, name: &str, input: Value, cx: &mut Cx<'_>) {
    let st = &machine.states[name];
    let entered_after = frame.last_event;
    let entered_event = cx.emit(
        &mut frame.last_event,
        EventType::entered(&st.kind),
        json!({"name": name, "input": payload_string(&input), "inputDetails": {"truncated": false}}),
    );
    frame.active = Some(Active {
        name: name.to_string(),
        entered: cx.now,
        input,
        retries: vec![0; st.retry.len()],
        step: Step::Ready,
        task: matches!(st.kind, Kind::Task(_)),
        entered_event,
        entered_after,
    });
}

fn yes() -> bool {
    true
}
