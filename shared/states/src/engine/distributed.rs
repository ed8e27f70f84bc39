//! Distributed Map states (`ProcessorConfig.Mode: DISTRIBUTED`): a Map Run whose iterations
//! are child executions, each with its own history (numbered from 1) and its own context
//! object, as Step Functions runs them. The parent logs `MapRunStarted` and
//! `MapRunSucceeded` or `MapRunFailed` instead of one event per iteration (recorded on AWS);
//! the children's events reach the driver through [`Execution::take_child_history`].
//!
//! [`Execution::take_child_history`]: super::Execution::take_child_history

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::writer::Destination;
use super::{
    Active, Child, ChildEvent, Cx, DistributedRun, Effect, Field, Frame, FrameStatus, Invocation,
    MapRun, Meta, Outcome, Step, TaskId, abort, drive, enter, evaluate, evaluating, finish,
    payload_string, quoted_value, resource_names, runtime, state, step, typed,
};
use crate::definition::{
    Distributed, Integration, Kind, Machine, Percentage, QueryLanguage, ResultWriter, Seconds,
    State, Template,
};
use crate::errors::{self, Failure};
use crate::history::EventType;
use crate::intrinsics::Scope;

/// A Distributed Map's iterations, each part borrowed on its own: the children's inputs,
/// their frames, whether each one's end is logged, the concurrency, and the run.
struct Children<'a> {
    items: &'a [Value],
    frames: &'a mut Vec<Frame>,
    reported: &'a mut Vec<bool>,
    limit: usize,
    run: &'a mut DistributedRun,
}

impl MapRun {
    /// Its parts, when it is a Distributed Map's.
    fn children(&mut self) -> Option<Children<'_>> {
        let MapRun {
            items,
            frames,
            reported,
            limit,
            run,
        } = self;
        Some(Children {
            items,
            frames,
            reported,
            limit: *limit,
            run: run.as_mut()?,
        })
    }
}

impl DistributedRun {
    /// The run's names and child `i`, as [`in_child`] takes them.
    fn child(&mut self, i: usize) -> ((&str, &str), &mut Child) {
        ((&self.arn, &self.machine_arn), &mut self.children[i])
    }
}

/// AWS's cause when a Map Run fails more than it tolerates.
const THRESHOLD_EXCEEDED: &str = "The specified tolerated failure threshold was exceeded";

/// Runs `f` in child execution `child` of Map Run `run`: its events go to its own history,
/// numbered by its own counter; its context object is its own (`$$.Execution` is the
/// child); it sees no workflow variables ("Distributed Map states cannot currently reference
/// variables in outer scopes", the Developer Guide).
fn in_child<R>(
    cx: &mut Cx<'_>,
    run: (&str, &str),
    child: &mut Child,
    input: &Value,
    f: impl FnOnce(&mut Cx<'_>) -> R,
) -> R {
    let (map_run, machine_arn) = run;
    let meta = Meta {
        execution_arn: child.arn.clone(),
        name: child.name.clone(),
        state_machine_arn: machine_arn.to_owned(),
        input: input.clone(),
        start_date: child.started,
    };
    let mut history = Vec::new();
    let (r, effects) = {
        let mut inner = Cx {
            now: cx.now,
            events: &mut child.events,
            history: &mut history,
            tokens: &mut *cx.tokens,
            counters: &mut *cx.counters,
            meta: &meta,
            effects: Vec::new(),
            overflow: false,
            vars: Rc::new(Map::new()),
            children: &mut *cx.children,
        };
        let r = f(&mut inner);
        (r, inner.effects)
    };
    cx.effects.extend(effects);
    cx.children
        .extend(history.into_iter().map(|event| ChildEvent {
            map_run: map_run.to_owned(),
            execution: child.arn.clone(),
            name: child.name.clone(),
            started: child.started,
            event,
        }));
    r
}

/// How a Map Run groups its items into children's inputs (its `ItemBatcher`, evaluated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Batching {
    max_items: Option<u64>,
    max_bytes: Option<u64>,
    batch_input: Option<Value>,
}

/// Checks the run's tolerated failures (after `MapStateStarted`, as AWS does, in its words),
/// evaluates its ItemBatcher and its ResultWriter's destination, and names the Map Run;
/// [`fill`] gives it its items.
pub(super) fn start(
    d: &Distributed,
    effective: &Value,
    active: &Active,
    cx: &mut Cx<'_>,
) -> Result<(Box<DistributedRun>, Option<Batching>), Failure> {
    let (tolerated_count, tolerated_percentage, batch) = evaluating(
        effective,
        active,
        cx,
        Field::default(),
        |sc, rng| {
            let count = match &d.tolerated_count {
                None => None,
                Some(s) => match sc.whole_number(s, "ToleratedFailureCountPath", rng, 0)? {
                    n if n >= 0 => Some(n as u64),
                    _ => return Err(runtime("ToleratedFailureCount cannot be negative.")),
                },
            };
            let percentage = match &d.tolerated_percentage {
                None => None,
                Some(Percentage::Fixed(p)) => Some(*p),
                Some(Percentage::Path(p)) => {
                    let v = sc.read(p).ok_or_else(|| sc.invalid_path(p))?;
                    let n = v
                        .as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        .ok_or_else(|| {
                            runtime(format!(
                                "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                                quoted_value(&v),
                                p.as_str()
                            ))
                        })?;
                    Some(n)
                }
                Some(Percentage::Expr(e)) => {
                    let t = Template::Jsonata(e.clone());
                    let v = typed(
                        &t,
                        "ToleratedFailurePercentage",
                        sc,
                        rng,
                        "number",
                        Value::is_number,
                    )?;
                    v.as_f64()
                }
            };
            if percentage.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
                return Err(runtime(
                    "ToleratedFailurePercentage must be between 0 and 100.",
                ));
            }
            let batch = match &d.batcher {
                None => None,
                Some(b) => {
                    let mut limit = |s: &Option<Seconds>, field: &str| match s {
                        None => Ok(None),
                        Some(s) => sc
                            .whole_number(s, field, rng, 1)
                            .map(|n| Some(n.max(1) as u64)),
                    };
                    let max_items = limit(&b.max_items, "MaxItemsPerBatchPath")?;
                    let max_bytes = limit(&b.max_bytes, "MaxInputBytesPerBatchPath")?;
                    Some((max_items, max_bytes))
                }
            };
            Ok((count, percentage, batch))
        },
    )?;
    let batching = match batch {
        None => None,
        Some((max_items, max_bytes)) => {
            let batch_input = match d.batcher.as_ref().and_then(|b| b.batch_input.as_ref()) {
                Some(t) => Some(evaluate(
                    t,
                    effective,
                    active,
                    cx,
                    Field::named("BatchInput"),
                )?),
                None => None,
            };
            Some(Batching {
                max_items,
                max_bytes,
                batch_input,
            })
        }
    };
    let destination = match &d.writer {
        None => None,
        Some(w) => Some(destination(w, effective, active, cx)?),
    };
    let label = d.label.clone().unwrap_or_else(|| cx.counters.rng.uuid());
    let run_id = cx.counters.rng.uuid();
    let machine = &cx.meta.state_machine_arn;
    let arn = format!(
        "{}/{label}:{run_id}",
        machine.replacen(":stateMachine:", ":mapRun:", 1)
    );
    let run = Box::new(DistributedRun {
        arn,
        machine_arn: format!("{machine}/{label}"),
        children: Vec::new(),
        items: 0,
        per_child: Vec::new(),
        tolerated_count,
        tolerated_percentage,
        started_event: None,
        destination,
    });
    Ok((run, batching))
}

/// Where a ResultWriter writes: its `Bucket` and `Prefix` (strings; no Prefix is none).
fn destination(
    w: &ResultWriter,
    effective: &Value,
    active: &Active,
    cx: &mut Cx<'_>,
) -> Result<Destination, Failure> {
    let field = "ResultWriter";
    let v = evaluate(&w.arguments, effective, active, cx, Field::named(field))?;
    match (&v["Bucket"], &v["Prefix"]) {
        (Value::String(bucket), Value::String(prefix)) => Ok(Destination {
            bucket: bucket.clone(),
            prefix: prefix.clone(),
        }),
        (Value::String(bucket), Value::Null) => Ok(Destination {
            bucket: bucket.clone(),
            prefix: String::new(),
        }),
        _ => Err(runtime(format!(
            "The ResultWriter names its destination by a Bucket and a Prefix, both strings: {}",
            payload_string(&v)
        ))),
    }
}

/// Gives the run its items: `inputs` become the children's inputs (batched when the Map has
/// an ItemBatcher).
pub(super) fn fill(run: &mut DistributedRun, inputs: &mut Vec<Value>, batching: Option<Batching>) {
    run.items = inputs.len();
    run.per_child = vec![1; inputs.len()];
    if let Some(b) = batching {
        let (batches, sizes) = batched(
            std::mem::take(inputs),
            b.max_items,
            b.max_bytes,
            b.batch_input,
        );
        *inputs = batches;
        run.per_child = sizes;
    }
}

/// Groups items into children's inputs, `{"BatchInput": …, "Items": [...]}`, each holding at
/// most `max_items` items and `max_bytes` bytes of items (256 KiB when not given, as AWS
/// fills a batch up to its payload limit); the item count of each.
fn batched(
    items: Vec<Value>,
    max_items: Option<u64>,
    max_bytes: Option<u64>,
    batch_input: Option<Value>,
) -> (Vec<Value>, Vec<usize>) {
    let max_items = max_items.unwrap_or(u64::MAX) as usize;
    let max_bytes = max_bytes.unwrap_or(super::MAX_PAYLOAD_BYTES as u64) as usize;
    let mut batches: Vec<Vec<Value>> = Vec::new();
    let mut bytes = 0;
    for item in items {
        let size = payload_string(&item).len() + 1;
        match batches.last_mut() {
            Some(b) if b.len() < max_items && bytes + size <= max_bytes => {
                bytes += size;
                b.push(item);
            }
            _ => {
                bytes = size;
                batches.push(vec![item]);
            }
        }
    }
    let sizes = batches.iter().map(Vec::len).collect();
    let inputs = batches
        .into_iter()
        .map(|items| {
            let mut input = Map::new();
            if let Some(b) = &batch_input {
                input.insert("BatchInput".into(), b.clone());
            }
            input.insert("Items".into(), Value::Array(items));
            Value::Object(input)
        })
        .collect();
    (inputs, sizes)
}

/// Hands `input` to the child that waits for it; false when none does.
pub(super) fn deliver(
    mr: &mut MapRun,
    processor: &Machine,
    cx: &mut Cx<'_>,
    input: &super::Input,
) -> bool {
    let Some(Children {
        items, frames, run, ..
    }) = mr.children()
    else {
        return false;
    };
    frames.iter_mut().enumerate().any(|(i, f)| {
        if f.status != FrameStatus::Running {
            return false;
        }
        let (names, child) = run.child(i);
        in_child(cx, names, child, &items[i], |cx| {
            super::deliver(f, processor, cx, input)
        })
    })
}

/// Stops every running child, each logging `ExecutionAborted` in its own history.
pub(super) fn abort_children(mr: &mut MapRun, processor: &Machine, cx: &mut Cx<'_>) {
    let Some(Children {
        items,
        frames,
        reported,
        run,
        ..
    }) = mr.children()
    else {
        return;
    };
    for (i, f) in frames.iter_mut().enumerate() {
        if f.status == FrameStatus::Running {
            let (names, child) = run.child(i);
            in_child(cx, names, child, &items[i], |cx| {
                abort(f, processor, cx);
                cx.emit(&mut f.last_event, EventType::ExecutionAborted, Value::Null);
            });
            reported[i] = true;
        }
    }
}

/// Whether `failed` items break the run's tolerance: more than `ToleratedFailureCount`, or
/// a larger share than `ToleratedFailurePercentage`; with neither, any failure does.
fn exceeded(run: &DistributedRun, failed: usize) -> bool {
    if failed == 0 {
        return false;
    }
    let by_count = run.tolerated_count.map(|n| failed as u64 > n);
    let by_share = run
        .tolerated_percentage
        .map(|p| failed as f64 * 100.0 / run.items.max(1) as f64 > p);
    match (by_count, by_share) {
        (None, None) => true,
        (a, b) => a.unwrap_or(false) || b.unwrap_or(false),
    }
}

/// The Map Run's progress: children that ended are logged in their own histories; the run
/// fails once its tolerance is broken, succeeds when every child has ended, and otherwise
/// starts children up to its concurrency.
pub(super) fn progress(frame: &mut Frame, machine: &Machine, cx: &mut Cx<'_>) -> Outcome {
    let (st, _) = state(machine, frame);
    let Kind::Map(spec) = &st.kind else {
        return Outcome::Blocked;
    };
    let processor = &spec.processor;
    loop {
        let active = frame.active.as_mut().expect("active");
        let Step::Map(mr) = &mut active.step else {
            return Outcome::Blocked;
        };
        match look(mr, cx) {
            Look::Blocked => return Outcome::Blocked,
            Look::Exceeded => {
                abort_children(mr, processor, cx);
                let f = Failure::new(
                    errors::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    THRESHOLD_EXCEEDED,
                );
                return run_failed(frame, cx, f);
            }
            Look::Done(results) => {
                let Some(run) = mr.run.take() else {
                    return Outcome::Blocked;
                };
                if let Some(dest) = run.destination.clone() {
                    let Step::Map(mr) = std::mem::replace(&mut active.step, Step::Ready) else {
                        return Outcome::Blocked;
                    };
                    return super::writer::start(frame, mr, *run, dest, cx);
                }
                active.step = Step::Ready;
                run_succeeded(frame, st, run.started_event, cx);
                return finish(frame, st, Value::Array(results), cx);
            }
            Look::Start => start_child(mr, processor, cx),
        }
    }
}

/// The run succeeded: `MapRunSucceeded` and `MapStateSucceeded`. The state's exit then
/// follows the run's end, not `MapStateSucceeded`; in a JSONata state, the run's start
/// (`started`), both as recorded.
pub(super) fn run_succeeded(frame: &mut Frame, st: &State, started: Option<u64>, cx: &mut Cx<'_>) {
    let succeeded = cx.emit(
        &mut frame.last_event,
        EventType::MapRunSucceeded,
        Value::Null,
    );
    cx.emit(
        &mut frame.last_event,
        EventType::MapStateSucceeded,
        Value::Null,
    );
    frame.last_event = match (st.language, started) {
        (QueryLanguage::Jsonata, Some(started)) => started,
        _ => succeeded,
    };
}

/// The run failed with `f`: `MapRunFailed` and `MapStateFailed`, and the state's error.
pub(super) fn run_failed(frame: &mut Frame, cx: &mut Cx<'_>, f: Failure) -> Outcome {
    cx.emit(
        &mut frame.last_event,
        EventType::MapRunFailed,
        json!({"error": f.error, "cause": f.cause}),
    );
    cx.emit(
        &mut frame.last_event,
        EventType::MapStateFailed,
        Value::Null,
    );
    frame.active.as_mut().expect("active").step = Step::Ready;
    Outcome::Error(f)
}

/// An ItemReader's or ResultWriter's S3 call, as a task the driver runs.
pub(super) fn s3_task(
    cx: &mut Cx<'_>,
    state: &str,
    integration: Integration,
    payload: Value,
) -> Invocation {
    cx.counters.next_task += 1;
    let (_, action) = resource_names(integration);
    let invocation = Invocation {
        task: TaskId(cx.counters.next_task),
        state: state.to_owned(),
        resource: format!("arn:aws:states:::s3:{action}"),
        integration,
        function: String::new(),
        payload,
        token: None,
    };
    cx.effects.push(Effect::InvokeTask(invocation.clone()));
    invocation
}

/// What a Map Run does next.
enum Look {
    Blocked,
    Exceeded,
    Done(Vec<Value>),
    Start,
}

/// Logs the ends of children that ended since the last look, and decides.
fn look(mr: &mut MapRun, cx: &mut Cx<'_>) -> Look {
    let Some(Children {
        items,
        frames,
        reported,
        limit,
        run,
    }) = mr.children()
    else {
        return Look::Blocked;
    };
    for (i, f) in frames.iter_mut().enumerate() {
        if reported[i] || f.status == FrameStatus::Running {
            continue;
        }
        reported[i] = true;
        let (kind, details) = match &f.status {
            FrameStatus::Succeeded(v) => (
                EventType::ExecutionSucceeded,
                json!({"output": payload_string(v), "outputDetails": {"truncated": false}}),
            ),
            FrameStatus::Failed(x) => {
                let mut d = Map::new();
                if !x.error.is_empty() {
                    d.insert("error".into(), json!(x.error));
                }
                if !x.cause.is_empty() {
                    d.insert("cause".into(), json!(x.cause));
                }
                (EventType::ExecutionFailed, Value::Object(d))
            }
            _ => (EventType::ExecutionAborted, Value::Null),
        };
        let (names, child) = run.child(i);
        child.stopped = Some(cx.now);
        in_child(cx, names, child, &items[i], |cx| {
            cx.emit(&mut f.last_event, kind, details);
        });
    }
    let failed: usize = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.status, FrameStatus::Failed(_)))
        .map(|(i, _)| run.per_child[i])
        .sum();
    if exceeded(run, failed) {
        return Look::Exceeded;
    }
    let done = frames
        .iter()
        .filter(|f| f.status != FrameStatus::Running)
        .count();
    if done == items.len() {
        let results = frames
            .iter()
            .enumerate()
            .map(|(i, f)| match &f.status {
                FrameStatus::Succeeded(v) => v.clone(),
                // A failure within the tolerance: the child's record, as the Developer Guide
                // says its result is returned (unrecorded on AWS).
                FrameStatus::Failed(x) => json!({
                    "Error": x.error,
                    "Cause": x.cause,
                    "ExecutionArn": run.children[i].arn,
                    "Input": payload_string(&items[i]),
                    "Name": run.children[i].name,
                    "StateMachineArn": run.machine_arn,
                    "Status": "FAILED",
                }),
                _ => Value::Null,
            })
            .collect();
        return Look::Done(results);
    }
    let running = frames.len() - done;
    // No MaxConcurrency (or 0): 10,000 children at a time, AWS's own limit.
    let cap = if limit == 0 { 10_000 } else { limit };
    if frames.len() == items.len() || running >= cap {
        Look::Blocked
    } else {
        Look::Start
    }
}

/// Starts the next child: `ExecutionStarted` in its own history, then its first state.
fn start_child(mr: &mut MapRun, processor: &Machine, cx: &mut Cx<'_>) {
    let Some(Children {
        items,
        frames,
        reported,
        run,
        ..
    }) = mr.children()
    else {
        return;
    };
    let i = frames.len();
    let name = cx.counters.rng.uuid();
    let label = run.machine_arn.rsplit('/').next().unwrap_or_default();
    let arn = format!(
        "{}/{label}:{name}",
        cx.meta
            .state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1)
    );
    run.children.push(Child {
        name,
        arn,
        events: 0,
        started: cx.now,
        stopped: None,
    });
    let mut f = Frame::new(0);
    let input = items[i].clone();
    let (names, child) = run.child(i);
    in_child(cx, names, child, &input, |cx| {
        cx.emit(
            &mut 0,
            EventType::ExecutionStarted,
            json!({
                "input": payload_string(&input),
                "inputDetails": {"truncated": false},
                "roleArn": "arn:aws:iam::000000000000:role/keiyaku-local"
            }),
        );
        enter(&mut f, processor, &processor.start_at, input.clone(), cx);
        let o = step(&mut f, processor, cx);
        drive(&mut f, processor, cx, o);
    });
    frames.push(f);
    reported.push(false);
}
