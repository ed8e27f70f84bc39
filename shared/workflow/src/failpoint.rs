//! The executor's failpoints: named places between durability steps where the
//! crash-and-restart tests kill the process, to prove that a restart (`Runner::recover`)
//! finishes the work. (The mechanism is the core's, `keiyaku_core::failpoint`.)

/// Every failpoint the executor passes, in the order an execution meets them.
pub const FAILPOINTS: &[&str] = &[
    // The start (state, events, timers, name) is committed; its first tasks are not invoked.
    "workflow.started_before_invoke",
    // A handler returned; its result is not yet recorded.
    "workflow.invoked_before_persist",
    // An input (task result, timer, callback, stop) is committed; the tasks it scheduled
    // are not invoked.
    "workflow.persisted_before_next_invoke",
    // A timer is due and about to be fed to its execution.
    "workflow.timer_fired_before_persist",
    // A callback (`SendTaskSuccess`/`Failure`/`Heartbeat`) found its task and is not yet
    // recorded.
    "workflow.callback_before_persist",
];

pub use keiyaku_core::failpoint::{FAILPOINT_EXIT_CODE, failpoint};
