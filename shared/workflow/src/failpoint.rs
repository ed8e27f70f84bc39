//! Failpoints: named places between durability steps where the crash-and-restart tests
//! kill the process, to prove that a restart (`Runner::recover`) finishes the work.

use std::sync::OnceLock;

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

/// The exit status of a process killed by a failpoint (distinct from panics and signals).
pub const FAILPOINT_EXIT_CODE: i32 = 86;

/// Exits the process at once (status 86, no destructors, nothing flushed but stderr) when
/// the environment variable `KEIYAKU_FAILPOINT` equals `name`. The variable is read once,
/// so a failpoint costs one comparison on the hot path.
pub fn failpoint(name: &str) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("KEIYAKU_FAILPOINT").ok());
    if armed.as_deref() == Some(name) {
        eprintln!("keiyaku: failpoint {name} reached, exiting");
        std::process::exit(FAILPOINT_EXIT_CODE);
    }
}
