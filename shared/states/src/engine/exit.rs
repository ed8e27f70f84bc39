//! How a state ends: its output through ResultSelector, ResultPath and OutputPath (or
//! JSONata's Output), its assignments and exit event, the next state; and how an error is
//! retried, caught or passed up, with AWS's words for run-time failures.

use super::*;

/// Choice, Succeed and Wait: OutputPath over the effective input (JSONata: `output`, the
/// state's or its matching rule's `Output`, else the input), then the assignments.
pub(super) fn exit_with_output(
    frame: &mut Frame,
    st: &State,
    effective: Value,
    cx: &mut Cx<'_>,
    (to, output, assign): (Transition, Option<&Template>, Map<String, Value>),
) -> Outcome {
    let active = frame.active.as_ref().expect("active");
    let output = match (st.language, output) {
        (QueryLanguage::Jsonata, Some(t)) => {
            evaluate(t, &effective, active, cx, Field::named("Output"))
        }
        (QueryLanguage::Jsonata, None) => Ok(effective),
        (QueryLanguage::JsonPath, _) => reading(&effective, active, cx, |sc| {
            apply_data_path(&st.output_path, sc)
        }),
    };
    let output = match output {
        Ok(v) => v,
        Err(f) => return Outcome::Error(f),
    };
    if too_big(&output) {
        return Outcome::Error(result_too_big(&st_name(frame)));
    }
    exit(frame, st, output, cx, &to, assign)
}

/// The name of the frame's active state.
pub(super) fn st_name(frame: &Frame) -> String {
    frame
        .active
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_default()
}

/// Ends the active state with `output`: its assignments take effect (logged with the exit
/// event as AWS logs them, each value as JSON text) and the frame moves on.
pub(super) fn exit(
    frame: &mut Frame,
    st: &State,
    output: Value,
    cx: &mut Cx<'_>,
    to: &Transition,
    assign: Map<String, Value>,
) -> Outcome {
    let name = st_name(frame);
    if let Some(outer) = assign
        .keys()
        .find(|k| cx.vars.contains_key(*k) && !frame.vars.contains_key(*k))
    {
        return Outcome::Error(runtime(format!(
            "The variable '{outer}' belongs to an outer scope: a Parallel branch or Map iteration cannot assign it."
        )));
    }
    if too_big(&assign) {
        return Outcome::Error(Failure::new(
            errors::DATA_LIMIT_EXCEEDED,
            format!(
                "The variables assigned by state '{name}' exceed the maximum number of bytes service limit."
            ),
        ));
    }
    if let Some(kind) = EventType::exited(&st.kind) {
        let mut details = json!({"name": name, "output": payload_string(&output), "outputDetails": {"truncated": false}});
        if !assign.is_empty() {
            let logged: Map<String, Value> = assign
                .iter()
                .map(|(k, v)| (k.clone(), json!(payload_string(v))))
                .collect();
            details["assignedVariables"] = Value::Object(logged);
            details["assignedVariablesDetails"] = json!({"truncated": false});
        }
        cx.emit(&mut frame.last_event, kind, details);
    }
    if !assign.is_empty() {
        let mut seen = (*cx.vars).clone();
        for (k, v) in assign {
            seen.insert(k.clone(), v.clone());
            frame.vars.insert(k, v);
        }
        cx.vars = Rc::new(seen);
    }
    match to {
        Transition::Next(n) => Outcome::Next(n.clone(), output),
        _ => Outcome::End(output),
    }
}

/// Pass, Task, Parallel and Map: `Assign` over the result, then ResultSelector, ResultPath
/// and OutputPath (which still read the variables as they were), then the assignments. In
/// JSONata, `Assign` and `Output` both see `$states.result` (a Task's, Parallel's or Map's)
/// and the variables as they were; without `Output` a Pass state passes its input on and
/// the others their result.
pub(super) fn finish(frame: &mut Frame, st: &State, result: Value, cx: &mut Cx<'_>) -> Outcome {
    let active = frame.active.as_ref().expect("active");
    if st.language == QueryLanguage::Jsonata {
        let produced = (!matches!(st.kind, Kind::Pass)).then_some(&result);
        let field = |root| Field {
            root,
            result: produced,
            ..Field::default()
        };
        let input = &active.input;
        let assign = match assigned(st.assign.as_ref(), input, active, cx, field("Assign")) {
            Ok(a) => a,
            Err(f) => return Outcome::Error(f),
        };
        let output = match &st.output {
            Some(t) => match evaluate(t, input, active, cx, field("Output")) {
                Ok(v) => v,
                Err(f) => return Outcome::Error(f),
            },
            None if produced.is_some() => result,
            None => input.clone(),
        };
        if too_big(&output) {
            return Outcome::Error(result_too_big(&st_name(frame)));
        }
        return exit(frame, st, output, cx, &st.transition, assign);
    }
    let assign = match assigned(
        st.assign.as_ref(),
        &result,
        active,
        cx,
        Field::named("Assign"),
    ) {
        Ok(a) => a,
        Err(f) => return Outcome::Error(f),
    };
    let selected = match &st.result_selector {
        None => result,
        Some(t) => match evaluate(t, &result, active, cx, Field::named("ResultSelector")) {
            Ok(v) => v,
            Err(f) => return Outcome::Error(f),
        },
    };
    let combined = match &st.result_path {
        ResultPath::Discard => active.input.clone(),
        ResultPath::At(p) => {
            let mut doc = active.input.clone();
            if let Err(why) = p.write(&mut doc, selected) {
                return Outcome::Error(Failure::new(
                    errors::RESULT_PATH_MATCH_FAILURE,
                    format!(
                        "Unable to apply ResultPath '{}' to input '{}': {why}",
                        p.as_str(),
                        payload_string(&active.input)
                    ),
                ));
            }
            doc
        }
    };
    let output = match reading(&combined, active, cx, |sc| {
        apply_data_path(&st.output_path, sc)
    }) {
        Ok(v) => v,
        Err(f) => return Outcome::Error(f),
    };
    if too_big(&output) {
        return Outcome::Error(result_too_big(&st_name(frame)));
    }
    exit(frame, st, output, cx, &st.transition, assign)
}

/// Carries outcomes to their end: enters next states, applies Retry/Catch, ends the frame.
pub(super) fn drive(frame: &mut Frame, machine: &Machine, cx: &mut Cx<'_>, mut outcome: Outcome) {
    loop {
        // Once the history is full nothing more is recorded; stop here so that even a machine
        // that loops without waiting ends (the call then fails the execution).
        if cx.overflow {
            return;
        }
        outcome = match outcome {
            Outcome::Blocked => return,
            Outcome::Next(n, v) => {
                enter(frame, machine, &n, v, cx);
                step(frame, machine, cx)
            }
            Outcome::End(v) => {
                frame.active = None;
                frame.status = FrameStatus::Succeeded(v);
                return;
            }
            Outcome::Error(f) => on_error(frame, machine, f, cx),
            Outcome::Fail(f) => {
                frame.active = None;
                frame.status = FrameStatus::Failed(f);
                return;
            }
        }
    }
}

pub(super) fn on_error(
    frame: &mut Frame,
    machine: &Machine,
    f: Failure,
    cx: &mut Cx<'_>,
) -> Outcome {
    let (st, _) = state(machine, frame);
    let f = if f.error == errors::QUERY_EVALUATION_ERROR && !f.cause.starts_with(RUNTIME_PREFIX) {
        evaluation_failed(frame, st, f, cx)
    } else {
        f
    };
    let matches = |list: &[String]| list.iter().any(|p| errors::matches(p, &f.error));
    // The first retrier that matches decides; once its attempts are spent, Catch decides.
    if let Some(i) = st.retry.iter().position(|r| matches(&r.error_equals)) {
        let r = &st.retry[i];
        let active = frame.active.as_mut().expect("active");
        if active.retries[i] < r.max_attempts {
            let attempt = active.retries[i];
            active.retries[i] += 1;
            let mut delay = r.interval_seconds as f64
                * r.backoff_rate.powi(attempt.min(i32::MAX as u64) as i32);
            if let Some(max) = r.max_delay_seconds {
                delay = delay.min(max as f64);
            }
            // FULL jitter: a uniformly random delay between 0 and the computed interval.
            if r.full_jitter {
                delay *= cx.counters.rng.next_f64();
            }
            let delay = Duration::milliseconds((delay.min(99_999_999.0) * 1000.0).round() as i64);
            let t = cx.timer(cx.now + delay);
            frame.active.as_mut().expect("active").step = Step::Backoff(t);
            return Outcome::Blocked;
        }
    }
    if let Some((i, c)) = st
        .catch
        .iter()
        .enumerate()
        .find(|(_, c)| matches(&c.error_equals))
    {
        let active = frame.active.as_ref().expect("active");
        let err_obj = json!({"Error": f.error, "Cause": f.cause});
        let caught = match st.language {
            QueryLanguage::JsonPath => caught_jsonpath(c, &err_obj, active, cx),
            QueryLanguage::Jsonata => caught_jsonata(c, i, &err_obj, active, cx),
        };
        return match caught {
            Ok((output, assign)) => exit(
                frame,
                st,
                output,
                cx,
                &Transition::Next(c.next.clone()),
                assign,
            ),
            // A Catcher that cannot say what it catches fails the state; nothing catches it.
            Err(f) if f.error == errors::QUERY_EVALUATION_ERROR => {
                Outcome::Fail(evaluation_failed(frame, st, f, cx))
            }
            Err(f) => Outcome::Fail(located(f, frame.active.as_ref().expect("active"))),
        };
    }
    Outcome::Fail(located(f, frame.active.as_ref().expect("active")))
}

/// A JSONPath Catcher: its `Assign` over the error output, which its `ResultPath` puts in
/// the state's input. A caught state assigns what its Catcher assigns, not what it would have.
pub(super) fn caught_jsonpath(
    c: &crate::definition::Catcher,
    err_obj: &Value,
    active: &Active,
    cx: &mut Cx<'_>,
) -> Result<(Value, Map<String, Value>), Failure> {
    let assign = assigned(
        c.assign.as_ref(),
        err_obj,
        active,
        cx,
        Field::named("Assign"),
    )?;
    let output = match &c.result_path {
        ResultPath::Discard => active.input.clone(),
        ResultPath::At(p) => {
            let mut doc = active.input.clone();
            p.write(&mut doc, err_obj.clone())
                .map_err(|why| Failure::new(errors::RESULT_PATH_MATCH_FAILURE, why))?;
            doc
        }
    };
    Ok((output, assign))
}

/// A JSONata Catcher: its `Assign` and `Output` see `$states.errorOutput`; without `Output`
/// the state's output is the error output (recorded).
pub(super) fn caught_jsonata(
    c: &crate::definition::Catcher,
    i: usize,
    err_obj: &Value,
    active: &Active,
    cx: &mut Cx<'_>,
) -> Result<(Value, Map<String, Value>), Failure> {
    let (assign_at, output_at) = (format!("Catch[{i}]/Assign"), format!("Catch[{i}]/Output"));
    let field = |root| Field {
        root,
        error_output: Some(err_obj),
        ..Field::default()
    };
    let input = &active.input;
    let assign = assigned(c.assign.as_ref(), input, active, cx, field(&assign_at))?;
    let output = match &c.output {
        Some(t) => evaluate(t, input, active, cx, field(&output_at))?,
        None => err_obj.clone(),
    };
    Ok((output, assign))
}

/// Logs a JSONata failure as AWS does: an `EvaluationFailed` event (following the event the
/// state was entered after, as recorded) naming the state and the field, then a Map that
/// never started its iterations logs `MapStateFailed`. Returns the failure with its cause
/// located.
pub(super) fn evaluation_failed(
    frame: &mut Frame,
    st: &State,
    f: Failure,
    cx: &mut Cx<'_>,
) -> Failure {
    let active = frame.active.as_ref().expect("active");
    let f = located(f, active);
    let mut details = json!({"error": f.error, "cause": f.cause, "state": active.name});
    if let Some(l) = &f.location {
        details["location"] = json!(l);
    }
    let mut prev = active.entered_after;
    cx.emit(&mut prev, EventType::EvaluationFailed, details);
    frame.last_event = prev;
    let before_iterations = f.location.as_deref().is_none_or(|l| {
        ["Items", "ItemSelector", "MaxConcurrency"]
            .contains(&l.split(['/', '[']).next().unwrap_or(l))
    });
    if matches!(st.kind, Kind::Map(_)) && before_iterations {
        cx.emit(
            &mut frame.last_event,
            EventType::MapStateFailed,
            Value::Null,
        );
    }
    f
}

/// What AWS puts before the cause of a run-time failure: the state it happened in. A
/// failure that comes up from a branch or an iteration keeps the innermost state's words.
pub(super) const RUNTIME_PREFIX: &str = "An error occurred while executing the state";

pub(super) fn located(mut f: Failure, active: &Active) -> Failure {
    let worded = [errors::RUNTIME, errors::QUERY_EVALUATION_ERROR];
    if worded.contains(&f.error.as_str()) && !f.cause.starts_with(RUNTIME_PREFIX) {
        f.cause = format!(
            "{RUNTIME_PREFIX} '{}' (entered at the event id #{}). {}",
            active.name, active.entered_event, f.cause
        );
    }
    f
}
