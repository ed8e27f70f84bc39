//! An execution's life: starting it, handing it inputs, ending it, and what a driver reads
//! of it (status, output, history, pending tasks and timers).

use super::*;

impl Execution {
    /// Starts an execution: records `ExecutionStarted`, runs until the first task or timer,
    /// and returns what the driver must do.
    /// Task tokens are drawn from `tokens` (see [`crate::tokens`]).
    pub fn start(
        def: &Definition,
        start: Start,
        now: OffsetDateTime,
        tokens: &mut dyn TokenSource,
    ) -> Result<(Execution, Vec<Effect>), StartError> {
        let valid = |c: char| {
            !c.is_whitespace() && !"<>{}[]?*\"#%\\^|~`$&,;:/".contains(c) && !c.is_control()
        };
        if start.name.is_empty()
            || start.name.chars().count() > 80
            || !start.name.chars().all(valid)
        {
            return Err(StartError::InvalidName(start.name));
        }
        if too_big(&start.input) {
            return Err(StartError::InputTooLarge);
        }
        let sm_name = start
            .state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or("keiyaku")
            .to_string();
        let prefix = start
            .state_machine_arn
            .split(":stateMachine:")
            .next()
            .unwrap_or("arn:aws:states:local:000000000000")
            .to_string();
        let meta = Meta {
            execution_arn: format!("{prefix}:execution:{sm_name}:{}", start.name),
            name: start.name,
            state_machine_arn: start.state_machine_arn,
            input: start.input,
            start_date: now,
        };
        let mut exec = Execution {
            meta,
            status: Status::Running,
            stop_date: None,
            output: None,
            error: None,
            cause: None,
            events: 0,
            history: Vec::new(),
            child_history: Vec::new(),
            root: Frame::new(0),
            counters: Counters {
                rng: Rng::new(start.seed),
                next_task: 0,
                next_timer: 0,
            },
            deadline: None,
        };
        let Execution {
            meta,
            events,
            history,
            child_history,
            counters,
            root,
            deadline,
            ..
        } = &mut exec;
        let mut cx = Cx {
            now,
            events,
            history,
            tokens: &mut *tokens,
            counters,
            meta,
            effects: Vec::new(),
            overflow: false,
            vars: Rc::new(root.vars.clone()),
            children: child_history,
        };
        let input = cx.meta.input.clone();
        // AWS links the first state's entry to no event (previousEventId 0), not to
        // ExecutionStarted (recorded).
        cx.emit(
            &mut 0,
            EventType::ExecutionStarted,
            json!({
                "input": payload_string(&input),
                "inputDetails": {"truncated": false},
                "roleArn": "arn:aws:iam::000000000000:role/keiyaku-local"
            }),
        );
        if let Some(secs) = def.timeout_seconds {
            *deadline = Some(cx.timer(now + Duration::seconds(secs as i64)));
        }
        let machine = &def.machine;
        enter(root, machine, &machine.start_at, input, &mut cx);
        let outcome = step(root, machine, &mut cx);
        drive(root, machine, &mut cx, outcome);
        let (effects, overflow) = (cx.effects, cx.overflow);
        let effects = exec.finish_call(effects, overflow, now, tokens);
        Ok((exec, effects))
    }

    /// Feeds one input. On error the execution is unchanged. Timers that are no longer
    /// pending (cancelled, or fired twice) are ignored: they produce no effects. Task tokens
    /// for tasks this input schedules are drawn from `tokens`.
    pub fn handle(
        &mut self,
        def: &Definition,
        input: Input,
        now: OffsetDateTime,
        tokens: &mut dyn TokenSource,
    ) -> Result<Vec<Effect>, HandleError> {
        if self.status != Status::Running {
            return match input {
                Input::TimerFired { .. } => Ok(Vec::new()),
                _ => Err(HandleError::NotRunning),
            };
        }
        let Execution {
            meta,
            events,
            history,
            child_history,
            counters,
            root,
            deadline,
            ..
        } = self;
        let mut cx = Cx {
            now,
            events,
            history,
            tokens: &mut *tokens,
            counters,
            meta,
            effects: Vec::new(),
            overflow: false,
            vars: Rc::new(root.vars.clone()),
            children: child_history,
        };
        match &input {
            Input::Stop { error, cause } => {
                abort(root, &def.machine, &mut cx);
                if let Some(t) = deadline.take() {
                    cx.cancel_timer(&t);
                }
                let details = json!({"error": error.clone().unwrap_or_default(), "cause": cause.clone().unwrap_or_default()});
                cx.emit(&mut root.last_event, EventType::ExecutionAborted, details);
                let effects = cx.effects;
                self.end(Status::Aborted, None, error.clone(), cause.clone(), now);
                return Ok(self.finished_effects(effects));
            }
            Input::TimerFired { timer } if deadline.as_ref().is_some_and(|d| d.id == *timer) => {
                *deadline = None;
                abort(root, &def.machine, &mut cx);
                cx.emit(
                    &mut root.last_event,
                    EventType::ExecutionTimedOut,
                    json!({"error": errors::TIMEOUT}),
                );
                let effects = cx.effects;
                // DescribeExecution of a timed-out execution has no error or cause on AWS
                // (recorded: LocalStack's test_timeouts.py::TestTimeouts::test_global_timeout).
                self.end(Status::TimedOut, None, None, None, now);
                return Ok(self.finished_effects(effects));
            }
            _ => {}
        }
        if !deliver(root, &def.machine, &mut cx, &input) {
            return match input {
                Input::TimerFired { .. } => Ok(Vec::new()),
                _ => Err(HandleError::UnknownTask),
            };
        }
        let (effects, overflow) = (cx.effects, cx.overflow);
        Ok(self.finish_call(effects, overflow, now, tokens))
    }

    fn finish_call(
        &mut self,
        mut effects: Vec<Effect>,
        overflow: bool,
        now: OffsetDateTime,
        tokens: &mut dyn TokenSource,
    ) -> Vec<Effect> {
        if overflow {
            // The execution reached the history quota: AWS logs ExecutionFailed and stops.
            // AWS does not document the error name; we use States.Runtime.
            let Execution {
                meta,
                events,
                history,
                child_history,
                counters,
                root,
                deadline,
                ..
            } = self;
            let mut cx = Cx {
                now,
                events,
                history,
                tokens: &mut *tokens,
                counters,
                meta,
                effects,
                overflow: false,
                vars: Rc::new(root.vars.clone()),
                children: child_history,
            };
            abort_frame_tasks(root, &mut cx);
            if let Some(t) = deadline.take() {
                cx.cancel_timer(&t);
            }
            let cause = format!(
                "The execution reached the maximum number of history events ({MAX_EVENTS})."
            );
            cx.emit(
                &mut root.last_event,
                EventType::ExecutionFailed,
                json!({"error": errors::RUNTIME, "cause": cause}),
            );
            root.active = None;
            root.status = FrameStatus::Failed(runtime(cause.clone()));
            effects = cx.effects;
            self.end(
                Status::Failed,
                None,
                Some(errors::RUNTIME.into()),
                Some(cause),
                now,
            );
            return self.finished_effects(effects);
        }
        let status = self.root.status.clone();
        let Execution {
            meta,
            events,
            history,
            child_history,
            counters,
            root,
            deadline,
            ..
        } = self;
        let mut cx = Cx {
            now,
            events,
            history,
            tokens: &mut *tokens,
            counters,
            meta,
            effects,
            overflow: false,
            vars: Rc::new(root.vars.clone()),
            children: child_history,
        };
        let ended = match &status {
            FrameStatus::Running => None,
            FrameStatus::Succeeded(out) => {
                cx.emit(
                    &mut root.last_event,
                    EventType::ExecutionSucceeded,
                    json!({"output": payload_string(out), "outputDetails": {"truncated": false}}),
                );
                Some((Status::Succeeded, Some(out.clone()), None, None))
            }
            FrameStatus::Failed(f) => {
                // An empty error or cause (a timeout's cause, a Fail state without one) is
                // left out, as AWS leaves it out of the event and of DescribeExecution
                // (recorded).
                let error = (!f.error.is_empty()).then(|| f.error.clone());
                let cause = (!f.cause.is_empty()).then(|| f.cause.clone());
                let mut details = Map::new();
                if let Some(e) = &error {
                    details.insert("error".into(), json!(e));
                }
                if let Some(c) = &cause {
                    details.insert("cause".into(), json!(c));
                }
                cx.emit(
                    &mut root.last_event,
                    EventType::ExecutionFailed,
                    Value::Object(details),
                );
                Some((Status::Failed, None, error, cause))
            }
            FrameStatus::Aborted => Some((Status::Aborted, None, None, None)),
        };
        if ended.is_some()
            && let Some(t) = deadline.take()
        {
            cx.cancel_timer(&t);
        }
        let effects = cx.effects;
        match ended {
            Some((s, out, e, c)) => {
                self.end(s, out, e, c, now);
                self.finished_effects(effects)
            }
            None => effects,
        }
    }

    fn end(
        &mut self,
        status: Status,
        output: Option<Value>,
        error: Option<String>,
        cause: Option<String>,
        now: OffsetDateTime,
    ) {
        self.status = status;
        self.output = output;
        self.error = error;
        self.cause = cause;
        self.stop_date = Some(now);
    }

    fn finished_effects(&self, mut effects: Vec<Effect>) -> Vec<Effect> {
        effects.push(Effect::ExecutionFinished {
            status: self.status,
            output: self.output.clone(),
            error: self.error.clone(),
            cause: self.cause.clone(),
        });
        effects
    }

    /// The execution's status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The output, once succeeded.
    pub fn output(&self) -> Option<&Value> {
        self.output.as_ref()
    }

    /// The error name, once failed, timed out or aborted.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The cause, once failed, timed out or aborted.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// The execution name.
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// The execution ARN (`$$.Execution.Id`).
    pub fn execution_arn(&self) -> &str {
        &self.meta.execution_arn
    }

    /// The execution input.
    pub fn input(&self) -> &Value {
        &self.meta.input
    }

    /// When it started.
    pub fn start_date(&self) -> OffsetDateTime {
        self.meta.start_date
    }

    /// When it ended.
    pub fn stop_date(&self) -> Option<OffsetDateTime> {
        self.stop_date
    }

    /// The history events recorded since this value was started or deserialized and not yet
    /// taken by [`Execution::take_history`], oldest first. (A serialized execution does not
    /// carry its history: the driver stores the events as they come.)
    pub fn history(&self) -> &[HistoryEvent] {
        &self.history
    }

    /// Takes the events recorded since the last take (or since this value was started or
    /// deserialized), oldest first, for the driver to store. Their ids are consecutive and
    /// end at [`Execution::event_count`].
    pub fn take_history(&mut self) -> Vec<HistoryEvent> {
        std::mem::take(&mut self.history)
    }

    /// Takes the events of Distributed Map child executions recorded since the last take,
    /// oldest first (each child's own ids are consecutive from 1), for the driver to store
    /// as the children's histories.
    pub fn take_child_history(&mut self) -> Vec<ChildEvent> {
        std::mem::take(&mut self.child_history)
    }

    /// How many history events this execution has issued (the id of the last one), whether
    /// or not they are still held in [`Execution::history`].
    pub fn event_count(&self) -> u64 {
        self.events
    }

    /// Every task out now, so a restarted driver can re-run or keep waiting for them.
    pub fn pending_tasks(&self) -> Vec<Invocation> {
        let mut out = Vec::new();
        walk(&self.root, &mut |step| match step {
            Step::Task(t) => out.push(t.invocation.clone()),
            Step::Reading(r) => out.push(r.invocation.clone()),
            Step::Writing(w) => out.extend(w.pending.iter().cloned()),
            _ => {}
        });
        out
    }

    /// Every timer pending now, so a restarted driver can set them again.
    pub fn pending_timers(&self) -> Vec<Timer> {
        let mut out: Vec<Timer> = self.deadline.iter().copied().collect();
        walk(&self.root, &mut |step| match step {
            Step::Task(t) => {
                out.extend(t.timeout);
                out.extend(t.heartbeat.map(|h| h.0));
            }
            Step::Backoff(t) | Step::Wait(t) => out.push(*t),
            _ => {}
        });
        out.sort_by_key(|t| t.id);
        out
    }
}
