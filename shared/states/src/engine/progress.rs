//! Delivering an input to the frame that waits for it, and the progress of Parallel and
//! Map states' branches and iterations; stopping a frame and everything below it.

use super::*;

/// Hands `input` to the frame that waits for it; false when no frame does.
pub(super) fn deliver(
    frame: &mut Frame,
    machine: &Machine,
    cx: &mut Cx<'_>,
    input: &Input,
) -> bool {
    let Some(active) = frame.active.as_mut() else {
        return false;
    };
    let st = &machine.states[&active.name];
    let outcome = match &mut active.step {
        Step::Ready => return false,
        Step::Backoff(t) => match input {
            Input::TimerFired { timer } if *timer == t.id => {
                active.step = Step::Ready;
                step(frame, machine, cx)
            }
            _ => return false,
        },
        Step::Wait(t) => match input {
            Input::TimerFired { timer } if *timer == t.id => {
                let active = frame.active.as_ref().expect("active");
                let effective = match st.language {
                    QueryLanguage::Jsonata => Ok(active.input.clone()),
                    QueryLanguage::JsonPath => reading(&active.input, active, cx, |sc| {
                        apply_data_path(&st.input_path, sc)
                    }),
                };
                let assign = effective.and_then(|e| {
                    let a = assigned(st.assign.as_ref(), &e, active, cx, Field::named("Assign"))?;
                    Ok((a, e))
                });
                match assign {
                    Ok((assign, eff)) => {
                        let to = st.transition.clone();
                        exit_with_output(frame, st, eff, cx, (to, st.output.as_ref(), assign))
                    }
                    Err(f) => Outcome::Error(f),
                }
            }
            _ => return false,
        },
        Step::Task(t) => match deliver_task(t, &mut frame.last_event, input, cx) {
            None => return false,
            Some(TaskEvent::Stay) => Outcome::Blocked,
            Some(TaskEvent::Done(Ok(result))) => finish(frame, st, result, cx),
            Some(TaskEvent::Done(Err(f))) => Outcome::Error(f),
        },
        Step::Parallel(branches) => {
            let Kind::Parallel(defs) = &st.kind else {
                return false;
            };
            if !branches
                .iter_mut()
                .zip(defs)
                .any(|(b, d)| cx.within(b, |cx, b| deliver(b, d, cx, input)))
            {
                return false;
            }
            parallel_progress(frame, machine, cx)
        }
        Step::Reading(r) => match input {
            Input::TaskSucceeded {
                task: TaskRef::Id(t),
                output,
            } if *t == r.invocation.task => reader::done(frame, machine, cx, Ok(output)),
            Input::TaskFailed {
                task: TaskRef::Id(t),
                cause,
                ..
            } if *t == r.invocation.task => reader::done(frame, machine, cx, Err(cause)),
            _ => return false,
        },
        Step::Writing(w) => match input {
            Input::TaskSucceeded {
                task: TaskRef::Id(t),
                ..
            } if w.waits_for(*t) => writer::written(frame, machine, cx, *t, None),
            Input::TaskFailed {
                task: TaskRef::Id(t),
                cause,
                ..
            } if w.waits_for(*t) => writer::written(frame, machine, cx, *t, Some(cause)),
            _ => return false,
        },
        Step::Map(run) => {
            let Kind::Map(spec) = &st.kind else {
                return false;
            };
            let delivered = if run.run.is_some() {
                distributed::deliver(run, &spec.processor, cx, input)
            } else {
                run.frames
                    .iter_mut()
                    .any(|b| cx.within(b, |cx, b| deliver(b, &spec.processor, cx, input)))
            };
            if !delivered {
                return false;
            }
            map_progress(frame, machine, cx)
        }
    };
    drive(frame, machine, cx, outcome);
    true
}

pub(super) fn parallel_progress(frame: &mut Frame, machine: &Machine, cx: &mut Cx<'_>) -> Outcome {
    let (st, _) = state(machine, frame);
    let active = frame.active.as_mut().expect("active");
    let Step::Parallel(branches) = &mut active.step else {
        return Outcome::Blocked;
    };
    // A failed branch fails the Parallel state with the branch's own error (so a Catch on
    // the Parallel state sees e.g. States.TaskFailed or a Fail state's Error) and stops the
    // other branches. We have seen AWS report the branch's error rather than
    // States.BranchFailed; not verified for every case.
    if let Some(f) = branches.iter().find_map(|b| match &b.status {
        FrameStatus::Failed(f) => Some(f.clone()),
        _ => None,
    }) {
        let Kind::Parallel(defs) = &st.kind else {
            return Outcome::Blocked;
        };
        for (b, d) in branches.iter_mut().zip(defs) {
            if b.status == FrameStatus::Running {
                abort(b, d, cx);
            }
        }
        active.step = Step::Ready;
        cx.emit(
            &mut frame.last_event,
            EventType::ParallelStateFailed,
            Value::Null,
        );
        return Outcome::Error(f);
    }
    if branches
        .iter()
        .all(|b| matches!(b.status, FrameStatus::Succeeded(_)))
    {
        let results = results(branches);
        active.step = Step::Ready;
        cx.emit(
            &mut frame.last_event,
            EventType::ParallelStateSucceeded,
            Value::Null,
        );
        return finish(frame, st, results, cx);
    }
    Outcome::Blocked
}

/// The branches' or iterations' results in order (`null` for one that did not succeed).
fn results(frames: &[Frame]) -> Value {
    let each = frames.iter().map(|f| match &f.status {
        FrameStatus::Succeeded(v) => v.clone(),
        _ => Value::Null,
    });
    Value::Array(each.collect())
}

pub(super) fn map_progress(frame: &mut Frame, machine: &Machine, cx: &mut Cx<'_>) -> Outcome {
    if let Some(Active {
        step: Step::Map(MapRun { run: Some(_), .. }),
        ..
    }) = &frame.active
    {
        return distributed::progress(frame, machine, cx);
    }
    let (st, name) = state(machine, frame);
    let Kind::Map(spec) = &st.kind else {
        return Outcome::Blocked;
    };
    loop {
        let active = frame.active.as_mut().expect("active");
        let Step::Map(run) = &mut active.step else {
            return Outcome::Blocked;
        };
        // Record iterations that ended since we last looked.
        let mut failure = None;
        for (i, f) in run.frames.iter().enumerate() {
            if run.reported[i] {
                continue;
            }
            let kind = match &f.status {
                FrameStatus::Running => continue,
                FrameStatus::Succeeded(_) => EventType::MapIterationSucceeded,
                FrameStatus::Failed(x) => {
                    failure.get_or_insert_with(|| x.clone());
                    EventType::MapIterationFailed
                }
                FrameStatus::Aborted => EventType::MapIterationAborted,
            };
            run.reported[i] = true;
            cx.emit(
                &mut frame.last_event,
                kind,
                json!({"name": name, "index": i}),
            );
        }
        if let Some(f) = failure {
            for (i, b) in run.frames.iter_mut().enumerate() {
                if b.status == FrameStatus::Running {
                    abort(b, &spec.processor, cx);
                    run.reported[i] = true;
                    cx.emit(
                        &mut frame.last_event,
                        EventType::MapIterationAborted,
                        json!({"name": name, "index": i}),
                    );
                }
            }
            active.step = Step::Ready;
            cx.emit(
                &mut frame.last_event,
                EventType::MapStateFailed,
                Value::Null,
            );
            return Outcome::Error(f);
        }
        let done = run
            .frames
            .iter()
            .filter(|f| !matches!(f.status, FrameStatus::Running))
            .count();
        if done == run.items.len() {
            let results = results(&run.frames);
            active.step = Step::Ready;
            cx.emit(
                &mut frame.last_event,
                EventType::MapStateSucceeded,
                Value::Null,
            );
            return finish(frame, st, results, cx);
        }
        let running = run.frames.len() - done;
        if run.frames.len() == run.items.len() || (run.limit > 0 && running >= run.limit) {
            return Outcome::Blocked;
        }
        let i = run.frames.len();
        let item = run.items[i].clone();
        let started = cx.emit(
            &mut frame.last_event,
            EventType::MapIterationStarted,
            json!({"name": name, "index": i}),
        );
        let mut f = Frame::new(started);
        let p = &spec.processor;
        cx.within(&mut f, |cx, f| {
            enter(f, p, &p.start_at, item, cx);
            let o = step(f, p, cx);
            drive(f, p, cx, o);
        });
        let active = frame.active.as_mut().expect("active");
        let Step::Map(run) = &mut active.step else {
            return Outcome::Blocked;
        };
        run.frames.push(f);
        run.reported.push(false);
    }
}

/// Stops a frame and everything below it: tasks are cancelled, timers cleared.
pub(super) fn abort(frame: &mut Frame, machine: &Machine, cx: &mut Cx<'_>) {
    if let Some(active) = frame.active.as_mut() {
        let st = &machine.states[&active.name];
        match (&mut active.step, &st.kind) {
            (Step::Parallel(bs), Kind::Parallel(defs)) => {
                for (b, d) in bs.iter_mut().zip(defs) {
                    abort(b, d, cx);
                }
                cx.emit(
                    &mut frame.last_event,
                    EventType::ParallelStateAborted,
                    Value::Null,
                );
            }
            (Step::Map(run), Kind::Map(spec)) if run.run.is_some() => {
                distributed::abort_children(run, &spec.processor, cx);
                cx.emit(&mut frame.last_event, EventType::MapRunAborted, Value::Null);
                cx.emit(
                    &mut frame.last_event,
                    EventType::MapStateAborted,
                    Value::Null,
                );
            }
            (Step::Map(run), Kind::Map(spec)) => {
                for (i, b) in run.frames.iter_mut().enumerate() {
                    if b.status == FrameStatus::Running {
                        abort(b, &spec.processor, cx);
                        cx.emit(
                            &mut frame.last_event,
                            EventType::MapIterationAborted,
                            json!({"name": active.name, "index": i}),
                        );
                    }
                }
                cx.emit(
                    &mut frame.last_event,
                    EventType::MapStateAborted,
                    Value::Null,
                );
            }
            (step @ (Step::Reading(_) | Step::Writing(_)), _) => {
                for task in s3_tasks(step) {
                    cx.effects.push(Effect::CancelTask { task });
                }
                cx.emit(&mut frame.last_event, EventType::MapRunAborted, Value::Null);
                cx.emit(
                    &mut frame.last_event,
                    EventType::MapStateAborted,
                    Value::Null,
                );
            }
            _ => abort_frame_tasks(frame, cx),
        }
    }
    frame.active = None;
    frame.status = FrameStatus::Aborted;
}

/// The reads or writes a Distributed Map's ItemReader or ResultWriter has out.
pub(super) fn s3_tasks(step: &Step) -> Vec<TaskId> {
    match step {
        Step::Reading(r) => vec![r.invocation.task],
        Step::Writing(w) => w.pending.iter().map(|i| i.task).collect(),
        _ => Vec::new(),
    }
}

/// Cancels every task and timer of a frame tree without logging events (used when the
/// history is full).
pub(super) fn abort_frame_tasks(frame: &mut Frame, cx: &mut Cx<'_>) {
    if let Some(active) = frame.active.as_mut() {
        match &mut active.step {
            Step::Task(t) => {
                cx.effects.push(Effect::CancelTask {
                    task: t.invocation.task,
                });
                if let Some(x) = &t.timeout {
                    cx.cancel_timer(x);
                }
                if let Some((x, _)) = &t.heartbeat {
                    cx.cancel_timer(x);
                }
            }
            Step::Backoff(t) | Step::Wait(t) => {
                let t = *t;
                cx.cancel_timer(&t);
            }
            Step::Parallel(bs) => bs.iter_mut().for_each(|b| abort_frame_tasks(b, cx)),
            Step::Map(run) => run.frames.iter_mut().for_each(|b| abort_frame_tasks(b, cx)),
            step @ (Step::Reading(_) | Step::Writing(_)) => {
                for task in s3_tasks(step) {
                    cx.effects.push(Effect::CancelTask { task });
                }
            }
            Step::Ready => {}
        }
    }
}
