//! Failpoints: named places between durability steps where the crash-and-restart tests
//! kill the process, to prove that a restart finishes the work and that every effect still
//! happens exactly once. `KEIYAKU_FAILPOINT=<name>` exits at the first pass of `<name>`,
//! `<name>@<n>` at its n-th pass.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The domain's failpoints (the executor's are in `keiyaku-workflow`).
pub const FAILPOINTS: &[&str] = &[
    // A send is committed (status, outbox); its execution is not started.
    "send.committed_before_start",
    // A party's answer is committed (with its outbox entry); the task is not completed.
    "answer.recorded_before_deliver",
    // A new sealed version of the file is stored; the document does not record it yet.
    "evidence.stored_before_record",
    // One more completion mail went out; the others have not.
    "completion.mailed_one",
];

/// The exit status of a process killed by a failpoint (distinct from panics and signals).
pub const FAILPOINT_EXIT_CODE: i32 = 86;

/// Exits the process at once (status 86, no destructors, nothing flushed but stderr) when
/// the environment arms `name` and this is the pass it names. The variable is read once, so
/// a failpoint costs one comparison when another (or none) is armed.
pub fn failpoint(name: &str) {
    static ARMED: OnceLock<Option<(String, usize)>> = OnceLock::new();
    static PASSES: AtomicUsize = AtomicUsize::new(0);
    let armed = ARMED.get_or_init(|| {
        let raw = std::env::var("KEIYAKU_FAILPOINT").ok()?;
        Some(match raw.split_once('@') {
            Some((name, n)) => (name.to_owned(), n.parse().unwrap_or(1)),
            None => (raw, 1),
        })
    });
    if let Some((armed, nth)) = armed
        && armed == name
        && PASSES.fetch_add(1, Ordering::SeqCst) + 1 == *nth
    {
        eprintln!("keiyaku: failpoint {name} reached (pass {nth}), exiting");
        std::process::exit(FAILPOINT_EXIT_CODE);
    }
}
