//! A tiny in-memory driver for the tests: it keeps the pending timers and tasks the engine
//! asked for, moves a fake clock, and checks each effect refers to something real.

#![allow(dead_code)]

use std::collections::BTreeMap;

use keiyaku_states::{
    Definition, Effect, Execution, Input, Invocation, SeededTokens, Start, TaskRef, TimerId,
};
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

/// The clock every test starts at.
pub(crate) const T0: OffsetDateTime = datetime!(2024-04-01 09:00:00 UTC);

/// An execution with its definition, a clock and what it waits for.
pub(crate) struct Run {
    pub def: Definition,
    pub exec: Execution,
    pub now: OffsetDateTime,
    pub timers: BTreeMap<TimerId, OffsetDateTime>,
    pub tasks: Vec<Invocation>,
    pub log: Vec<Effect>,
    /// Deterministic task tokens (seeded like the execution).
    pub tokens: SeededTokens,
}

impl Run {
    pub(crate) fn start(json: &str, input: Value) -> Run {
        Run::start_with(
            Definition::parse(json).expect("definition parses"),
            Start::new("test-run", input),
        )
    }

    pub(crate) fn start_with(def: Definition, start: Start) -> Run {
        let mut tokens = SeededTokens::new(start.seed);
        let (exec, effects) = Execution::start(&def, start, T0, &mut tokens).expect("starts");
        let mut run = Run {
            def,
            exec,
            now: T0,
            timers: BTreeMap::new(),
            tasks: Vec::new(),
            log: Vec::new(),
            tokens,
        };
        run.apply(effects);
        run
    }

    pub(crate) fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match &e {
                Effect::InvokeTask(inv) => self.tasks.push(inv.clone()),
                Effect::CancelTask { task } => self.tasks.retain(|t| t.task != *task),
                Effect::SetTimer { timer, at } => {
                    assert!(
                        self.timers.insert(*timer, *at).is_none(),
                        "timer {timer:?} set twice"
                    );
                }
                Effect::CancelTimer { timer } => {
                    self.timers.remove(timer);
                }
                Effect::ExecutionFinished { .. } => {}
            }
            self.log.push(e);
        }
    }

    pub(crate) fn handle(&mut self, input: Input) -> Result<(), keiyaku_states::HandleError> {
        let effects = self
            .exec
            .handle(&self.def, input, self.now, &mut self.tokens)?;
        self.apply(effects);
        Ok(())
    }

    /// The oldest task still out.
    pub(crate) fn task(&self) -> Invocation {
        self.tasks.first().cloned().expect("a pending task")
    }

    pub(crate) fn succeed(&mut self, output: Value) -> Invocation {
        let t = self.tasks.remove(0);
        self.handle(Input::TaskSucceeded {
            task: TaskRef::Id(t.task),
            output,
        })
        .expect("task accepted");
        t
    }

    pub(crate) fn fail(&mut self, error: &str, cause: &str) -> Invocation {
        let t = self.tasks.remove(0);
        self.handle(Input::TaskFailed {
            task: TaskRef::Id(t.task),
            error: error.into(),
            cause: cause.into(),
        })
        .expect("task accepted");
        t
    }

    /// The earliest pending timer and when it is due.
    pub(crate) fn next_timer(&self) -> Option<(TimerId, OffsetDateTime)> {
        self.timers
            .iter()
            .min_by_key(|(id, at)| (**at, **id))
            .map(|(id, at)| (*id, *at))
    }

    /// Moves the clock to the earliest timer and fires it; returns how far the clock moved.
    pub(crate) fn fire_next_timer(&mut self) -> time::Duration {
        let (id, at) = self.next_timer().expect("a pending timer");
        let moved = at - self.now;
        if at > self.now {
            self.now = at;
        }
        self.timers.remove(&id);
        self.handle(Input::TimerFired { timer: id })
            .expect("timer accepted");
        moved
    }

    /// Answers every task with `handler` and fires timers until the execution ends.
    pub(crate) fn run(
        &mut self,
        mut handler: impl FnMut(&Invocation) -> Result<Value, (String, String)>,
    ) {
        let mut guard = 0;
        while self.exec.status() == keiyaku_states::Status::Running {
            guard += 1;
            assert!(guard < 10_000, "the execution does not end");
            if let Some(t) = self.tasks.first().cloned() {
                match handler(&t) {
                    Ok(v) => {
                        self.succeed(v);
                    }
                    Err((e, c)) => {
                        self.fail(&e, &c);
                    }
                }
            } else if self.next_timer().is_some() {
                self.fire_next_timer();
            } else {
                panic!("the execution is running but waits for nothing");
            }
        }
    }

    pub(crate) fn output(&self) -> Value {
        self.exec.output().cloned().unwrap_or_else(|| {
            panic!(
                "no output: status {:?}, error {:?}, cause {:?}",
                self.exec.status(),
                self.exec.error(),
                self.exec.cause()
            )
        })
    }

    /// The event types in order, as strings.
    pub(crate) fn event_types(&self) -> Vec<String> {
        self.exec
            .history()
            .iter()
            .map(|e| format!("{:?}", e.kind))
            .collect()
    }

    /// Names of the states entered, in order.
    pub(crate) fn entered(&self) -> Vec<String> {
        self.exec
            .history()
            .iter()
            .filter(|e| format!("{:?}", e.kind).ends_with("StateEntered"))
            .filter_map(|e| e.detail_str("name").map(str::to_string))
            .collect()
    }
}
