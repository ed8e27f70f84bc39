//! One step of a state: its effective input, then what each kind of state does with it.

use super::{
    Active, Cx, Effect, Field, Frame, Invocation, MapRun, Outcome, Step, TaskId, TaskWait,
    apply_data_path, assigned, data_limit, drive, enter, eval_rule, evaluate, evaluating,
    exit_with_output, finish, map_progress, parallel_progress, parameter_path_failure,
    payload_string, reading, resource_names, runtime, state, too_big, typed, wait_until,
};
use crate::definition::QueryLanguage;
use crate::definition::{ChoiceSpec, FailSpec, MapSpec, Rule, TaskSpec};
use crate::definition::{
    Integration, Kind, Machine, Seconds, State, Template, Text, Transition, WaitSpec,
};
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
    // Fail has no InputPath, nor has JSONata; everything else sees the input through it.
    let effective = match (&st.kind, st.language) {
        (Kind::Fail(_), _) | (_, QueryLanguage::Jsonata) => active.input.clone(),
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
        Kind::Succeed => exit_with_output(
            frame,
            st,
            effective,
            cx,
            (Transition::End, st.output.as_ref(), Map::new()),
        ),
        Kind::Fail(f) => fail(frame, f, effective, cx),
        Kind::Wait(w) => wait(frame, w, effective, cx),
        Kind::Task(spec) => task(frame, st, spec, &name, effective, cx),
        Kind::Parallel(branches) => parallel(frame, machine, st, branches, effective, cx),
        Kind::Map(m) => map(frame, machine, (st, m), effective, cx),
    }
}

/// The state's Parameters (JSONata: Arguments) evaluated over its effective input (the
/// input itself without them); `token` is the task token of a callback task.
fn parameters(
    st: &State,
    effective: &Value,
    active: &Active,
    cx: &mut Cx<'_>,
    token: Option<&str>,
) -> Result<Value, Failure> {
    let root = match st.language {
        QueryLanguage::JsonPath => "Parameters",
        QueryLanguage::Jsonata => "Arguments",
    };
    match &st.parameters {
        None => Ok(effective.clone()),
        Some(t) => evaluate(
            t,
            effective,
            active,
            cx,
            Field {
                token,
                ..Field::named(root)
            },
        ),
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
    let matched = match st.language {
        QueryLanguage::JsonPath => reading(&effective, active, cx, |sc| -> Result<_, Failure> {
            for choice in &c.choices {
                if eval_rule(&choice.rule, sc)? {
                    return Ok(Some(choice));
                }
            }
            Ok(None)
        }),
        QueryLanguage::Jsonata => {
            evaluating(&effective, active, cx, Field::default(), |sc, rng| {
                for (i, choice) in c.choices.iter().enumerate() {
                    let Rule::Condition(t) = &choice.rule else {
                        continue;
                    };
                    let at = format!("Choices[{i}]/Condition");
                    if typed(t, &at, sc, rng, "boolean", Value::is_boolean)? == json!(true) {
                        return Ok(Some(choice));
                    }
                }
                Ok(None)
            })
        }
    };
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
    // (the Developer Guide, Choice state). A JSONata state's Output is its matching rule's,
    // or on the Default way its own (recorded).
    let mut assign = match assigned(
        st.assign.as_ref(),
        &effective,
        active,
        cx,
        Field::named("Assign"),
    ) {
        Ok(a) => a,
        Err(f) => return Outcome::Error(f),
    };
    let mut output = st.output.as_ref();
    if let Some(m) = matched {
        let i = c
            .choices
            .iter()
            .position(|x| std::ptr::eq(x, m))
            .unwrap_or(0);
        let at = format!("Choices[{i}]/Assign");
        match assigned(m.assign.as_ref(), &effective, active, cx, Field::named(&at)) {
            Ok(more) => assign.extend(more),
            Err(f) => return Outcome::Error(f),
        }
        output = m.output.as_ref();
    }
    exit_with_output(
        frame,
        st,
        effective,
        cx,
        (Transition::Next(target), output, assign),
    )
}

/// A Fail state: its error and cause (fixed, from a path or from an intrinsic).
fn fail(frame: &mut Frame, f: &FailSpec, effective: Value, cx: &mut Cx<'_>) -> Outcome {
    let active = frame.active.as_ref().expect("a Ready state");
    let failure = evaluating(&effective, active, cx, Field::default(), |sc, rng| {
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
                Some(Text::Call(call)) => match intrinsics::eval(call, sc, rng)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
                Some(Text::Expr(e)) => {
                    let t = Template::Jsonata(e.clone());
                    let root = field.trim_end_matches("Path");
                    match typed(&t, root, sc, rng, "string", Value::is_string)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    }
                }
            })
        };
        let error = text(&f.error, "ErrorPath")?;
        Ok((error, text(&f.cause, "CausePath")?))
    });
    match failure {
        Ok((error, cause)) => Outcome::Fail(Failure::new(error, cause)),
        // The Fail state could not say what failed: that is the run-time failure.
        Err(f) => Outcome::Error(f),
    }
}

/// A Wait state: a timer until its time.
fn wait(frame: &mut Frame, w: &WaitSpec, effective: Value, cx: &mut Cx<'_>) -> Outcome {
    let active = frame.active.as_ref().expect("a Ready state");
    let now = cx.now;
    let at = match evaluating(&effective, active, cx, Field::default(), |sc, rng| {
        wait_until(w, sc, rng, now)
    }) {
        Ok(at) => at,
        Err(f) => return Outcome::Error(f),
    };
    let t = cx.timer(at);
    frame.active.as_mut().expect("active").step = Step::Wait(t);
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
    let times = evaluating(&effective, active, cx, Field::default(), |sc, rng| {
        let mut seconds = |s: &Option<Seconds>, what: &str| -> Result<Option<u64>, Failure> {
            let Some(s) = s else {
                return Ok(None);
            };
            match sc.whole_number(s, what, rng, 1)? {
                n if n > 0 => Ok(Some(n as u64)),
                n => Err(runtime(format!("{what} must give a positive number: {n}"))),
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

/// Each item's iteration input: the item, or what the Map's ItemSelector makes of it.
pub(super) fn selected(
    m: &MapSpec,
    items: Vec<Value>,
    effective: &Value,
    active: &Active,
    cx: &mut Cx<'_>,
) -> Result<Vec<Value>, Failure> {
    let Some(t) = &m.item_selector else {
        return Ok(items);
    };
    let mut inputs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = Field {
            item: Some((i, item)),
            ..Field::named("ItemSelector")
        };
        inputs.push(evaluate(t, effective, active, cx, field)?);
    }
    Ok(inputs)
}

/// A Map state: the items, their selectors, and as many iterations as its concurrency allows.
fn map(
    frame: &mut Frame,
    machine: &Machine,
    (st, m): (&State, &MapSpec),
    effective: Value,
    cx: &mut Cx<'_>,
) -> Outcome {
    let active = frame.active.as_ref().expect("a Ready state");
    let jsonata = st.language == QueryLanguage::Jsonata;
    let reader = m.distributed.as_ref().and_then(|d| d.reader.as_ref());
    let setup = evaluating(&effective, active, cx, Field::default(), |sc, rng| {
        let items = match (jsonata, &m.items) {
            // An ItemReader's items come later, from the object it reads.
            _ if reader.is_some() => Value::Array(Vec::new()),
            (true, Some(t)) => typed(t, "Items", sc, rng, "array", Value::is_array)?,
            (true, None) => effective.clone(),
            (false, _) => sc
                .read(&m.items_path)
                .ok_or_else(|| sc.invalid_path(&m.items_path))?,
        };
        let items = match items {
            Value::Array(a) => a,
            // AWS's words for a JSONata Map without Items over something else (recorded).
            other if jsonata => {
                // No field is named: the event has no location (recorded).
                return Err(Failure::new(
                    errors::QUERY_EVALUATION_ERROR,
                    format!(
                        "Map state input must be an array but was: {}",
                        payload_string(&other)
                    ),
                ));
            }
            other => {
                return Err(runtime(format!(
                    "ItemsPath {} names {}, not an array",
                    m.items_path.as_str(),
                    crate::path::json_type(&other)
                )));
            }
        };
        // A negative value stalls the execution on AWS (recorded); we fail instead.
        let limit = match sc.whole_number(&m.max_concurrency, "MaxConcurrencyPath", rng, 0)? {
            n if n >= 0 => n as usize,
            n => {
                return Err(runtime(format!(
                    "MaxConcurrencyPath must not give a negative number: {n}"
                )));
            }
        };
        Ok((items, limit))
    });
    let (items, limit) = match setup {
        Ok(s) => s,
        Err(f) => return Outcome::Error(f),
    };
    let mut inputs = match selected(m, items, &effective, active, cx) {
        Ok(inputs) => inputs,
        Err(f) => return Outcome::Error(f),
    };
    cx.emit(
        &mut frame.last_event,
        EventType::MapStateStarted,
        json!({"length": inputs.len()}),
    );
    if let (Some(d), Some(r)) = (&m.distributed, reader) {
        return super::reader::request(frame, st, (d, r), effective, limit, cx);
    }
    let run = match &m.distributed {
        None => None,
        Some(d) => {
            let active = frame.active.as_ref().expect("active");
            match super::distributed::start(d, &effective, active, cx) {
                Ok((mut run, batching)) => {
                    run.started_event = Some(cx.emit(
                        &mut frame.last_event,
                        EventType::MapRunStarted,
                        json!({"mapRunArn": run.arn}),
                    ));
                    super::distributed::fill(&mut run, &mut inputs, batching);
                    Some(run)
                }
                Err(f) => return Outcome::Error(f),
            }
        }
    };
    frame.active.as_mut().expect("active").step = Step::Map(MapRun {
        items: inputs,
        frames: Vec::new(),
        reported: Vec::new(),
        limit,
        run,
    });
    map_progress(frame, machine, cx)
}
