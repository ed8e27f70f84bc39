//! One step of a state: its effective input, then what each kind of state does with it.

use super::{
    Active, Cx, Effect, Frame, Invocation, MapRun, Outcome, Sc, Step, TaskId, TaskWait,
    apply_data_path, assigned, context_builder, data_limit, drive, enter, eval_rule, evaluate,
    exit_with_output, finish, map_progress, parallel_progress, parameter_path_failure,
    payload_string, reading, resource_names, runtime, state, too_big, wait_until,
};
use crate::definition::{ChoiceSpec, FailSpec, MapSpec, TaskSpec};
use crate::definition::{Integration, Kind, Machine, Seconds, State, Text, Transition, WaitSpec};
use crate::errors::Failure;
use crate::history::EventType;
use crate::intrinsics::Scope;
use crate::{errors, intrinsics, tokens};
use serde_json::{Map, Value, json};
use time::Duration;

/// Runs the frame's Ready state as far as it goes without outside help.
pub(super) fn step(frame: &mut Frame, machine: &Machine, cx: &mut Cx<'_>) -> Outcome {
    let (st, name) = state(machine, frame);
    let active = frame.active.as_mut().expect("a Ready state");
    if too_big(&active.input) {
        return Outcome::Error(data_limit("state input"));
    }
    // Fail has no InputPath; everything else sees the input through it.
    let effective = match &st.kind {
        Kind::Fail(_) => active.input.clone(),
        _ => match reading(&active.input, active, cx, |sc| {
            apply_data_path(&st.input_path, sc)
        }) {
            Ok(v) => v,
            Err(f) => return Outcome::Error(f),
        },
    };
    match &st.kind {
        Kind::Pass => pass(frame, st, effective, cx),
        Kind::Choice(c) => choice(frame, st, c, &name, effective, cx),
        Kind::Succeed => exit_with_output(frame, st, effective, cx, Transition::End, Map::new()),
        Kind::Fail(f) => fail(frame, f, effective, cx),
        Kind::Wait(w) => wait(frame, w, effective, cx),
        Kind::Task(spec) => task(frame, st, spec, &name, effective, cx),
        Kind::Parallel(branches) => parallel(frame, machine, st, branches, effective, cx),
        Kind::Map(m) => map(frame, machine, m, effective, cx),
    }
}

/// The state's Parameters evaluated over its effective input (the input itself without
/// them); `token` is the task token of a callback task.
fn parameters(
    st: &State,
    effective: &Value,
    active: &Active,
    cx: &mut Cx<'_>,
    token: Option<&str>,
) -> Result<Value, Failure> {
    match &st.parameters {
        None => Ok(effective.clone()),
        Some(t) => evaluate(t, effective, active, cx, token, None),
    }
}

/// A Pass state: its Result, or its input through its Parameters.
fn pass(frame: &mut Frame, st: &State, effective: Value, cx: &mut Cx<'_>) -> Outcome {
    let active = frame.active.as_mut().expect("a Ready state");
    let result = match &st.result {
        Some(r) => r.clone(),
        None => match parameters(st, &effective, active, cx, None) {
            Ok(v) => v,
            Err(f) => return Outcome::Error(f),
        },
    };
    finish(frame, st, result, cx)
}

/// A Choice state: the first rule that matches, else the Default, else `States.NoChoiceMatched`.
fn choice(
    frame: &mut Frame,
    st: &State,
    c: &ChoiceSpec,
    name: &str,
    effective: Value,
    cx: &mut Cx<'_>,
) -> Outcome {
    let active = frame.active.as_ref().expect("a Ready state");
    let matched = reading(&effective, active, cx, |sc| -> Result<_, Failure> {
        for choice in &c.choices {
            if eval_rule(&choice.rule, sc)? {
                return Ok(Some(choice));
            }
        }
        Ok(None)
    });
    let matched = match matched {
        Ok(m) => m,
        Err(f) => return Outcome::Error(f),
    };
    let Some(target) = matched
        .map(|m| m.next.clone())
        .or_else(|| c.default.clone())
    else {
        return Outcome::Error(Failure::new(
            errors::NO_CHOICE_MATCHED,
            format!("No Choice rule of state '{name}' matched and there is no Default."),
        ));
    };
    // The state's Assign applies whichever way it goes, the matching rule's after it
    // (the Developer Guide, Choice state).
    let mut assign = match assigned(st.assign.as_ref(), &effective, active, cx) {
        Ok(a) => a,
        Err(f) => return Outcome::Error(f),
    };
    if let Some(m) = matched {
        match assigned(m.assign.as_ref(), &effective, active, cx) {
            Ok(more) => assign.extend(more),
            Err(f) => return Outcome::Error(f),
        }
    }
    exit_with_output(frame, st, effective, cx, Transition::Next(target), assign)
}

/// A Fail state: its error and cause (fixed, from a path or from an intrinsic).
fn fail(frame: &mut Frame, f: &FailSpec, effective: Value, cx: &mut Cx<'_>) -> Outcome {
    let active = frame.active.as_ref().expect("a Ready state");
    let build = context_builder(cx.meta, active, None, None);
    let vars = cx.vars.clone();
    let sc = Sc::new(&effective, &build, &vars);
    let mut rng = cx.counters.rng;
    let mut text = |t: &Option<Text>, field: &str| -> Result<String, Failure> {
        Ok(match t {
            None => String::new(),
            Some(Text::Fixed(s)) => s.clone(),
            Some(Text::Path(p)) => match sc.read(p) {
                Some(Value::String(s)) => s,
                Some(other) => {
                    return Err(runtime(format!(
                        "The JSONPath '{}' specified for the field '{field}' names {}, not a string",
                        p.as_str(),
                        crate::path::json_type(&other)
                    )));
                }
                None => return Err(parameter_path_failure(p, Some(field), &effective)),
            },
            Some(Text::Call(call)) => match intrinsics::eval(call, &sc, &mut rng)? {
                Value::String(s) => s,
                other => other.to_string(),
            },
        })
    };
    let failure = text(&f.error, "ErrorPath").and_then(|e| Ok((e, text(&f.cause, "CausePath")?)));
    cx.counters.rng = rng;
    match failure {
        Ok((error, cause)) => Outcome::Fail(Failure::new(error, cause)),
        // The Fail state could not say what failed: that is the run-time failure.
        Err(f) => Outcome::Error(f),
    }
}

/// A Wait state: a timer until its time.
fn wait(frame: &mut Frame, w: &WaitSpec, effective: Value, cx: &mut Cx<'_>) -> Outcome {
    let active = frame.active.as_mut().expect("a Ready state");
    let at = match reading(&effective, active, cx, |sc| wait_until(w, sc, cx.now)) {
        Ok(at) => at,
        Err(f) => return Outcome::Error(f),
    };
    let t = cx.timer(at);
    active.step = Step::Wait(t);
    Outcome::Blocked
}

/// A Task state: the invocation, its history events and its timeout and heartbeat timers.
fn task(
    frame: &mut Frame,
    st: &State,
    spec: &TaskSpec,
    name: &str,
    effective: Value,
    cx: &mut Cx<'_>,
) -> Outcome {
    let active = frame.active.as_mut().expect("a Ready state");
    let token = (spec.integration == Integration::LambdaInvokeWaitForTaskToken).then(|| {
        // 256 bits from the driver's source, never from the seeded generator.
        tokens::encode(cx.tokens.token_bytes())
    });
    let parameters = match parameters(st, &effective, active, cx, token.as_deref()) {
        Ok(v) => v,
        Err(f) => return Outcome::Error(f),
    };
    if too_big(&parameters) {
        return Outcome::Error(data_limit("task input"));
    }
    let (function, payload) = match spec.integration {
        Integration::LambdaFunction => (spec.resource.clone(), parameters.clone()),
        _ => match parameters.get("FunctionName").and_then(Value::as_str) {
            Some(f) => (
                f.to_string(),
                parameters.get("Payload").cloned().unwrap_or(Value::Null),
            ),
            None => {
                return Outcome::Error(runtime(format!(
                    "Parameters.FunctionName of state '{name}' is not a string"
                )));
            }
        },
    };
    // Lambda's `LogType`: `Tail` returns the log's tail; anything else (`None`) does not.
    let log_tail = spec.integration == Integration::LambdaInvoke
        && parameters.get("LogType").and_then(Value::as_str) == Some("Tail");
    let times = reading(&effective, active, cx, |sc| {
        let seconds = |s: &Option<Seconds>, what: &str| -> Result<Option<u64>, Failure> {
            match s {
                None => Ok(None),
                Some(Seconds::Fixed(n)) => Ok(Some(*n)),
                Some(Seconds::Path(p)) => match sc.integer_at(p, what)? {
                    n if n > 0 => Ok(Some(n as u64)),
                    n => Err(runtime(format!(
                        "{what} {} must be positive: {n}",
                        p.as_str()
                    ))),
                },
            }
        };
        Ok((
            seconds(&spec.timeout, "TimeoutSecondsPath")?,
            seconds(&spec.heartbeat, "HeartbeatSecondsPath")?,
        ))
    });
    let (timeout, heartbeat) = match times {
        Ok(t) => t,
        Err(f) => return Outcome::Error(f),
    };
    cx.counters.next_task += 1;
    let task = TaskId(cx.counters.next_task);
    let (rtype, rname) = resource_names(spec.integration);
    let mut sched = json!({
        "resourceType": rtype,
        "resource": rname,
        "region": "local",
        "parameters": payload_string(&parameters),
    });
    if let Some(t) = timeout {
        sched["timeoutInSeconds"] = json!(t);
    }
    if let Some(h) = heartbeat {
        sched["heartbeatInSeconds"] = json!(h);
    }
    if spec.integration == Integration::LambdaFunction {
        let mut scheduled = json!({
            "resource": function,
            "input": payload_string(&payload),
            "inputDetails": {"truncated": false},
        });
        if let Some(t) = timeout {
            scheduled["timeoutInSeconds"] = json!(t);
        }
        cx.emit(
            &mut frame.last_event,
            EventType::LambdaFunctionScheduled,
            scheduled,
        );
        cx.emit(
            &mut frame.last_event,
            EventType::LambdaFunctionStarted,
            Value::Null,
        );
    } else {
        cx.emit(&mut frame.last_event, EventType::TaskScheduled, sched);
        cx.emit(
            &mut frame.last_event,
            EventType::TaskStarted,
            json!({"resourceType": rtype, "resource": rname}),
        );
    }
    let invocation = Invocation {
        task,
        state: name.to_owned(),
        resource: spec.resource.clone(),
        integration: spec.integration,
        function,
        payload,
        token,
    };
    cx.effects.push(Effect::InvokeTask(invocation.clone()));
    let timeout = timeout.map(|t| cx.timer(cx.now + Duration::seconds(t as i64)));
    let heartbeat = heartbeat.map(|h| (cx.timer(cx.now + Duration::seconds(h as i64)), h));
    let active = frame.active.as_mut().expect("active");
    active.step = Step::Task(Box::new(TaskWait {
        invocation,
        timeout,
        heartbeat,
        log_tail,
    }));
    Outcome::Blocked
}

/// A Parallel state: every branch started on the same input.
fn parallel(
    frame: &mut Frame,
    machine: &Machine,
    st: &State,
    branches: &[Machine],
    effective: Value,
    cx: &mut Cx<'_>,
) -> Outcome {
    let active = frame.active.as_mut().expect("a Ready state");
    let input = match parameters(st, &effective, active, cx, None) {
        Ok(v) => v,
        Err(f) => return Outcome::Error(f),
    };
    let started = cx.emit(
        &mut frame.last_event,
        EventType::ParallelStateStarted,
        Value::Null,
    );
    let mut frames = Vec::with_capacity(branches.len());
    for b in branches {
        let mut f = Frame::new(started);
        cx.within(&mut f, |cx, f| {
            enter(f, b, &b.start_at, input.clone(), cx);
            let o = step(f, b, cx);
            drive(f, b, cx, o);
        });
        frames.push(f);
    }
    frame.active.as_mut().expect("active").step = Step::Parallel(frames);
    parallel_progress(frame, machine, cx)
}

/// A Map state: the items, their selectors, and as many iterations as its concurrency allows.
fn map(
    frame: &mut Frame,
    machine: &Machine,
    m: &MapSpec,
    effective: Value,
    cx: &mut Cx<'_>,
) -> Outcome {
    let active = frame.active.as_mut().expect("a Ready state");
    let setup = reading(&effective, active, cx, |sc| -> Result<_, Failure> {
        let items = match sc.read(&m.items_path) {
            Some(Value::Array(a)) => a,
            Some(other) => {
                return Err(runtime(format!(
                    "ItemsPath {} names {}, not an array",
                    m.items_path.as_str(),
                    crate::path::json_type(&other)
                )));
            }
            None => return Err(sc.invalid_path(&m.items_path)),
        };
        let limit = match &m.max_concurrency {
            Seconds::Fixed(n) => *n as usize,
            // A negative value stalls the execution on AWS (recorded); we fail instead.
            Seconds::Path(p) => match sc.integer_at(p, "MaxConcurrencyPath")? {
                n if n >= 0 => n as usize,
                n => {
                    return Err(runtime(format!(
                        "MaxConcurrencyPath {} must not be negative: {n}",
                        p.as_str()
                    )));
                }
            },
        };
        Ok((items, limit))
    });
    let (items, limit) = match setup {
        Ok(s) => s,
        Err(f) => return Outcome::Error(f),
    };
    let mut inputs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let v = match &m.item_selector {
            None => item.clone(),
            Some(t) => match evaluate(t, &effective, active, cx, None, Some((i, item))) {
                Ok(v) => v,
                Err(f) => return Outcome::Error(f),
            },
        };
        inputs.push(v);
    }
    cx.emit(
        &mut frame.last_event,
        EventType::MapStateStarted,
        json!({"length": inputs.len()}),
    );
    active.step = Step::Map(MapRun {
        items: inputs,
        frames: Vec::new(),
        reported: Vec::new(),
        limit,
    });
    map_progress(frame, machine, cx)
}
